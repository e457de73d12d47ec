"""A trained model beyond MXNet: export to a standard ONNX graph (``onnx.py``, needs the
``onnx`` package) and generate from it with onnxruntime alone (``runtime.py``, imports no
MXNet and loads from its file too). Both are the optional extra ``d2l_rnn[onnx]``."""
from .onnx import ExportError, build_graph, checkpoint_metadata, export_onnx, \
    scratch_parameters
from .runtime import OnnxLanguageModel, OnnxModelError, generate

__all__ = ["ExportError", "OnnxLanguageModel", "OnnxModelError", "build_graph",
           "checkpoint_metadata", "export_onnx", "generate", "scratch_parameters"]
