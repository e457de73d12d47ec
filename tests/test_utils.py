"""The fused clipped SGD step equals the book's clip-then-update, for any number of arrays."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import nd

from d2l_rnn.util.device import try_all_gpus, try_gpu
from d2l_rnn.util.optim import clipped_sgd_step, global_norm


@pytest.mark.parametrize("n", [1, 11, 33, 150])  # MXNet's fused kernels take ~100 at most
@pytest.mark.parametrize("theta", [None, 0.01, 1e6])
def test_clipped_sgd_step_matches_clip_then_update(n, theta):
    rng = np.random.RandomState(n)
    w0 = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(n)]
    g = [rng.normal(size=(3, 4)).astype(np.float32) for _ in range(n)]
    norm = np.sqrt(sum((x.astype(np.float64) ** 2).sum() for x in g))
    factor = 1.0 if theta is None or norm <= theta else theta / norm
    weights = [nd.array(x) for x in w0]
    clipped_sgd_step(weights, [nd.array(x) for x in g], 0.5, theta)
    for w, x, gx in zip(weights, w0, g):
        np.testing.assert_allclose(w.asnumpy(), x - 0.5 * factor * gx, rtol=1e-5, atol=1e-7)
    assert global_norm([nd.array(x) for x in g]).asscalar() == pytest.approx(norm, rel=1e-5)


def test_contexts_fall_back_to_cpu():
    expected = "gpu" if mx.context.num_gpus() else "cpu"
    assert try_gpu().device_type == expected
    assert {c.device_type for c in try_all_gpus()} == {expected}
