"""Generation: greedy as in the book, temperature and top-k sampling, seeds, several samples,
unknown prefix characters."""
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon import rnn as grnn

import d2l_rnn
from d2l_rnn.generate import generate_texts, sample_next
from d2l_rnn.models import LanguageModel, ModelConfig, build_model
from d2l_rnn.util.seeding import seed_everything


@pytest.fixture(scope="module")
def trained(small_lyrics):
    """A scratch GRU trained a little, so that its next-character law is not flat."""
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    h = d2l_rnn.train_and_predict_rnn(
        d2l_rnn.gru, d2l_rnn.get_params_fn("gru", V, 32), d2l_rnn.init_gru_state, 32, V, None,
        corpus_indices, idx_to_char, char_to_idx, False, 6, 10, 100.0, 0.01, 16, 100, 5,
        ["分开"], seed=0, quiet=True)
    return h.params, small_lyrics


def _predict(trained, prefix="分开", n=20, **kw):
    params, (_, char_to_idx, idx_to_char, V) = trained
    return d2l_rnn.predict_rnn(prefix, n, d2l_rnn.gru, params, d2l_rnn.init_gru_state, 32, V,
                               None, idx_to_char, char_to_idx, **kw)


def test_greedy_is_the_default_and_a_str(trained):
    text = _predict(trained)
    assert isinstance(text, str) and text.startswith("分开") and len(text) == 22
    assert _predict(trained, temperature=0) == text


def test_temperature_towards_zero_is_greedy(trained):
    greedy = _predict(trained, n=30)
    for seed in range(3):
        assert _predict(trained, n=30, temperature=1e-6, seed=seed) == greedy


def test_top_k_one_is_greedy(trained):
    greedy = _predict(trained, n=30)
    assert _predict(trained, n=30, top_k=1, seed=5) == greedy
    assert _predict(trained, n=30, top_k=1, temperature=3.0, seed=5) == greedy


def test_same_seed_same_samples_and_several_at_once(trained):
    a = _predict(trained, n=40, temperature=1.0, num_samples=4, seed=7)
    b = _predict(trained, n=40, temperature=1.0, num_samples=4, seed=7)
    c = _predict(trained, n=40, temperature=1.0, num_samples=4, seed=8)
    assert isinstance(a, list) and len(a) == 4 and all(len(t) == 42 for t in a)
    assert a == b
    assert a != c
    assert len(set(a)) > 1  # the samples of one call are not copies of each other
    assert _predict(trained, n=40, temperature=1.0, seed=7) == a[0]  # row 0 of the batch


def test_sample_next_respects_top_k_and_temperature():
    rng = np.random.RandomState(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 20000))
    draws = sample_next(logits, 1.0, None, rng)
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.15, 0.05], atol=0.015)
    top2 = sample_next(logits, 1.0, 2, rng)
    assert set(np.unique(top2)) == {0, 1}
    np.testing.assert_allclose(np.mean(top2 == 0), 0.5 / 0.8, atol=0.015)
    hot = sample_next(logits, 100.0, None, rng)  # a high temperature flattens the law
    np.testing.assert_allclose(np.bincount(hot, minlength=4) / len(hot), 0.25, atol=0.015)
    assert (sample_next(logits[:3], 0.0) == 0).all()


def test_gluon_sampling_and_default_greedy(small_lyrics):
    corpus_indices, char_to_idx, idx_to_char, V = small_lyrics
    mx.random.seed(0)
    model = d2l_rnn.RNNModel(grnn.LSTM(16), V)
    model.initialize(init=mx.init.Normal(0.5))
    args = ("不分开", 15, model, V, None, idx_to_char, char_to_idx)
    greedy = d2l_rnn.predict_rnn_gluon(*args)
    assert d2l_rnn.predict_rnn_gluon(*args, top_k=1) == greedy
    assert d2l_rnn.predict_rnn_gluon(*args, temperature=1e-7, seed=1) == greedy
    s = d2l_rnn.predict_rnn_gluon(*args, temperature=0.8, top_k=5, num_samples=3, seed=0)
    assert s == d2l_rnn.predict_rnn_gluon(*args, temperature=0.8, top_k=5, num_samples=3,
                                          seed=0)
    assert len(s) == 3 and all(t.startswith("不分开") and len(t) == 18 for t in s)


def test_unknown_prefix_characters(trained):
    with pytest.raises(d2l_rnn.UnknownCharacterError, match=r"'☃'.*skip_unknown=True"):
        _predict(trained, prefix="分☃开")
    with pytest.warns(UserWarning, match=r"skipped character\(s\) '☃'"):
        skipped = _predict(trained, prefix="分☃开", skip_unknown=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert skipped == _predict(trained, prefix="分开")
    with pytest.raises(d2l_rnn.UnknownCharacterError, match="nothing is left"):
        _predict(trained, prefix="☃☃", skip_unknown=True)


@pytest.mark.parametrize("kw,message", [
    (dict(temperature=-1.0), "temperature must be a finite number >= 0"),
    (dict(top_k=0), "top_k must be a positive integer"),
    (dict(num_samples=0), "num_samples must be a positive integer"),
])
def test_bad_sampling_options(trained, kw, message):
    with pytest.raises(ValueError, match=message):
        _predict(trained, **kw)


def test_generate_texts_matches_book_greedy_step(trained):
    """The batched generator feeds the prefix like the book: one step per character."""
    params, (_, char_to_idx, idx_to_char, V) = trained
    step = d2l_rnn.ScratchModel.from_book(d2l_rnn.gru, params, d2l_rnn.init_gru_state, 32, V)
    begin = step.begin_state
    ours = generate_texts(step, "分开", 10, char_to_idx, idx_to_char)[0]
    state, out = begin(1), [char_to_idx["分"]]
    for t in range(11):
        X = mx.nd.array([[out[t]]])
        Y, state = step(X, state)
        if t >= 1:
            out.append(int(Y[-1].argmax(axis=0).asscalar()))
        else:
            out.append(char_to_idx["开"])
    assert ours == "".join(idx_to_char[i] for i in out)


@pytest.mark.parametrize("kind,num_layers,bidirectional", [
    ("gru", 1, False), ("lstm", 2, False), ("rnn", 1, True), ("gru_cudnn", 1, False)])
@pytest.mark.parametrize("n", [1, 31, 33, 70])  # around and beyond the 32-step chunks
@pytest.mark.parametrize("fused", [True, False])
def test_compiled_greedy_chunks_choose_what_step_by_step_chooses(
        kind, num_layers, bidirectional, n, fused):
    seed_everything(n)
    model = build_model(ModelConfig("scratch", kind, 40, 24, num_layers, bidirectional))
    for p in model.params:  # large weights: the choices depend on the state, not on b_q
        p[:] = p * 60
    X = mx.nd.array([[3], [5], [7]])
    old = d2l_rnn.kernels.set_enabled(fused)
    try:
        fast = model.greedy(X, model.begin_state(3), n)
        slow = LanguageModel.greedy(model, X, model.begin_state(3), n)
    finally:
        d2l_rnn.kernels.set_enabled(old)
    assert fast.shape == slow.shape == (3, n)
    np.testing.assert_array_equal(fast.asnumpy(), slow.asnumpy())
    if n > 1:
        assert len(np.unique(slow.asnumpy())) > 2  # a real walk, not one repeated character


@pytest.mark.parametrize("impl", ["scratch", "concise"])
@pytest.mark.parametrize("n", [0, -1, 2.5])
def test_greedy_needs_at_least_one_step(impl, n):
    model = build_model(ModelConfig(impl, "gru", 40, 8))
    X = mx.nd.array([[3]])
    for greedy in (model.greedy, lambda *a: LanguageModel.greedy(model, *a)):
        with pytest.raises(ValueError, match=r"num_steps must be a positive integer, got %r"
                           % n):
            greedy(X, model.begin_state(1), n)


@pytest.mark.parametrize("kind,num_layers,bidirectional", [
    ("gru", 1, False), ("lstm", 1, False), ("gru", 2, True), ("lstm", 2, False)])
@pytest.mark.parametrize("n", [1, 33])
def test_concise_compiled_greedy_chooses_what_gluon_step_by_step_chooses(
        kind, num_layers, bidirectional, n):
    """Through the kernels (views of the Gluon parameters) and step by step by Gluon's
    equations: the same characters (float32 round-off apart, which random weights this
    large do not bring near a tie)."""
    seed_everything(n)
    model = build_model(ModelConfig("concise", kind, 40, 24, num_layers, bidirectional))
    model.materialize()
    for p in model.net.collect_params().values():
        p.set_data(p.data() * 60)
    X = mx.nd.array([[3], [5], [7]])
    fast = model.greedy(X, model.begin_state(3), n)
    assert fast is not None and fast.shape == (3, n)
    slow = LanguageModel.greedy(model, X, model.begin_state(3), n)
    np.testing.assert_array_equal(fast.asnumpy(), slow.asnumpy())
    model.net.fused = False  # Gluon's own operator: the loop step by step
    np.testing.assert_array_equal(model.greedy(X, model.begin_state(3), n).asnumpy(),
                                  slow.asnumpy())


@pytest.mark.parametrize("kind,num_layers", [("gru", 1), ("lstm", 2)])
def test_concise_sampling_through_the_kernels_draws_what_gluon_draws(
        small_lyrics, monkeypatch, kind, num_layers):
    """Generation freezes the parameters: the kernels' view of them is made once per call,
    single steps run through the kernels, and the samples are those of Gluon's equations
    step by step (_one_step, which fused = False keeps)."""
    from d2l_rnn.models.concise import RNNModel
    _, char_to_idx, idx_to_char, V = small_lyrics
    seed_everything(0)
    model = build_model(ModelConfig("concise", kind, V, 24, num_layers))
    model.materialize()
    for p in model.net.collect_params().values():
        p.set_data(p.data() * 20)  # a peaked next-character law, not a flat one
    views = []
    fresh = RNNModel._fresh_view
    monkeypatch.setattr(RNNModel, "_fresh_view",
                        lambda self, ctx: views.append(ctx) or fresh(self, ctx))

    def sample():
        return generate_texts(model, "分开", 40, char_to_idx, idx_to_char, temperature=0.8,
                              num_samples=8, seed=3)
    fast = sample()
    assert len(views) == 1  # one view for the prefix and all 40 steps
    model.net.fused = False
    assert sample() == fast and len(views) == 1
    assert len(set(fast)) > 1


def _gluon_layers():
    return [grnn.GRU(24, num_layers=2), grnn.LSTM(17), grnn.LSTM(8, num_layers=3),
            grnn.RNN(16, activation="tanh"), grnn.RNN(8, num_layers=2),
            grnn.GRU(8, bidirectional=True)]


@pytest.mark.parametrize("i", range(6))
def test_run_layer_is_gluons_layer(i):
    """The concise model's layer call (parameters joined as rows) computes Gluon's layer bit
    for bit: outputs, states, the input's and every parameter's gradient."""
    from mxnet import autograd, nd
    from d2l_rnn.models.concise import run_layer
    layer = _gluon_layers()[i]
    layer.initialize(mx.init.Normal(0.3))
    X = nd.random.normal(shape=(5, 3, 11))
    state = layer.begin_state(3)
    layer(X, state)  # Gluon infers the shapes
    results = []
    for call in (layer, lambda x, s: run_layer(layer, x, s)):
        x = X.copy()
        x.attach_grad()
        with autograd.record():
            Y, new_state = call(x, state)
            loss = (Y ** 2).sum() + sum((S ** 3).sum() for S in new_state)
        loss.backward()
        results.append([Y.asnumpy()] + [S.asnumpy() for S in new_state] + [x.grad.asnumpy()]
                       + [p.grad().asnumpy() for p in layer.collect_params().values()])
    assert len(results[1]) == len(results[0]) > 4
    for a, b in zip(*results):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("i", range(6))
def test_one_step_by_the_equations_equals_the_rnn_operator(i, monkeypatch):
    """Generation's single steps (outside autograd, one direction) run by Gluon's equations
    instead of its RNN operator: the same outputs and states up to float32 round-off."""
    from mxnet import nd
    from d2l_rnn.models import concise
    layer = _gluon_layers()[i]
    layer.initialize(mx.init.Normal(0.5))
    X = nd.random.normal(shape=(1, 3, 11))
    state = [nd.random.normal(shape=S.shape) for S in layer.begin_state(3)]
    Y, new_state = layer(X, state)
    steps, one_step = [], concise._one_step
    monkeypatch.setattr(concise, "_one_step", lambda *a: steps.append(1) or one_step(*a))
    ours = concise.run_layer(layer, X, state)
    assert len(steps) == (1 if layer._dir == 1 else 0)
    for a, b in zip([Y] + list(new_state), [ours[0]] + list(ours[1])):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("i", [0, 1, 3])
def test_one_step_looks_the_one_hot_product_up(i):
    """Given the token indices, the single step takes the input product as columns of
    i2h_weight: exactly what multiplying the one-hot rows gives."""
    from mxnet import nd
    from d2l_rnn.models import concise
    layer = _gluon_layers()[i]
    layer.initialize(mx.init.Normal(0.5))
    tokens = nd.array([4, 0, 10])
    X = nd.one_hot(tokens, 11).expand_dims(axis=0)
    state = [nd.random.normal(shape=S.shape) for S in layer.begin_state(3)]
    layer(X, state)
    product = concise.run_layer(layer, X, state)
    lookup = concise.run_layer(layer, X, state, indices=tokens)
    for a, b in zip([product[0]] + product[1], [lookup[0]] + lookup[1]):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
