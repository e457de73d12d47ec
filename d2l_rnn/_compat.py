"""Fail early, and clearly, on a Python that MXNet 1.9.1 has no wheels for."""
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
