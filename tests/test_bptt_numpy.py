"""The NumPy BPTT is exact (finite differences) and explodes/vanishes where |W|^T says."""
import numpy as np
import pytest

from d2l_rnn.extras import bptt_numpy as bp


def test_counts_example_exactly_with_unit_weights():
    X = np.array([bp.EXAMPLE_X], dtype=float)
    S = bp.forward(X, 1.0, 1.0)
    assert S[0, -1] == 3.0
    dU, dW, _ = bp.backward(X, S, np.array([3.0]), 1.0)
    assert dU == 0.0 and dW == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_gradients_match_central_differences(seed):
    rng = np.random.RandomState(seed)
    T = rng.randint(3, 15)
    X = rng.randint(0, 2, size=(5, T)).astype(float)
    y = X.sum(axis=1) + rng.normal(size=5)
    U, W = rng.uniform(-1.5, 1.5, size=2)
    dU, dW, _ = bp.backward(X, bp.forward(X, U, W), y, W)
    nU, nW = bp.numerical_gradient(X, y, U, W, eps=1e-6)
    assert dU == pytest.approx(nU, rel=1e-6, abs=1e-7)
    assert dW == pytest.approx(nW, rel=1e-6, abs=1e-7)


def test_error_is_scaled_by_w_once_per_step_back():
    X, y = bp.make_data(4, 20, seed=3)
    for W in (0.6, 1.3):
        _, _, dS = bp.backward(X, bp.forward(X, 0.7, W), y, W)
        ratio = dS[:, 0] / dS[:, -1]
        np.testing.assert_allclose(ratio, W ** 20, rtol=1e-12)
        assert bp.gradient_through_time(W, 20)[20] == pytest.approx(W ** 20)
    assert bp.gradient_through_time(0.6, 20)[20] == pytest.approx(3.656e-5, rel=1e-3)


def test_short_sequences_train_to_the_counting_solution():
    X, y = bp.make_data(20, 10)
    trace = bp.train(X, y, U=0.5, W=0.5, lr=0.001, num_epochs=300)
    assert trace.overflow_epoch is None
    assert trace.loss[-1] < 0.05 < trace.loss[0]


def test_long_sequence_explodes_once_abs_w_exceeds_one():
    T = 40
    X, y = bp.make_data(20, T, seed=1)
    trace = bp.train(X, y, U=0.5, W=0.5, lr=0.003, num_epochs=300)
    e = trace.overflow_epoch
    assert e is not None and e > 1
    W = np.abs(np.array(trace.W))
    # The gradient carries W^(T-1): the overflow comes with |W| > 1 and |W|^(T-1) beyond
    # float64's range, while every earlier epoch stayed finite.
    with np.errstate(over="ignore"):
        assert W[e - 1] > 1 and not np.isfinite(W[e - 1] ** (T - 1) * 1e10)
    assert np.all(np.isfinite(trace.dW[:e - 1])) and not np.isfinite(trace.dW[e - 1])


def test_same_run_stays_finite_while_abs_w_below_one_or_with_clipping():
    X, y = bp.make_data(20, 40, seed=1)
    slow = bp.train(X, y, U=0.5, W=0.5, lr=1e-6, num_epochs=50)
    assert slow.overflow_epoch is None and max(abs(w) for w in slow.W) < 1
    clipped = bp.train(X, y, U=0.5, W=0.5, lr=0.003, num_epochs=300, clip_theta=1.0)
    assert clipped.overflow_epoch is None
    assert np.isfinite(clipped.loss[-1]) and clipped.loss[-1] < clipped.loss[0]
