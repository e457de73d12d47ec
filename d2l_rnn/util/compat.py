"""Fail early, and clearly, on a Python that MXNet 1.9.1 has no wheels for, or without an
MXNet build; give MXNet's operators every core."""
import importlib.metadata
import os
import sys
import warnings

SUPPORTED = ((3, 8), (3, 11))


def check_python(version_info=None):
    """Raise RuntimeError naming the running Python if it is outside 3.8-3.11."""
    v = tuple((version_info or sys.version_info)[:2])
    lo, hi = SUPPORTED
    if not lo <= v <= hi:
        raise RuntimeError(
            "d2l_rnn needs Python %d.%d to %d.%d: mxnet==1.9.1, the last MXNet release, "
            "publishes no wheels for Python %d.%d. Create the environment with "
            "python3.11 (for example `make PYTHON=python3.11 test`)."
            % (lo + hi + v))


def use_all_cores():
    """Let MXNet's operators use every core this process may run on, unless told otherwise.

    Left alone, MXNet 1.9 keeps one core for its engine thread and gives operators the rest:
    one core of two, which halves the speed of every large matrix product here. It reads the
    setting when it is first imported, so this must run before ``import mxnet``. A short
    spin before idle OpenMP threads sleep keeps a busy machine (other processes competing for
    the cores) from slowing small operations down a hundredfold, at no cost on an idle one.
    Set ``OMP_NUM_THREADS`` yourself to choose otherwise.
    """
    if "mxnet" in sys.modules or "OMP_NUM_THREADS" in os.environ:
        return
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    os.environ["OMP_NUM_THREADS"] = str(n)
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


def require(module, extra, what):
    """Import ``module`` for ``what``, or raise MissingExtra naming ``pip install
    'd2l_rnn[extra]'``."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra("%s needs the %s package, which is not installed: pip install "
                           "'d2l_rnn[%s]'" % (what, module, extra)) from None


INSTALL_HINT = ("pip install 'd2l_rnn[cpu]' for the CPU build (mxnet==1.9.1), or the build for "
                "your CUDA version, e.g. pip install mxnet-cu112==1.9.1")


def mxnet_builds():
    """The installed distributions that provide MXNet, as ``[(name, version)]`` (``mxnet``
    is the CPU build; ``mxnet-cu112`` and the like are CUDA builds)."""
    found = set()
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name == "mxnet" or name.startswith(("mxnet-cu", "mxnet-mkl", "mxnet-native")):
            found.add((name, dist.version))
    return sorted(found)


def check_mxnet():
    """Import MXNet, or raise ImportError saying what to install; warn when the build found
    is not the 1.9 release this package is made and tested for."""
    try:
        import mxnet
    except ImportError as e:
        raise ImportError("d2l_rnn needs MXNet 1.9, and no MXNet build is installed (%s): %s"
                          % (e, INSTALL_HINT)) from None
    if not mxnet.__version__.startswith("1.9."):
        builds = ", ".join("%s %s" % b for b in mxnet_builds()) or "an unknown build"
        warnings.warn("d2l_rnn is made for MXNet 1.9 (the last release); this is MXNet %s "
                      "(%s): %s" % (mxnet.__version__, builds, INSTALL_HINT), stacklevel=3)
    return mxnet


def describe_mxnet():
    """One line naming the MXNet build in use: version, distribution, GPUs seen."""
    import mxnet
    builds = ", ".join("%s %s" % b for b in mxnet_builds()) or "not installed by pip"
    gpus = mxnet.context.num_gpus()
    return "MXNet %s (%s; %s)" % (mxnet.__version__, builds,
                                  "%d GPU(s)" % gpus if gpus else "no GPU in use")
