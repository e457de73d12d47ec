"""The concise path: a Gluon ``rnn.RNN`` / ``rnn.GRU`` / ``rnn.LSTM`` layer plus a dense output.

:func:`gluon_layer` is the one place a Gluon recurrent layer is built from a registry cell.
"""
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


class RNNModel(nn.Block):
    """Character-level language model around a Gluon recurrent layer (the book's RNNModel).

    Inputs: token indices (batch, num_steps) and the layer's state list (see
    :meth:`begin_state`). Outputs: logits (num_steps * batch, vocab_size), time-major, and the
    new state. The dense layer reads the layer's whole output, so a bidirectional layer's
    2 * num_hiddens features need no extra setting.
    """

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
        X = nd.one_hot(inputs.T, self.vocab_size)  # (num_steps, batch, vocab_size)
        Y, state = self.rnn(X, state)
        output = self.dense(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, *args, **kwargs):
        """Zero state of the wrapped layer: a list of (num_layers * num_directions, batch,
        num_hiddens) arrays (one for RNN/GRU, two (h, c) for LSTM)."""
        return self.rnn.begin_state(*args, **kwargs)
