"""The optimiser steps: the book's ``grad_clipping`` and ``sgd``, and the fused step every
trainer of the package uses (global-norm clipping folded into one multi-array update).

``Optimizer`` is the one update rule for plain NDArrays (a scratch parameter list, or the
data arrays of a Gluon net): clip the global gradient norm at ``clipping_theta``, then SGD in
one fused kernel with no host sync (the language model), or any MXNet optimizer by name
(the phrase-break taggers use Adam with a cosine schedule).
"""
import math

import mxnet as mx
from mxnet import nd


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


def clip_scale(grads, theta, norm=None):
    """The factor ``min(1, theta / ||grads||)`` that global-norm clipping multiplies by.

    Returns a (1,) NDArray; ``theta=None`` means no clipping (factor 1, returned as None).
    ``norm``: the global norm, if it was computed already.
    """
    if theta is None:
        return None
    return nd.minimum(theta / (global_norm(grads) if norm is None else norm), 1.0)


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
    """Minibatch SGD in place, the book's: ``param -= lr * grad / batch_size``."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


def clipped_sgd_step(weights, grads, lr, theta, norm=None):
    """One SGD step on ``weights`` with global-norm clipping folded into the step size.

    ``w -= lr * min(1, theta/||g||) * g`` for every pair, in one fused kernel for all the
    arrays, with the step size kept on the device (no host sync). ``norm``: ``||g||`` if it
    was computed already.
    """
    ctx = weights[0].context
    scale = clip_scale(grads, theta, norm)
    for ws, gs in zip(_chunks(weights), _chunks(grads)):
        n = len(ws)
        step = nd.full((n,), lr, ctx=ctx)
        if scale is not None:
            step = nd.broadcast_mul(step, scale)
        args = [a for pair in zip(ws, gs) for a in pair]
        nd.preloaded_multi_sgd_update(*args, step, nd.zeros((n,), ctx=ctx), num_weights=n,
                                      out=list(ws))


def cosine_decay(total_steps):
    """A learning-rate factor for step k: 1 at the start, 0 after ``total_steps``, along a
    half cosine."""
    def factor(k):
        return 0.5 * (1 + math.cos(math.pi * min(1.0, k / max(total_steps, 1))))
    return factor


class Optimizer(object):
    """Clip, then update, a set of NDArrays in place.

    ``arrays()`` returns ``(weights, grads)``, two lists of NDArrays, each time it is called
    (a Gluon net's arrays only exist after its first forward pass). ``name`` 'sgd' runs
    :func:`clipped_sgd_step`; any other name is an MXNet optimizer (``'adam'``...) created
    with ``options``. ``schedule(k)`` multiplies ``lr`` at step k (None: constant).
    ``fused_sgd(weights, grads, lr, theta)``: an accelerated :func:`clipped_sgd_step` that
    returns the norm, or None when it does not apply (the trainers pass
    ``d2l_rnn.kernels.fused_clipped_sgd``).
    """

    def __init__(self, arrays, name="sgd", lr=0.01, clipping_theta=None, schedule=None,
                 fused_sgd=None, **options):
        self.arrays, self.name, self.lr = arrays, name, lr
        self.clipping_theta, self.schedule, self.steps = clipping_theta, schedule, 0
        self.fused_sgd = fused_sgd
        self._updater = None
        if name != "sgd":
            self._mx = mx.optimizer.create(name, learning_rate=lr, **options)
            self._updater = mx.optimizer.get_updater(self._mx)

    def step(self):
        """One update of every weight from its current gradient; returns the gradients'
        global norm before clipping, a (1,) NDArray left on the device (the trainers check
        it for divergence with the losses, once per epoch)."""
        lr = self.lr * (self.schedule(self.steps) if self.schedule else 1.0)
        self.steps += 1
        weights, grads = self.arrays()
        if self._updater is None and self.fused_sgd is not None:
            norm = self.fused_sgd(weights, grads, lr, self.clipping_theta)
            if norm is not None:
                return norm
        norm = global_norm(grads)
        if self._updater is None:
            clipped_sgd_step(weights, grads, lr, self.clipping_theta, norm)
            return norm
        self._mx.set_learning_rate(lr)
        scale = clip_scale(grads, self.clipping_theta, norm)
        for i, (w, g) in enumerate(zip(weights, grads)):
            if scale is not None:
                nd.broadcast_mul(g, scale, out=g)
            self._updater(i, g, w)
        return norm
