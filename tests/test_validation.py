"""Held-out evaluation: the split, a validation stream the training never reads (and vice
versa), the perplexity itself, the history and the printed lines, the memorisation warning."""
import math
import re

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, nd
from mxnet.gluon import rnn as grnn

import d2l_rnn
from d2l_rnn import evaluate_perplexity, split_corpus


def test_split_is_by_characters_and_keeps_order():
    corpus = list(range(1000))
    train, val = split_corpus(corpus, 0.1)
    assert train == list(range(900)) and val == list(range(900, 1000))
    assert split_corpus(corpus, 0) == (corpus, None)
    for bad in (-0.1, 1.0, "0.1"):
        with pytest.raises(ValueError, match="val_fraction must be a number in \\[0, 1\\)"):
            split_corpus(corpus, bad)
    with pytest.raises(ValueError, match="leaves 1 for validation"):
        split_corpus(list(range(10)), 0.1)


def test_validation_never_sees_training_characters():
    """Every corpus position is its own character, so the inputs a model function receives
    tell exactly which positions it read, with and without gradient recording."""
    n, V, h = 600, 600, 4
    corpus = list(range(n))
    idx_to_char = [chr(0x4e00 + i) for i in range(V)]
    char_to_idx = {c: i for i, c in enumerate(idx_to_char)}
    seen = {"train": set(), "val": set()}

    def spy(inputs, state, params):
        where = "train" if autograd.is_recording() else "val"
        seen[where].update(int(i) for i in inputs.asnumpy().ravel())
        return d2l_rnn.rnn(inputs, state, params)
    spy.takes_token_indices = True

    for is_random in (False, True):
        seen["train"].clear()
        seen["val"].clear()
        hist = d2l_rnn.train_and_predict_rnn(
            spy, d2l_rnn.get_params_fn("rnn", V, h), d2l_rnn.init_rnn_state, h, V, None,
            corpus, idx_to_char, char_to_idx, is_random, 2, 5, 1.0, 0.01, 4, 100, 0,
            [idx_to_char[0]], quiet=True, val_fraction=0.25)
        assert max(seen["train"]) < 450  # training inputs (and targets, < 450 too) come first
        assert seen["val"] and min(seen["val"]) >= 450
        assert len(hist.val_perplexity) == 2


@pytest.mark.parametrize("num_steps", [7, 10])  # 133 = 19 x 7 = 13 x 10 + 3
@pytest.mark.parametrize("chunk", [None, 1, 2])
def test_evaluate_perplexity_is_the_mean_cross_entropy_over_the_stream(small_lyrics, monkeypatch,
                                                                       num_steps, chunk):
    """Against a direct computation: one pass over each piece of the stream, from zero; also
    when the stream goes to the device in chunks of one or two windows, and when its last
    window is short."""
    if chunk is not None:
        monkeypatch.setattr(d2l_rnn.data, "CHUNK_CHARS", chunk * 3 * num_steps)
    corpus_indices, _, _, V = small_lyrics
    mx.random.seed(1)
    params = d2l_rnn.get_gru_params(V, 8)
    step = d2l_rnn.ScratchModel.from_book(d2l_rnn.gru, params, d2l_rnn.init_gru_state, 8, V)
    begin = step.begin_state
    val = corpus_indices[:401]
    got = evaluate_perplexity(step, begin, val, batch_size=3, num_steps=num_steps)
    # 400 targets; pieces of at least 4 * num_steps characters: 3 of 133 (one left over).
    total = 0.0
    for i in range(3):
        x = nd.array([val[i * 133:(i + 1) * 133]])
        y = np.array(val[i * 133 + 1:(i + 1) * 133 + 1])
        logits, _ = step(x, begin(1))
        logp = nd.log_softmax(logits).asnumpy().astype(np.float64)
        total -= logp[np.arange(133), y].sum()
    assert got == pytest.approx(math.exp(total / 399), rel=1e-5)


def test_history_and_screen_show_validation(small_lyrics, capsys):
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    h = d2l_rnn.train_and_predict_rnn_gluon(
        d2l_rnn.RNNModel(grnn.GRU(16), V), 16, V, None, corpus_indices, idx_to_char,
        char_to_idx, 3, 10, 100.0, 0.01, 16, 1, 5, ["分开"], seed=0, val_fraction=0.1)
    out = capsys.readouterr().out
    lines = re.findall(r"epoch (\d), perplexity ([0-9.]+), validation perplexity ([0-9.]+), "
                       r"time [0-9.]+ sec", out)
    assert [int(e) for e, _, _ in lines] == [1, 2, 3]
    np.testing.assert_allclose([float(v) for _, _, v in lines], h.val_perplexity, rtol=1e-6)
    assert h.best_epoch == h.epochs[int(np.argmin(h.val_perplexity))]
    d = h.as_dict()
    assert d["val_perplexity"] == h.val_perplexity and d["best_epoch"] == h.best_epoch
    assert "best validation perplexity" in repr(h)


def test_memorisation_warning_is_given_once_with_both_numbers(lyrics, capsys):
    """A big model on 1,800 characters memorises them within a few dozen epochs."""
    corpus_indices, char_to_idx, idx_to_char, V = lyrics
    corpus_indices = corpus_indices[:2000]
    h = d2l_rnn.train_and_predict_rnn(
        d2l_rnn.gru, d2l_rnn.get_params_fn("gru", V, 64), d2l_rnn.init_gru_state, 64, V,
        None, corpus_indices, idx_to_char, char_to_idx, False, 40, 20, 100.0, 0.01, 8, 1000,
        0, [], seed=0, val_fraction=0.1, overfit_ratio=2.0,
        callback=lambda e, hist: hist.memorisation is not None and e >= hist.memorisation[0]
        + 2)
    out = capsys.readouterr().out
    assert h.memorisation is not None, (h.perplexity, h.val_perplexity)
    epoch, train_ppl, val_ppl = h.memorisation
    assert val_ppl > 2 * train_ppl
    assert out.count("warning:") == 1 and "memorising" in out
    assert "%.3f" % train_ppl in out and "%.3f" % val_ppl in out
    assert h.epochs[-1] == epoch + 2  # the run went on after the warning, silently


def test_no_warning_without_validation(small_lyrics, capsys):
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    h = d2l_rnn.train_and_predict_rnn(
        d2l_rnn.rnn, d2l_rnn.get_params_fn("rnn", V, 8), d2l_rnn.init_rnn_state, 8, V, None,
        corpus_indices, idx_to_char, char_to_idx, False, 2, 10, 1.0, None, 8, 1, 3, ["分开"])
    out = capsys.readouterr().out
    assert h.val_perplexity == [] and h.memorisation is None and h.best_epoch is None
    assert "validation" not in out and "warning" not in out
    # The book's line, unchanged.
    assert re.search(r"^epoch 2, perplexity [0-9.]+, time [0-9.]+ sec$", out, re.M)


def test_progress_bar_shows_loss_and_tokens_per_second(small_lyrics, capsys):
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    d2l_rnn.train_and_predict_rnn(
        d2l_rnn.rnn, d2l_rnn.get_params_fn("rnn", V, 8), d2l_rnn.init_rnn_state, 8, V, None,
        corpus_indices, idx_to_char, char_to_idx, False, 2, 10, 1.0, None, 8, 1, 3, ["分开"],
        progress=True, val_fraction=0.1)
    out, err = capsys.readouterr()
    assert "epoch 2, perplexity" in out  # the book's lines still reach stdout
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert re.search(r"loss=[0-9.]+, ppl=[0-9.]+, val_ppl=[0-9.]+, tok/s=\d+", last), last
    assert "batch" in err
