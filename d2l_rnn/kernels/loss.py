"""The training loss, the mean softmax cross-entropy, through the fused operator."""
import mxnet as mx
import numpy as np

LOSS_OP_NAME = "d2l_softmax_ce"
_gluon_loss = []


def applies(ctx):
    """Whether the fused operators can run on ``ctx``: they are CPU operators."""
    return ctx.device_type == "cpu"


def mean_cross_entropy(outputs, labels):
    """Mean softmax cross-entropy of scores against labels, as a (1,) NDArray.

    outputs: (N, V) float32 scores; labels: (N,) class indices (float32, as the data
    iterators give them). The same value and gradient as Gluon's
    ``SoftmaxCrossEntropyLoss()(outputs, labels).mean()``, which is used when the fused
    operator is off or does not apply: not float32, or not on a CPU (``softmax_ce.cc``;
    tested in ``tests/test_kernels.py``).
    """
    from . import enabled
    if outputs.ndim != 2 or labels.shape != outputs.shape[:1]:
        raise ValueError("mean_cross_entropy needs scores (N, V) and labels (N,), got %s and %s"
                         % (outputs.shape, labels.shape))
    if outputs.dtype == labels.dtype == np.float32 and applies(outputs.context) and enabled():
        return getattr(mx.nd, LOSS_OP_NAME)(outputs, labels)[0]
    if not _gluon_loss:
        _gluon_loss.append(mx.gluon.loss.SoftmaxCrossEntropyLoss())
    return _gluon_loss[0](outputs, labels).mean()
