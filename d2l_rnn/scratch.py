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
of all steps are computed at once before the loop; the output layer runs once over all steps;
and for token indices the unrolled loop is compiled once per shape (``_UnrolledGraph``), so
Python and MXNet's dispatcher are not paid for every small operation. The equations are
written once, in ``_rnn_steps``, ``_gru_steps`` and ``_lstm_steps``, for both routes.
"""
import functools
from collections import OrderedDict

from mxnet import nd
from mxnet.gluon import HybridBlock


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


def _steps(F, x, T):
    """Split a (T, batch, k) array into a list of T (batch, k) arrays."""
    parts = F.split(x, num_outputs=T, axis=0, squeeze_axis=True)
    return [parts] if T == 1 else [parts[t] for t in range(T)]


def _input_products(F, inputs, W_x, T):
    """``X_t W_x`` for every step t at once, as a list of T (batch, W_x.shape[1]) arrays.

    For token indices this is a row lookup (``take``): exactly the product with a one-hot
    matrix, without the vocab_size-long dot products over zeros.
    """
    if isinstance(inputs, (list, tuple)):
        X = nd.concat(*inputs, dim=0) if T > 1 else inputs[0]
        return _steps(nd, nd.dot(X, W_x).reshape((T, -1, W_x.shape[1])), T)
    return _steps(F, F.take(W_x, inputs), T)


def _sigmoid(F, x):
    # Activation runs oneDNN's eltwise kernels: 3-5x faster than F.sigmoid / F.tanh here.
    return F.Activation(x, act_type="sigmoid")


def _tanh(F, x):
    return F.Activation(x, act_type="tanh")


def _cols(F, x, begin, end):
    # A column slice; cheaper than F.split (SliceChannel), forward and backward.
    return F.slice_axis(x, axis=1, begin=begin, end=end)


def _hidden_product(F, H, W_h, b, num_hidden):
    # FullyConnected (oneDNN) computes H W_h + b with the weight stored as (out, in).
    return F.FullyConnected(H, F.transpose(W_h), b, num_hidden=num_hidden)


def _output_layer(F, hiddens, W_hq, b_q, vocab_size):
    """``H_t W_hq + b_q`` for all steps in one product: (T * batch, vocab_size), time-major."""
    H_all = F.concat(*hiddens, dim=0) if len(hiddens) > 1 else hiddens[0]
    return _hidden_product(F, H_all, W_hq, b_q, vocab_size)


def _rnn_steps(F, inputs, state, params, T, h, V):
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    hiddens = []
    for XW_t in _input_products(F, inputs, W_xh, T):
        H = _tanh(F, XW_t + _hidden_product(F, H, W_hh, b_h, h))
        hiddens.append(H)
    return _output_layer(F, hiddens, W_hq, b_q, V), (H,)


def _gru_steps(F, inputs, state, params, T, h, V):
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    # Z and R share one input product and one hidden product: [W_xz | W_xr], [W_hz | W_hr].
    XW_zr = _input_products(F, inputs, F.concat(W_xz, W_xr, dim=1), T)
    XW_h = _input_products(F, inputs, W_xh, T)
    W_hzr, b_zr = F.concat(W_hz, W_hr, dim=1), F.concat(b_z, b_r, dim=0)
    hiddens = []
    for t in range(T):
        ZR = _sigmoid(F, XW_zr[t] + _hidden_product(F, H, W_hzr, b_zr, 2 * h))
        Z, R = _cols(F, ZR, 0, h), _cols(F, ZR, h, 2 * h)
        H_tilda = _tanh(F, XW_h[t] + _hidden_product(F, R * H, W_hh, b_h, h))
        H = H_tilda + Z * (H - H_tilda)  # = Z * H + (1 - Z) * H_tilda, one product fewer
        hiddens.append(H)
    return _output_layer(F, hiddens, W_hq, b_q, V), (H,)


def _lstm_steps(F, inputs, state, params, T, h, V):
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o,
     W_xc, W_hc, b_c, W_hq, b_q) = params
    H, C = state
    # The four gates share one input product and one hidden product.
    XW = _input_products(F, inputs, F.concat(W_xi, W_xf, W_xo, W_xc, dim=1), T)
    W_h = F.concat(W_hi, W_hf, W_ho, W_hc, dim=1)
    b = F.concat(b_i, b_f, b_o, b_c, dim=0)
    hiddens = []
    for t in range(T):
        G = XW[t] + _hidden_product(F, H, W_h, b, 4 * h)
        IFO = _sigmoid(F, _cols(F, G, 0, 3 * h))
        I, F_gate, O = _cols(F, IFO, 0, h), _cols(F, IFO, h, 2 * h), _cols(F, IFO, 2 * h, 3 * h)
        C_tilda = _tanh(F, _cols(F, G, 3 * h, 4 * h))
        C = F_gate * C + I * C_tilda
        H = O * _tanh(F, C)
        hiddens.append(H)
    return _output_layer(F, hiddens, W_hq, b_q, V), (H, C)


class _UnrolledGraph(HybridBlock):
    """One model's steps unrolled over a fixed (num_steps, batch), compiled once by MXNet.

    Parameters and state come in as inputs (autograd still reaches the caller's arrays), so
    the graph holds no weights and serves every parameter set of the same shapes. Compiling
    the loop removes the Python and dispatch cost of ~30 small operations per step, which is
    most of the time a scratch model spends at the chapter's sizes.
    """

    def __init__(self, steps_fn, num_states, T, h, V):
        super(_UnrolledGraph, self).__init__()
        self._steps_fn, self._num_states, self._dims = steps_fn, num_states, (T, h, V)

    def hybrid_forward(self, F, X, *args):
        state, params = args[:self._num_states], args[self._num_states:]
        Y, new_state = self._steps_fn(F, X, state, params, *self._dims)
        return (Y,) + tuple(new_state)


_GRAPHS = OrderedDict()
_MAX_GRAPHS = 32  # one per (model, num_steps, batch, sizes, context) in use


def _graph(steps_fn, num_states, T, h, V, ctx):
    key = (steps_fn, num_states, T, h, V, ctx)
    if key in _GRAPHS:
        _GRAPHS.move_to_end(key)
    else:
        g = _UnrolledGraph(steps_fn, num_states, T, h, V)
        g.hybridize(static_alloc=True, static_shape=True)
        _GRAPHS[key] = g
        if len(_GRAPHS) > _MAX_GRAPHS:
            _GRAPHS.popitem(last=False)
    return _GRAPHS[key]


def _run(steps_fn, inputs, state, params):
    T = len(inputs) if isinstance(inputs, (list, tuple)) else inputs.shape[0]
    h, V = state[0].shape[1], params[-1].shape[0]
    if isinstance(inputs, (list, tuple)):
        # The book's one-hot list: computed op by op, outputs split back into a list.
        Y, new_state = steps_fn(nd, inputs, state, params, T, h, V)
        return (list(nd.split(Y, num_outputs=T, axis=0)) if T > 1 else [Y]), new_state
    outs = _graph(steps_fn, len(state), T, h, V, inputs.context)(inputs, *state, *params)
    return outs[0], tuple(outs[1:])


@_takes_token_indices
def rnn(inputs, state, params):
    """Scratch RNN: ``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, ``Y_t = H_t W_hq + b_q``.

    inputs: list of num_steps (batch, vocab) one-hot arrays, or a (num_steps, batch) index
    array; state: ``(H,)`` with H (batch, num_hiddens). Returns ``(outputs, (H,))``, outputs as
    described in the module docstring. Equations: ``_rnn_steps``.
    """
    return _run(_rnn_steps, inputs, state, params)


@_takes_token_indices
def gru(inputs, state, params):
    """Scratch GRU with the book's equations (in ``_gru_steps``)::

        Z_t = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)            update gate (更新门)
        R_t = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)            reset gate (重置门)
        H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)      candidate (候选隐藏状态)
        H_t = Z_t * H_{t-1} + (1 - Z_t) * H~_t
        Y_t = H_t W_hq + b_q

    inputs/outputs as in :func:`rnn`; state ``(H,)`` with H (batch, num_hiddens).
    """
    return _run(_gru_steps, inputs, state, params)


@_takes_token_indices
def lstm(inputs, state, params):
    """Scratch LSTM with the book's equations (in ``_lstm_steps``)::

        I_t = sigmoid(X_t W_xi + H_{t-1} W_hi + b_i)     input gate (输入门)
        F_t = sigmoid(X_t W_xf + H_{t-1} W_hf + b_f)     forget gate (遗忘门)
        O_t = sigmoid(X_t W_xo + H_{t-1} W_ho + b_o)     output gate (输出门)
        C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)       candidate memory cell (候选记忆细胞)
        C_t = F_t * C_{t-1} + I_t * C~_t                 memory cell (记忆细胞)
        H_t = O_t * tanh(C_t);  Y_t = H_t W_hq + b_q     only H feeds the output layer

    inputs/outputs as in :func:`rnn`; state ``(H, C)``, each (batch, num_hiddens).
    """
    return _run(_lstm_steps, inputs, state, params)


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
