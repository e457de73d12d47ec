"""The concise path: a Gluon ``rnn.RNN`` / ``rnn.GRU`` / ``rnn.LSTM`` layer plus a dense output.

:func:`gluon_layer` is the one place a Gluon recurrent layer is built from a registry cell.
"""
import contextlib
import warnings

from mxnet import autograd, nd
from mxnet.gluon import nn
from mxnet.gluon import rnn as grnn

from . import registry


def gluon_layer(cell, num_hiddens, num_layers=1, bidirectional=False, dropout=0.0,
                activation=None, input_size=0):
    """A Gluon recurrent layer for a registry ``cell`` ('rnn', 'gru', 'lstm').

    ``activation`` applies to the RNN: None is Gluon's default, ReLU (the book's concise
    chapter uses it); 'tanh' is the scratch RNN's. ``input_size`` 0 lets Gluon infer it at
    the first call.
    """
    kind = registry.get(registry.CELLS.get(cell, cell))
    if kind.gluon_layer is None:
        raise ValueError("the %s cell has no Gluon layer; train it with --impl scratch"
                         % kind.cell)
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, dropout=dropout,
              input_size=input_size)
    if kind.gluon_layer == "RNN" and activation is not None:
        kw["activation"] = activation
    return getattr(grnn, kind.gluon_layer)(num_hiddens, **kw)


def layer_cell(layer):
    """The registry cell ('rnn', 'gru', 'lstm') of a Gluon recurrent layer, and its
    activation for an RNN (None otherwise); ``(None, None)`` for anything else."""
    mode = getattr(layer, "_mode", None)
    if mode in ("rnn_tanh", "rnn_relu"):
        return "rnn", mode[4:]
    return (mode, None) if mode in ("gru", "lstm") else (None, None)


def run_layer(layer, X, state, indices=None):
    """``layer(X, state)`` for a Gluon recurrent layer: outputs (num_steps, batch, D * h) and
    the new state list, for X (num_steps, batch, input_size) in the layer's 'TNC' layout.
    ``indices`` (batch,): the token indices of a single step whose one-hot rows X holds, if
    so; the single-step route then looks the input product up instead of multiplying.

    The same computation as Gluon's (one ``RNN`` operator over the layer's parameters, joined
    into one vector in Gluon's order), except for the join: Gluon concatenates the flat
    parameters as 1-D arrays, which MXNet 1.9.1 does element by element (measured: 12 ms for a
    256-unit GRU on 1,027 characters, three times the RNN operator at num_steps 1, and as
    long again for the gradient); as rows of num_gates * h columns the same bytes join in
    1 ms. A single step outside autograd (generation) runs by the equations
    (:func:`_one_step`). Any other layer (projection, sequence lengths, parameters not yet
    initialised) runs as ``layer(X, state)``.
    """
    if not _plain(layer):
        return layer(X, state)
    if X.shape[0] == 1 and layer._dir == 1 and not autograd.is_recording() \
            and layer._lstm_state_clip_min is None and layer._lstm_state_clip_max is None:
        return _one_step(layer, X, state, indices)
    names = ["%s%d_%s_%s" % (d, i, g, t) for t in ("weight", "bias")
             for i in range(layer._num_layers) for d in "lr"[:layer._dir]
             for g in ("i2h", "h2h")]
    params = [getattr(layer, name) for name in names]
    width = layer._gates * layer._hidden_size  # divides every parameter's size
    flat = nd.concat(*[p.data(X.context).reshape((-1, width)) for p in params],
                     dim=0).reshape((-1,))
    out = nd.RNN(X, flat, *state, state_size=layer._hidden_size,
                 num_layers=layer._num_layers, bidirectional=layer._dir == 2, p=layer._dropout,
                 state_outputs=True, mode=layer._mode,
                 lstm_state_clip_min=layer._lstm_state_clip_min,
                 lstm_state_clip_max=layer._lstm_state_clip_max,
                 lstm_state_clip_nan=layer._lstm_state_clip_nan)
    return out[0], list(out[1:])


def scratch_parameters(layer, array, rows, transpose, variant="cudnn", sum_biases=True):
    """The layer parameters of the scratch model that computes what a Gluon recurrent
    ``layer`` computes, per layer and direction in the scratch order (``l0``, ``r0``, ``l1``,
    ...; the book's names within each, see ``scratch.param_names``), without the output layer.

    Gluon stacks the gate blocks of ``i2h_weight`` (gates * h, inputs), ``h2h_weight``,
    ``i2h_bias`` and ``h2h_bias`` in its gate order (``Kind.gluon_gates``); the book's
    weights are those blocks transposed, and its bias per gate the sum of Gluon's two (the
    cuDNN GRU keeps the candidate's hidden bias apart as ``b_hh``). ``array(name)`` gives
    Gluon's array of that name ('l0_i2h_weight'), ``rows(a, begin, end)`` rows of it and
    ``transpose(a)`` its transpose: NumPy for copies of the weights, NDArray operators for
    views that autograd differentiates. ``sum_biases=False`` takes ``i2h_bias`` alone (the
    gradient of either summand is the gradient of the sum). ``variant``: the scratch GRU
    ('cudnn': exact; 'book': the candidate's biases summed).
    """
    cell, _ = layer_cell(layer)
    kind = registry.scratch_kind(cell, variant)
    gates, h = kind.gluon_gates, layer._hidden_size
    out = []
    for k in range(layer._num_layers):
        for d in "lr"[:layer._dir]:
            def blocks(name):
                a = array("%s%d_%s" % (d, k, name))
                return {g: rows(a, i * h, (i + 1) * h) for i, g in enumerate(gates)}
            w_x, w_h = blocks("i2h_weight"), blocks("h2h_weight")
            b_x, b_h = blocks("i2h_bias"), blocks("h2h_bias")
            for name in kind.layer_params:
                role, gate = name[:-1], name[-1]
                if name == "b_hh":
                    out.append(b_h["h"])
                elif role == "W_x":
                    out.append(transpose(w_x[gate]))
                elif role == "W_h":
                    out.append(transpose(w_h[gate]))
                elif not sum_biases or (kind.name == "gru_cudnn" and gate == "h"):
                    out.append(b_x[gate])
                else:
                    out.append(b_x[gate] + b_h[gate])
    return out


def _kernel_kind(layer, ctx):
    """The scratch kind whose fused kernel computes a Gluon ``layer`` on context ``ctx``, or
    None: Gluon's GRU is the cuDNN-variant GRU, its LSTM the book's LSTM (its two biases
    summed). None for what :func:`run_layer` leaves to Gluon and where the kernels do not
    run (switched off, no compiler, not a CPU)."""
    from .layers import uses_kernel
    mode = getattr(layer, "_mode", None)
    if mode not in ("gru", "lstm") or not _plain(layer) \
            or layer._lstm_state_clip_min is not None or layer._lstm_state_clip_max is not None:
        return None
    kind = registry.scratch_kind(mode, "cudnn").name
    if layer.l0_i2h_weight.dtype != "float32" or not uses_kernel(kind, ctx):
        return None
    return kind


def _plain(layer):
    """Whether ``layer`` is a Gluon RNN/GRU/LSTM whose computation :func:`run_layer` knows:
    no projection, no sequence lengths, 'TNC' layout, parameters initialised (at the first
    call Gluon infers their shapes)."""
    return getattr(layer, "_mode", None) in ("gru", "lstm", "rnn_tanh", "rnn_relu") \
        and not layer._projection_size and not layer._use_sequence_length \
        and layer._layout == "TNC" and 0 not in layer.l0_i2h_weight.shape


def _one_step(layer, X, state, indices=None):
    """One time step of a one-directional layer by Gluon's (cuDNN's) equations, gates in its
    order (GRU r, z, n; LSTM i, f, g, o), for generation: the RNN operator's fixed cost
    (~4 ms a call on CPU at 256 units, measured) is ten times these few small operations.
    Equal to the operator up to float32 round-off (tests/test_generate.py). With
    ``indices`` (the tokens X is the one-hot of), the first layer's input product is a
    column lookup: the same numbers without the (batch x vocab) product."""
    mode, h, ctx = layer._mode, layer._hidden_size, X.context
    x, new_state = X[0], [[] for _ in state]

    def gates(a, n):
        return [nd.slice_axis(a, axis=1, begin=g * h, end=(g + 1) * h) for g in range(n)]

    for i in range(layer._num_layers):
        W_i, W_h, b_i, b_h = (getattr(layer, "l%d_%s" % (i, name)).data(ctx) for name in
                              ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"))
        H = state[0][i]
        if i == 0 and indices is not None:
            gi = nd.broadcast_add(nd.take(W_i, indices, axis=1).T, b_i.reshape((1, -1)))
        else:
            gi = nd.FullyConnected(x, W_i, b_i, num_hidden=layer._gates * h)
        gh = nd.FullyConnected(H, W_h, b_h, num_hidden=layer._gates * h)
        if mode == "gru":
            i_r, i_z, i_n = gates(gi, 3)
            h_r, h_z, h_n = gates(gh, 3)
            R, Z = nd.sigmoid(i_r + h_r), nd.sigmoid(i_z + h_z)
            N = nd.tanh(i_n + R * h_n)
            H = N + Z * (H - N)  # = (1 - Z) * N + Z * H
        elif mode == "lstm":
            I, F, G, O = gates(gi + gh, 4)
            C = nd.sigmoid(F) * state[1][i] + nd.sigmoid(I) * nd.tanh(G)
            H = nd.sigmoid(O) * nd.tanh(C)
            new_state[1].append(C)
        else:
            H = nd.relu(gi + gh) if mode == "rnn_relu" else nd.tanh(gi + gh)
        new_state[0].append(H)
        x = H
    return x.expand_dims(axis=0), [nd.stack(*S, axis=0) for S in new_state]


class RNNModel(nn.Block):
    """Character-level language model around a Gluon recurrent layer (the book's RNNModel).

    Inputs: token indices (batch, num_steps) and the layer's state list (see
    :meth:`begin_state`). Outputs: logits (num_steps * batch, vocab_size), time-major, and the
    new state. The dense layer reads the layer's whole output, so a bidirectional layer's
    2 * num_hiddens features need no extra setting.

    Where the fused kernels run (``d2l_rnn.kernels``), a GRU or LSTM layer's steps are
    computed by the scratch model of the same equations on views of this model's parameters
    (same function: outputs and gradients equal Gluon's RNN operator to float32 round-off);
    set ``fused = False`` on a model to always run Gluon's operator (the scratch-vs-Gluon
    comparisons do, so that their Gluon side is independent of the scratch code).
    """

    fused = True
    _frozen = None  # inside frozen(): the kernels' view of the parameters, per context

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        if not isinstance(rnn_layer, nn.Block) or not hasattr(rnn_layer, "begin_state"):
            raise TypeError("RNNModel takes a Gluon recurrent layer, such as rnn.GRU(256) from "
                            "mxnet.gluon, and the vocabulary size; got %r"
                            % (rnn_layer if isinstance(rnn_layer, str)
                               else type(rnn_layer).__name__))
        super(RNNModel, self).__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.dense = nn.Dense(vocab_size)

    def forward(self, inputs, state):
        if getattr(self.rnn, "_dropout", 0) and autograd.is_training() \
                and inputs.context.device_type == "cpu" and not getattr(self, "_warned", False):
            # MXNet 1.9.1's fused RNN operator skips dropout on CPU (measured: training-mode
            # outputs equal inference outputs); only its unfused cells apply it.
            self._warned = True
            warnings.warn("dropout=%g of the Gluon %s layer has no effect on CPU in MXNet "
                          "1.9.1 (its fused RNN operator ignores it); it applies on GPU"
                          % (self.rnn._dropout, type(self.rnn).__name__), stacklevel=2)
        # A single step outside autograd (generation): _one_step is cheaper, unless the
        # parameters are frozen and the kernels' view of them made once (see frozen()).
        single = inputs.shape[1] == 1 and not autograd.is_recording()
        kind = None if single and self._frozen is None else self._kernel_kind(inputs.context)
        if kind is not None:
            return self._through_kernel(kind, inputs, state)
        X = nd.one_hot(inputs.T, self.vocab_size)  # (num_steps, batch, vocab_size)
        Y, state = run_layer(self.rnn, X, state, inputs.reshape((-1,)) if single else None)
        output = self.dense(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def _kernel_kind(self, ctx):
        # Also None before the first call has given the dense layer its input size.
        if not self.fused or 0 in self.dense.weight.shape:
            return None
        return _kernel_kind(self.rnn, ctx)

    def _through_kernel(self, kind, inputs, state):
        # The same model computed by the scratch model of the same equations on views of
        # this model's parameters: a one-hot input times i2h_weight is a row lookup, and the
        # fused layer operator runs each layer and direction (tests/test_kernels.py compares
        # outputs and every gradient with Gluon's RNN operator). Measured at the chapter's
        # sizes: the RNN operator takes ~60 ms forward and backward per minibatch, this ~15.
        from .scratch import model_function
        output, state = model_function(kind)(inputs.T, tuple(state),
                                             self._scratch_view(inputs.context))
        return output, list(state)

    @contextlib.contextmanager
    def frozen(self):
        """A block inside which the parameters do not change (generation): the kernels' view
        of them (:func:`scratch_parameters`: gate blocks sliced and transposed) is made once
        per context, so single steps run through the kernels as well, not only whole
        sequences (32 samples of 500 characters: ~0.8 s instead of ~1.0)."""
        old, self._frozen = self._frozen, {}
        try:
            yield self
        finally:
            self._frozen = old

    def _scratch_view(self, ctx):
        if self._frozen is not None and not autograd.is_recording():
            if ctx not in self._frozen:
                self._frozen[ctx] = self._fresh_view(ctx)
            return self._frozen[ctx]
        return self._fresh_view(ctx)

    def _fresh_view(self, ctx):
        params = scratch_parameters(
            self.rnn, lambda name: getattr(self.rnn, name).data(ctx),
            lambda a, begin, end: nd.slice_axis(a, axis=0, begin=begin, end=end),
            nd.transpose)
        return params + [nd.transpose(self.dense.weight.data(ctx)), self.dense.bias.data(ctx)]

    def greedy(self, X, state, num_steps):
        """``num_steps`` greedy characters from the last indices X (batch, 1): the chosen
        indices (batch, num_steps), or None where the kernels do not compute this model
        (then the caller feeds each step back itself). Runs as the scratch model's compiled
        greedy chunks (``layers.greedy``) on views of the parameters."""
        from .scratch import model_function
        kind = self._kernel_kind(X.context)
        if kind is None:
            return None
        return model_function(kind).greedy(X.T, tuple(state), self._scratch_view(X.context),
                                           num_steps).T

    def begin_state(self, *args, **kwargs):
        """Zero state of the wrapped layer: a list of (num_layers * num_directions, batch,
        num_hiddens) arrays (one for RNN/GRU, two (h, c) for LSTM)."""
        return self.rnn.begin_state(*args, **kwargs)
