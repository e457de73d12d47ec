"""The fused LSTM layer: an accelerated :func:`d2l_rnn.models.scratch.lstm.lstm_recurrence`.

Same function, one operator: ``d2l_lstm_layer`` (``lstm_layer.cc``, the same equations at its
top) runs the recurrence of a whole layer, forward and backward, in C++; its per-step
product runs in the register-blocked kernel the GRU's uses, and the ~25 small operations of
a step become one pass over the batch. ``tests/test_kernels.py`` checks it against the graph
of ``lstm_recurrence``: outputs, final states and every gradient, on several layouts and odd
sizes.
"""
LSTM_OP_NAME = "d2l_lstm_layer"


def fused_lstm_layer(F, XW, T, state, p, h, reverse):
    """One LSTM layer in one direction through the operator.

    XW: the layer's input products for all T steps, ``(X [W_xi | W_xf | W_xo | W_xc],)``
    (T, batch, 4h); state ``(H, C)``, each (batch, h); p the layer's twelve parameters in
    the book's order; ``reverse`` runs from the last step to the first. Returns the hidden
    states (T * batch, h), time-major, and ``(H_T, C_T)``.
    """
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c) = p
    XIFOC, = XW
    out = getattr(F, LSTM_OP_NAME)(XIFOC, state[0], state[1],
                                   F.concat(W_hi, W_hf, W_ho, W_hc, dim=1),
                                   F.concat(b_i, b_f, b_o, b_c, dim=0), reverse=int(reverse))
    return F.reshape(out[0], (-1, h)), (out[1], out[2])
