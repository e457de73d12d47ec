"""Property-based tests (hypothesis): the minibatch iterators, the vocabulary and the
checkpoint round trip, on random corpora and shapes."""
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import d2l_rnn
from d2l_rnn import data as ddata

corpora = st.lists(st.integers(0, 40), min_size=2, max_size=400)


@settings(max_examples=150, deadline=None)
@given(corpora, st.integers(1, 9), st.integers(1, 12), st.booleans(), st.integers(0, 99))
def test_every_minibatch_is_in_range_and_predicts_the_next_character(corpus, B, T, is_random,
                                                                     seed):
    n = len(corpus)
    it = ddata.data_iter_random if is_random else ddata.data_iter_consecutive
    if n < ddata.min_chars(B, T, is_random):
        with pytest.raises(d2l_rnn.CorpusTooShortError):
            next(iter(it(corpus, B, T)))
        return
    kw = {"rng": random.Random(seed)} if is_random else {}
    batches = [(X.asnumpy().astype(int), Y.asnumpy().astype(int)) for X, Y in
               it(corpus, B, T, **kw)]
    assert len(batches) == ddata.batches_per_epoch(n, B, T, is_random) >= 1
    c = np.array(corpus)
    starts = []
    for X, Y in batches:
        assert X.shape == Y.shape == (B, T)
        for x, y in zip(X, Y):
            # Every row is a window of the corpus, and Y is X moved on by one character.
            s = next(i for i in range(n - T) if (c[i:i + T] == x).all()
                     and (c[i + 1:i + T + 1] == y).all())
            starts.append(s)
    if not is_random and len(batches) > 1:
        # Consecutive sampling: row b of minibatch i+1 continues row b of minibatch i.
        for (X0, _), (X1, _) in zip(batches, batches[1:]):
            for x0, x1 in zip(X0, X1):
                assert any((c[i:i + T] == x0).all() and (c[i + T:i + 2 * T] == x1).all()
                           for i in range(n - 2 * T + 1))


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=2, max_size=300))
def test_the_vocabulary_is_sorted_and_gives_the_text_back(text):
    char_to_idx, idx_to_char = ddata.build_vocab(text)
    assert idx_to_char == sorted(set(text))
    assert all(char_to_idx[c] == i for i, c in enumerate(idx_to_char))
    assert "".join(idx_to_char[char_to_idx[c]] for c in text) == text


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["rnn", "gru", "lstm"]), st.integers(2, 9), st.integers(1, 2),
       st.booleans(), st.booleans(), st.integers(1, 3))
def test_a_checkpoint_resumes_exactly(tmp_path_factory, kind, h, L, bi, is_random, k):
    import warnings
    corpus = d2l_rnn.load_data_jay_lyrics(num_chars=600)
    ci, c2i, i2c, V = corpus

    def train(epochs, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", d2l_rnn.BidirectionalLMWarning)
            return d2l_rnn.train_and_predict_rnn(
                d2l_rnn.KINDS[kind], d2l_rnn.get_params_fn(kind, V, h, None, L, bi),
                d2l_rnn.init_state_fn(kind, L, bi), h, V, None, ci, i2c, c2i, is_random,
                epochs, 5, 1.0, 0.01, 4, 100, 2, [], quiet=True, seed=k, **kw)
    d = str(tmp_path_factory.mktemp("prop"))
    straight = train(k + 1)
    train(k, save_dir=d)
    resumed = train(k + 1, save_dir=d, resume=d)
    assert resumed.perplexity == straight.perplexity
    assert all(np.array_equal(a.asnumpy(), b.asnumpy())
               for a, b in zip(resumed.params, straight.params))
