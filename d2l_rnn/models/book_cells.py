"""The chapter's formulation, step by step: one ``nd.dot`` per gate and per step on one-hot
inputs, exactly as the book's cells compute it.

This is the reference the package's faster models are tested against, the baseline of the
benchmark, and a model function in the book's protocol (a list of one-hot arrays in, a list
of outputs out) that ``train_and_predict_rnn`` must keep training unchanged.
"""
from mxnet import nd


def make_get_params(kind, num_inputs, num_hiddens, num_outputs, ctx=None):
    """The book's zero-argument ``get_params()`` for ``'rnn'``, ``'gru'`` or ``'lstm'``: the
    same parameter list, order and random draws as the chapter's cell."""
    def _one(shape):
        return nd.random.normal(scale=0.01, shape=shape, ctx=ctx)

    def _three():
        return (_one((num_inputs, num_hiddens)), _one((num_hiddens, num_hiddens)),
                nd.zeros(num_hiddens, ctx=ctx))

    def get_params():
        n_gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
        params = [p for _ in range(n_gates) for p in _three()]
        params += [_one((num_hiddens, num_outputs)), nd.zeros(num_outputs, ctx=ctx)]
        for param in params:
            param.attach_grad()
        return params
    return get_params


def init_state(batch_size, num_hiddens, ctx=None):
    """``(H,)``: zeros (batch_size, num_hiddens)."""
    return (nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx),)


def init_lstm_state(batch_size, num_hiddens, ctx=None):
    """``(H, C)``: two zero arrays (batch_size, num_hiddens)."""
    return (nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx),
            nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx))


def rnn(inputs, state, params):
    """The book's RNN cell over a list of (batch, vocab) one-hot arrays."""
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        H = nd.tanh(nd.dot(X, W_xh) + nd.dot(H, W_hh) + b_h)
        outputs.append(nd.dot(H, W_hq) + b_q)
    return outputs, (H,)


def gru(inputs, state, params):
    """The book's GRU cell over a list of (batch, vocab) one-hot arrays."""
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        Z = nd.sigmoid(nd.dot(X, W_xz) + nd.dot(H, W_hz) + b_z)
        R = nd.sigmoid(nd.dot(X, W_xr) + nd.dot(H, W_hr) + b_r)
        H_tilda = nd.tanh(nd.dot(X, W_xh) + nd.dot(R * H, W_hh) + b_h)
        H = Z * H + (1 - Z) * H_tilda
        outputs.append(nd.dot(H, W_hq) + b_q)
    return outputs, (H,)


def lstm(inputs, state, params):
    """The book's LSTM cell over a list of (batch, vocab) one-hot arrays."""
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c,
     W_hq, b_q) = params
    H, C = state
    outputs = []
    for X in inputs:
        I = nd.sigmoid(nd.dot(X, W_xi) + nd.dot(H, W_hi) + b_i)
        F = nd.sigmoid(nd.dot(X, W_xf) + nd.dot(H, W_hf) + b_f)
        O = nd.sigmoid(nd.dot(X, W_xo) + nd.dot(H, W_ho) + b_o)
        C_tilda = nd.tanh(nd.dot(X, W_xc) + nd.dot(H, W_hc) + b_c)
        C = F * C + I * C_tilda
        H = O * C.tanh()
        outputs.append(nd.dot(H, W_hq) + b_q)
    return outputs, (H, C)


# kind -> (model function, state initialiser)
BOOK = {"rnn": (rnn, init_state), "gru": (gru, init_state), "lstm": (lstm, init_lstm_state)}
