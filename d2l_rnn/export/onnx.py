"""A trained model as a standard ONNX graph, built with ONNX's own RNN, GRU and LSTM operators.

One path for every model: the checkpoint's weights as the scratch parameter list (a concise
checkpoint's through :func:`d2l_rnn.compare.mapping.gluon_to_scratch`, Gluon's GRU being
the scratch ``gru_cudnn``), then one ONNX recurrent node per layer (both directions in one
node) and the output layer. The graph (opset :data:`OPSET`)::

    inputs   tokens (num_steps, batch) int64    H_in (L * D, batch, h) float32   [C_in: LSTM]
    outputs  logits (num_steps, batch, vocab)   H_out (L * D, batch, h)          [C_out]

time-major, states stacked like Gluon's (layer-major, forward before backward). Inside:
``OneHot(tokens)`` (exact), per layer the ONNX node with ``initial_h`` (and ``initial_c``)
sliced from the state inputs, its output (T, D, batch, h) turned into (T, batch, D * h)
(forward then backward features, as the scratch layers concatenate them), and finally
``logits = Y W_hq + b_q``.

The book's parameters in ONNX's terms: ``W`` (D, G * h, inputs) stacks the gates' ``W_x*``
transposed in ONNX's gate order (rnn: h; gru: z, r, h, the book's own; lstm: i, o, f, c,
where the book has i, f, o, c), ``R`` (D, G * h, h) the ``W_h*`` transposed, ``B`` (D,
2 * G * h) the book's biases then zeros, except the cuDNN GRU's ``b_hh`` in the candidate's
recurrent bias. ONNX's GRU with ``linear_before_reset=0`` is the book's GRU (the scratch
``gru``), with ``1`` cuDNN's and Gluon's (``gru_cudnn``, every concise GRU); the concise
RNN keeps its activation (Gluon's default ReLU, or tanh).

:data:`METADATA` lists what the model's ``metadata_props`` hold (the vocabulary and what the
model is), which :mod:`d2l_rnn.export.runtime` reads to generate without MXNet.
"""
import json

import numpy as np

from ..checkpoint import load_checkpoint
from ..compare.mapping import gluon_to_scratch
from ..models import registry
from ..models.scratch import param_names
from ..util.fileio import atomic_path, check_file

OPSET = 17  # RNN/GRU/LSTM as of opset 14 (layout attribute); runtimes of 2022 on read it
IR_VERSION = 8  # the IR version of opset 17
FORMAT = "1"
INSTALL_HINT = "pip install 'd2l_rnn[onnx]'"

# kind -> (ONNX operator, ONNX's gate order in the book's letters, GRU linear_before_reset)
ONNX_KINDS = {"rnn": ("RNN", ("h",), None),
              "gru": ("GRU", ("z", "r", "h"), 0),
              "gru_cudnn": ("GRU", ("z", "r", "h"), 1),
              "lstm": ("LSTM", ("i", "o", "f", "c"), None)}

METADATA = {
    "d2l_rnn_format": "the version of this layout of the graph and metadata ('1')",
    "idx_to_char": "the vocabulary: JSON list, index -> character",
    "impl": "'scratch' or 'concise' (the checkpoint's)",
    "model": "the checkpoint's model ('gru' for a concise GRU)",
    "kind": "the equations computed: 'rnn', 'gru' (the book's), 'gru_cudnn' or 'lstm'",
    "activation": "the RNN's activation ('tanh' or 'relu'; '' for GRU and LSTM)",
    "num_layers": "layers (str of an int)", "num_directions": "1 or 2",
    "num_hiddens": "hidden units per layer and direction", "vocab_size": "vocabulary size",
    "states": "JSON list of the state names, ['H'] or ['H', 'C'] (inputs X_in, outputs X_out)",
    "prefixes": "JSON list of the prefixes training printed (the default prefix)",
    "epoch": "the checkpoint's epoch",
}


class ExportError(ValueError):
    """A model that cannot be exported to ONNX (a custom model, a kind ONNX has no operator
    for, parameters that do not fit the configuration)."""


def require_onnx():
    """The ``onnx`` module; ImportError saying how to install it when it is missing."""
    try:
        import onnx
        from onnx import helper, numpy_helper  # noqa: F401
    except ImportError as e:
        raise ImportError("exporting to ONNX needs the onnx package, which cannot be imported "
                          "(%s): %s" % (e, INSTALL_HINT)) from None
    return onnx


def scratch_parameters(ckpt):
    """``(kind, params)`` of a checkpoint: the registry Kind of the equations it computes and
    its weights as the scratch parameter list (NumPy float32 arrays in the order of
    ``param_names(kind, num_layers, bidirectional)``). A concise checkpoint's weights come
    through ``gluon_to_scratch`` (a Gluon GRU is the scratch ``gru_cudnn``, exactly)."""
    c = ckpt.model_config
    if not c.builtin:
        raise ExportError("checkpoint %s holds the custom model %r, which cannot be exported to "
                          "ONNX: only the package's own models (scratch rnn, gru, gru_cudnn, "
                          "lstm; concise rnn, gru, lstm) can be; export your model with your "
                          "own code" % (ckpt.path, c.model))
    if c.impl == "scratch":
        kind = registry.get(c.model)
        params = [p.asnumpy() for p in ckpt.params()]
    else:
        kind = registry.gluon_twin(registry.get(c.model).cell)
        params = gluon_to_scratch(ckpt.model(), "cudnn", any_activation=True)
    if kind.name not in ONNX_KINDS:
        raise ExportError("checkpoint %s holds a %r model, which has no ONNX operator; ONNX "
                          "export knows the kinds %s" % (ckpt.path, kind.name,
                                                         ", ".join(ONNX_KINDS)))
    return kind, [np.ascontiguousarray(p, dtype=np.float32) for p in params]


def build_graph(kind, params, num_layers=1, bidirectional=False, activation=None,
                metadata=None):
    """An ONNX ModelProto computing the scratch ``kind`` model with ``params`` (NumPy, the
    order of ``param_names``): tokens (T, batch) int64 and states (L * D, batch, h) ->
    logits (T, batch, vocab) and the final states; ``activation`` 'tanh' (default) or 'relu'
    for an RNN; ``metadata`` ({str: str}) goes into ``metadata_props``."""
    onnx = require_onnx()
    from onnx import TensorProto, helper, numpy_helper
    kind = registry.get(kind)
    if kind.name not in ONNX_KINDS:
        raise ExportError("the %r model has no ONNX operator; ONNX export knows the kinds %s"
                          % (kind.name, ", ".join(ONNX_KINDS)))
    op, gates, linear_before_reset = ONNX_KINDS[kind.name]
    names = param_names(kind.name, num_layers, bidirectional)
    if len(params) != len(names):
        raise ExportError("a %s with %d layer(s)%s has %d parameters, got %d"
                          % (kind.name, num_layers, ", bidirectional" if bidirectional else "",
                             len(names), len(params)))
    D, n = 2 if bidirectional else 1, len(kind.layer_params)
    h, V = params[1].shape[0], params[-1].shape[0]
    if params[-2].shape != (D * h, V):
        raise ExportError("W_hq has shape %s, but %d direction(s) of %d hidden units and a "
                          "vocabulary of %d need %s" % (params[-2].shape, D, h, V, (D * h, V)))
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    node = helper.make_node
    nodes.append(node("OneHot", ["tokens", const("depth", np.array([V], np.int64)),
                                 const("one_hot_values", np.array([0, 1], np.float32))],
                      ["one_hot"], axis=-1))
    x, finals = "one_hot", [[] for _ in kind.states]
    const("features_shape", np.array([0, 0, -1], np.int64))
    const("axis0", np.array([0], np.int64))
    for k in range(num_layers):
        W, R, B = [], [], []
        for d in range(D):
            i = k * D + d
            p = dict(zip(kind.layer_params, params[i * n:(i + 1) * n]))
            W.append(np.concatenate([p["W_x" + g].T for g in gates]))
            R.append(np.concatenate([p["W_h" + g].T for g in gates]))
            hidden_bias = [p["b_hh"] if g == "h" and "b_hh" in p else np.zeros(h, np.float32)
                           for g in gates]
            B.append(np.concatenate([p["b_" + g] for g in gates] + hidden_bias))
        ins = [x, const("l%d_W" % k, np.stack(W)), const("l%d_R" % k, np.stack(R)),
               const("l%d_B" % k, np.stack(B)), ""]
        start = const("l%d_start" % k, np.array([k * D], np.int64))
        end = const("l%d_end" % k, np.array([(k + 1) * D], np.int64))
        for s in kind.states:
            ins.append("l%d_%s_in" % (k, s))
            nodes.append(node("Slice", ["%s_in" % s, start, end, "axis0"], [ins[-1]]))
        outs = ["l%d_Y" % k] + ["l%d_%s_out" % (k, s) for s in kind.states]
        attrs = dict(hidden_size=h, direction="bidirectional" if D == 2 else "forward")
        if linear_before_reset is not None:
            attrs["linear_before_reset"] = linear_before_reset
        if op == "RNN":
            attrs["activations"] = [(activation or "tanh").capitalize()] * D
        nodes.append(node(op, ins, outs, name="layer%d" % k, **attrs))
        for f, o in zip(finals, outs[1:]):
            f.append(o)
        # (T, D, batch, h) -> (T, batch, D * h): forward then backward features.
        nodes.append(node("Transpose", [outs[0]], ["l%d_Y_t" % k], perm=[0, 2, 1, 3]))
        nodes.append(node("Reshape", ["l%d_Y_t" % k, "features_shape"], ["l%d_out" % k]))
        x = "l%d_out" % k
    for s, f in zip(kind.states, finals):
        nodes.append(node("Concat", f, ["%s_out" % s], axis=0) if len(f) > 1
                     else node("Identity", f, ["%s_out" % s]))
    nodes.append(node("MatMul", [x, const("W_hq", params[-2])], ["scores"]))
    nodes.append(node("Add", ["scores", const("b_q", params[-1])], ["logits"]))

    def value(name, dtype, shape):
        return helper.make_tensor_value_info(name, dtype, shape)

    state_shape = [num_layers * D, "batch", h]
    graph = helper.make_graph(
        nodes, "d2l_rnn_%s" % kind.name,
        [value("tokens", TensorProto.INT64, ["num_steps", "batch"])]
        + [value("%s_in" % s, TensorProto.FLOAT, state_shape) for s in kind.states],
        [value("logits", TensorProto.FLOAT, ["num_steps", "batch", V])]
        + [value("%s_out" % s, TensorProto.FLOAT, state_shape) for s in kind.states],
        initializer=inits,
        doc_string="Character-level language model (d2l_rnn %s): tokens (num_steps, batch) "
                   "and states -> logits (num_steps, batch, vocab) and the final states"
                   % kind.name)
    from .. import __version__
    model = helper.make_model(graph, producer_name="d2l_rnn", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)],
                              ir_version=IR_VERSION)
    helper.set_model_props(model, dict(metadata or {}))
    onnx.checker.check_model(model, full_check=True)
    return model


def checkpoint_metadata(ckpt, kind):
    """The ``metadata_props`` of a checkpoint's export ({str: str}, see :data:`METADATA`)."""
    c = ckpt.model_config
    return {"d2l_rnn_format": FORMAT,
            "idx_to_char": json.dumps(list(ckpt.idx_to_char), ensure_ascii=False),
            "impl": c.impl, "model": c.model, "kind": kind.name,
            "activation": c.activation or "", "num_layers": str(c.num_layers),
            "num_directions": "2" if c.bidirectional else "1",
            "num_hiddens": str(c.num_hiddens), "vocab_size": str(c.vocab_size),
            "states": json.dumps(list(kind.states)),
            "prefixes": json.dumps(list(ckpt.config.get("prefixes") or []),
                                   ensure_ascii=False),
            "epoch": str(ckpt.epoch)}


def export_onnx(checkpoint, path, which="latest"):
    """Write the model of ``checkpoint`` (a save directory, one of its epoch-NNNN folders, or
    a :class:`~d2l_rnn.checkpoint.Checkpoint`; ``which`` 'latest' or 'best') to the ONNX file
    ``path`` (written atomically); returns the ModelProto."""
    onnx = require_onnx()
    check_file(path, "the ONNX file")
    ckpt = load_checkpoint(checkpoint, which)
    kind, params = scratch_parameters(ckpt)
    c = ckpt.model_config
    model = build_graph(kind, params, c.num_layers, c.bidirectional, c.activation,
                        checkpoint_metadata(ckpt, kind))
    with atomic_path(path) as tmp:
        onnx.save(model, tmp)
    return model
