"""Small shared pieces: device choice, seeding, one-hot inputs, gradient clipping, SGD."""
import random

import mxnet as mx
import numpy as np
from mxnet import nd


def try_gpu():
    """Return ``mx.gpu(0)`` if a GPU works, else ``mx.cpu()``."""
    if mx.context.num_gpus() == 0:  # avoids MXNet's "GPU support is disabled" log line
        return mx.cpu()
    try:
        ctx = mx.gpu()
        nd.zeros((1,), ctx=ctx).asnumpy()
    except mx.base.MXNetError:
        ctx = mx.cpu()
    return ctx


def seed_everything(seed):
    """Seed Python's ``random``, NumPy's and MXNet's global random streams with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def try_all_gpus():
    """Return every working GPU context, or ``[mx.cpu()]`` if there is none."""
    ctxs = []
    for i in range(mx.context.num_gpus()):
        try:
            nd.zeros((1,), ctx=mx.gpu(i)).asnumpy()
            ctxs.append(mx.gpu(i))
        except mx.base.MXNetError:
            break
    return ctxs or [mx.cpu()]


def to_onehot(X, size):
    """One-hot encode a (batch, num_steps) index array as a list of num_steps (batch, size)."""
    return [nd.one_hot(x, size) for x in X.T]


def global_norm(arrays):
    """L2 norm of all ``arrays`` together, as a (1,) NDArray (no host sync).

    One fused ``multi_sum_sq`` kernel instead of a square and a sum per array.
    """
    sq = [nd.multi_sum_sq(*chunk, num_arrays=len(chunk)) for chunk in _chunks(arrays)]
    return nd.sqrt(nd.sum(nd.concat(*sq, dim=0) if len(sq) > 1 else sq[0])).reshape((1,))


def _chunks(arrays, size=32):
    # MXNet's multi-tensor kernels take a bounded number of arrays per call (the process
    # aborts above ~100), so long parameter lists go in chunks.
    return [arrays[i:i + size] for i in range(0, len(arrays), size)]


def clip_scale(grads, theta):
    """The factor ``min(1, theta / ||grads||)`` that global-norm clipping multiplies by.

    Returns a (1,) NDArray; ``theta=None`` means no clipping (factor 1).
    """
    if theta is None:
        return None
    return nd.minimum(theta / global_norm(grads), 1.0)


def grad_clipping(params, theta, ctx=None):
    """Clip the gradients of ``params`` in place so that their global L2 norm is <= theta.

    Same effect as the book's ``grad_clipping`` without its host sync per call.
    """
    if theta is None:
        return
    grads = [p.grad for p in params]
    scale = clip_scale(grads, theta)
    for g in grads:
        nd.broadcast_mul(g, scale, out=g)


def sgd(params, lr, batch_size):
    """Minibatch SGD in place: ``param -= lr * grad / batch_size``."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


def clipped_sgd_step(weights, grads, lr, theta):
    """One SGD step on ``weights`` with global-norm clipping folded into the step size.

    ``w -= lr * min(1, theta/||g||) * g`` for every pair, in one fused kernel for all the
    arrays, with the step size kept on the device (no host sync).
    """
    ctx = weights[0].context
    scale = clip_scale(grads, theta)
    for ws, gs in zip(_chunks(weights), _chunks(grads)):
        n = len(ws)
        step = nd.full((n,), lr, ctx=ctx)
        if scale is not None:
            step = nd.broadcast_mul(step, scale)
        args = [a for pair in zip(ws, gs) for a in pair]
        nd.preloaded_multi_sgd_update(*args, step, nd.zeros((n,), ctx=ctx), num_weights=n,
                                      out=list(ws))
