"""The fused GRU layer: an accelerated :func:`d2l_rnn.models.scratch.gru.gru_recurrence`.

Same function, one operator: ``d2l_gru_layer`` (``gru_layer.cc``, the same equations at its
top) runs the recurrence of a whole layer, forward and backward, in C++; its per-step
products run at the machine's peak and ~30 small operations per step become two passes over
the batch. ``tests/test_kernels.py`` checks it against the graph of ``gru_recurrence``:
outputs, final states and every gradient, on several layouts and odd sizes.
"""
OP_NAME = "d2l_gru_layer"


def fused_gru_layer(F, XW, T, state, p, h, reverse):
    """One GRU layer in one direction through the operator.

    XW: the layer's input products for all T steps, ``X [W_xz | W_xr]`` (T, batch, 2h) and
    ``X W_xh`` (T, batch, h); state ``(H,)`` (batch, h); p the layer's nine parameters in
    the book's order; ``reverse`` runs from the last step to the first. Returns the hidden
    states (T * batch, h), time-major, and ``(H_T,)``.
    """
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = p
    XZR, XH = XW
    Y, H = getattr(F, OP_NAME)(XZR, XH, state[0], F.concat(W_hz, W_hr, dim=1),
                               F.concat(b_z, b_r, dim=0), W_hh, b_h, reverse=int(reverse))
    return F.reshape(Y, (-1, h)), (H,)
