"""Scratch RNN, GRU and LSTM: the book's parameters and equations, computed with fewer ops.

Each model function has the book's signature ``model(inputs, state, params)`` and accepts
``inputs`` in either of two forms:

* the book's: a list of ``num_steps`` one-hot arrays of shape (batch, vocab_size); the outputs
  are then a list of ``num_steps`` arrays of shape (batch, vocab_size), as in the book;
* token indices: one (num_steps, batch) array. A one-hot row times ``W_x*`` is just row
  ``x`` of ``W_x*``, so the input products become a row lookup; the outputs are then one
  (num_steps * batch, vocab_size) array, time-major like ``nd.concat(*outputs, dim=0)``.

The training loop passes indices to the functions of this module (they carry
``takes_token_indices = True``) and one-hot lists to any other function, such as the book's
own cells.

Where the book computes three small products per step, the gates here share one
``FullyConnected`` (oneDNN, ~2x faster than ``nd.dot`` on these shapes); the input products
of all steps are computed at once before the loop; the output layer runs once over all steps.
"""
import functools

from mxnet import nd


def _normal(shape, ctx):
    return nd.random.normal(scale=0.01, shape=shape, ctx=ctx)


def _gate(num_inputs, num_hiddens, ctx):
    return (_normal((num_inputs, num_hiddens), ctx), _normal((num_hiddens, num_hiddens), ctx),
            nd.zeros(num_hiddens, ctx=ctx))


def _with_output(gates, num_hiddens, num_outputs, ctx):
    W_hq = _normal((num_hiddens, num_outputs), ctx)
    b_q = nd.zeros(num_outputs, ctx=ctx)
    params = [p for g in gates for p in g] + [W_hq, b_q]
    for param in params:
        param.attach_grad()
    return params


def get_rnn_params(num_inputs, num_hiddens, num_outputs=None, ctx=None):
    """Parameters ``[W_xh, W_hh, b_h, W_hq, b_q]`` of a scratch RNN, with gradients attached.

    Shapes: W_xh (num_inputs, num_hiddens), W_hh (num_hiddens, num_hiddens), b_h
    (num_hiddens,), W_hq (num_hiddens, num_outputs), b_q (num_outputs,). Weights are drawn
    from N(0, 0.01^2) in the book's order, so a given seed gives the book's values.
    """
    num_outputs = num_inputs if num_outputs is None else num_outputs
    return _with_output([_gate(num_inputs, num_hiddens, ctx)], num_hiddens, num_outputs, ctx)


def get_gru_params(num_inputs, num_hiddens, num_outputs=None, ctx=None):
    """Parameters ``[W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]`` of a GRU.

    Update gate (z), reset gate (r), candidate hidden state (h), output layer (q); shapes as
    in :func:`get_rnn_params`.
    """
    num_outputs = num_inputs if num_outputs is None else num_outputs
    gates = [_gate(num_inputs, num_hiddens, ctx) for _ in "zrh"]
    return _with_output(gates, num_hiddens, num_outputs, ctx)


def get_lstm_params(num_inputs, num_hiddens, num_outputs=None, ctx=None):
    """Parameters ``[W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c,
    W_hq, b_q]`` of an LSTM: input, forget and output gates, candidate memory cell, output.
    """
    num_outputs = num_inputs if num_outputs is None else num_outputs
    gates = [_gate(num_inputs, num_hiddens, ctx) for _ in "ifoc"]
    return _with_output(gates, num_hiddens, num_outputs, ctx)


def init_rnn_state(batch_size, num_hiddens, ctx=None):
    """Initial state ``(H,)`` of a scratch RNN: zeros of shape (batch_size, num_hiddens)."""
    return (nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx),)


def init_gru_state(batch_size, num_hiddens, ctx=None):
    """Initial state ``(H,)`` of a scratch GRU: zeros of shape (batch_size, num_hiddens)."""
    return (nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx),)


def init_lstm_state(batch_size, num_hiddens, ctx=None):
    """Initial state ``(H, C)`` of a scratch LSTM: two zero arrays (batch_size, num_hiddens)."""
    return (nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx),
            nd.zeros(shape=(batch_size, num_hiddens), ctx=ctx))


def _takes_token_indices(fn):
    fn.takes_token_indices = True
    return fn


def _num_steps(inputs):
    return len(inputs) if isinstance(inputs, (list, tuple)) else inputs.shape[0]


def _input_products(inputs, W_x, b=None):
    """``X_t W_x (+ b)`` for every step t, as a list of (batch, W_x.shape[1]) arrays.

    For token indices this is a row lookup (``take``): identical to multiplying by a one-hot
    matrix, without the vocab_size-long dot products over zeros.
    """
    T = _num_steps(inputs)
    if isinstance(inputs, (list, tuple)):
        X = nd.concat(*inputs, dim=0) if T > 1 else inputs[0]
        XW = nd.dot(X, W_x)
        XW = XW.reshape((T, -1, W_x.shape[1]))
    else:
        XW = nd.take(W_x, inputs)
    if b is not None:
        XW = nd.broadcast_add(XW, b.reshape((1, 1, -1)))
    steps = nd.split(XW, num_outputs=T, axis=0, squeeze_axis=True)
    return [steps] if T == 1 else list(steps)


def _hidden_product(H, W_h_T, b, num_hidden):
    # FullyConnected wants the weight as (out, in): W_h_T is the book's W_h* transposed.
    return nd.FullyConnected(H, W_h_T, b, num_hidden=num_hidden)


def _output_layer(inputs, hiddens, W_hq, b_q):
    """Apply ``H W_hq + b_q`` to all steps' H at once; return the book's list or one array."""
    H_all = nd.concat(*hiddens, dim=0) if len(hiddens) > 1 else hiddens[0]
    Y = nd.FullyConnected(H_all, W_hq.T, b_q, num_hidden=W_hq.shape[1])
    if isinstance(inputs, (list, tuple)):
        return list(nd.split(Y, num_outputs=len(hiddens), axis=0)) if len(hiddens) > 1 else [Y]
    return Y


@_takes_token_indices
def rnn(inputs, state, params):
    """Scratch RNN: ``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, ``Y_t = H_t W_hq + b_q``.

    inputs: list of num_steps (batch, vocab) one-hot arrays, or a (num_steps, batch) index
    array; state: ``(H,)`` with H (batch, num_hiddens). Returns ``(outputs, (H,))``, outputs as
    described in the module docstring.
    """
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    h = W_hh.shape[0]
    XW = _input_products(inputs, W_xh)
    W_hh_T = W_hh.T
    hiddens = []
    for XW_t in XW:
        H = nd.tanh(XW_t + _hidden_product(H, W_hh_T, b_h, h))
        hiddens.append(H)
    return _output_layer(inputs, hiddens, W_hq, b_q), (H,)


@_takes_token_indices
def gru(inputs, state, params):
    """Scratch GRU with the book's equations::

        Z_t = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)            update gate (更新门)
        R_t = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)            reset gate (重置门)
        H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)      candidate (候选隐藏状态)
        H_t = Z_t * H_{t-1} + (1 - Z_t) * H~_t
        Y_t = H_t W_hq + b_q

    inputs/outputs as in :func:`rnn`; state ``(H,)`` with H (batch, num_hiddens).
    """
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    h = W_hh.shape[0]
    # Z and R share one input product and one hidden product: [W_xz | W_xr], [W_hz | W_hr].
    XW_zr = _input_products(inputs, nd.concat(W_xz, W_xr, dim=1))
    XW_h = _input_products(inputs, W_xh)
    W_hzr_T = nd.concat(W_hz, W_hr, dim=1).T
    b_zr = nd.concat(b_z, b_r, dim=0)
    W_hh_T = W_hh.T
    hiddens = []
    for XW_zr_t, XW_h_t in zip(XW_zr, XW_h):
        Z, R = nd.split(nd.sigmoid(XW_zr_t + _hidden_product(H, W_hzr_T, b_zr, 2 * h)),
                        num_outputs=2, axis=1)
        H_tilda = nd.tanh(XW_h_t + _hidden_product(R * H, W_hh_T, b_h, h))
        H = Z * H + (1 - Z) * H_tilda
        hiddens.append(H)
    return _output_layer(inputs, hiddens, W_hq, b_q), (H,)


@_takes_token_indices
def lstm(inputs, state, params):
    """Scratch LSTM with the book's equations::

        I_t = sigmoid(X_t W_xi + H_{t-1} W_hi + b_i)     input gate (输入门)
        F_t = sigmoid(X_t W_xf + H_{t-1} W_hf + b_f)     forget gate (遗忘门)
        O_t = sigmoid(X_t W_xo + H_{t-1} W_ho + b_o)     output gate (输出门)
        C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)       candidate memory cell (候选记忆细胞)
        C_t = F_t * C_{t-1} + I_t * C~_t                 memory cell (记忆细胞)
        H_t = O_t * tanh(C_t);  Y_t = H_t W_hq + b_q     only H feeds the output layer

    inputs/outputs as in :func:`rnn`; state ``(H, C)``, each (batch, num_hiddens).
    """
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o,
     W_xc, W_hc, b_c, W_hq, b_q) = params
    H, C = state
    h = W_hc.shape[0]
    # All four gates share one input product and one hidden product.
    XW = _input_products(inputs, nd.concat(W_xi, W_xf, W_xo, W_xc, dim=1))
    W_h_T = nd.concat(W_hi, W_hf, W_ho, W_hc, dim=1).T
    b = nd.concat(b_i, b_f, b_o, b_c, dim=0)
    hiddens = []
    for XW_t in XW:
        G = XW_t + _hidden_product(H, W_h_T, b, 4 * h)
        I, F, O = nd.split(nd.sigmoid(nd.slice_axis(G, axis=1, begin=0, end=3 * h)),
                           num_outputs=3, axis=1)
        C_tilda = nd.tanh(nd.slice_axis(G, axis=1, begin=3 * h, end=4 * h))
        C = F * C + I * C_tilda
        H = O * nd.tanh(C)
        hiddens.append(H)
    return _output_layer(inputs, hiddens, W_hq, b_q), (H, C)


MODELS = {
    "rnn": (rnn, get_rnn_params, init_rnn_state),
    "gru": (gru, get_gru_params, init_gru_state),
    "lstm": (lstm, get_lstm_params, init_lstm_state),
}


def get_params_fn(model, vocab_size, num_hiddens, ctx=None):
    """The zero-argument ``get_params`` that ``train_and_predict_rnn`` calls, for a built-in
    model name (``'rnn'``, ``'gru'`` or ``'lstm'``).
    """
    if model not in MODELS:
        raise ValueError("unknown scratch model %r; choose one of %s"
                         % (model, ", ".join(MODELS)))
    return functools.partial(MODELS[model][1], vocab_size, num_hiddens, vocab_size, ctx)
