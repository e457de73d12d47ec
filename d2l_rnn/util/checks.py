"""The one set of input checks: each raises ValueError naming the argument, the bad value and
what was expected, so that every entry point (Python API, command line, extras) says the same.

The command line builds its argument types from these (``d2l_rnn.cli.args``).
"""
import math
import numbers

__all__ = ["integer", "positive_int", "non_negative_int", "positive_number", "non_negative_number",
           "fraction", "boolean", "choice"]


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def integer(name, v):
    """``v`` if it is an integer (not a bool)."""
    if not _is_int(v):
        raise ValueError("%s must be an integer, got %r" % (name, v))
    return int(v)


def positive_int(name, v):
    """``v`` if it is an integer >= 1, else ValueError ("... must be a positive integer")."""
    if not _is_int(v) or v < 1:
        raise ValueError("%s must be a positive integer, got %r" % (name, v))
    return int(v)


def non_negative_int(name, v):
    """``v`` if it is an integer >= 0."""
    if not _is_int(v) or v < 0:
        raise ValueError("%s must be an integer >= 0, got %r" % (name, v))
    return int(v)


def positive_number(name, v, allow_none=False, none_means=None):
    """``v`` if it is a finite number > 0 (or None when ``allow_none``; ``none_means`` says
    what None stands for in the message)."""
    if v is None and allow_none:
        return None
    if not _is_number(v) or not math.isfinite(v) or v <= 0:
        if allow_none:
            raise ValueError("%s must be a positive number or None (%s), got %r"
                             % (name, none_means or "none", v))
        raise ValueError("%s must be a positive finite number, got %r" % (name, v))
    return v


def non_negative_number(name, v, allow_none=False):
    """``v`` if it is a finite number >= 0 (or None when ``allow_none``)."""
    if v is None and allow_none:
        return None
    if not _is_number(v) or not math.isfinite(v) or v < 0:
        raise ValueError("%s must be a finite number >= 0, got %r" % (name, v))
    return v


def fraction(name, v, low_open=False):
    """``v`` if it is a number in [0, 1) (strictly between 0 and 1 when ``low_open``)."""
    if not _is_number(v) or not ((v > 0 if low_open else v >= 0) and v < 1):
        raise ValueError("%s must be a number %s, got %r"
                         % (name, "strictly between 0 and 1" if low_open else "in [0, 1)", v))
    return v


def boolean(name, v):
    """``v`` if it is True or False."""
    if not isinstance(v, bool):
        raise ValueError("%s must be True or False, got %r" % (name, v))
    return v


def choice(name, v, options):
    """``v`` if it is one of ``options``."""
    if v not in options:
        raise ValueError("%s must be one of %s, got %r"
                         % (name, ", ".join(repr(o) for o in options), v))
    return v
