"""The scratch RNN (循环神经网络): the chapter's equations, with the book's names.

    H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)
    Y_t = H_t W_hq + b_q

:func:`rnn_recurrence` computes them step after step for one layer; ``models/layers.py``
runs it for every layout (input products of all steps at once, compiled for token indices).
"""
from .. import layers
from ..ops import dot, tanh
from .params import make_params, zero_state


def rnn_recurrence(F, XW, state, p, h):
    """The book's RNN over the steps of one layer.

    XW: per step t, ``(X_t W_xh,)`` (batch, h); state ``(H,)``; p ``(W_xh, W_hh, b_h)``.
    Returns the list of H_t (batch, h) and ``(H_T,)``.
    """
    W_xh, W_hh, b_h = p
    H, = state
    hiddens = []
    for X_h, in XW:
        H = tanh(F, X_h + dot(F, H, W_hh, b_h, h))
        hiddens.append(H)
    return hiddens, (H,)


def rnn_input_weights(F, p, h):
    """The input product the RNN reads: ``X W_xh``."""
    return [((p[0],), h)]


RNN = layers.Cell(rnn_input_weights, rnn_recurrence)


@layers.model_function("rnn", RNN)
def rnn(inputs, state, params):
    """Scratch RNN, the book's model function: ``(outputs, state)``.

    inputs: the book's list of num_steps one-hot (batch, vocab) arrays (outputs: a list of
    num_steps (batch, vocab) arrays), or token indices (num_steps, batch) (outputs: one
    (num_steps * batch, vocab) array, time-major). state: ``(H,)``, H (batch, num_hiddens),
    or (num_layers * num_directions, batch, num_hiddens) for a deep or bidirectional model.
    params: from :func:`get_rnn_params`. Equations: :func:`rnn_recurrence`.
    """
    return layers.run("rnn", RNN, inputs, state, params)


def get_rnn_params(num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                   bidirectional=False):
    """Parameters ``[W_xh, W_hh, b_h, W_hq, b_q]`` of a scratch RNN, with gradients attached.

    W_xh (num_inputs, num_hiddens), W_hh (num_hiddens, num_hiddens), b_h (num_hiddens,),
    W_hq (num_hiddens, num_outputs), b_q (num_outputs,); weights from N(0, 0.01^2) in the
    book's order (a given seed gives the book's values), biases zero. With ``num_layers`` > 1
    or ``bidirectional`` the layer parameters repeat per layer and direction
    (:func:`~d2l_rnn.models.scratch.params.make_params`).
    """
    return make_params("rnn", num_inputs, num_hiddens, num_outputs, ctx, num_layers,
                       bidirectional)


def init_rnn_state(batch_size, num_hiddens, ctx=None, num_layers=None, bidirectional=False):
    """Initial state ``(H,)`` of a scratch RNN: zeros (batch_size, num_hiddens), or
    (num_layers * num_directions, batch_size, num_hiddens) for a deep or bidirectional one."""
    return zero_state(1, batch_size, num_hiddens, ctx, num_layers, bidirectional)
