"""Copy weights between Gluon's recurrent layers and the scratch parameter lists.

Gluon's ``rnn.RNN`` / ``rnn.GRU`` / ``rnn.LSTM`` keep, per layer ``k`` and direction (``l``
forward, ``r`` backward), four parameters::

    l0_i2h_weight (gates * h, inputs)   l0_h2h_weight (gates * h, h)
    l0_i2h_bias   (gates * h,)          l0_h2h_bias   (gates * h,)

The gates are stacked row-block by row-block: ``[i, f, g, o]`` for the LSTM (g is the book's
candidate memory C~), ``[r, z, n]`` for the GRU (n is the candidate H~), one block for the RNN.
The book's weights are the transposes of these blocks, ``(inputs, h)``, and the book has one
bias per gate where Gluon has two (``i2h`` and ``h2h``). For the RNN and the LSTM, and for the
GRU's r and z gates, only the sum of the two biases enters the model. Gluon's GRU is cuDNN's
variant, ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``: ``b_hn`` sits inside the reset
product, so it has its own scratch parameter ``b_hh`` in :func:`d2l_rnn.gru_cudnn`. The gate
orders come from the registry (``Kind.gates``, ``Kind.gluon_gates``).

``RNNModel``'s output layer ``dense`` holds ``weight`` (vocab, directions * h) and ``bias``
(vocab,): the book's ``W_hq`` transposed and ``b_q``.
"""
import numpy as np
from mxnet import nd

from ..models import registry
from ..models.concise import layer_cell, scratch_parameters
from ..models.scratch import param_names


def layer_layout(layer, any_activation=False):
    """``(kind, num_layers, bidirectional, num_hiddens)`` of a Gluon recurrent layer, with a
    clear error for what the scratch models cannot express (ReLU RNN, projections).
    ``any_activation``: accept a ReLU RNN (its weights map as a tanh RNN's; the caller
    handles the activation, as the ONNX export does)."""
    cell, activation = layer_cell(layer)
    if activation == "relu" and not any_activation:
        raise ValueError("the Gluon RNN layer uses activation='relu' (Gluon's default); the "
                         "scratch RNN uses tanh: build it as rnn.RNN(h, activation='tanh')")
    if cell is None:
        raise ValueError("expected a Gluon rnn.RNN, rnn.GRU or rnn.LSTM layer, got %r"
                         % type(layer).__name__)
    if getattr(layer, "_projection_size", None):
        raise ValueError("LSTM layers with projection_size have no scratch counterpart")
    return cell, layer._num_layers, layer._dir == 2, layer._hidden_size


def _directions(num_layers, bidirectional):
    return [(d, k) for k in range(num_layers) for d in ("lr" if bidirectional else "l")]


def gluon_to_scratch(model, variant="cudnn", grads=False, any_activation=False):
    """The scratch parameter list (NumPy float32 arrays) equal to an ``RNNModel``'s weights.

    model: an initialised :class:`d2l_rnn.RNNModel` (its ``rnn`` layer and ``dense`` output).
    Returns arrays in the order of :func:`d2l_rnn.scratch.param_names` for the scratch model
    ``gru_cudnn`` (``variant='cudnn'``, exact) or ``gru`` (``'book'``: the candidate's two
    biases are summed) for a GRU, ``rnn`` or ``lstm`` otherwise. With ``grads=True`` the
    gradients are mapped instead: a summed bias's gradient is either bias's gradient (both
    enter the sum with weight one), not their sum. ``any_activation=True`` maps a ReLU RNN
    too (as :func:`layer_layout`).
    """
    layer_layout(model.rnn, any_activation)
    p = model.rnn.collect_params()
    prefix = model.rnn.prefix

    def get(name):
        param = p[prefix + name]
        return (param.grad() if grads else param.data()).asnumpy()

    out = scratch_parameters(model.rnn, get, lambda a, begin, end: a[begin:end],
                             np.transpose, variant, sum_biases=not grads)
    dense = model.dense.collect_params()
    W = dense[model.dense.prefix + "weight"]
    b = dense[model.dense.prefix + "bias"]
    out.append((W.grad() if grads else W.data()).asnumpy().T)
    out.append((b.grad() if grads else b.data()).asnumpy())
    return [np.ascontiguousarray(a, dtype=np.float32) for a in out]


def scratch_to_gluon(params, model, variant="cudnn"):
    """Copy a scratch parameter list into an initialised ``RNNModel`` with the same layout.

    params: NDArrays or NumPy arrays in the order of ``gluon_to_scratch``. Each book bias goes
    into Gluon's ``i2h_bias`` with ``h2h_bias`` zero, so the sum is exact and
    ``gluon_to_scratch(model)`` gives ``params`` back bit for bit.
    """
    kind, num_layers, bidirectional, h = layer_layout(model.rnn)
    skind = registry.scratch_kind(kind, variant)
    gates = skind.gluon_gates
    names = param_names(skind.name, num_layers, bidirectional)
    if len(params) != len(names):
        raise ValueError("the model needs %d scratch parameters (%s, %d layer(s)%s), got %d"
                         % (len(names), skind.name, num_layers,
                            ", bidirectional" if bidirectional else "", len(params)))
    arrays = [p.asnumpy() if hasattr(p, "asnumpy") else np.asarray(p) for p in params]
    per = len(skind.layer_params)
    p = model.rnn.collect_params()
    prefix = model.rnn.prefix

    def put(name, value):
        _set(p[prefix + name], value)

    for i, (d, k) in enumerate(_directions(num_layers, bidirectional)):
        own = dict(zip(skind.layer_params, arrays[i * per:(i + 1) * per]))
        hidden_bias = {g: np.zeros(h, np.float32) for g in gates}
        if skind.name == "gru_cudnn":
            hidden_bias["h"] = own["b_hh"]
        put("%s%d_i2h_weight" % (d, k), np.concatenate([own["W_x" + g].T for g in gates]))
        put("%s%d_h2h_weight" % (d, k), np.concatenate([own["W_h" + g].T for g in gates]))
        put("%s%d_i2h_bias" % (d, k), np.concatenate([own["b_" + g] for g in gates]))
        put("%s%d_h2h_bias" % (d, k), np.concatenate([hidden_bias[g] for g in gates]))
    dense = model.dense.collect_params()
    _set(dense[model.dense.prefix + "weight"], arrays[-2].T)
    _set(dense[model.dense.prefix + "bias"], arrays[-1])


def _set(param, value):
    if tuple(param.shape) != value.shape:
        raise ValueError("scratch values for %s have shape %s, the model's is %s"
                         % (param.name, value.shape, tuple(param.shape)))
    param.set_data(nd.array(np.ascontiguousarray(value), ctx=param.list_ctx()[0]))
