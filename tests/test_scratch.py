"""The package's scratch models compute the chapter's equations: same loss, same gradients,
same final state as the book's step-by-step cells on identical parameters."""
import numpy as np
import pytest
import mxnet as mx
from mxnet import autograd, nd
from mxnet.gluon import loss as gloss

import d2l_rnn
from d2l_rnn.models.book_cells import BOOK, make_get_params

V, H, B, T = 50, 16, 4, 7


def _copy(params, rng):
    """Copies of ``params`` with random (non-zero) biases, gradients attached."""
    out = []
    for p in params:
        q = p.copy() if p.ndim == 2 else nd.array(rng.normal(0, 0.1, p.shape))
        q.attach_grad()
        out.append(q)
    return out


def _loss_and_grads(model, inputs, state, params, Y):
    with autograd.record():
        outputs, new_state = model(inputs, state, params)
        if isinstance(outputs, list):
            outputs = nd.concat(*outputs, dim=0)
        l = gloss.SoftmaxCrossEntropyLoss()(outputs, Y.T.reshape((-1,))).mean()
    l.backward()
    return l.asscalar(), outputs.asnumpy(), [s.asnumpy() for s in new_state], \
        [p.grad.asnumpy() for p in params]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("input_form", ["indices", "onehot"])
def test_matches_book_equations(kind, input_form):
    rng = np.random.RandomState(1)
    mx.random.seed(1)
    ours_fn, get_params, init_state = d2l_rnn.MODELS[kind]
    book_fn, book_init = BOOK[kind]
    base = make_get_params(kind, V, H, V)()
    ours, book = _copy(base, rng), None
    book = [p.copy() for p in ours]
    for p in book:
        p.attach_grad()
    X = nd.array(rng.randint(0, V, (B, T)))
    Y = nd.array(rng.randint(0, V, (B, T)))
    # A non-zero start state checks that the state is threaded through correctly.
    state = tuple(nd.array(rng.normal(0, 0.5, (B, H))) for _ in book_init(B, H))
    inputs = X.T if input_form == "indices" else d2l_rnn.to_onehot(X, V)
    l1, out1, s1, g1 = _loss_and_grads(ours_fn, inputs, state, ours, Y)
    l2, out2, s2, g2 = _loss_and_grads(book_fn, d2l_rnn.to_onehot(X, V), state, book, Y)
    assert l1 == pytest.approx(l2, rel=1e-5)
    np.testing.assert_allclose(out1, out2, rtol=1e-4, atol=1e-6)
    for a, b in zip(s1, s2):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert len(g1) == len(g2) == {"rnn": 5, "gru": 11, "lstm": 14}[kind]
    for i, (a, b) in enumerate(zip(g1, g2)):
        assert np.abs(b).max() > 0, "parameter %d got no gradient in the reference" % i
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7,
                                   err_msg="gradient of parameter %d" % i)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_shapes_and_book_order(kind):
    model, get_params, init_state = d2l_rnn.MODELS[kind]
    mx.random.seed(3)
    ours = get_params(V, H, V)
    mx.random.seed(3)
    book = make_get_params(kind, V, H, V)()
    # Same seed, same draws in the same order: the book's parameter values.
    for a, b in zip(ours, book):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    state = init_state(B, H)
    assert [s.shape for s in state] == [(B, H)] * (2 if kind == "lstm" else 1)
    X = nd.array(np.random.RandomState(0).randint(0, V, (B, T)))
    out, new_state = model(X.T, state, ours)
    assert out.shape == (T * B, V)
    out_list, _ = model(d2l_rnn.to_onehot(X, V), state, ours)
    assert isinstance(out_list, list) and len(out_list) == T
    assert out_list[0].shape == (B, V)
    one_step, _ = model([nd.one_hot(X[:, 0], V)], state, ours)
    assert isinstance(one_step, list) and one_step[0].shape == (B, V)
    assert [s.shape for s in new_state] == [s.shape for s in state]


def test_get_params_fn_rejects_unknown_model():
    with pytest.raises(ValueError, match="unknown scratch model 'transformer'"):
        d2l_rnn.get_params_fn("transformer", 10, 4)
