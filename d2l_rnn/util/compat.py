"""Fail early, and clearly, on a Python that MXNet 1.9.1 has no wheels for."""
import os
import sys

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
