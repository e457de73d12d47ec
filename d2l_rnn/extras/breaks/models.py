"""The taggers of both paths, behind one interface: a callable from character indices
(num_steps, batch) to logits (num_steps, batch, 2), whose ``weights()`` carry their
gradients, so that one training loop and one optimiser serve both.

``impl="scratch"`` runs the scratch GRU/LSTM/RNN of :mod:`d2l_rnn.models.scratch` (one-hot
input as a row lookup, any number of layers, both directions, two outputs); ``impl="concise"``
a Gluon ``rnn.GRU/LSTM/RNN`` layer (:func:`d2l_rnn.models.gluon_layer`) with ``nn.Dense(2)``.
"""
import mxnet as mx
from mxnet.gluon import nn

from ...models import gluon_layer, registry
from ...models.scratch import init_state_fn, make_params, model_function
from ...util import checks
from .defaults import DEFAULTS

IMPLS = ("scratch", "concise")


def check_kind_and_impl(kind, impl):
    """ValueError unless ``kind`` is a cell of the registry ('rnn', 'gru', 'lstm') and
    ``impl`` one of :data:`IMPLS`."""
    checks.choice("kind", kind, tuple(registry.CELLS))
    if impl not in IMPLS:
        raise ValueError("impl must be %s, got %r" % (" or ".join(map(repr, IMPLS)), impl))


class ConciseTagger(nn.HybridBlock):
    """Embedding, Gluon recurrent layer(s), ``Dense(2)`` per step.

    An embedding rather than one-hot input: a one-hot vector times the layer's input weights
    is a row lookup, which is what an embedding is; feeding Gluon's layer one-hot vectors of
    ~2,300 characters would make every step a 2,300-wide dense product for the same function
    class (with ``embed_size`` >= the gates' width the two are equally expressive, below it
    the embedding is a low-rank factor of the input weights). The scratch path does the same
    lookup inside its model functions.

    Input: token indices (num_steps, batch), float32. Output: logits (num_steps, batch, 2).
    The layer starts every window from its zero state; an RNN layer uses Gluon's default
    activation (ReLU).
    """

    def __init__(self, kind, vocab_size, num_hiddens, num_layers=1, bidirectional=False,
                 embed_size=DEFAULTS["embed_size"], **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = gluon_layer(kind, num_hiddens, num_layers=num_layers,
                                   bidirectional=bidirectional, input_size=embed_size)
            self.dense = nn.Dense(2, flatten=False,
                                  in_units=(2 if bidirectional else 1) * num_hiddens)

    def hybrid_forward(self, F, X):
        """Indices (num_steps, batch) -> logits (num_steps, batch, 2)."""
        return self.dense(self.rnn(self.embedding(X)))


class _ScratchTagger:
    """A scratch model function with two outputs, its parameters and zero states."""

    def __init__(self, kind, vocab_size, num_hiddens, num_layers, bidirectional, ctx):
        kind = registry.CELLS[kind]
        self.fn = model_function(kind)
        self.params = make_params(kind, vocab_size, num_hiddens, num_outputs=2, ctx=ctx,
                                  num_layers=num_layers, bidirectional=bidirectional)
        self.init_state = init_state_fn(kind, num_layers, bidirectional)
        self.num_hiddens, self.ctx = num_hiddens, ctx

    def __call__(self, X):
        T, B = X.shape
        logits, _ = self.fn(X, self.init_state(B, self.num_hiddens, self.ctx), self.params)
        return logits.reshape((T, B, 2))

    def weights(self):
        """The parameter list (``make_params``'s order), gradients attached."""
        return self.params

    def arrays(self):
        """``(weights, gradients)``: what :class:`d2l_rnn.util.optim.Optimizer` updates."""
        return self.params, [w.grad for w in self.params]


class _GluonTagger:
    """Adapter giving a :class:`ConciseTagger` the scratch tagger's interface."""

    def __init__(self, net):
        self.net = net
        self._params = [p for p in net.collect_params().values() if p.grad_req != "null"]

    def __call__(self, X):
        return self.net(X)

    def weights(self):
        """The trainable parameters' data arrays, gradients attached."""
        # A Gluon parameter's data array carries its gradient as ``.grad`` (the same memory
        # as ``grad()``), so both paths hand plain NDArrays to the optimiser.
        return [p.data() for p in self._params]

    def arrays(self):
        """``(weights, gradients)``: what :class:`d2l_rnn.util.optim.Optimizer` updates."""
        weights = self.weights()
        return weights, [w.grad for w in weights]


def build_tagger(kind="gru", impl="scratch", vocab_size=None, num_hiddens=64, num_layers=1,
                 bidirectional=False, embed_size=DEFAULTS["embed_size"], ctx=None):
    """A fresh tagger: a callable from indices (num_steps, batch) to logits (num_steps,
    batch, 2), whose ``weights()`` are NDArrays with their gradients attached (``.grad``)
    and whose ``arrays()`` gives ``(weights, gradients)`` to the optimiser.

    ``kind``: 'gru', 'lstm' or 'rnn'; ``impl``: 'scratch' or 'concise' (``embed_size`` is
    the concise tagger's embedding width). Parameters are drawn from MXNet's random stream:
    seed it first for reproducibility.
    """
    check_kind_and_impl(kind, impl)
    if impl == "scratch":
        return _ScratchTagger(kind, vocab_size, num_hiddens, num_layers, bidirectional, ctx)
    net = ConciseTagger(kind, vocab_size, num_hiddens, num_layers, bidirectional, embed_size)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize(static_alloc=True)
    return _GluonTagger(net)
