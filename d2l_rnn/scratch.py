"""Scratch RNN, GRU and LSTM: the book's parameters and equations, computed with fewer ops.

Each model function has the book's signature ``model(inputs, state, params)`` and accepts
``inputs`` in either of two forms:

* the book's: a list of ``num_steps`` one-hot arrays of shape (batch, vocab_size); the outputs
  are then a list of ``num_steps`` arrays of shape (batch, num_outputs), as in the book;
* token indices: one (num_steps, batch) array. A one-hot row times ``W_x*`` is just row
  ``x`` of ``W_x*``, so the input products become a row lookup; the outputs are then one
  (num_steps * batch, num_outputs) array, time-major like ``nd.concat(*outputs, dim=0)``.

The training loop passes indices to the functions of this module (they carry
``takes_token_indices = True``) and one-hot lists to any other function, such as the book's
own cells.

Deep and bidirectional models use the same functions. Their layout is set by the parameter
factory (``num_layers``, ``bidirectional``) and by the state, whose arrays are then stacked
like Gluon's: (num_layers * num_directions, batch, num_hiddens), layer by layer, the forward
direction before the backward one. A state of plain (batch, num_hiddens) arrays is the book's
single layer. Layer 0 reads the input; layer l > 0 reads layer l-1's hidden states (both
directions concatenated, 2 * num_hiddens); the backward direction runs from the last step to
the first; the output layer reads the top layer (2 * num_hiddens when bidirectional).

Where the book computes three small products per step, the gates here share one
``FullyConnected`` (oneDNN, ~2x faster than ``nd.dot`` on these shapes); the input products
of all steps are computed at once before the loop; the output layer runs once over all steps;
and for token indices the unrolled loop is compiled once per shape (``_UnrolledGraph``), so
Python and MXNet's dispatcher are not paid for every small operation. The equations are
written once, in ``_rnn_recurrence``, ``_gru_recurrence`` and ``_lstm_recurrence``, for both
routes.
"""
import functools
from collections import OrderedDict, namedtuple

from mxnet import nd
from mxnet.gluon import HybridBlock

from . import fused


# ----------------------------------------------------------------------------------------
# Parameters and states

# The parameters of one layer in one direction, in the book's order. ``gru_cudnn`` is the
# variant of cuDNN and Gluon: its candidate keeps a second bias ``b_hh`` inside the reset
# product (see ``_gru_recurrence``), so it has one parameter more.
LAYER_PARAMS = {
    "rnn": ("W_xh", "W_hh", "b_h"),
    "gru": ("W_xz", "W_hz", "b_z", "W_xr", "W_hr", "b_r", "W_xh", "W_hh", "b_h"),
    "gru_cudnn": ("W_xz", "W_hz", "b_z", "W_xr", "W_hr", "b_r", "W_xh", "W_hh", "b_h",
                  "b_hh"),
    "lstm": ("W_xi", "W_hi", "b_i", "W_xf", "W_hf", "b_f", "W_xo", "W_ho", "b_o",
             "W_xc", "W_hc", "b_c"),
}
NUM_STATES = {"rnn": 1, "gru": 1, "gru_cudnn": 1, "lstm": 2}


def _check_layout(num_layers, bidirectional):
    if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
        raise ValueError("num_layers must be a positive integer, got %r" % (num_layers,))
    if not isinstance(bidirectional, bool):
        raise ValueError("bidirectional must be True or False, got %r" % (bidirectional,))


def param_names(kind, num_layers=1, bidirectional=False):
    """Names of the parameter list of a scratch ``kind`` model ('rnn', 'gru', 'gru_cudnn' or
    'lstm'): the book's names for one unidirectional layer, else prefixed with the layer and
    direction the way Gluon names them (``l0_W_xz`` forward, ``r0_W_xz`` backward), then
    ``W_hq``, ``b_q``."""
    _check_layout(num_layers, bidirectional)
    if num_layers == 1 and not bidirectional:
        return list(LAYER_PARAMS[kind]) + ["W_hq", "b_q"]
    names = []
    for layer in range(num_layers):
        for d in "lr"[:2 if bidirectional else 1]:
            names += ["%s%d_%s" % (d, layer, n) for n in LAYER_PARAMS[kind]]
    return names + ["W_hq", "b_q"]


def make_params(kind, num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                bidirectional=False):
    """Parameters of a scratch ``kind`` model with gradients attached (see ``get_*_params``).

    Per layer and direction, in the order of :func:`param_names`: ``W_x*`` (inputs of the
    layer, num_hiddens), ``W_h*`` (num_hiddens, num_hiddens), ``b_*`` (num_hiddens,); the
    inputs of layer 0 are ``num_inputs`` wide, those of a higher layer num_directions *
    num_hiddens. Then ``W_hq`` (num_directions * num_hiddens, num_outputs) and ``b_q``
    (num_outputs,). Weights are drawn from N(0, 0.01^2) in this order and biases are zero, so
    a given seed gives the book's values for the book's single layer.
    """
    _check_layout(num_layers, bidirectional)
    num_outputs = num_inputs if num_outputs is None else num_outputs
    D = 2 if bidirectional else 1

    def normal(shape):
        return nd.random.normal(scale=0.01, shape=shape, ctx=ctx)

    params = []
    for layer in range(num_layers):
        layer_inputs = num_inputs if layer == 0 else D * num_hiddens
        for _ in range(D):
            for name in LAYER_PARAMS[kind]:
                if name.startswith("W_x"):
                    params.append(normal((layer_inputs, num_hiddens)))
                elif name.startswith("W_h"):
                    params.append(normal((num_hiddens, num_hiddens)))
                else:
                    params.append(nd.zeros(num_hiddens, ctx=ctx))
    params += [normal((D * num_hiddens, num_outputs)), nd.zeros(num_outputs, ctx=ctx)]
    for param in params:
        param.attach_grad()
    return params


def get_rnn_params(num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                   bidirectional=False):
    """Parameters ``[W_xh, W_hh, b_h, W_hq, b_q]`` of a scratch RNN, with gradients attached.

    Shapes: W_xh (num_inputs, num_hiddens), W_hh (num_hiddens, num_hiddens), b_h
    (num_hiddens,), W_hq (num_hiddens, num_outputs), b_q (num_outputs,). Weights are drawn
    from N(0, 0.01^2) in the book's order, so a given seed gives the book's values. With
    ``num_layers`` > 1 or ``bidirectional``, the three layer parameters repeat per layer and
    direction (:func:`make_params`, names from :func:`param_names`).
    """
    return make_params("rnn", num_inputs, num_hiddens, num_outputs, ctx, num_layers,
                       bidirectional)


def get_gru_params(num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                   bidirectional=False, variant="book"):
    """Parameters ``[W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]`` of a GRU.

    Update gate (z), reset gate (r), candidate hidden state (h), output layer (q); shapes as
    in :func:`get_rnn_params`, layers and directions as in :func:`make_params`.
    ``variant='cudnn'`` adds ``b_hh`` (num_hiddens,) after ``b_h`` in each layer, for
    :func:`gru_cudnn`.
    """
    if variant not in ("book", "cudnn"):
        raise ValueError("variant must be 'book' or 'cudnn', got %r" % (variant,))
    return make_params("gru" if variant == "book" else "gru_cudnn", num_inputs, num_hiddens,
                       num_outputs, ctx, num_layers, bidirectional)


def get_lstm_params(num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                    bidirectional=False):
    """Parameters ``[W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c,
    W_hq, b_q]`` of an LSTM: input, forget and output gates, candidate memory cell, output.
    Layers and directions as in :func:`make_params`.
    """
    return make_params("lstm", num_inputs, num_hiddens, num_outputs, ctx, num_layers,
                       bidirectional)


def _zero_state(num_states, batch_size, num_hiddens, ctx, num_layers, bidirectional):
    if num_layers is None and not bidirectional:
        shape = (batch_size, num_hiddens)
    else:
        num_layers = 1 if num_layers is None else num_layers
        _check_layout(num_layers, bidirectional)
        shape = (num_layers * (2 if bidirectional else 1), batch_size, num_hiddens)
    return tuple(nd.zeros(shape=shape, ctx=ctx) for _ in range(num_states))


def init_rnn_state(batch_size, num_hiddens, ctx=None, num_layers=None, bidirectional=False):
    """Initial state ``(H,)`` of a scratch RNN: zeros of shape (batch_size, num_hiddens).

    With ``num_layers`` given or ``bidirectional``, H is stacked like Gluon's state:
    (num_layers * num_directions, batch_size, num_hiddens).
    """
    return _zero_state(1, batch_size, num_hiddens, ctx, num_layers, bidirectional)


def init_gru_state(batch_size, num_hiddens, ctx=None, num_layers=None, bidirectional=False):
    """Initial state ``(H,)`` of a scratch GRU: zeros of shape (batch_size, num_hiddens), or
    (num_layers * num_directions, batch_size, num_hiddens) as in :func:`init_rnn_state`."""
    return _zero_state(1, batch_size, num_hiddens, ctx, num_layers, bidirectional)


def init_lstm_state(batch_size, num_hiddens, ctx=None, num_layers=None, bidirectional=False):
    """Initial state ``(H, C)`` of a scratch LSTM: two zero arrays (batch_size, num_hiddens),
    or (num_layers * num_directions, batch_size, num_hiddens) as in :func:`init_rnn_state`."""
    return _zero_state(2, batch_size, num_hiddens, ctx, num_layers, bidirectional)


# ----------------------------------------------------------------------------------------
# Building blocks shared by every cell

class _Sequence(object):
    """A lower layer's hidden states, (num_steps * batch, width), time-major: the input of a
    higher layer."""

    def __init__(self, data):
        self.data = data


def _steps(F, x, T):
    """Split a (T, batch, k) array into a list of T (batch, k) arrays."""
    parts = F.split(x, num_outputs=T, axis=0, squeeze_axis=True)
    return [parts] if T == 1 else [parts[t] for t in range(T)]


def _input_products_all(F, inputs, W_x, width, T):
    """``X_t W_x`` for every step t at once: one (T, batch, width) array.

    For token indices this is a row lookup (``take``): exactly the product with a one-hot
    matrix, without the vocab_size-long dot products over zeros. A higher layer's input is
    one product over all steps.
    """
    if isinstance(inputs, (list, tuple)):
        X = nd.concat(*inputs, dim=0) if T > 1 else inputs[0]
        return nd.dot(X, W_x).reshape((T, -1, width))
    if isinstance(inputs, _Sequence):
        XW = F.FullyConnected(inputs.data, F.transpose(W_x), no_bias=True, num_hidden=width)
        return F.reshape(XW, (T, -1, width))
    return F.take(W_x, inputs)


def _input_products(F, inputs, W_x, width, T):
    """``X_t W_x`` for every step t at once, as a list of T (batch, width) arrays."""
    return _steps(F, _input_products_all(F, inputs, W_x, width, T), T)


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


def _time_major(F, hiddens):
    """T arrays (batch, k) as one (T * batch, k) array."""
    return F.concat(*hiddens, dim=0) if len(hiddens) > 1 else hiddens[0]


# ----------------------------------------------------------------------------------------
# The cells: which input products a layer needs, and its recurrence over the steps

def _rnn_input_weights(F, p, h):
    return [(p[0], h)]


def _rnn_recurrence(F, XW, state, p, h):
    W_xh, W_hh, b_h = p
    H, = state
    hiddens = []
    for XW_t, in XW:
        H = _tanh(F, XW_t + _hidden_product(F, H, W_hh, b_h, h))
        hiddens.append(H)
    return hiddens, (H,)


def _gru_input_weights(F, p, h):
    # Z and R share one input product: [W_xz | W_xr]; the candidate has its own.
    return [(F.concat(p[0], p[3], dim=1), 2 * h), (p[6], h)]


def _gru_recurrence(F, XW, state, p, h, cudnn=False):
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = p[:9]
    H, = state
    W_hzr, b_zr = F.concat(W_hz, W_hr, dim=1), F.concat(b_z, b_r, dim=0)
    hiddens = []
    for XW_zr, XW_h in XW:
        ZR = _sigmoid(F, XW_zr + _hidden_product(F, H, W_hzr, b_zr, 2 * h))
        Z, R = _cols(F, ZR, 0, h), _cols(F, ZR, h, 2 * h)
        if cudnn:
            # cuDNN/Gluon: the reset gate scales (H W_hh + b_hh) after the product.
            b_hh = p[9]
            H_tilda = _tanh(F, F.broadcast_add(XW_h, b_h)
                            + R * _hidden_product(F, H, W_hh, b_hh, h))
        else:
            H_tilda = _tanh(F, XW_h + _hidden_product(F, R * H, W_hh, b_h, h))
        H = H_tilda + Z * (H - H_tilda)  # = Z * H + (1 - Z) * H_tilda, one product fewer
        hiddens.append(H)
    return hiddens, (H,)


def _lstm_input_weights(F, p, h):
    # The four gates share one input product and one hidden product.
    return [(F.concat(p[0], p[3], p[6], p[9], dim=1), 4 * h)]


def _lstm_recurrence(F, XW, state, p, h):
    (W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c) = p
    H, C = state
    W_h = F.concat(W_hi, W_hf, W_ho, W_hc, dim=1)
    b = F.concat(b_i, b_f, b_o, b_c, dim=0)
    hiddens = []
    for XW_t, in XW:
        G = XW_t + _hidden_product(F, H, W_h, b, 4 * h)
        IFO = _sigmoid(F, _cols(F, G, 0, 3 * h))
        I, F_gate, O = _cols(F, IFO, 0, h), _cols(F, IFO, h, 2 * h), _cols(F, IFO, 2 * h, 3 * h)
        C_tilda = _tanh(F, _cols(F, G, 3 * h, 4 * h))
        C = F_gate * C + I * C_tilda
        H = O * _tanh(F, C)
        hiddens.append(H)
    return hiddens, (H, C)


def _gru_fused_layer(F, inputs, T, state, p, h, reverse):
    # The whole recurrence of _gru_recurrence (cudnn=False) in one compiled operator
    # (d2l_rnn/kernels/gru_layer.cc, same equations): its per-step products run at the
    # machine's peak and ~30 small operations per step become two passes over the batch.
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = p
    (W_x_zr, _), (W_x_h, _) = _gru_input_weights(F, p, h)
    XZR = _input_products_all(F, inputs, W_x_zr, 2 * h, T)
    XH = _input_products_all(F, inputs, W_x_h, h, T)
    Y = getattr(F, fused.OP_NAME)(XZR, XH, state[0], F.concat(W_hz, W_hr, dim=1),
                                  F.concat(b_z, b_r, dim=0), W_hh, b_h,
                                  reverse=int(reverse))[0]
    last = 0 if reverse else T - 1
    H = F.reshape(F.slice_axis(Y, axis=0, begin=last, end=last + 1), (-1, h))
    return F.reshape(Y, (-1, h)), (H,)


# ``fused_layer``, when set, replaces the step loop for a whole layer.
_Cell = namedtuple("_Cell", "kind input_weights recurrence fused_layer")
_CELLS = {
    "rnn": _Cell("rnn", _rnn_input_weights, _rnn_recurrence, None),
    "gru": _Cell("gru", _gru_input_weights, _gru_recurrence, None),
    "gru_cudnn": _Cell("gru_cudnn", _gru_input_weights,
                       functools.partial(_gru_recurrence, cudnn=True), None),
    "lstm": _Cell("lstm", _lstm_input_weights, _lstm_recurrence, None),
}
_GRU_FUSED = _CELLS["gru"]._replace(fused_layer=_gru_fused_layer)


def _cell(kind):
    """The cell to run: the book's GRU takes the fused operator when it is available."""
    if kind == "gru" and fused.enabled():
        return _GRU_FUSED
    return _CELLS[kind]


def _layer(F, cell, inputs, T, state, p, h, reverse=False):
    """One layer in one direction: returns its hidden states as one time-major
    (T * batch, h) array and its final state. ``reverse`` runs the recurrence from the last
    step to the first."""
    if cell.fused_layer is not None:
        return cell.fused_layer(F, inputs, T, state, p, h, reverse)
    groups = [_input_products(F, inputs, W, width, T) for W, width in cell.input_weights(F, p, h)]
    XW = list(zip(*groups))
    if reverse:
        XW.reverse()
    hiddens, state = cell.recurrence(F, XW, state, p, h)
    if reverse:
        hiddens.reverse()
    return _time_major(F, hiddens), state


def _output_layer(F, H_all, W_hq, b_q, num_outputs):
    """``H_t W_hq + b_q`` for all steps in one product: (T * batch, num_outputs)."""
    return _hidden_product(F, H_all, W_hq, b_q, num_outputs)


def _forward(F, cell, inputs, state, params, T, h, V, layout):
    """The whole model: outputs (T * batch, V) and the new state. ``layout`` is None for the
    book's single layer with (batch, h) states, else (num_layers, num_directions) with
    stacked (num_layers * num_directions, batch, h) states."""
    W_hq, b_q = params[-2:]
    if layout is None:
        H_all, state = _layer(F, cell, inputs, T, state, params[:-2], h)
        return _output_layer(F, H_all, W_hq, b_q, V), state
    L, D = layout
    n = len(LAYER_PARAMS[cell.kind])
    per_layer_state = []
    for S in state:
        parts = F.split(S, num_outputs=L * D, axis=0, squeeze_axis=True)
        per_layer_state.append([parts] if L * D == 1 else [parts[i] for i in range(L * D)])
    new_state = [[] for _ in state]
    x = inputs
    for layer in range(L):
        outs = []
        for d in range(D):
            i = layer * D + d
            H_all, s = _layer(F, cell, x, T, tuple(S[i] for S in per_layer_state),
                                params[i * n:(i + 1) * n], h, reverse=d == 1)
            for S, s_i in zip(new_state, s):
                S.append(s_i)
            outs.append(H_all)
        x = _Sequence(outs[0] if D == 1 else F.concat(*outs, dim=1))
    Y = _output_layer(F, x.data, W_hq, b_q, V)
    return Y, tuple(F.stack(*S, axis=0) for S in new_state)


# ----------------------------------------------------------------------------------------
# Running a model: one-hot lists op by op, token indices through a compiled graph

class _UnrolledGraph(HybridBlock):
    """One model's steps unrolled over a fixed (num_steps, batch), compiled once by MXNet.

    Parameters and state come in as inputs (autograd still reaches the caller's arrays), so
    the graph holds no weights and serves every parameter set of the same shapes. Compiling
    the loop removes the Python and dispatch cost of ~30 small operations per step, which is
    most of the time a scratch model spends at the chapter's sizes.
    """

    def __init__(self, cell, num_states, T, h, V, layout):
        super(_UnrolledGraph, self).__init__()
        self._cell, self._num_states, self._dims = cell, num_states, (T, h, V, layout)

    def hybrid_forward(self, F, X, *args):
        state, params = args[:self._num_states], args[self._num_states:]
        Y, new_state = _forward(F, self._cell, X, state, params, *self._dims)
        return (Y,) + tuple(new_state)


_GRAPHS = OrderedDict()
_MAX_GRAPHS = 32  # one per (model, num_steps, batch, sizes, layout, context) in use


def _graph(cell, num_states, T, h, V, layout, ctx):
    key = (cell, num_states, T, h, V, layout, ctx)
    if key in _GRAPHS:
        _GRAPHS.move_to_end(key)
    else:
        g = _UnrolledGraph(cell, num_states, T, h, V, layout)
        g.hybridize(static_alloc=True, static_shape=True)
        _GRAPHS[key] = g
        if len(_GRAPHS) > _MAX_GRAPHS:
            _GRAPHS.popitem(last=False)
    return _GRAPHS[key]


def params_layout(kind, params, num_hiddens):
    """``(num_layers, num_directions)`` of a parameter list of the scratch ``kind`` model with
    ``num_hiddens`` units, or None when the list does not have that model's layout (count of
    arrays, W_hq of (num_directions * num_hiddens, vocab))."""
    n, k = len(LAYER_PARAMS[kind]), len(params) - 2
    if k < n or k % n or params[-2].ndim != 2 \
            or params[-2].shape[0] not in (num_hiddens, 2 * num_hiddens):
        return None
    D = params[-2].shape[0] // num_hiddens
    return ((k // n) // D, D) if (k // n) % D == 0 else None


def _layout(kind, state, params):
    """(num_layers, num_directions) of a model from its state and parameters (None for the
    book's single layer), or a ValueError saying how they disagree."""
    fn = "init_%s_state" % kind.split("_")[0]
    if not isinstance(state, (list, tuple)) or len(state) != NUM_STATES[kind]:
        got = ("%d arrays" % len(state)) if isinstance(state, (list, tuple)) \
            else type(state).__name__
        raise ValueError("a scratch %s takes a tuple of %d state array(s) (from %s), got %s"
                         % (kind, NUM_STATES[kind], fn, got))
    n = len(LAYER_PARAMS[kind])
    k = len(params) - 2
    if k < n or k % n:
        raise ValueError(
            "a scratch %s takes %d parameters per layer and direction plus W_hq and b_q; got "
            "a list of %d: make it with get_%s_params%s"
            % (kind, n, len(params), kind.split("_")[0],
               "(..., variant='cudnn')" if kind == "gru_cudnn" else ""))
    h = state[0].shape[-1]
    if state[0].ndim == 2:
        if k != n:
            raise ValueError(
                "the parameters hold %d layer-directions (a deep or bidirectional %s) but the "
                "state is a single layer's (batch, num_hiddens); make the state with %s(batch, "
                "num_hiddens, ctx, num_layers=..., bidirectional=...)" % (k // n, kind, fn))
        return None
    layout = params_layout(kind, params, h)
    if state[0].ndim != 3 or layout is None or layout[0] * layout[1] != state[0].shape[0]:
        raise ValueError(
            "the state %s does not fit the parameters (%d layer-directions, W_hq %s): make "
            "both with the same num_layers and bidirectional"
            % (tuple(state[0].shape), k // n, tuple(params[-2].shape)))
    return layout


def _run(kind, inputs, state, params):
    cell = _cell(kind)
    layout = _layout(kind, state, params)
    T = len(inputs) if isinstance(inputs, (list, tuple)) else inputs.shape[0]
    h, V = state[0].shape[-1], params[-1].shape[0]
    if isinstance(inputs, (list, tuple)):
        # The book's one-hot list: computed op by op, outputs split back into a list.
        Y, new_state = _forward(nd, cell, inputs, state, params, T, h, V, layout)
        return (list(nd.split(Y, num_outputs=T, axis=0)) if T > 1 else [Y]), tuple(new_state)
    outs = _graph(cell, len(state), T, h, V, layout, inputs.context)(inputs, *state, *params)
    return outs[0], tuple(outs[1:])


def _takes_token_indices(fn):
    fn.takes_token_indices = True
    return fn


@_takes_token_indices
def rnn(inputs, state, params):
    """Scratch RNN: ``H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)``, ``Y_t = H_t W_hq + b_q``.

    inputs: list of num_steps (batch, vocab) one-hot arrays, or a (num_steps, batch) index
    array; state: ``(H,)`` with H (batch, num_hiddens), or stacked (num_layers *
    num_directions, batch, num_hiddens) for a deep or bidirectional model. Returns
    ``(outputs, (H,))``, outputs as described in the module docstring. Equations:
    ``_rnn_recurrence``.
    """
    return _run("rnn", inputs, state, params)


@_takes_token_indices
def gru(inputs, state, params):
    """Scratch GRU with the book's equations (in ``_gru_recurrence``)::

        Z_t = sigmoid(X_t W_xz + H_{t-1} W_hz + b_z)            update gate (更新门)
        R_t = sigmoid(X_t W_xr + H_{t-1} W_hr + b_r)            reset gate (重置门)
        H~_t = tanh(X_t W_xh + (R_t * H_{t-1}) W_hh + b_h)      candidate (候选隐藏状态)
        H_t = Z_t * H_{t-1} + (1 - Z_t) * H~_t
        Y_t = H_t W_hq + b_q

    inputs/outputs and deep/bidirectional states as in :func:`rnn`; state ``(H,)``.
    """
    return _run("gru", inputs, state, params)


@_takes_token_indices
def gru_cudnn(inputs, state, params):
    """Scratch GRU in the variant of cuDNN and Gluon's ``rnn.GRU``: as :func:`gru` except ::

        H~_t = tanh(X_t W_xh + b_h + R_t * (H_{t-1} W_hh + b_hh))

    (the reset gate scales the hidden product after it is computed, and the candidate keeps
    a second bias ``b_hh`` inside that product). Parameters from
    ``get_gru_params(..., variant='cudnn')``; inputs, outputs and states as in :func:`gru`.
    """
    return _run("gru_cudnn", inputs, state, params)


@_takes_token_indices
def lstm(inputs, state, params):
    """Scratch LSTM with the book's equations (in ``_lstm_recurrence``)::

        I_t = sigmoid(X_t W_xi + H_{t-1} W_hi + b_i)     input gate (输入门)
        F_t = sigmoid(X_t W_xf + H_{t-1} W_hf + b_f)     forget gate (遗忘门)
        O_t = sigmoid(X_t W_xo + H_{t-1} W_ho + b_o)     output gate (输出门)
        C~_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)       candidate memory cell (候选记忆细胞)
        C_t = F_t * C_{t-1} + I_t * C~_t                 memory cell (记忆细胞)
        H_t = O_t * tanh(C_t);  Y_t = H_t W_hq + b_q     only H feeds the output layer

    inputs/outputs and deep/bidirectional states as in :func:`rnn`; state ``(H, C)``.
    """
    return _run("lstm", inputs, state, params)


MODELS = {
    "rnn": (rnn, get_rnn_params, init_rnn_state),
    "gru": (gru, get_gru_params, init_gru_state),
    "lstm": (lstm, get_lstm_params, init_lstm_state),
}
# Every scratch model function of this module, by kind (MODELS plus the cuDNN GRU).
KINDS = {"rnn": rnn, "gru": gru, "gru_cudnn": gru_cudnn, "lstm": lstm}


def get_params_fn(model, vocab_size, num_hiddens, ctx=None, num_layers=1, bidirectional=False):
    """The zero-argument ``get_params`` that ``train_and_predict_rnn`` calls, for a built-in
    model name (``'rnn'``, ``'gru'``, ``'lstm'`` or ``'gru_cudnn'``)."""
    if model not in KINDS:
        raise ValueError("unknown scratch model %r; choose one of %s"
                         % (model, ", ".join(KINDS)))
    return functools.partial(make_params, model, vocab_size, num_hiddens, vocab_size, ctx,
                             num_layers, bidirectional)


def init_state_fn(model, num_layers=1, bidirectional=False):
    """The ``init_rnn_state(batch_size, num_hiddens, ctx)`` that ``train_and_predict_rnn``
    calls for a built-in model name: the book's (batch, num_hiddens) state for one
    unidirectional layer, else stacked states for ``num_layers`` and ``bidirectional``."""
    if model not in KINDS:
        raise ValueError("unknown scratch model %r; choose one of %s"
                         % (model, ", ".join(KINDS)))
    _check_layout(num_layers, bidirectional)
    deep = num_layers > 1 or bidirectional
    return functools.partial(_zero_state, NUM_STATES[model], num_layers=num_layers if deep
                             else None, bidirectional=bidirectional)
