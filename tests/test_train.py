"""The shared training loop: parity with the book's d2lzh loops, clipping, real training runs,
the book's own cells running unchanged, and clear errors on bad input."""
import random
import re

import d2lzh
import mxnet as mx
import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon import rnn as grnn

import d2l_rnn
from d2l_rnn.models.book_cells import BOOK, make_get_params

PPL = re.compile(r"epoch (\d+), perplexity ([0-9.]+), time")


def _book_perplexities(text):
    return [float(m.group(2)) for m in PPL.finditer(text)]


def _seed(s=0):
    mx.random.seed(s)
    random.seed(s)


@pytest.mark.parametrize("kind,is_random", [("gru", False), ("gru", True), ("lstm", False),
                                            ("rnn", True)])
def test_scratch_loop_matches_d2lzh(small_lyrics, capsys, kind, is_random):
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    book_fn, init_state = BOOK[kind]
    args = lambda: (book_fn, make_get_params(kind, V, 32, V), init_state, 32, V, mx.cpu(),
                    corpus_indices, idx_to_char, char_to_idx, is_random, 4, 10, 100.0, 0.01,
                    16, 1, 5, ["分开"])
    _seed()
    d2lzh.train_and_predict_rnn(*args())
    book = _book_perplexities(capsys.readouterr().out)
    _seed()
    history = d2l_rnn.train_and_predict_rnn(*args())
    printed = capsys.readouterr().out
    assert len(book) == 4
    np.testing.assert_allclose(history.perplexity, book, rtol=1e-4)
    np.testing.assert_allclose(_book_perplexities(printed), book, rtol=1e-4)
    assert sorted(history.samples) == [1, 2, 3, 4]
    # The package's own (faster) model function follows the same trajectory.
    ours_fn = d2l_rnn.MODELS[kind][0]
    _seed()
    fast = d2l_rnn.train_and_predict_rnn(ours_fn, *args()[1:], quiet=True)
    np.testing.assert_allclose(fast.perplexity, book, rtol=1e-4)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("layer", [grnn.GRU, grnn.LSTM])
def test_concise_loop_matches_d2lzh(small_lyrics, capsys, layer):
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    args = (32, V, mx.cpu(), corpus_indices, idx_to_char, char_to_idx, 4, 10, 100.0, 0.01, 16,
            2, 5, ["分开", "不分开"])
    _seed()
    d2lzh.train_and_predict_rnn_gluon(d2lzh.RNNModel(layer(32), V), *args)
    book_out = capsys.readouterr().out
    _seed()
    history = d2l_rnn.train_and_predict_rnn_gluon(d2l_rnn.RNNModel(layer(32), V), *args)
    ours_out = capsys.readouterr().out
    np.testing.assert_allclose(history.perplexity[1::2], _book_perplexities(book_out),
                               rtol=1e-4)
    # Same generated text too (numbers differ only in float round-off and timing).
    strip = lambda s: re.sub(r"perplexity [0-9.]+, time [0-9.]+ sec", "", s)
    assert strip(ours_out) == strip(book_out)


def test_grad_clipping_matches_d2lzh():
    rng = np.random.RandomState(0)
    for scale, theta in ((1.0, 0.01), (1e-4, 10.0)):  # clipped, and left alone
        ours = [nd.array(rng.normal(0, scale, s)) for s in ((30, 20), (20,), (5, 5))]
        book = [p.copy() for p in ours]
        for p, q in zip(ours, book):
            p.attach_grad()
            q.attach_grad()
            g = nd.array(rng.normal(0, scale, p.shape))
            p.grad[:] = g
            q.grad[:] = g
        d2l_rnn.grad_clipping(ours, theta, mx.cpu())
        d2lzh.grad_clipping(book, theta, mx.cpu())
        for p, q in zip(ours, book):
            np.testing.assert_allclose(p.grad.asnumpy(), q.grad.asnumpy(), rtol=1e-5)
        norm = np.sqrt(sum((p.grad.asnumpy().astype(np.float64) ** 2).sum() for p in ours))
        if scale == 1.0:
            assert norm == pytest.approx(theta, rel=1e-5)  # the clipped norm is theta
        else:
            assert norm < theta


def test_book_cells_run_unchanged(small_lyrics, capsys):
    """The chapter's GRU cells, written as in the book against ``d2l``, train through ours."""
    d2l = d2l_rnn
    (corpus_indices, char_to_idx, idx_to_char, vocab_size) = small_lyrics
    num_inputs, num_hiddens, num_outputs = vocab_size, 32, vocab_size
    ctx = d2l.try_gpu()

    def get_params():
        def _one(shape):
            return nd.random.normal(scale=0.01, shape=shape, ctx=ctx)

        def _three():
            return (_one((num_inputs, num_hiddens)), _one((num_hiddens, num_hiddens)),
                    nd.zeros(num_hiddens, ctx=ctx))
        W_xz, W_hz, b_z = _three()
        W_xr, W_hr, b_r = _three()
        W_xh, W_hh, b_h = _three()
        W_hq = _one((num_hiddens, num_outputs))
        b_q = nd.zeros(num_outputs, ctx=ctx)
        params = [W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]
        for param in params:
            param.attach_grad()
        return params

    def init_gru_state(batch_size, num_hiddens, ctx):
        return (nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx), )

    gru = BOOK["gru"][0]
    d2l.train_and_predict_rnn(gru, get_params, init_gru_state, num_hiddens, vocab_size, ctx,
                              corpus_indices, idx_to_char, char_to_idx, False, 2, 35, 1e2,
                              1e-2, 32, 1, 10, ["分开", "不分开"])
    out = capsys.readouterr().out
    assert out.count("perplexity") == 2 and out.count(" - 不分开") == 2


@pytest.mark.parametrize("impl,kind", [("scratch", "gru"), ("scratch", "lstm"),
                                       ("concise", "gru")])
def test_perplexity_falls_on_lyrics(lyrics, impl, kind):
    corpus_indices, char_to_idx, idx_to_char, V = lyrics
    ctx = mx.cpu()
    if impl == "scratch":
        fn, _, init_state = d2l_rnn.MODELS[kind]
        h = d2l_rnn.train_and_predict_rnn(
            fn, d2l_rnn.get_params_fn(kind, V, 128, ctx), init_state, 128, V, ctx,
            corpus_indices, idx_to_char, char_to_idx, False, 40, 35, 100.0, 0.01, 32, 20, 10,
            ["分开"], seed=0, quiet=True)
    else:
        model = d2l_rnn.RNNModel(grnn.GRU(128), V)
        h = d2l_rnn.train_and_predict_rnn_gluon(
            model, 128, V, ctx, corpus_indices, idx_to_char, char_to_idx, 40, 35, 100.0, 0.01,
            32, 20, 10, ["分开"], seed=0, quiet=True)
    assert h.perplexity[0] > 400  # starts near the vocabulary size (1,027)
    assert h.perplexity[-1] < h.perplexity[0] / 3
    assert len(h.samples[40]["分开"]) == 12


def _scratch_call(lyrics, **overrides):
    corpus_indices, char_to_idx, idx_to_char, V = lyrics
    kw = dict(num_hiddens=16, num_epochs=1, num_steps=35, lr=100.0, clipping_theta=0.01,
              batch_size=32, pred_period=1, pred_len=5, prefixes=["分开"])
    kw.update(overrides)
    return d2l_rnn.train_and_predict_rnn(
        d2l_rnn.gru, d2l_rnn.get_params_fn("gru", V, kw["num_hiddens"]), d2l_rnn.init_gru_state,
        kw["num_hiddens"], V, mx.cpu(), corpus_indices, idx_to_char, char_to_idx, False,
        kw["num_epochs"], kw["num_steps"], kw["lr"], kw["clipping_theta"], kw["batch_size"],
        kw["pred_period"], kw["pred_len"], kw["prefixes"], quiet=True)


@pytest.mark.parametrize("name,value,message", [
    ("num_epochs", 0, "num_epochs must be a positive integer, got 0"),
    ("num_steps", -3, "num_steps must be a positive integer, got -3"),
    ("batch_size", 2.5, "batch_size must be a positive integer, got 2.5"),
    ("num_hiddens", 0, "num_hiddens must be a positive integer"),
    ("lr", 0, "lr must be a positive finite number, got 0"),
    ("lr", float("nan"), "lr must be a positive finite number"),
    ("clipping_theta", -1, "clipping_theta must be a positive number or None"),
    ("pred_len", -1, "pred_len must be an integer >= 0"),
    ("pred_period", 0, "pred_period must be a positive integer"),
])
def test_bad_hyperparameters(small_lyrics, name, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _scratch_call(small_lyrics, **{name: value})


def test_unknown_prefix_character_fails_before_training(small_lyrics):
    with pytest.raises(d2l_rnn.UnknownCharacterError, match="'☃'.*not in the vocabulary"):
        _scratch_call(small_lyrics, prefixes=["分开☃"], num_epochs=10 ** 6)
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    params = d2l_rnn.get_gru_params(V, 8)
    with pytest.raises(d2l_rnn.UnknownCharacterError, match="'Ω'"):
        d2l_rnn.predict_rnn("Ω", 3, d2l_rnn.gru, params, d2l_rnn.init_gru_state, 8, V, None,
                            idx_to_char, char_to_idx)


def test_too_short_corpus(small_lyrics):
    with pytest.raises(d2l_rnn.CorpusTooShortError, match="too few for one minibatch"):
        _scratch_call(small_lyrics, num_steps=100)


def test_diverging_learning_rate_stops_with_a_clear_message(small_lyrics):
    with pytest.raises(d2l_rnn.TrainingDiverged,
                       match=r"diverged .* epoch 1, minibatch \d+ \(step \d+\) with lr=1e\+06 "
                             r"and clipping_theta=None"):
        _scratch_call(small_lyrics, lr=1e6, clipping_theta=None, num_steps=5, num_epochs=3)


def test_history_and_callback(small_lyrics):
    seen = []
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    h = d2l_rnn.train_and_predict_rnn(
        d2l_rnn.rnn, d2l_rnn.get_params_fn("rnn", V, 8), d2l_rnn.init_rnn_state, 8, V, None,
        corpus_indices, idx_to_char, char_to_idx, True, 5, 5, 1.0, None, 8, 2, 3, "分开",
        quiet=True, callback=lambda e, hist: seen.append(e) or e == 3)
    assert seen == [1, 2, 3] and h.epochs == [1, 2, 3]
    assert list(h.samples) == [2] and set(h.samples[2]) == {"分开"}
    d = h.as_dict()
    assert d["epochs"] == [1, 2, 3] and len(d["seconds"]) == 3
    assert "3 epochs" in repr(h)
    assert len(h.params) == 5
