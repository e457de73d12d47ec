"""Scratch vs concise on shared weights: the mapping is exact both ways, and outputs, final
states and every gradient agree with Gluon's."""
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from mxnet import nd

import d2l_rnn
from d2l_rnn import mapping
from d2l_rnn.models import registry
from d2l_rnn.compare import build_pair, compare, compare_batch, train_side_by_side

V, H, B, T = 29, 16, 4, 6


def _batch(seed=0):
    X = np.random.RandomState(seed).randint(0, V, (B, T + 1))
    return nd.array(X[:, :-1]), nd.array(X[:, 1:])


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("L", [1, 2])
@pytest.mark.parametrize("bi", [False, True])
def test_scratch_equals_gluon_on_shared_weights(kind, L, bi):
    pair = build_pair(kind, V, H, L, bi, variant="cudnn", seed=L)
    rows = compare_batch(pair, *_batch())
    n_params = len(d2l_rnn.param_names("gru_cudnn" if kind == "gru" else kind, L, bi))
    assert len(rows) == 2 + (2 if kind == "lstm" else 1) + n_params
    for r in rows:
        # rtol 1e-4, atol 1e-5 relative to the largest Gluon value (gradients are tiny).
        assert r["allclose"] and r["max_rel"] < 1e-4, r
    # ...and the comparison is not vacuous: gradients are non-zero everywhere.
    assert all(np.abs(p.grad.asnumpy()).max() > 0 for p in pair.params)


@pytest.mark.parametrize("kind,variant", [("rnn", "cudnn"), ("gru", "cudnn"), ("gru", "book"),
                                          ("lstm", "cudnn")])
@pytest.mark.parametrize("L,bi", [(1, False), (2, True), (3, True)])
def test_round_trip_scratch_gluon_scratch_is_exact(kind, variant, L, bi):
    skind = {"gru": "gru" if variant == "book" else "gru_cudnn"}.get(kind, kind)
    params = d2l_rnn.models.scratch.make_params(skind, V, H, V, None, L, bi)
    for p in params:  # non-zero biases, so the bias split is exercised
        p[:] = nd.random.normal(shape=p.shape)
    pair = build_pair(kind, V, H, L, bi, variant=variant)
    mapping.scratch_to_gluon(params, pair.model, variant)
    back = mapping.gluon_to_scratch(pair.model, variant)
    assert len(back) == len(params)
    for a, b in zip(params, back):
        np.testing.assert_array_equal(a.asnumpy(), b)


def test_gluon_layout_is_read_as_documented():
    """Gluon stacks the GRU's gates as r, z, n and the LSTM's as i, f, g, o; weights are
    (gates * h, inputs), i.e. the book's transposed."""
    pair = build_pair("lstm", V, H, variant="cudnn")
    W = pair.model.rnn.l0_i2h_weight.data().asnumpy()
    names = d2l_rnn.param_names("lstm")
    p = dict(zip(names, (x.asnumpy() for x in pair.params)))
    np.testing.assert_array_equal(p["W_xi"], W[0:H].T)
    np.testing.assert_array_equal(p["W_xf"], W[H:2 * H].T)
    np.testing.assert_array_equal(p["W_xc"], W[2 * H:3 * H].T)
    np.testing.assert_array_equal(p["W_xo"], W[3 * H:4 * H].T)
    b = pair.model.rnn.l0_i2h_bias.data().asnumpy() + pair.model.rnn.l0_h2h_bias.data().asnumpy()
    np.testing.assert_allclose(p["b_o"], b[3 * H:], rtol=1e-6)
    gru = build_pair("gru", V, H, variant="cudnn")
    g = dict(zip(d2l_rnn.param_names("gru_cudnn"), (x.asnumpy() for x in gru.params)))
    W = gru.model.rnn.l0_h2h_weight.data().asnumpy()
    np.testing.assert_array_equal(g["W_hr"], W[0:H].T)
    np.testing.assert_array_equal(g["W_hz"], W[H:2 * H].T)
    np.testing.assert_array_equal(g["W_hh"], W[2 * H:].T)
    np.testing.assert_array_equal(g["b_hh"], gru.model.rnn.l0_h2h_bias.data().asnumpy()[2 * H:])


def test_the_book_gru_differs_from_gluon_on_the_same_weights():
    """The cuDNN option is not a no-op: the book's GRU on Gluon's weights gives other outputs."""
    exact = compare_batch(build_pair("gru", V, H, variant="cudnn"), *_batch())
    book = compare_batch(build_pair("gru", V, H, variant="book"), *_batch())
    assert all(r["allclose"] for r in exact)
    by_name = {r["name"]: r for r in book}
    assert not by_name["outputs"]["allclose"] and by_name["outputs"]["max_rel"] > 1e-2
    assert not by_name["final state H"]["allclose"]


def test_a_wrong_mapping_is_caught(monkeypatch):
    """Swapping two LSTM gates in the mapping must make the comparison fail."""
    lstm = registry.get("lstm")  # the gate order the mapping reads lives in the registry
    monkeypatch.setitem(registry.REGISTRY, "lstm",
                        dataclasses.replace(lstm, gluon_gates=("i", "f", "o", "c")))
    rows = compare_batch(build_pair("lstm", V, H), *_batch())
    assert not all(r["allclose"] for r in rows)


def test_mapping_errors_name_the_problem():
    from mxnet.gluon import rnn as grnn
    model = d2l_rnn.RNNModel(grnn.RNN(H), V)  # Gluon's default activation is ReLU
    model.initialize()
    with pytest.raises(ValueError, match="activation='tanh'"):
        mapping.gluon_to_scratch(model)
    pair = build_pair("gru", V, H, 2)
    with pytest.raises(ValueError, match=r"needs 22 scratch parameters \(gru_cudnn, 2 layer\(s\)\), got 19"):
        mapping.scratch_to_gluon(pair.params[:-3], pair.model)
    with pytest.raises(ValueError, match="variant must be 'cudnn'"):
        build_pair("gru", V, H, variant="pytorch")


def test_compare_on_the_lyrics_and_side_by_side_training():
    corpus = d2l_rnn.load_data_jay_lyrics(num_chars=2000)
    c = compare("gru", 1, True, num_hiddens=H, batch_size=B, num_steps=T, corpus=corpus)
    assert all(r["allclose"] for r in c.rows)
    assert c.book_gru[0]["max_abs"] > 1e-3
    free = train_side_by_side("lstm", corpus, 3, num_hiddens=H, batch_size=B, num_steps=T,
                              quiet=True, prefixes=("分开",))
    assert free.scratch.epochs == free.concise.epochs == [1, 2, 3]
    # Same start, same batches, but Gluon's second bias per gate doubles the bias steps: the
    # curves start together and drift apart (measured: 163.6 vs 163.1, then 120.6 vs 128.7).
    assert free.scratch.perplexity[0] == pytest.approx(free.concise.perplexity[0], rel=0.01)
    assert free.scratch.perplexity[2] != pytest.approx(free.concise.perplexity[2], rel=0.02)
    for kind in ("lstm", "gru"):
        # With Gluon's hidden biases frozen the two trainings are one computation.
        same = train_side_by_side(kind, corpus, 3, num_hiddens=H, batch_size=B, num_steps=T,
                                  quiet=True, prefixes=("分开",), freeze_hidden_bias=True)
        np.testing.assert_allclose(same.scratch.perplexity, same.concise.perplexity,
                                   rtol=1e-4)
        assert set(same.texts) == {"分开"}
        assert same.texts["分开"][0] == same.texts["分开"][1]


def test_compare_command(tmp_path):
    out = tmp_path / "c.json"
    run = subprocess.run([sys.executable, "-m", "d2l_rnn", "compare", "--model", "lstm",
                          "--layers", "2", "--bidirectional", "--smoke", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "all 54 quantities agree" in run.stdout and "grad r1_W_xc" in run.stdout
    report = json.loads(out.read_text())
    assert report["settings"]["num_layers"] == 2 and len(report["rows"]) == 54
    run = subprocess.run([sys.executable, "-m", "d2l_rnn", "compare", "--plot", "x.png"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "--plot needs --train" in run.stderr
    run = subprocess.run([sys.executable, "-m", "d2l_rnn", "compare", "--help"],
                         capture_output=True, text=True, timeout=300)
    for flag in ("--model", "--layers", "--bidirectional", "--gru-variant", "--train",
                 "--plot", "--json", "--smoke", "--scale", "--seed"):
        assert flag in run.stdout
