"""Device choice: the book's ``try_gpu`` and ``try_all_gpus``."""
import mxnet as mx
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
