"""ONNX export: every exportable kind and layout computes MXNet's logits and states, greedy
generation with onnxruntime gives Checkpoint.generate's text, the runtime imports no MXNet,
and the errors are one clear line."""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from mxnet import nd

import d2l_rnn
from d2l_rnn import cli
from d2l_rnn.export import ExportError, OnnxLanguageModel, export_onnx, generate
from d2l_rnn.models import gluon_layer

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

RUNTIME = os.path.join(os.path.dirname(d2l_rnn.__file__), "export", "runtime.py")
H, STEPS, BATCH = 8, 10, 4

# (impl, model, activation): every kind ONNX can express, both Gluon RNN activations.
KINDS = [("scratch", "rnn", None), ("scratch", "gru", None), ("scratch", "gru_cudnn", None),
         ("scratch", "lstm", None), ("concise", "rnn", "relu"), ("concise", "rnn", "tanh"),
         ("concise", "gru", None), ("concise", "lstm", None)]
LAYOUTS = [(1, False), (1, True), (2, False), (2, True)]
CASES = [kind + layout for kind in KINDS for layout in LAYOUTS]


def _id(case):
    impl, model, act, L, bi = case
    return "%s-%s%s-%dL%s" % (impl, model, "-" + act if act else "", L, "-bi" if bi else "")


@pytest.fixture(scope="module")
def corpus():
    return d2l_rnn.load_data_jay_lyrics(num_chars=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Save directories of tiny trained models, trained once per case on first use."""
    root, done = tmp_path_factory.mktemp("onnx_runs"), {}

    def get(case, corpus):
        if case not in done:
            done[case] = _train(case, corpus, str(root / _id(case)))
        return done[case]
    return get


def _train(case, corpus, save_dir):
    impl, model, act, L, bi = case
    indices, char_to_idx, idx_to_char, V = corpus
    common = dict(seed=0, quiet=True, save_dir=save_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", d2l_rnn.BidirectionalLMWarning)
        if impl == "scratch":
            d2l_rnn.train_and_predict_rnn(
                d2l_rnn.KINDS[model], d2l_rnn.get_params_fn(model, V, H, None, L, bi),
                d2l_rnn.init_state_fn(model, L, bi), H, V, None, indices, idx_to_char,
                char_to_idx, False, 2, STEPS, 100.0, 0.01, BATCH, 100, 5, ["分开"], **common)
        else:
            net = d2l_rnn.RNNModel(gluon_layer(model, H, L, bi, 0.0, act), V)
            d2l_rnn.train_and_predict_rnn_gluon(
                net, H, V, None, indices, idx_to_char, char_to_idx, 2, STEPS, 100.0, 0.01,
                BATCH, 100, 5, ["分开"], **common)
    return save_dir


def _close(got, want, what):
    """float32 agreement: rtol 1e-4, atol 1e-5 of the largest magnitude; returns the
    largest difference relative to that magnitude."""
    scale = max(float(np.abs(want).max()), 1e-30)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * scale, err_msg=what)
    return float(np.abs(got - want).max()) / scale


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_onnx_equals_mxnet(case, corpus, runs, tmp_path):
    impl, model, act, L, bi = case
    save_dir = runs(case, corpus)
    path = str(tmp_path / "model.onnx")
    proto = export_onnx(save_dir, path)
    onnx.checker.check_model(path, full_check=True)
    # ONNX's own recurrent operators, one node per layer; the GRU variant says which GRU.
    ops = [n for n in proto.graph.node if n.op_type in ("RNN", "GRU", "LSTM")]
    assert len(ops) == L and {n.op_type for n in ops} == {model.split("_")[0].upper()}
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in ops[0].attribute}
    assert attrs["direction"] == (b"bidirectional" if bi else b"forward")
    if model.startswith("gru"):
        assert attrs["linear_before_reset"] == (0 if (impl, model) == ("scratch", "gru") else 1)
    if model == "rnn":
        assert attrs["activations"] == [(act or "tanh").capitalize().encode()] * (1 + bi)

    ckpt = d2l_rnn.load_checkpoint(save_dir)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["idx_to_char"]) == ckpt.idx_to_char
    assert (meta["impl"], meta["model"], meta["num_layers"], meta["num_directions"],
            meta["num_hiddens"]) == (impl, model, str(L), str(1 + bi), str(H))

    # Same logits and final states as MXNet, from a random (non-zero) state.
    mx_model, ort_model = ckpt.build(), OnnxLanguageModel(path, threads=1)
    rng = np.random.RandomState(1)
    X = rng.randint(0, ckpt.model_config.vocab_size, size=(BATCH, STEPS))
    state = [rng.normal(scale=0.5, size=s.shape).astype(np.float32)
             for s in ort_model.begin_state(BATCH)]
    stacked = impl == "concise" or L > 1 or bi  # the book's one layer has (batch, h) states
    Y, mx_state = mx_model(nd.array(X), [nd.array(s if stacked else s[0]) for s in state])
    oY, o_state = ort_model(X.T, state)
    V = ckpt.model_config.vocab_size
    diffs = [_close(oY, Y.asnumpy().reshape(STEPS, BATCH, V), "logits")]
    assert len(o_state) == len(mx_state)
    for o, m in zip(o_state, mx_state):
        diffs.append(_close(o, m.asnumpy().reshape(o.shape), "final state"))
    print("%s: max difference / max |value|: logits %.2e, states %.2e"
          % (_id(case), diffs[0], max(diffs[1:])))

    # Greedy generation: exactly Checkpoint.generate's text.
    assert generate(ort_model, "分开", 30) == ckpt.generate("分开", 30)


def test_sampling_and_the_command_line(corpus, runs, tmp_path, capsys):
    save_dir = runs(("scratch", "lstm", None, 2, False), corpus)
    out = str(tmp_path / "lstm.onnx")
    assert cli.main(["export", save_dir, out]) == 0
    assert "wrote %s" % out in capsys.readouterr().out
    ckpt = d2l_rnn.load_checkpoint(save_dir)
    kw = dict(temperature=1.0, top_k=5, num_samples=3, seed=4)
    assert generate(out, "分开", 25, **kw) == ckpt.generate("分开", 25, **kw)
    flags = ["--prefix", "分开", "--length", "12", "--temperature", "0.9", "--num-samples", "2",
             "--seed", "3"]
    assert cli.main(["generate", save_dir] + flags) == 0
    from_checkpoint = capsys.readouterr().out
    assert cli.main(["generate", "--onnx", out] + flags) == 0
    got, err = capsys.readouterr()
    assert got == from_checkpoint and len(got.splitlines()) == 2
    assert "ONNX, onnxruntime" in err and "2 layers" in err
    assert cli.main(["generate", "--onnx", out, "--length", "5"]) == 0  # training's prefix
    assert capsys.readouterr().out.startswith("分开")
    assert cli.main(["generate", "--onnx", out, "--prefix", "分☃", "--length", "5"]) == 2
    assert "'☃'" in capsys.readouterr().err


def test_runtime_imports_no_mxnet(corpus, runs, tmp_path):
    """The runtime, loaded from its file where ``import mxnet`` fails, generates the text
    that MXNet generates."""
    save_dir = runs(("concise", "gru", None, 1, True), corpus)
    out = str(tmp_path / "gru.onnx")
    export_onnx(save_dir, out)
    code = """if True:
        import importlib.util, json, sys
        sys.modules["mxnet"] = None  # `import mxnet` now raises ImportError
        spec = importlib.util.spec_from_file_location("standalone_runtime", %r)
        runtime = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(runtime)
        texts = runtime.generate(%r, "分开", 30) + runtime.generate(
            %r, "分开", 30, temperature=1.0, num_samples=2, seed=5)
        assert not [m for m in sys.modules if m.startswith("d2l_rnn")], "imported d2l_rnn"
        print(json.dumps(texts))
    """ % (RUNTIME, out, out)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    ckpt = d2l_rnn.load_checkpoint(save_dir)
    assert json.loads(r.stdout) == ckpt.generate("分开", 30) + ckpt.generate(
        "分开", 30, temperature=1.0, num_samples=2, seed=5)
    # The file runs as a script too, on a machine with onnxruntime and no MXNet.
    r = subprocess.run([sys.executable, RUNTIME, out, "--prefix", "分开", "--length", "30"],
                       capture_output=True, text=True, cwd=str(tmp_path))
    assert r.returncode == 0 and r.stdout.splitlines() == ckpt.generate("分开", 30), r.stderr


def _one_line_error(capsys, argv, *fragments):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_clear_errors(corpus, runs, tmp_path, capsys, monkeypatch):
    indices, char_to_idx, idx_to_char, V = corpus
    out = str(tmp_path / "m.onnx")

    def my_rnn(inputs, state, params):  # a custom model function: not the package's
        return d2l_rnn.rnn(inputs, state, params)

    custom = str(tmp_path / "custom")
    d2l_rnn.train_and_predict_rnn(
        my_rnn, d2l_rnn.get_params_fn("rnn", V, H), d2l_rnn.init_rnn_state, H, V, None,
        indices, idx_to_char, char_to_idx, False, 1, STEPS, 100.0, 0.01, BATCH, 100, 5,
        ["分开"], seed=0, quiet=True, save_dir=custom)
    with pytest.raises(ExportError, match="custom model 'my_rnn'.*cannot be exported"):
        export_onnx(custom, out)
    _one_line_error(capsys, ["export", custom, out], "custom model 'my_rnn'")
    assert not os.path.exists(out)
    _one_line_error(capsys, ["export", str(tmp_path / "none"), out], "does not exist")

    save_dir = runs(("scratch", "gru", None, 1, False), corpus)
    _one_line_error(capsys, ["generate", save_dir, "--onnx", out], "not both")
    _one_line_error(capsys, ["generate"], "--onnx FILE")
    _one_line_error(capsys, ["generate", "--onnx", out], "does not exist", "export")
    with open(out, "wb") as f:
        f.write(b"not a model")
    _one_line_error(capsys, ["generate", "--onnx", out], "cannot be read as an ONNX model")
    foreign = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])]),
        opset_imports=[onnx.helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(foreign, out)
    _one_line_error(capsys, ["generate", "--onnx", out], "not one exported by d2l_rnn")

    # Without the optional packages: how to install them.
    monkeypatch.setitem(sys.modules, "onnx", None)
    _one_line_error(capsys, ["export", save_dir, out], "pip install 'd2l_rnn[onnx]'")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    _one_line_error(capsys, ["generate", "--onnx", out], "onnxruntime",
                    "pip install 'd2l_rnn[onnx]'")
