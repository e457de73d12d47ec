"""The command line: ``python -m d2l_rnn COMMAND ...`` (also installed as ``d2l-rnn``).

One module per subcommand (``train``, ``launch``, ``generate``, ``export``, ``data``, ``compare``,
``sentiment``, ``breaks``), each with ``add_parser(subparsers)``; the library below never
imports this package. Errors the user can fix are printed as one line (exit status 2).
"""
import argparse
import importlib
import sys
import warnings

import mxnet as mx

from ..checkpoint import CheckpointError
from ..data import DataError
from ..generate import UnknownCharacterError
from ..training import TrainingDiverged
from ..util.compat import MissingExtra
from .args import CLIError

SUBCOMMANDS = ("train", "launch", "generate", "export", "data", "compare", "sentiment",
               "breaks")


def build_parser():
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m d2l_rnn",
        description="Gated RNNs from Dive into Deep Learning (MXNet): train, generate, "
                    "compare, inspect data, and the chapter's extra tasks.")
    parser.add_argument("--version", action="version", version=_version(),
                        help="the versions of d2l_rnn and of the MXNet build in use")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module("." + name, __name__).add_parser(sub)
    return parser


def _version():
    from .. import __version__
    from ..util.compat import describe_mxnet
    return "d2l_rnn %s, %s" % (__version__, describe_mxnet())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print("warning: %s" % message, file=sys.stderr if file is None else file)


def main(argv=None):
    """Entry point: parse ``argv`` and run the subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            # One readable line per warning (skipped prefix characters, inexact resume).
            warnings.showwarning = _show_warning
            return args.func(args)
    except (CLIError, DataError, UnknownCharacterError, TrainingDiverged, CheckpointError,
            ValueError, MemoryError, MissingExtra) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except mx.base.MXNetError as e:
        if "alloc" not in str(e).lower():
            raise
        print("error: MXNet could not allocate the memory this run asks for (%s); use a "
              "smaller model or batch" % str(e).strip().splitlines()[0][:200], file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
