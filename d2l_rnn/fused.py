"""Fused kernels: compiled MXNet operators for the two hot spots of training.

* ``d2l_gru_layer`` (``kernels/gru_layer.cc``) runs the book's GRU over all steps, forward
  and backward, in one operator; the scratch models use it for their GRU layers.
* ``d2l_softmax_ce`` (``kernels/softmax_ce.cc``) is the training loss, the mean softmax
  cross-entropy, in one operator (``mean_cross_entropy``), for both trainers.

Each computes exactly the function it replaces (the equations are at the top of its source;
the tests compare outputs and gradients). They are built once per machine with the C++
compiler against the headers that ship with MXNet, cached (see ``cache_dir``) and loaded with
``mx.library.load``. Without a compiler, everything runs as before, as graphs of MXNet's own
operators (a warning says so). Set ``D2L_RNN_FUSED=0`` to switch the kernels off;
``set_enabled`` does the same from Python (the tests and the benchmark compare both routes).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings

import mxnet as mx
import numpy as np

__all__ = ["available", "enabled", "set_enabled", "cache_dir", "build", "FusedKernelWarning",
           "OP_NAME", "mean_cross_entropy"]

OP_NAME = "d2l_gru_layer"
LOSS_OP_NAME = "d2l_softmax_ce"
_KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels")
SOURCES = [os.path.join(_KERNELS, name)
           for name in ("module.cc", "gru_layer.cc", "softmax_ce.cc", "op_common.h",
                        "vec_math.h")]
_MXNET_DIR = os.path.dirname(os.path.abspath(mx.__file__))
_FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c++17"]


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


def build(verbose=True):
    """Compile the kernel if it is not cached yet; returns the library's path.

    Raises RuntimeError (with the compiler's message) if it cannot be built.
    """
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not compiler:
        raise RuntimeError("no C++ compiler found (looked for $CXX, g++, c++); install g++ "
                           "to get the fused GRU kernel")
    lib_api = os.path.join(_MXNET_DIR, "src", "lib_api.cc")
    include = os.path.join(_MXNET_DIR, "include")
    if not os.path.exists(lib_api):
        raise RuntimeError("this MXNet installation has no src/lib_api.cc (looked in %s); "
                           "the fused GRU kernel needs it" % _MXNET_DIR)
    path = _library_path(compiler)
    if os.path.exists(path):
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
        os.replace(tmp, path)
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
                                       for op in (OP_NAME, LOSS_OP_NAME))
                if not _state["loaded"]:
                    raise RuntimeError("the library loaded but registered no %s or %s"
                                       % (OP_NAME, LOSS_OP_NAME))
            except Exception as err:  # any failure: keep training, on the slower route
                _state["loaded"] = False
                warnings.warn("the fused kernels are unavailable, so GRU layers and the loss "
                              "run as graphs of small MXNet operators (same results, about "
                              "1.5x slower): %s" % err, FusedKernelWarning, stacklevel=3)
        return _state["loaded"]


def available():
    """True if the fused operators are loaded (building them on the first call)."""
    return _load()


def enabled():
    """True if the fused operators should be used (switched on, and available)."""
    return _state["enabled"] and _load()


def set_enabled(flag):
    """Switch the fused operators on or off (for GRU layers built from now on, and for the
    loss); returns the old setting."""
    old = _state["enabled"]
    _state["enabled"] = bool(flag)
    return old


_gluon_loss = []


def mean_cross_entropy(outputs, labels):
    """Mean softmax cross-entropy of scores against labels, as a (1,) NDArray.

    outputs: (N, V) float32 scores; labels: (N,) class indices (float32, as the data
    iterators give them). The same value and gradient as Gluon's
    ``SoftmaxCrossEntropyLoss()(outputs, labels).mean()``, which is used when the fused
    operator is off or does not apply.
    """
    if outputs.ndim != 2 or labels.shape != outputs.shape[:1]:
        raise ValueError("mean_cross_entropy needs scores (N, V) and labels (N,), got %s and %s"
                         % (outputs.shape, labels.shape))
    if outputs.dtype == labels.dtype == np.float32 and enabled():
        return getattr(mx.nd, LOSS_OP_NAME)(outputs, labels)[0]
    if not _gluon_loss:
        _gluon_loss.append(mx.gluon.loss.SoftmaxCrossEntropyLoss())
    return _gluon_loss[0](outputs, labels).mean()
