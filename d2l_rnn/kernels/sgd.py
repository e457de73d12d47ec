"""The trainers' update through the fused operator: an accelerated
:func:`d2l_rnn.util.optim.clipped_sgd_step` (global-norm clipping, then SGD)."""
import numpy as np
from mxnet import nd

from .loss import applies

SGD_OP_NAME = "d2l_clipped_sgd"
# The operator's inputs are the weights and their gradients; like MXNet's own multi-array
# kernels it is called on bounded groups of arrays, but the norm must cover all of them, so
# a longer list takes the graph route (no model of the package comes near this).
_MAX_ARRAYS = 512


def fused_clipped_sgd(weights, grads, lr, theta):
    """``w -= lr * min(1, theta / ||g||) * g`` for every pair, in place, in one operator;
    returns the global norm ``||g||`` before clipping, a (1,) NDArray (no host sync).

    weights, grads: lists of NDArrays of equal shapes; ``theta=None``: no clipping. Returns
    None, having changed nothing, when the operator does not apply (the kernels off, not all
    float32 dense arrays on one CPU context, or more than 512 weights): the caller then takes
    the graph route (``tests/test_kernels.py`` checks both give the same weights).
    """
    from . import enabled
    arrays = list(weights) + list(grads)
    if not weights or len(arrays) > 2 * _MAX_ARRAYS or not enabled():
        return None
    ctx = weights[0].context
    if not applies(ctx) or any(a.context != ctx or a.dtype != np.float32
                               or a.stype != "default" for a in arrays):
        return None
    return getattr(nd, SGD_OP_NAME)(*arrays, num_weights=len(weights), lr=float(lr),
                                    theta=0.0 if theta is None else float(theta))
