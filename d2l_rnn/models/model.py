"""The one model object both paths satisfy, and the configuration that describes it.

The trainer, text generation, checkpoints and the scratch-vs-concise comparison receive a
:class:`LanguageModel`: called on token indices X (batch, num_steps) and a state it returns
logits (num_steps * batch, vocab_size), time-major, and the new state; ``begin_state(batch)``
is a zero state; ``arrays()`` the weights and gradients an optimiser updates; ``config`` its
:class:`ModelConfig`. :class:`ScratchModel` wraps a model function in the book's protocol
(``rnn(inputs, state, params)``), :class:`ConciseModel` a Gluon :class:`RNNModel`. The book's
call signatures are wrapped into these once, at the edge (``training/book.py``,
``generate.py``); the command line builds them from a configuration (:func:`build_model`).
"""
import contextlib
import dataclasses
import os
from dataclasses import dataclass
from typing import Optional

from mxnet import init, nd

from ..util import checks
from . import registry
from .concise import RNNModel, gluon_layer, layer_cell
from .layers import params_layout
from .scratch import init_state_fn, make_params, model_function, param_names

IMPLS = ("scratch", "concise")


@dataclass(frozen=True)
class ModelConfig:
    """What a model is: enough to build it again (``build_model``) and to refuse loading a
    checkpoint into a different one (every field is compared on resume).

    impl: 'scratch' or 'concise'; model: a registry kind ('rnn', 'gru', 'gru_cudnn', 'lstm';
    concise: 'rnn', 'gru', 'lstm'), or, when ``builtin`` is False, the name of the user's own
    model function or Gluon class (which cannot be rebuilt from the configuration);
    vocab_size; num_hiddens per layer and direction; num_layers; bidirectional; dropout
    between stacked layers (concise only); activation of an RNN (scratch: 'tanh'; concise:
    Gluon's default 'relu', or 'tanh'; None for the gated cells).
    """
    impl: str = "scratch"
    model: str = "gru"
    vocab_size: Optional[int] = None
    num_hiddens: int = 256
    num_layers: Optional[int] = 1
    bidirectional: Optional[bool] = False
    dropout: float = 0.0
    activation: Optional[str] = None
    builtin: bool = True

    def __post_init__(self):
        checks.choice("impl", self.impl, IMPLS)
        if not self.builtin:  # the user's own model: its sizes are whatever the user said
            return
        checks.positive_int("num_hiddens", self.num_hiddens)
        if self.vocab_size is not None:
            checks.positive_int("vocab_size", self.vocab_size)
        checks.fraction("dropout", self.dropout)
        kind = registry.get(self.model)
        if self.impl == "concise" and (kind.gluon_layer is None or kind.variant == "cudnn"):
            raise ValueError("model=%r has no concise (Gluon) version; choose one of %s"
                             % (self.model, ", ".join(c for c, k in registry.CELLS.items()
                                                      if registry.get(k).gluon_layer)))
        checks.positive_int("num_layers", self.num_layers)
        checks.boolean("bidirectional", self.bidirectional)
        if kind.cell == "rnn":
            # The scratch RNN is the book's tanh RNN; Gluon's rnn.RNN defaults to ReLU.
            default = "tanh" if self.impl == "scratch" else "relu"
            checks.choice("activation", self.activation or default,
                          ("tanh",) if self.impl == "scratch" else ("tanh", "relu"))
            object.__setattr__(self, "activation", self.activation or default)
        else:
            object.__setattr__(self, "activation", None)

    @property
    def kind(self):
        """The registry :class:`~d2l_rnn.models.registry.Kind` (None for a custom model)."""
        return registry.get(self.model) if self.builtin else None

    def as_dict(self):
        """The configuration as JSON-ready data (a checkpoint's ``config.json`` holds it)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """A configuration from :meth:`as_dict` data; other keys are ignored, and what a
        checkpoint of an earlier version lacks (dropout) takes its default."""
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        if d.get("builtin", True) and d.get("model") in registry.REGISTRY:
            if registry.get(d["model"]).cell != "rnn":
                d["activation"] = None  # version 1 wrote 'tanh' for every scratch cell
        return cls(**d)

    def differences(self, other):
        """``[(field, this value, other value)]`` for every field that differs."""
        return [(f.name, getattr(self, f.name), getattr(other, f.name))
                for f in dataclasses.fields(self)
                if getattr(self, f.name) != getattr(other, f.name)]


class LanguageModel(object):
    """What every part of the package needs of a character-level language model.

    ``model(X, state)``: X (batch, num_steps) token indices, float32 -> ``(logits
    (num_steps * batch, vocab_size), new state)``; ``begin_state(batch_size)`` -> a list of
    zero arrays; ``arrays()`` -> ``(weights, grads)``, the NDArrays an optimiser updates;
    ``save_parameters(path)`` / ``load_parameters(path)``; ``config`` (a
    :class:`ModelConfig`); ``ctx``.
    """

    config = None
    ctx = None

    def __call__(self, X, state):
        raise NotImplementedError

    def begin_state(self, batch_size):
        raise NotImplementedError

    def arrays(self):
        raise NotImplementedError

    def save_parameters(self, path):
        raise NotImplementedError

    def load_parameters(self, path):
        raise NotImplementedError

    def replicas(self, ctxs):
        """The model on each of ``ctxs`` (for data parallelism): itself on the first, copies
        of its parameters on the others."""
        raise NotImplementedError

    def frozen(self):
        """A context inside which the parameters do not change (generation uses it, so a
        model may prepare its steps once); a no-op here."""
        return contextlib.nullcontext()

    def greedy(self, X, state, num_steps):
        """Generate ``num_steps`` characters greedily: from the last indices X (batch, 1) and
        ``state``, each step's argmax (float32) is the next step's input. Returns the chosen
        indices (batch, num_steps), float32, left on the device (no host sync per step)."""
        num_steps = checks.positive_int("num_steps", num_steps)
        picks = []
        for _ in range(num_steps):
            Y, state = self(X, state)  # (batch, vocab): one step
            X = Y.argmax(axis=1).reshape((-1, 1))
            picks.append(X)
        return nd.concat(*picks, dim=1)

    def materialize(self):
        """Create parameters whose shapes Gluon infers at the first forward pass (a no-op
        for a scratch model): afterwards ``arrays()`` has every parameter."""

    def sparse_gradients(self):
        """Indices (into ``arrays()``) of the parameters whose gradients are row-sparse: only
        the rows of the characters in the minibatch are not zero."""
        return ()

    def __repr__(self):
        c = self.config
        layout = "".join([", %d layers" % c.num_layers if (c.num_layers or 1) > 1 else "",
                          ", bidirectional" if c.bidirectional else ""])
        return "%s(%s, %d hidden%s, vocabulary %s)" % (type(self).__name__, c.model,
                                                       c.num_hiddens, layout, c.vocab_size)


class ScratchModel(LanguageModel):
    """A model function in the book's protocol with its parameters and state initialiser.

    fn(inputs, state, params) -> (outputs, state); ``params``: its parameter list (NDArrays
    with gradients attached); ``init_state(batch_size, num_hiddens, ctx)``. The package's
    functions (``fn.takes_token_indices``) get token indices (num_steps, batch); any other
    function, such as the book's own cells, the book's list of one-hot arrays.
    """

    def __init__(self, fn, params, init_state, config, ctx=None):
        self.fn, self.params, self.init_state = fn, params, init_state
        self.config, self.ctx = config, ctx

    @classmethod
    def from_book(cls, fn, params, init_state, num_hiddens, vocab_size, ctx=None):
        """Wrap the book's arguments. The configuration is the one the parameter factory
        recorded (``make_params``), or read from the list's layout for a list built by hand;
        a function that is none of the package's is a custom model."""
        kind = getattr(fn, "kind", None)
        layout = params_layout(kind, params, num_hiddens) if kind else None
        if layout is None:
            config = ModelConfig("scratch", kind or getattr(fn, "__name__", "custom"),
                                 vocab_size, num_hiddens, 1, False, builtin=False)
        else:
            config = ModelConfig("scratch", kind, vocab_size, num_hiddens, layout[0],
                                 layout[1] == 2)
        return cls(fn, params, init_state, config, ctx)

    def __call__(self, X, state):
        if getattr(self.fn, "takes_token_indices", False):
            outputs, state = self.fn(X.T, state, self.params)
        else:
            outputs, state = self.fn([nd.one_hot(x, self.config.vocab_size) for x in X.T],
                                     state, self.params)
        if isinstance(outputs, (list, tuple)):
            outputs = nd.concat(*outputs, dim=0) if len(outputs) > 1 else outputs[0]
        return outputs, state

    def begin_state(self, batch_size):
        return list(self.init_state(batch_size, self.config.num_hiddens, self.ctx))

    def greedy(self, X, state, num_steps):
        # The package's model functions run the steps as compiled chunks (layers.greedy).
        if getattr(self.fn, "greedy", None) is None:
            return super(ScratchModel, self).greedy(X, state, num_steps)
        return self.fn.greedy(X.T, state, self.params, num_steps).T

    def arrays(self):
        return self.params, [p.grad for p in self.params]

    @property
    def param_names(self):
        """The names the parameters are saved under."""
        c = self.config
        if c.builtin:
            return param_names(c.model, c.num_layers, c.bidirectional)
        return ["param%d" % i for i in range(len(self.params))]

    def save_parameters(self, path):
        nd.save(path, dict(zip(self.param_names, self.params)))

    def load_parameters(self, arrays):
        """Copy ``arrays`` ({name: NDArray}, as saved) into the parameters, in place."""
        for name, p in zip(self.param_names, self.params):
            p[:] = arrays[name].as_in_context(p.context)

    def replicas(self, ctxs):
        if len(ctxs) == 1:
            return [self]
        copies = [self]
        for ctx in ctxs[1:]:
            params = [p.copyto(ctx) for p in self.params]
            for p in params:
                p.attach_grad()
            copies.append(ScratchModel(self.fn, params, self.init_state, self.config, ctx))
        return copies

    def sparse_gradients(self):
        # The first layer's input weights W_x* (vocab, width): a row per character.
        return tuple(i for i, name in enumerate(self.param_names)
                     if name.startswith(("W_x", "l0_W_x", "r0_W_x")))


class ConciseModel(LanguageModel):
    """A Gluon :class:`RNNModel` (``net``) on context ``ctx``."""

    def __init__(self, net, config, ctx=None):
        self.net, self.config, self.ctx = net, config, ctx

    @classmethod
    def from_book(cls, net, num_hiddens, vocab_size, ctx=None):
        """Wrap the book's ``model`` argument; its configuration is read from its layer (a
        Gluon model that is not an :class:`RNNModel` around a recurrent layer is custom)."""
        layer = getattr(net, "rnn", None)
        cell, activation = layer_cell(layer)
        if cell is None:
            config = ModelConfig("concise", type(net).__name__, vocab_size, num_hiddens, None,
                                 None, builtin=False)
        else:
            config = ModelConfig("concise", cell, vocab_size, layer._hidden_size,
                                 layer._num_layers, layer._dir == 2, layer._dropout,
                                 activation)
        return cls(net, config, ctx)

    def __call__(self, X, state):
        return self.net(X, state)

    def begin_state(self, batch_size):
        return self.net.begin_state(batch_size=batch_size, ctx=self.ctx)

    def frozen(self):
        # An RNNModel then makes the kernels' view of its parameters once.
        return self.net.frozen() if isinstance(self.net, RNNModel) \
            else super(ConciseModel, self).frozen()

    def greedy(self, X, state, num_steps):
        # An RNNModel whose layer the kernels compute runs compiled greedy chunks.
        chosen = self.net.greedy(X, state, num_steps) if isinstance(self.net, RNNModel) \
            else None
        if chosen is None:
            return super(ConciseModel, self).greedy(X, state, num_steps)
        return chosen

    def arrays(self):
        # Frozen parameters (grad_req 'null') are neither clipped nor updated.
        params = [p for p in self.net.collect_params().values() if p.grad_req != "null"]
        return [p.data(self.ctx) for p in params], [p.grad(self.ctx) for p in params]

    def save_parameters(self, path):
        self.net.save_parameters(path)

    def load_parameters(self, path):
        self.net.load_parameters(path, ctx=self.ctx)

    def materialize(self):
        # A forward pass without recording: no dropout, so the random stream moves only by
        # the initial draws, as it does at a training run's first minibatch.
        if any(p._deferred_init for p in self.net.collect_params().values()):
            self.net(nd.zeros((1, 1), ctx=self.ctx), self.begin_state(1))

    def replicas(self, ctxs):
        # One net, its parameters on every context (Gluon keeps a copy per context); the
        # input weights are stored transposed, so their gradient is column-sparse: pushed
        # dense (no sparse_gradients).
        if len(ctxs) == 1:
            return [self]
        self.net.collect_params().reset_ctx(ctxs)
        return [self] + [ConciseModel(self.net, self.config, ctx) for ctx in ctxs[1:]]


def parameter_count(config):
    """How many numbers the parameters of a built-in ``config`` hold (its Gluon layer's
    second biases included for the concise path)."""
    kind, h, V = config.kind, config.num_hiddens, config.vocab_size
    D = 2 if config.bidirectional else 1
    per_gate_bias = 2 if config.impl == "concise" else 1
    count = D * h * V + V
    for layer in range(config.num_layers):
        inputs = V if layer == 0 else D * h
        count += D * (len(kind.gates) * (inputs * h + h * h + per_gate_bias * h)
                      + len(kind.extra_params) * h)
    return count


def _check_memory(config):
    # Parameters, gradients and the optimiser's temporaries: about three copies in float32.
    need = 3 * 4 * parameter_count(config)
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > have:
        raise MemoryError(
            "a %s %s with num_hiddens=%d, %d layer(s) and a vocabulary of %d has %d "
            "parameters: with their gradients they need about %.1f GB, and this machine has "
            "%.1f GB of memory. Use a smaller num_hiddens (or fewer layers)."
            % (config.impl, config.model, config.num_hiddens, config.num_layers,
               config.vocab_size, parameter_count(config), need / 2 ** 30, have / 2 ** 30))


def build_model(config, ctx=None):
    """A fresh model for a built-in ``config``: the scratch parameters drawn now from
    N(0, 0.01^2) (biases zero), or an :class:`RNNModel` initialised with N(0, 0.01^2) (Gluon
    draws the values at the first forward pass), as the book does. MemoryError, saying how
    much was asked for, when the parameters cannot fit in memory."""
    if not config.builtin:
        raise ValueError("the configuration names a custom model (%r), which cannot be built "
                         "from it; build it yourself" % config.model)
    _check_memory(config)
    if config.impl == "scratch":
        params = make_params(config.model, config.vocab_size, config.num_hiddens,
                             config.vocab_size, ctx, config.num_layers, config.bidirectional)
        return ScratchModel(model_function(config.model), params,
                            init_state_fn(config.model, config.num_layers,
                                          config.bidirectional), config, ctx)
    net = RNNModel(gluon_layer(config.model, config.num_hiddens, config.num_layers,
                               config.bidirectional, config.dropout, config.activation),
                   config.vocab_size)
    net.initialize(init.Normal(0.01), ctx=ctx, force_reinit=True)
    return ConciseModel(net, config, ctx)
