"""The concise path: a Gluon ``rnn.RNN`` / ``rnn.GRU`` / ``rnn.LSTM`` layer plus a dense output."""
import warnings

from mxnet import autograd, nd
from mxnet.gluon import nn


class RNNModel(nn.Block):
    """Character-level language model around a Gluon recurrent layer (the book's RNNModel).

    Inputs: token indices (batch, num_steps) and the layer's state list (see
    :meth:`begin_state`). Outputs: logits (num_steps * batch, vocab_size), time-major, and the
    new state. The dense layer reads the layer's whole output, so a bidirectional layer's
    2 * num_hiddens features need no extra setting.
    """

    def __init__(self, rnn_layer, vocab_size, **kwargs):
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
