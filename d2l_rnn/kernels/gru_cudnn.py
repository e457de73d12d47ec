"""The fused cuDNN-variant GRU layer: an accelerated
:func:`d2l_rnn.models.scratch.gru.gru_cudnn_recurrence` (the GRU of cuDNN and Gluon's
``rnn.GRU``).

Same function, one operator: ``d2l_gru_cudnn_layer`` (``gru_cudnn_layer.cc``, the same
equations at its top) runs the recurrence of a whole layer, forward and backward, in C++.
Its candidate scales ``H_{t-1} W_hh + b_hh`` by the reset gate after the product, so all
three hidden products read ``H_{t-1}``: one product per step with ``[W_hz | W_hr | W_hh]``,
as in the LSTM's operator. ``tests/test_kernels.py`` checks it against the graph of
``gru_cudnn_recurrence``: outputs, final states and every gradient, on several layouts and
odd sizes.
"""
GRU_CUDNN_OP_NAME = "d2l_gru_cudnn_layer"


def fused_gru_cudnn_layer(F, XW, T, state, p, h, reverse):
    """One cuDNN-variant GRU layer in one direction through the operator.

    XW: the layer's input products for all T steps, ``X [W_xz | W_xr]`` (T, batch, 2h) and
    ``X W_xh`` (T, batch, h); state ``(H,)`` (batch, h); p the layer's ten parameters in
    the book's order (``b_hh`` last); ``reverse`` runs from the last step to the first.
    Returns the hidden states (T * batch, h), time-major, and ``(H_T,)``.
    """
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, b_hh = p
    XZR, XH = XW
    Y, H = getattr(F, GRU_CUDNN_OP_NAME)(XZR, XH, state[0],
                                         F.concat(W_hz, W_hr, W_hh, dim=1),
                                         F.concat(b_z, b_r, b_hh, dim=0), b_h,
                                         reverse=int(reverse))
    return F.reshape(Y, (-1, h)), (H,)
