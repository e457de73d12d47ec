"""The scratch LSTM (长短期记忆): the chapter's equations, with the book's names.

    I_t  = sigmoid(X_t W_xi + H_{t-1} W_hi + b_i)     input gate (输入门)
    F_t  = sigmoid(X_t W_xf + H_{t-1} W_hf + b_f)     forget gate (遗忘门)
    O_t  = sigmoid(X_t W_xo + H_{t-1} W_ho + b_o)     output gate (输出门)
    C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)        candidate memory cell (候选记忆细胞)
    C_t  = F_t * C_{t-1} + I_t * C~_t                 memory cell (记忆细胞)
    H_t  = O_t * tanh(C_t)
    Y_t  = H_t W_hq + b_q                             only H feeds the output layer

:func:`lstm_recurrence` computes them step after step for one layer; ``models/layers.py``
runs it for every layout (input products of all steps at once, compiled for token indices).
With a C++ compiler on the machine, ``d2l_rnn.kernels.lstm.fused_lstm_layer`` replaces the
whole loop of a layer by one operator (forward and backward; tested equal to this function
in ``tests/test_kernels.py``).
"""
from .. import layers
from ..ops import cols, dot, sigmoid, tanh
from .params import make_params, zero_state


def lstm_recurrence(F, XW, state, p, h):
    """The book's LSTM over the steps of one layer.

    XW: per step t, ``(X_t [W_xi | W_xf | W_xo | W_xc],)`` (batch, 4h); state ``(H, C)``;
    p the layer's twelve parameters in the book's order. Returns the list of H_t (batch, h)
    and ``(H_T, C_T)``.
    """
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c) = p
    H, C = state
    # All four gates read H_{t-1}: one product with [W_hi | W_hf | W_ho | W_hc].
    W_h = F.concat(W_hi, W_hf, W_ho, W_hc, dim=1)
    b = F.concat(b_i, b_f, b_o, b_c, dim=0)
    hiddens = []
    for X_ifoc, in XW:
        G = X_ifoc + dot(F, H, W_h, b, 4 * h)
        IFO = sigmoid(F, cols(F, G, 0, 3 * h))
        I, F_t, O = cols(F, IFO, 0, h), cols(F, IFO, h, 2 * h), cols(F, IFO, 2 * h, 3 * h)
        C_tilda = tanh(F, cols(F, G, 3 * h, 4 * h))
        C = F_t * C + I * C_tilda
        H = O * tanh(F, C)
        hiddens.append(H)
    return hiddens, (H, C)


def lstm_input_weights(F, p, h):
    """The input product the LSTM reads: ``X [W_xi | W_xf | W_xo | W_xc]`` (4h wide)."""
    return [((p[0], p[3], p[6], p[9]), 4 * h)]


LSTM = layers.Cell(lstm_input_weights, lstm_recurrence)


@layers.model_function("lstm", LSTM)
def lstm(inputs, state, params):
    """Scratch LSTM, the book's model function: ``(outputs, state)``.

    inputs and outputs as in :func:`~d2l_rnn.models.scratch.gru.gru`; state ``(H, C)``, each
    (batch, num_hiddens), or (num_layers * num_directions, batch, num_hiddens) for a deep or
    bidirectional model. params: from :func:`get_lstm_params`. Equations:
    :func:`lstm_recurrence`.
    """
    return layers.run("lstm", LSTM, inputs, state, params)


def get_lstm_params(num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                    bidirectional=False):
    """Parameters ``[W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c,
    W_hq, b_q]`` of an LSTM: input, forget and output gates, candidate memory cell, output
    layer; shapes as in :func:`~d2l_rnn.models.scratch.rnn.get_rnn_params`."""
    return make_params("lstm", num_inputs, num_hiddens, num_outputs, ctx, num_layers,
                       bidirectional)


def init_lstm_state(batch_size, num_hiddens, ctx=None, num_layers=None, bidirectional=False):
    """Initial state ``(H, C)`` of a scratch LSTM: two zero arrays (batch_size, num_hiddens),
    or (num_layers * num_directions, batch_size, num_hiddens) each for a deep or
    bidirectional one."""
    return zero_state(2, batch_size, num_hiddens, ctx, num_layers, bidirectional)
