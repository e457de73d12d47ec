"""Running a scratch cell as a model: input products, deep and bidirectional stacking, the
output layer, and a compiled graph for token indices.

The cells (``models/scratch/rnn.py``, ``gru.py``, ``lstm.py``) say what one layer computes
over the steps: which input products it needs (``input_weights``) and its recurrence. This
module does the rest, the same way for every cell:

* the input products ``X_t W_x*`` of all steps at once before the loop: for token indices a
  row lookup (``take``: a one-hot row times ``W_x*`` is row ``x`` of ``W_x*``), for a higher
  layer one product over all steps;
* layers stacked like Gluon's (layer l > 0 reads layer l-1's hidden states, both directions
  concatenated; the backward direction runs from the last step to the first);
* the output layer ``H W_hq + b_q`` once over all steps;
* for token indices, the whole unrolled model compiled once per shape by MXNet
  (:class:`_UnrolledGraph`), so Python and the dispatcher are not paid for every small op;
  greedy generation likewise runs as compiled chunks of steps (:func:`greedy`);
* where the registry says a fused kernel exists (the book's GRU) and it is available, the
  kernel replaces the recurrence of a whole layer (``d2l_rnn.kernels``; same function,
  tested equal in ``tests/test_kernels.py``).
"""
from collections import OrderedDict, namedtuple

from mxnet import nd
from mxnet.gluon import HybridBlock

from .. import kernels
from ..kernels.loss import applies
from ..util import checks
from . import registry
from .ops import dot, steps, time_major

Cell = namedtuple("Cell", "input_weights recurrence")
Cell.__doc__ = """One layer of a scratch model in one direction.

``input_weights(F, p, h)`` -> [((W, ...), width), ...]: the input products the recurrence
reads at each step, each the product with weights side by side (e.g. the GRU's
``X_t [W_xz | W_xr]``, given as ``((W_xz, W_xr), 2 * h)``, and ``X_t W_xh``); ``recurrence(F, XW,
state, p, h)`` -> (hidden states of every step, final state), where XW holds those products
step by step and ``p`` the layer's parameters in the book's order."""


class _Sequence(object):
    """A lower layer's hidden states, (num_steps * batch, width), time-major: the input of a
    higher layer."""

    def __init__(self, data):
        self.data = data


def input_products(F, inputs, weights, width, T, fused=False):
    """``X_t [W_1 | W_2 | ...]`` for every step t at once: one (T, batch, width) array.

    inputs: token indices (T, batch), the book's list of T one-hot (batch, V) arrays, or a
    lower layer's :class:`_Sequence`; weights: the (in, w_i) matrices side by side. For
    token indices with ``fused``, the lookup runs in the kernel (no concatenated copy of
    the weights, :func:`d2l_rnn.kernels.fused_rows`).
    """
    if fused and not isinstance(inputs, (list, tuple, _Sequence)):
        return kernels.fused_rows(F, inputs, weights)
    W_x = F.concat(*weights, dim=1) if len(weights) > 1 else weights[0]
    if isinstance(inputs, (list, tuple)):
        X = nd.concat(*inputs, dim=0) if T > 1 else inputs[0]
        return nd.dot(X, W_x).reshape((T, -1, width))
    if isinstance(inputs, _Sequence):
        XW = F.FullyConnected(inputs.data, F.transpose(W_x), no_bias=True, num_hidden=width)
        return F.reshape(XW, (T, -1, width))
    return F.take(W_x, inputs)


def uses_kernel(kind, ctx=None):
    """Whether the layers of ``kind`` run as the fused kernel on ``ctx`` (default: the
    CPU): it exists, it is enabled, and the context is a CPU (the kernels are CPU operators;
    on a GPU the graph route runs, as it does without a compiler)."""
    if ctx is not None and not applies(ctx):
        return False
    return registry.get(kind).kernel and kernels.enabled()


def _layer(F, kind, cell, fused, inputs, T, state, p, h, reverse=False):
    """One layer in one direction: its hidden states as one time-major (T * batch, h) array
    and its final state."""
    XW = [input_products(F, inputs, W, width, T, fused)
          for W, width in cell.input_weights(F, p, h)]
    if fused:
        return kernels.LAYERS[kind](F, XW, T, state, p, h, reverse)
    XW = list(zip(*[steps(F, x, T) for x in XW]))
    if reverse:
        XW.reverse()
    hiddens, state = cell.recurrence(F, XW, state, p, h)
    if reverse:
        hiddens.reverse()
    return time_major(F, hiddens), state


def _forward(F, kind, cell, fused, inputs, state, params, T, h, V, layout):
    """The whole model: outputs (T * batch, V) and the new state. ``layout`` is None for the
    book's single layer with (batch, h) states, else (num_layers, num_directions) with
    stacked (num_layers * num_directions, batch, h) states."""
    W_hq, b_q = params[-2:]
    if layout is None:
        H_all, state = _layer(F, kind, cell, fused, inputs, T, state, params[:-2], h)
        return dot(F, H_all, W_hq, b_q, V), state
    L, D = layout
    n = len(registry.get(kind).layer_params)
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
            H_all, s = _layer(F, kind, cell, fused, x, T, tuple(S[i] for S in per_layer_state),
                              params[i * n:(i + 1) * n], h, reverse=d == 1)
            for S, s_i in zip(new_state, s):
                S.append(s_i)
            outs.append(H_all)
        x = _Sequence(outs[0] if D == 1 else F.concat(*outs, dim=1))
    Y = dot(F, x.data, W_hq, b_q, V)
    return Y, tuple(F.stack(*S, axis=0) for S in new_state)


class _UnrolledGraph(HybridBlock):
    """One model's steps unrolled over a fixed (num_steps, batch), compiled once by MXNet.

    Parameters and state come in as inputs (autograd still reaches the caller's arrays), so
    the graph holds no weights and serves every parameter set of the same shapes. Compiling
    the loop removes the Python and dispatch cost of ~30 small operations per step, which is
    most of the time a scratch model spends at the chapter's sizes.
    """

    def __init__(self, kind, cell, fused, num_states, T, h, V, layout):
        super(_UnrolledGraph, self).__init__()
        self._model, self._num_states = (kind, cell, fused), num_states
        self._dims = (T, h, V, layout)

    def hybrid_forward(self, F, X, *args):
        state, params = args[:self._num_states], args[self._num_states:]
        Y, new_state = _forward(F, *self._model, X, state, params, *self._dims)
        return (Y,) + tuple(new_state)


class _GreedyGraph(HybridBlock):
    """``num_steps`` steps of greedy generation compiled as one graph: each step's argmax
    (in float32, as the book takes it) is the next step's input. Generating a character
    step by step pays Python and MXNet's dispatch (~0.5 ms) per character, more than the
    step's arithmetic at the chapter's sizes; here it is paid once per chunk of steps.

    X: the last indices (1, batch); returns the chosen indices (num_steps, batch) and the
    state after them.
    """

    def __init__(self, kind, cell, fused, num_states, num_steps, h, V, layout):
        super(_GreedyGraph, self).__init__()
        self._model, self._num_states = (kind, cell, fused), num_states
        self._num_steps, self._dims = num_steps, (1, h, V, layout)

    def hybrid_forward(self, F, X, *args):
        state, params = args[:self._num_states], args[self._num_states:]
        picks = []
        for _ in range(self._num_steps):
            Y, state = _forward(F, *self._model, X, state, params, *self._dims)
            X = F.reshape(F.argmax(Y, axis=1), (1, -1))
            picks.append(X)
        return (F.concat(*picks, dim=0),) + tuple(state)


_GRAPHS = OrderedDict()
_MAX_GRAPHS = 32  # one per (model, num_steps, batch, sizes, layout, context) in use


def _graph(key, *args, block=_UnrolledGraph):
    key = (block,) + key
    if key in _GRAPHS:
        _GRAPHS.move_to_end(key)
    else:
        g = block(*args)
        g.hybridize(static_alloc=True, static_shape=True)
        _GRAPHS[key] = g
        if len(_GRAPHS) > _MAX_GRAPHS:
            _GRAPHS.popitem(last=False)
    return _GRAPHS[key]


def params_layout(kind, params, num_hiddens):
    """``(num_layers, num_directions)`` of a parameter list of the scratch ``kind`` model with
    ``num_hiddens`` units, or None when the list does not have that model's layout.

    A :class:`~d2l_rnn.models.scratch.params.Params` list says so itself; a plain list (the
    book's own ``get_params``) is read from its length and the shape of ``W_hq``.
    """
    layout = getattr(params, "num_layers", None)
    if layout is not None and getattr(params, "kind", None) == registry.get(kind).name:
        return params.num_layers, 2 if params.bidirectional else 1
    n, k = len(registry.get(kind).layer_params), len(params) - 2
    if k < n or k % n or params[-2].ndim != 2 \
            or params[-2].shape[0] not in (num_hiddens, 2 * num_hiddens):
        return None
    D = params[-2].shape[0] // num_hiddens
    return ((k // n) // D, D) if (k // n) % D == 0 else None


def _layout(kind, state, params):
    """(num_layers, num_directions) of a model from its state and parameters (None for the
    book's single layer), or a ValueError saying how they disagree."""
    if not isinstance(state, (list, tuple)) or len(state) != kind.num_states:
        got = ("%d arrays" % len(state)) if isinstance(state, (list, tuple)) \
            else type(state).__name__
        raise ValueError("a scratch %s takes a tuple of %d state array(s) (from %s), got %s"
                         % (kind.name, kind.num_states, kind.init_state_name, got))
    n, k = len(kind.layer_params), len(params) - 2
    if k < n or k % n:
        raise ValueError(
            "a scratch %s takes %d parameters per layer and direction plus W_hq and b_q; got "
            "a list of %d: make it with %s" % (kind.name, n, len(params),
                                               kind.params_factory_name))
    h = state[0].shape[-1]
    if state[0].ndim == 2:
        if k != n:
            raise ValueError(
                "the parameters hold %d layer-directions (a deep or bidirectional %s) but the "
                "state is a single layer's (batch, num_hiddens); make the state with %s(batch, "
                "num_hiddens, ctx, num_layers=..., bidirectional=...)"
                % (k // n, kind.name, kind.init_state_name))
        _check_shapes(kind, params, h, 1, 1)
        return None
    layout = params_layout(kind, params, h)
    if state[0].ndim != 3 or layout is None or layout[0] * layout[1] != state[0].shape[0]:
        raise ValueError(
            "the state %s does not fit the parameters (%d layer-directions, W_hq %s): make "
            "both with the same num_layers and bidirectional"
            % (tuple(state[0].shape), k // n, tuple(params[-2].shape)))
    _check_shapes(kind, params, h, *layout)
    return layout


def _check_shapes(kind, params, h, L, D):
    """ValueError naming the first parameter whose shape does not fit a state of ``h``
    hidden units (checked here, so that a mismatch never reaches MXNet's or the kernel's
    C++ code, whose messages do not say which parameter it was)."""
    from .scratch.params import param_names
    names = param_names(kind.name, L, D == 2)
    n = len(kind.layer_params)
    inputs = params[0].shape[0] if params[0].ndim == 2 else None
    for i, (name, p) in enumerate(zip(names, params)):
        base = kind.layer_params[i % n] if i < L * D * n else name
        layer = (i // n) // D
        if base.startswith("W_x"):
            want = (inputs if layer == 0 else D * h, h)
        elif base.startswith("W_h") and base != "W_hq":
            want = (h, h)
        elif base == "W_hq":
            want = (D * h, params[-1].shape[0])
        elif base == "b_q":
            want = (p.shape[0],) if p.ndim == 1 else (None,)
        else:
            want = (h,)
        if tuple(p.shape) != want:
            raise ValueError(
                "parameter %s has shape %s, but a %s with a state of %d hidden units needs %s: "
                "make the parameters and the state with the same num_hiddens (and layout)"
                % (name, tuple(p.shape), kind.name, h, want))


def model_function(kind, cell=None):
    """Mark a scratch model function as one of the registry's ``kind``: it takes token
    indices (num_steps, batch) as well as the book's one-hot list (``takes_token_indices``)
    and a configuration can name it (``kind``). Given the :class:`Cell` it runs with, it also
    generates greedily in compiled chunks (``fn.greedy``, see :func:`greedy`); without,
    generation feeds each step back from Python."""
    def mark(fn):
        fn.takes_token_indices, fn.kind = True, kind
        if cell is not None:
            fn.greedy = lambda X, state, params, num_steps: greedy(kind, cell, X, state,
                                                                   params, num_steps)
        return fn
    return mark


GREEDY_CHUNK = 32  # steps per compiled greedy graph


def greedy(kind, cell, X, state, params, num_steps):
    """Generate ``num_steps`` characters greedily from the last indices X (1, batch) and
    ``state``: the chosen indices (num_steps, batch), float32, left on the device.

    The same choices as feeding each step's argmax back by hand, computed in compiled
    chunks of :data:`GREEDY_CHUNK` steps (:class:`_GreedyGraph`); the last chunk's extra
    steps are dropped.
    """
    num_steps = checks.positive_int("num_steps", num_steps)
    kind = registry.get(kind)
    layout = _layout(kind, state, params)
    fused = uses_kernel(kind, X.context)
    h, V = state[0].shape[-1], params[-1].shape[0]
    K = min(GREEDY_CHUNK, num_steps)
    g = _graph((kind.name, cell, fused, len(state), K, h, V, layout, X.context),
               kind.name, cell, fused, len(state), K, h, V, layout, block=_GreedyGraph)
    picks = []
    for _ in range(0, num_steps, K):
        outs = g(X, *state, *params)
        picks.append(outs[0])
        X, state = nd.slice_axis(outs[0], axis=0, begin=K - 1, end=K), outs[1:]
    chosen = nd.concat(*picks, dim=0) if len(picks) > 1 else picks[0]
    return chosen[:num_steps] if chosen.shape[0] > num_steps else chosen


def run(kind, cell, inputs, state, params):
    """Run the scratch model of ``kind`` (its :class:`Cell`) the way the book calls a model
    function: ``(outputs, state)`` for ``inputs`` given as token indices (T, batch) (outputs
    one (T * batch, V) array) or as the book's list of T one-hot arrays (outputs a list)."""
    kind = registry.get(kind)
    layout = _layout(kind, state, params)
    ctx = (inputs[0] if isinstance(inputs, (list, tuple)) else inputs).context
    fused = uses_kernel(kind, ctx)
    T = len(inputs) if isinstance(inputs, (list, tuple)) else inputs.shape[0]
    h, V = state[0].shape[-1], params[-1].shape[0]
    if isinstance(inputs, (list, tuple)):
        # The book's one-hot list: computed op by op, outputs split back into a list.
        Y, new_state = _forward(nd, kind.name, cell, fused, inputs, state, params, T, h, V,
                                layout)
        return (list(nd.split(Y, num_outputs=T, axis=0)) if T > 1 else [Y]), tuple(new_state)
    key = (kind.name, cell, fused, len(state), T, h, V, layout, ctx)
    outs = _graph(key, kind.name, cell, fused, len(state), T, h, V, layout)(
        inputs, *state, *params)
    return outs[0], tuple(outs[1:])
