"""What every subcommand shares: the one-line user error and the argument types, built on the
package's one set of input checks (``d2l_rnn.util.checks``)."""
import argparse
import math

from ..util import checks


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _type(parse, check, expected):
    def convert(text):
        try:
            return check("value", parse(text))
        except ValueError:
            raise argparse.ArgumentTypeError("expected %s, got %r" % (expected, text))
    convert.__name__ = expected  # argparse names the type in some messages
    return convert


def _finite(parse):
    def number(text):
        v = parse(text)
        if not math.isfinite(v):
            raise ValueError(text)
        return v
    return number


positive_int = _type(int, checks.positive_int, "a positive integer")
positive_float = _type(_finite(float), checks.positive_number, "a positive finite number")
non_negative_float = _type(_finite(float), checks.non_negative_number, "a finite number >= 0")
fraction = _type(float, checks.fraction, "a number in [0, 1)")


def clipping(text):
    """``none``/``off`` for no clipping, else a positive finite number."""
    if text.lower() in ("none", "off"):
        return None
    return positive_float(text)
