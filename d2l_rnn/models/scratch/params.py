"""Parameter lists and zero states of the scratch models, for every kind of the registry.

A parameter list is flat: per layer and direction the kind's layer parameters in the book's
order (``W_xz, W_hz, b_z, ...``), named as the book names them for one unidirectional layer
and with Gluon's prefixes otherwise (``l0_W_xz`` forward, ``r0_W_xz`` backward), then the
output layer ``W_hq`` (num_directions * num_hiddens, num_outputs) and ``b_q``. A state is a
tuple of arrays, (batch, num_hiddens) for the book's single layer, else stacked like Gluon's:
(num_layers * num_directions, batch, num_hiddens).
"""
import functools

from mxnet import nd

from ...util import checks
from .. import registry


class Params(list):
    """A scratch parameter list that knows its layout: ``kind`` (a registry name),
    ``num_layers`` and ``bidirectional``. It is a plain list of NDArrays to everything else
    (the book's code iterates over it and indexes it)."""

    def __init__(self, arrays, kind, num_layers=1, bidirectional=False):
        super(Params, self).__init__(arrays)
        self.kind, self.num_layers, self.bidirectional = kind, num_layers, bidirectional


def check_layout(num_layers, bidirectional):
    """ValueError unless num_layers is a positive integer and bidirectional a bool."""
    checks.positive_int("num_layers", num_layers)
    checks.boolean("bidirectional", bidirectional)


def param_names(kind, num_layers=1, bidirectional=False):
    """Names of the parameter list of a scratch ``kind`` model ('rnn', 'gru', 'gru_cudnn' or
    'lstm'): the book's names for one unidirectional layer, else prefixed with the layer and
    direction the way Gluon names them (``l0_W_xz`` forward, ``r0_W_xz`` backward), then
    ``W_hq``, ``b_q``."""
    check_layout(num_layers, bidirectional)
    layer = registry.get(kind).layer_params
    if num_layers == 1 and not bidirectional:
        return list(layer) + ["W_hq", "b_q"]
    names = []
    for k in range(num_layers):
        for d in "lr"[:2 if bidirectional else 1]:
            names += ["%s%d_%s" % (d, k, n) for n in layer]
    return names + ["W_hq", "b_q"]


def make_params(kind, num_inputs, num_hiddens, num_outputs=None, ctx=None, num_layers=1,
                bidirectional=False):
    """Parameters of a scratch ``kind`` model with gradients attached, as :class:`Params`.

    Per layer and direction, in the order of :func:`param_names`: ``W_x*`` (inputs of the
    layer, num_hiddens), ``W_h*`` (num_hiddens, num_hiddens), ``b_*`` (num_hiddens,); the
    inputs of layer 0 are ``num_inputs`` wide, those of a higher layer num_directions *
    num_hiddens. Then ``W_hq`` (num_directions * num_hiddens, num_outputs) and ``b_q``
    (num_outputs,). Weights are drawn from N(0, 0.01^2) in this order and biases are zero, so
    a given seed gives the book's values for the book's single layer.
    """
    check_layout(num_layers, bidirectional)
    layer = registry.get(kind).layer_params
    num_outputs = num_inputs if num_outputs is None else num_outputs
    D = 2 if bidirectional else 1

    def normal(shape):
        return nd.random.normal(scale=0.01, shape=shape, ctx=ctx)

    params = []
    for k in range(num_layers):
        layer_inputs = num_inputs if k == 0 else D * num_hiddens
        for _ in range(D):
            for name in layer:
                if name.startswith("W_x"):
                    params.append(normal((layer_inputs, num_hiddens)))
                elif name.startswith("W_h"):
                    params.append(normal((num_hiddens, num_hiddens)))
                else:
                    params.append(nd.zeros(num_hiddens, ctx=ctx))
    params += [normal((D * num_hiddens, num_outputs)), nd.zeros(num_outputs, ctx=ctx)]
    for param in params:
        param.attach_grad()
    return Params(params, registry.get(kind).name, num_layers, bidirectional)


def zero_state(num_states, batch_size, num_hiddens, ctx=None, num_layers=None,
               bidirectional=False):
    """A tuple of ``num_states`` zero arrays: (batch_size, num_hiddens) when ``num_layers`` is
    None and not ``bidirectional`` (the book's single layer), else (num_layers *
    num_directions, batch_size, num_hiddens)."""
    if num_layers is None and not bidirectional:
        shape = (batch_size, num_hiddens)
    else:
        num_layers = 1 if num_layers is None else num_layers
        check_layout(num_layers, bidirectional)
        shape = (num_layers * (2 if bidirectional else 1), batch_size, num_hiddens)
    return tuple(nd.zeros(shape=shape, ctx=ctx) for _ in range(num_states))


def get_params_fn(model, vocab_size, num_hiddens, ctx=None, num_layers=1, bidirectional=False):
    """The zero-argument ``get_params`` that ``train_and_predict_rnn`` calls, for a kind of
    the registry (``'rnn'``, ``'gru'``, ``'lstm'`` or ``'gru_cudnn'``)."""
    registry.get(model)
    return functools.partial(make_params, model, vocab_size, num_hiddens, vocab_size, ctx,
                             num_layers, bidirectional)


def init_state_fn(model, num_layers=1, bidirectional=False):
    """The ``init_rnn_state(batch_size, num_hiddens, ctx)`` that ``train_and_predict_rnn``
    calls for a kind of the registry: the book's (batch, num_hiddens) state for one
    unidirectional layer, else stacked states for ``num_layers`` and ``bidirectional``."""
    kind = registry.get(model)
    check_layout(num_layers, bidirectional)
    deep = num_layers > 1 or bidirectional
    return functools.partial(zero_state, kind.num_states,
                             num_layers=num_layers if deep else None,
                             bidirectional=bidirectional)
