"""Fused kernels: compiled MXNet operators that accelerate four functions of the package.

* ``d2l_gru_layer`` (``gru_layer.cc``; Python side :func:`d2l_rnn.kernels.gru.fused_gru_layer`)
  runs :func:`d2l_rnn.models.scratch.gru.gru_recurrence` over all steps of a layer, forward
  and backward, in one operator; the scratch GRU layers use it (``models/layers.py``).
* ``d2l_lstm_layer`` (``lstm_layer.cc``; :func:`d2l_rnn.kernels.lstm.fused_lstm_layer`) does
  the same for :func:`d2l_rnn.models.scratch.lstm.lstm_recurrence` and the scratch LSTM.
* ``d2l_gru_cudnn_layer`` (``gru_cudnn_layer.cc``;
  :func:`d2l_rnn.kernels.gru_cudnn.fused_gru_cudnn_layer`) does the same for
  :func:`d2l_rnn.models.scratch.gru.gru_cudnn_recurrence`, the GRU of cuDNN and Gluon.
  The layer operators are built of ``recurrent.h`` (the blocked matrix product, the
  activation passes).
* ``d2l_rows`` (``rows.cc``; :func:`d2l_rnn.kernels.rows.fused_rows`) is the first layer's
  input products for token indices, a row lookup in the input weights, without
  concatenating them (``models/layers.py``).
* ``d2l_softmax_ce`` (``softmax_ce.cc``; :func:`d2l_rnn.kernels.loss.mean_cross_entropy`) is
  the training loss, the mean softmax cross-entropy, in one operator, for both paths.
* ``d2l_clipped_sgd`` (``sgd.cc``; :func:`d2l_rnn.kernels.sgd.fused_clipped_sgd`) is the
  trainers' update, global-norm clipping and SGD, in one operator, for both paths.

Each computes exactly the function it replaces (the equations are at the top of its source;
``tests/test_kernels.py`` compares outputs and gradients). They are built once per machine
with the C++ compiler against the headers that ship with MXNet, cached (see ``cache_dir``)
and loaded with ``mx.library.load``. Without a compiler, everything runs as graphs of
MXNet's own operators (a warning says so). Set ``D2L_RNN_FUSED=0`` to switch the kernels
off; ``set_enabled`` does the same from Python (the tests and the benchmark compare both).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings

import mxnet as mx

from ..util.fileio import write_text_atomic
from .gru import OP_NAME, fused_gru_layer
from .gru_cudnn import GRU_CUDNN_OP_NAME, fused_gru_cudnn_layer
from .loss import LOSS_OP_NAME, mean_cross_entropy
from .lstm import LSTM_OP_NAME, fused_lstm_layer
from .rows import ROWS_OP_NAME, fused_rows
from .sgd import SGD_OP_NAME, fused_clipped_sgd

__all__ = ["available", "enabled", "set_enabled", "cache_dir", "build", "verified",
           "FusedKernelWarning",
           "OP_NAME", "LSTM_OP_NAME", "GRU_CUDNN_OP_NAME", "LOSS_OP_NAME", "SGD_OP_NAME",
           "ROWS_OP_NAME", "LAYERS", "mean_cross_entropy", "fused_clipped_sgd", "fused_rows"]

_KERNELS = os.path.dirname(os.path.abspath(__file__))
SOURCES = [os.path.join(_KERNELS, name)
           for name in ("module.cc", "gru_layer.cc", "lstm_layer.cc", "gru_cudnn_layer.cc",
                        "softmax_ce.cc", "sgd.cc", "rows.cc", "op_common.h", "recurrent.h",
                        "vec_math.h")]
_MXNET_DIR = os.path.dirname(os.path.abspath(mx.__file__))
_FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c++17"]
# The operators the library must register (checked after loading it).
_OPS = (OP_NAME, LSTM_OP_NAME, GRU_CUDNN_OP_NAME, LOSS_OP_NAME, SGD_OP_NAME, ROWS_OP_NAME)


class FusedKernelWarning(UserWarning):
    """The fused kernels could not be built or loaded; the slower graph route is used."""


_lock = threading.Lock()
_state = {"loaded": None, "enabled": os.environ.get("D2L_RNN_FUSED", "1") != "0"}


def cache_dir():
    """Where the compiled kernel lives: ``$D2L_RNN_CACHE``, else ``~/.cache/d2l_rnn``."""
    return os.environ.get("D2L_RNN_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "d2l_rnn")


def _machine_tag():
    # -march=native code is only valid on CPUs with the same instruction sets.
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = ""
    return flags


def _library_path(compiler):
    digest = hashlib.sha1()
    for path in SOURCES + [os.path.join(_MXNET_DIR, "src", "lib_api.cc")]:
        with open(path, "rb") as f:
            digest.update(f.read())
    for part in (mx.__version__, compiler, " ".join(_FLAGS), _machine_tag(), sys.platform):
        digest.update(part.encode())
    return os.path.join(cache_dir(), "libd2l_rnn_kernels_%s.so" % digest.hexdigest()[:16])


def _record_path(library):
    return library + ".json"


def _fingerprint(library):
    return {"bytes": os.path.getsize(library), "sha256": _sha256(library)}


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verified(library):
    """Whether the cached ``library`` is the file that was built: its size and SHA-256 are
    those recorded beside it at build time. Loading a truncated or damaged shared library
    would kill the process (SIGBUS) without a message, so it is never loaded unverified."""
    try:
        with open(_record_path(library), encoding="utf-8") as f:
            return json.load(f) == _fingerprint(library)
    except (OSError, ValueError):
        return False


def build(verbose=True):
    """Compile the kernels unless a verified copy is cached; returns the library's path.

    Raises RuntimeError (with the compiler's message) if they cannot be built. A cached
    library that fails :func:`verified` is built again and replaced.
    """
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not compiler:
        raise RuntimeError("no C++ compiler found (looked for $CXX, g++, c++); install g++ "
                           "to get the fused kernels")
    lib_api = os.path.join(_MXNET_DIR, "src", "lib_api.cc")
    include = os.path.join(_MXNET_DIR, "include")
    if not os.path.exists(lib_api):
        raise RuntimeError("this MXNet installation has no src/lib_api.cc (looked in %s); "
                           "the fused kernels need it" % _MXNET_DIR)
    path = _library_path(compiler)
    if os.path.exists(path) and verified(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if verbose:
        print("d2l_rnn: building the fused kernels (once per machine, about 10 s) into %s"
              % os.path.dirname(path), file=sys.stderr)
    # Compile to a temporary name and rename: a concurrent process never loads half a file.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=os.path.dirname(path))
    os.close(fd)
    try:
        cmd = ([compiler] + _FLAGS + ["-I" + include, "-I" + _KERNELS]
               + [p for p in SOURCES if p.endswith(".cc")] + [lib_api, "-o", tmp])
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
        if done.returncode != 0:
            raise RuntimeError("compiling the fused kernels failed (%s):\n%s"
                               % (" ".join(cmd), done.stdout[-2000:]))
        record = json.dumps(_fingerprint(tmp))
        os.replace(tmp, path)
        write_text_atomic(_record_path(path), record)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _load():
    with _lock:
        if _state["loaded"] is None:
            try:
                mx.library.load(build(), False)
                _state["loaded"] = all(hasattr(mod, op) for mod in (mx.sym, mx.nd)
                                       for op in _OPS)
                if not _state["loaded"]:
                    raise RuntimeError("the library loaded but did not register all of %s"
                                       % ", ".join(_OPS))
            except Exception as err:  # any failure: keep training, on the slower route
                _state["loaded"] = False
                warnings.warn("the fused kernels are unavailable, so GRU and LSTM layers and "
                              "the loss run as graphs of small MXNet operators (same results, "
                              "about 1.5x slower): %s" % err, FusedKernelWarning, stacklevel=3)
        return _state["loaded"]


def available():
    """True if the fused operators are loaded (building them on the first call)."""
    return _load()


def enabled():
    """True if the fused operators should be used (switched on, and available)."""
    return _state["enabled"] and _load()


def set_enabled(flag):
    """Switch the fused operators on or off (for GRU and LSTM layers built from now on, and
    for the loss); returns the old setting."""
    old = _state["enabled"]
    _state["enabled"] = bool(flag)
    return old


# The fused layer operator of each registry kind that has one (``Kind.kernel``).
LAYERS = {"gru": fused_gru_layer, "lstm": fused_lstm_layer,
          "gru_cudnn": fused_gru_cudnn_layer}
