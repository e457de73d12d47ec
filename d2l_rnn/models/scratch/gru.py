"""The scratch GRU (门控循环单元): the chapter's equations, with the book's names.

    Z_t  = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)            update gate (更新门)
    R_t  = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)            reset gate (重置门)
    H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)       candidate (候选隐藏状态)
    H_t  = Z_t * H_{t-1} + (1 - Z_t) * H~_t
    Y_t  = H_t W_hq + b_q

:func:`gru_recurrence` computes exactly these, step after step, for one layer. What makes it
fast sits beside it, computing the same function: ``models/layers.py`` computes the input
products of all steps at once (a row lookup for token indices) and compiles the unrolled
loop; with a C++ compiler on the machine, ``d2l_rnn.kernels.gru.fused_gru_layer`` replaces
the whole loop of a layer by one operator (forward and backward; tested equal to this
function in ``tests/test_kernels.py``).

Gluon's ``rnn.GRU`` (cuDNN's formulation) computes the candidate differently; its exact twin
is :func:`gru_cudnn` below, whose layer loop ``d2l_rnn.kernels.gru_cudnn.fused_gru_cudnn_layer``
replaces in the same way.
"""
from .. import layers
from ..ops import cols, dot, sigmoid, tanh
from .params import make_params, zero_state


def gru_recurrence(F, XW, state, p, h):
    """The book's GRU over the steps of one layer.

    XW: per step t, ``(X_t [W_xz | W_xr], X_t W_xh)``, (batch, 2h) and (batch, h) (see
    :func:`gru_input_weights`); state ``(H,)`` with H (batch, h); p the layer's nine
    parameters in the book's order. Returns the list of H_t (batch, h) and ``(H_T,)``.
    """
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = p
    H, = state
    # Z and R both read H_{t-1}: one product with [W_hz | W_hr] serves both.
    W_hzr, b_zr = F.concat(W_hz, W_hr, dim=1), F.concat(b_z, b_r, dim=0)
    hiddens = []
    for X_zr, X_h in XW:
        ZR = sigmoid(F, X_zr + dot(F, H, W_hzr, b_zr, 2 * h))
        Z, R = cols(F, ZR, 0, h), cols(F, ZR, h, 2 * h)
        H_tilda = tanh(F, X_h + dot(F, R * H, W_hh, b_h, h))
        H = H_tilda + Z * (H - H_tilda)  # = Z * H + (1 - Z) * H~, one product fewer
        hiddens.append(H)
    return hiddens, (H,)


def gru_input_weights(F, p, h):
    """The input products the GRU reads: ``X [W_xz | W_xr]`` (2h wide) and ``X W_xh``."""
    return [((p[0], p[3]), 2 * h), ((p[6],), h)]


def gru_cudnn_recurrence(F, XW, state, p, h):
    """The GRU of cuDNN and Gluon: as :func:`gru_recurrence` except that the reset gate
    scales the hidden product after it is computed, which keeps a second bias inside::

        H~_t = tanh(X_t W_xh + b_h + R_t * (H_{t-1} W_hh + b_hh))
    """
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, b_hh = p
    H, = state
    W_hzr, b_zr = F.concat(W_hz, W_hr, dim=1), F.concat(b_z, b_r, dim=0)
    hiddens = []
    for X_zr, X_h in XW:
        ZR = sigmoid(F, X_zr + dot(F, H, W_hzr, b_zr, 2 * h))
        Z, R = cols(F, ZR, 0, h), cols(F, ZR, h, 2 * h)
        H_tilda = tanh(F, F.broadcast_add(X_h, b_h) + R * dot(F, H, W_hh, b_hh, h))
        H = H_tilda + Z * (H - H_tilda)
        hiddens.append(H)
    return hiddens, (H,)


GRU = layers.Cell(gru_input_weights, gru_recurrence)
GRU_CUDNN = layers.Cell(gru_input_weights, gru_cudnn_recurrence)


@layers.model_function("gru", GRU)
def gru(inputs, state, params):
    """Scratch GRU, the book's model function: ``(outputs, state)``.

    inputs: the book's list of num_steps one-hot (batch, vocab) arrays (outputs: a list of
    num_steps (batch, vocab) arrays), or token indices (num_steps, batch) (outputs: one
    (num_steps * batch, vocab) array, time-major). state: ``(H,)``, H (batch, num_hiddens),
    or (num_layers * num_directions, batch, num_hiddens) for a deep or bidirectional model.
    params: from :func:`get_gru_params`. Equations: :func:`gru_recurrence`.
    """
    return layers.run("gru", GRU, inputs, state, params)


@layers.model_function("gru_cudnn", GRU_CUDNN)
def gru_cudnn(inputs, state, params):
    """Scratch GRU in the variant of cuDNN and Gluon's ``rnn.GRU`` (equations:
    :func:`gru_cudnn_recurrence`); parameters from ``get_gru_params(..., variant='cudnn')``;
    inputs, outputs and states as in :func:`gru`."""
    return layers.run("gru_cudnn", GRU_CUDNN, inputs, state, params)


def get_gru_params(num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                   bidirectional=False, variant="book"):
    """Parameters ``[W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]`` of a GRU.

    W_x* (num_inputs, num_hiddens), W_h* (num_hiddens, num_hiddens), b_* (num_hiddens,),
    W_hq (num_hiddens, num_outputs), b_q (num_outputs,); weights from N(0, 0.01^2) in the
    book's order, biases zero. Layers and directions as in
    :func:`~d2l_rnn.models.scratch.params.make_params`. ``variant='cudnn'`` adds ``b_hh``
    (num_hiddens,) after ``b_h`` in each layer, for :func:`gru_cudnn`.
    """
    if variant not in ("book", "cudnn"):
        raise ValueError("variant must be 'book' or 'cudnn', got %r" % (variant,))
    return make_params("gru" if variant == "book" else "gru_cudnn", num_inputs, num_hiddens,
                       num_outputs, ctx, num_layers, bidirectional)


def init_gru_state(batch_size, num_hiddens, ctx=None, num_layers=None, bidirectional=False):
    """Initial state ``(H,)`` of a scratch GRU: zeros (batch_size, num_hiddens), or
    (num_layers * num_directions, batch_size, num_hiddens) for a deep or bidirectional one."""
    return zero_state(1, batch_size, num_hiddens, ctx, num_layers, bidirectional)
