"""The few operations the scratch equations are written with, for both MXNet front ends.

``F`` is ``mxnet.nd`` (imperative, for the book's one-hot lists) or ``mxnet.sym`` (inside a
compiled graph, for token indices); the equations do not care which.
"""


def sigmoid(F, x):
    """σ(x). ``Activation`` runs oneDNN's eltwise kernel: 3-5x faster than ``F.sigmoid``."""
    return F.Activation(x, act_type="sigmoid")


def tanh(F, x):
    """tanh(x), through oneDNN as :func:`sigmoid`."""
    return F.Activation(x, act_type="tanh")


def dot(F, H, W, b, num_hidden):
    """``H W + b``: H (batch, in), W (in, num_hidden), b (num_hidden,) -> (batch, num_hidden).

    FullyConnected (oneDNN) stores its weight as (out, in), hence the transpose.
    """
    return F.FullyConnected(H, F.transpose(W), b, num_hidden=num_hidden)


def cols(F, x, begin, end):
    """Columns ``begin:end`` of a (batch, k) array (cheaper than ``split``, both ways)."""
    return F.slice_axis(x, axis=1, begin=begin, end=end)


def steps(F, x, T):
    """A (T, batch, k) array as a list of T (batch, k) arrays."""
    parts = F.split(x, num_outputs=T, axis=0, squeeze_axis=True)
    return [parts] if T == 1 else [parts[t] for t in range(T)]


def time_major(F, hiddens):
    """T arrays (batch, k) as one (T * batch, k) array."""
    return F.concat(*hiddens, dim=0) if len(hiddens) > 1 else hiddens[0]
