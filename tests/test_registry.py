"""The registry is the one place a model kind is described: a new kind, given as one Kind and
one file with its equations, trains from the command line, checkpoints, resumes and
generates without a line changed anywhere else; the built-in kinds agree with the book."""
import sys
import textwrap

import pytest

import d2l_rnn
from d2l_rnn import cli
from d2l_rnn.models import registry
from d2l_rnn.models.book_cells import make_get_params

# A minimal gated unit (one forget gate), written the way models/scratch/gru.py is.
MGU_MODULE = '''
from d2l_rnn.models import layers
from d2l_rnn.models.ops import dot, sigmoid, tanh


def mgu_recurrence(F, XW, state, p, h):
    W_xf, W_hf, b_f, W_xh, W_hh, b_h = p
    H, = state
    hiddens = []
    for X_f, X_h in XW:
        F_t = sigmoid(F, X_f + dot(F, H, W_hf, b_f, h))
        H_tilda = tanh(F, X_h + dot(F, F_t * H, W_hh, b_h, h))
        H = (1 - F_t) * H + F_t * H_tilda
        hiddens.append(H)
    return hiddens, (H,)


def mgu_input_weights(F, p, h):
    return [(p[0], h), (p[3], h)]


MGU = layers.Cell(mgu_input_weights, mgu_recurrence)


@layers.model_function("mgu", MGU)
def mgu(inputs, state, params):
    return layers.run("mgu", MGU, inputs, state, params)
'''


@pytest.fixture
def mgu(tmp_path, monkeypatch):
    (tmp_path / "mgu_kind.py").write_text(textwrap.dedent(MGU_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    kind = registry.Kind("mgu", "mgu", gates=("f", "h"), states=("H",), gluon_layer=None,
                         gluon_gates=(), module="mgu_kind", book_epochs=7)
    monkeypatch.setitem(registry.REGISTRY, "mgu", kind)
    monkeypatch.setitem(registry.CELLS, "mgu", "mgu")
    yield kind
    sys.modules.pop("mgu_kind", None)


def test_a_new_kind_needs_only_its_kind_and_its_equations(mgu, tmp_path, capsys):
    run = str(tmp_path / "run")
    argv = ["train", "--model", "mgu", "--smoke", "--num-hiddens", "16", "--no-progress",
            "--save-dir", run, "--prefix", "分开"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "scratch mgu" in out and "epoch 2, perplexity" in out
    ckpt = d2l_rnn.load_checkpoint(run)
    assert ckpt.config["param_names"] == ["W_xf", "W_hf", "b_f", "W_xh", "W_hh", "b_h",
                                          "W_hq", "b_q"]
    assert ckpt.config["param_shapes"][0] == [ckpt.config["vocab_size"], 16]
    assert cli.main(argv[:-2] + ["--epochs", "3", "--resume", run, "--prefix", "分开"]) == 0
    assert d2l_rnn.load_checkpoint(run).epoch == 3
    assert cli.main(["generate", run, "--prefix", "分开", "--length", "8"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("分开")
    # Deep and bidirectional layouts come from the shared layer code, not the new file.
    assert cli.main(argv[:4] + ["--num-layers", "2", "--bidirectional", "--epochs", "1",
                                "--no-progress", "--num-hiddens", "8"]) == 0
    # It has no Gluon layer: the concise path says so instead of failing somewhere inside.
    assert cli.main(["train", "--model", "mgu", "--impl", "concise", "--smoke"]) == 2
    assert "no concise (Gluon) version" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_builtin_kinds_describe_the_books_parameters(kind):
    """The registry's parameter names and order are the book's get_params() list."""
    names = d2l_rnn.param_names(kind)
    book = make_get_params(kind, 10, 4, 10)()
    assert len(names) == len(book)
    for name, p in zip(names, book):
        expected = {"W_hq": (4, 10), "b_q": (10,)}.get(name) or (
            (10, 4) if name.startswith("W_x") else (4, 4) if name.startswith("W_h") else (4,))
        assert p.shape == expected, name
    assert registry.get(kind).num_states == (2 if kind == "lstm" else 1)
    assert d2l_rnn.KINDS[kind] is getattr(d2l_rnn, kind)
