"""Command line: ``python -m d2l_rnn {train,generate,data} ...`` (also installed as ``d2l-rnn``).

Each subcommand lives beside the code it drives and registers itself through an
``add_subcommand(subparsers)`` function listed in ``SUBCOMMAND_MODULES``.
"""
import argparse
import importlib
import json
import os
import sys
import warnings

from .fileio import write_text_atomic  # noqa: F401  (also used by other subcommands)

BOOK_DEFAULTS = {"num_hiddens": 256, "num_steps": 35, "batch_size": 32, "lr": 100.0,
                 "clipping_theta": 0.01, "pred_period": 40, "pred_len": 50,
                 "num_chars": 10000, "prefixes": ["分开", "不分开"]}
BOOK_EPOCHS = {"rnn": 250, "gru": 160, "lstm": 160}
SMOKE = {"num_epochs": 2, "num_chars": 2000, "pred_period": 1, "pred_len": 10,
         "num_hiddens": 64}

# Modules (besides this one) that add subcommands; each defines add_subcommand(subparsers).
SUBCOMMAND_MODULES = ["d2l_rnn.sentiment", "d2l_rnn.compare", "d2l_rnn.tagging"]


class CLIError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def _positive_int(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % s)
    if v < 1:
        raise argparse.ArgumentTypeError("expected a positive integer, got %r" % s)
    return v


def _positive_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a positive number, got %r" % s)
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError("expected a positive finite number, got %r" % s)
    return v


def _fraction(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number in [0, 1), got %r" % s)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError("expected a number in [0, 1), got %r" % s)
    return v


def _non_negative_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number >= 0, got %r" % s)
    if not 0 <= v < float("inf"):
        raise argparse.ArgumentTypeError("expected a finite number >= 0, got %r" % s)
    return v


def _clip(s):
    if s.lower() in ("none", "off"):
        return None
    return _positive_float(s)


def _add_train(sub):
    p = sub.add_parser(
        "train", help="train a character-level language model (the book's settings by default)",
        description="Train a scratch or concise (Gluon) RNN/GRU/LSTM language model and print "
                    "the book's perplexity lines and generated text.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = BOOK_DEFAULTS
    p.add_argument("--model", choices=["rnn", "gru", "lstm"], default="gru",
                   help="recurrent cell")
    p.add_argument("--impl", choices=["scratch", "concise"], default="scratch",
                   help="scratch model functions or Gluon's rnn layers")
    p.add_argument("--corpus", default="jaychou_lyrics",
                   help="registered corpus (jaychou_lyrics, time_machine) or the path of any "
                        "UTF-8 text file")
    p.add_argument("--data-path", default=None,
                   help="where the registered corpus file is (default: $D2L_RNN_DATA, ./data, "
                        "../data, else download)")
    p.add_argument("--num-chars", type=int, default=d["num_chars"],
                   help="use the first N characters; 0 for the whole corpus")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="epochs (default: 250 for rnn, 160 for gru and lstm)")
    p.add_argument("--num-hiddens", type=_positive_int, default=d["num_hiddens"],
                   help="hidden units")
    p.add_argument("--num-steps", type=_positive_int, default=d["num_steps"],
                   help="time steps per minibatch")
    p.add_argument("--batch-size", type=_positive_int, default=d["batch_size"],
                   help="sequences per minibatch")
    p.add_argument("--lr", type=_positive_float, default=d["lr"], help="SGD learning rate")
    p.add_argument("--clipping-theta", type=_clip, default=d["clipping_theta"],
                   help="global gradient-norm threshold ('none' disables clipping)")
    p.add_argument("--pred-period", type=_positive_int, default=d["pred_period"],
                   help="print perplexity and samples every N epochs")
    p.add_argument("--pred-len", type=int, default=d["pred_len"],
                   help="characters to generate after each prefix")
    p.add_argument("--prefix", action="append", default=None,
                   help="prefix to continue (repeatable; default: 分开 and 不分开)")
    p.add_argument("--random-iter", action="store_true",
                   help="random sampling instead of consecutive sampling")
    p.add_argument("--seed", type=int, default=0, help="random seed (Python, NumPy, MXNet)")
    p.add_argument("--history", metavar="FILE.json", default=None,
                   help="write the per-epoch history as JSON")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="save a perplexity-vs-epoch plot")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--smoke", "--dry-run", action="store_true",
                   help="quick smoke run: 2 epochs, 2,000 characters, 64 hidden units")
    p.add_argument("--full-corpus", action="store_true",
                   help="use the whole corpus (same as --num-chars 0)")
    p.add_argument("--val-fraction", type=_fraction, default=0.0,
                   help="hold out the last fraction of the text (by characters) and report "
                        "validation perplexity every epoch; 0 for none")
    p.add_argument("--num-layers", type=_positive_int, default=1,
                   help="stacked recurrent layers (deep RNN)")
    p.add_argument("--bidirectional", action="store_true",
                   help="bidirectional layers (a bidirectional language model sees the "
                        "characters it predicts: its training perplexity is meaningless and "
                        "its generated text is poor; shown for teaching)")
    p.add_argument("--dropout", type=_fraction, default=0.0,
                   help="dropout between stacked layers, in [0, 1) (concise only; needs "
                        "--num-layers 2 or more; MXNet 1.9.1 applies it on GPU only)")
    p.add_argument("--save-dir", metavar="DIR", default=None,
                   help="write checkpoints (and perplexity.png) into DIR: at the end, every "
                        "--save-every epochs and at each best validation perplexity")
    p.add_argument("--save-every", type=_positive_int, default=None,
                   help="also save a checkpoint every N epochs (needs --save-dir)")
    p.add_argument("--resume", metavar="DIR", default=None,
                   help="continue from the latest checkpoint in DIR (or a checkpoint "
                        "directory); --epochs counts from the start of the original run. If "
                        "DIR is --save-dir and holds no checkpoint yet, training starts afresh")
    p.add_argument("--temperature", type=_non_negative_float, default=None,
                   help="sample the printed texts at this temperature (0 or unset: greedy)")
    p.add_argument("--top-k", type=_positive_int, default=None,
                   help="sample the printed texts from the K most likely characters")
    p.set_defaults(func=cmd_train)


def _load_training_corpus(args, d2l):
    """The corpus tuple and prefixes for ``train``'s flags."""
    prefixes = args.prefix or BOOK_DEFAULTS["prefixes"]
    if args.num_chars < 0 or args.num_chars == 1:
        raise CLIError("--num-chars must be 0 (whole corpus) or at least 2, got %d"
                       % args.num_chars)
    num_chars = None if args.full_corpus else (args.num_chars or None)
    if args.corpus == "time_machine":
        corpus = d2l.load_data_time_machine(path=args.data_path, num_chars=num_chars)
        if args.prefix is None:
            prefixes = ["traveller", "time traveller"]
    else:
        corpus = d2l.load_corpus(args.corpus, num_chars=num_chars, path=args.data_path)
    corpus_indices, char_to_idx, idx_to_char, vocab_size = corpus
    if args.corpus not in ("jaychou_lyrics",) and args.prefix is None:
        prefixes = [p for p in prefixes if all(c in char_to_idx for c in p)] or \
            [idx_to_char[corpus_indices[0]]]
    return corpus, prefixes, num_chars


def _resume_from(args):
    """The checkpoint to resume from, or None to start afresh (see --resume)."""
    from .checkpoint import has_checkpoint
    if args.resume is None:
        return None
    same_dir = args.save_dir is not None and \
        os.path.abspath(args.resume) == os.path.abspath(args.save_dir)
    if same_dir and not has_checkpoint(args.resume):
        print("no checkpoint in %s yet: starting from epoch 0" % args.resume, flush=True)
        return None
    return args.resume


def cmd_train(args):
    """Run ``train``: load the corpus, train, print, write the requested files."""
    import d2l_rnn as d2l
    from mxnet.gluon import rnn as grnn

    if args.smoke:
        for k, v in SMOKE.items():
            setattr(args, {"num_epochs": "epochs"}.get(k, k), v)
    num_epochs = args.epochs or BOOK_EPOCHS[args.model]
    if args.save_every is not None and args.save_dir is None:
        raise CLIError("--save-every needs --save-dir (where to write the checkpoints)")
    if args.dropout and args.impl == "scratch":
        raise CLIError("--dropout needs --impl concise: the scratch models have no dropout")
    if args.dropout and args.num_layers < 2:
        raise CLIError("--dropout %g acts between stacked layers: add --num-layers 2 or more"
                       % args.dropout)
    corpus, prefixes, num_chars = _load_training_corpus(args, d2l)
    corpus_indices, char_to_idx, idx_to_char, vocab_size = corpus
    resume = _resume_from(args)
    ctx = d2l.try_gpu()
    layout = "".join([", %d layers" % args.num_layers if args.num_layers > 1 else "",
                      ", bidirectional" if args.bidirectional else ""])
    print("corpus %s: %d characters, vocabulary %d; %s %s%s, %d epochs, context %s"
          % (args.corpus, len(corpus_indices), vocab_size, args.impl, args.model, layout,
             num_epochs, ctx), flush=True)
    if args.val_fraction:
        n_val = int(round(len(corpus_indices) * args.val_fraction))
        print("validation: the last %d characters (%.0f%%), training: the first %d"
              % (n_val, 100 * args.val_fraction, len(corpus_indices) - n_val), flush=True)
    if resume is not None:
        print("resuming from %s" % resume, flush=True)
    common = dict(seed=args.seed, progress=False if args.no_progress else None,
                  val_fraction=args.val_fraction, save_dir=args.save_dir,
                  save_every=args.save_every, resume=resume, temperature=args.temperature,
                  top_k=args.top_k,
                  meta={"corpus": args.corpus, "num_chars": num_chars,
                        "lower": args.corpus == "time_machine"})
    if args.impl == "scratch":
        history = d2l.train_and_predict_rnn(
            d2l.MODELS[args.model][0],
            d2l.get_params_fn(args.model, vocab_size, args.num_hiddens, ctx, args.num_layers,
                              args.bidirectional),
            d2l.init_state_fn(args.model, args.num_layers, args.bidirectional), args.num_hiddens, vocab_size, ctx, corpus_indices, idx_to_char,
            char_to_idx, args.random_iter, num_epochs, args.num_steps, args.lr,
            args.clipping_theta, args.batch_size, args.pred_period, args.pred_len, prefixes,
            **common)
    else:
        layer = {"rnn": grnn.RNN, "gru": grnn.GRU, "lstm": grnn.LSTM}[args.model]
        model = d2l.RNNModel(layer(args.num_hiddens, num_layers=args.num_layers,
                                   bidirectional=args.bidirectional, dropout=args.dropout),
                             vocab_size)
        history = d2l.train_and_predict_rnn_gluon(
            model, args.num_hiddens, vocab_size, ctx, corpus_indices, idx_to_char,
            char_to_idx, num_epochs, args.num_steps, args.lr, args.clipping_theta,
            args.batch_size, args.pred_period, args.pred_len, prefixes,
            is_random_iter=args.random_iter, **common)
    if not history.epochs:
        return 0
    print("final perplexity %.3f after %d epochs (median %.3f s/epoch)"
          % (history.perplexity[-1], len(history.epochs),
             sorted(history.seconds)[len(history.seconds) // 2]))
    if history.val_perplexity:
        print("validation perplexity %.3f at the end; best %.3f at epoch %d"
              % (history.val_perplexity[-1], history.best_val_perplexity, history.best_epoch))
    if args.save_dir and history.checkpoint:
        print("checkpoint saved to %s (plot: %s)"
              % (history.checkpoint, os.path.join(args.save_dir, "perplexity.png")))
    if args.history:
        write_text_atomic(args.history, json.dumps(history.as_dict(), ensure_ascii=False,
                                                   indent=1))
        print("history written to %s" % args.history)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        from .plot import plot_perplexity, save_figure
        curves = {"%s %s" % (args.impl, args.model): history}
        if history.val_perplexity:
            from .train import _Curve
            curves["validation"] = _Curve(history.epochs, history.val_perplexity)
        ax = plot_perplexity(curves, title="%s on %s" % (args.model, args.corpus))
        save_figure(ax.figure, args.plot)
        print("plot saved to %s" % args.plot)
    return 0


def _add_generate(sub):
    p = sub.add_parser(
        "generate", help="continue a prefix with a saved model (greedy or sampled)",
        description="Load a checkpoint written by `train --save-dir` (no corpus needed) and "
                    "print continuations of a prefix, one per line.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="a save directory (its latest checkpoint) or one "
                                      "epoch-NNNN checkpoint directory")
    p.add_argument("--best", action="store_true",
                   help="use the checkpoint with the best validation perplexity")
    p.add_argument("--prefix", default=None,
                   help="text to continue (default: the first prefix used in training)")
    p.add_argument("--length", type=int, default=100, help="characters to generate")
    p.add_argument("--temperature", type=_non_negative_float, default=None,
                   help="sampling temperature; 0 or unset is greedy (unless --top-k)")
    p.add_argument("--top-k", type=_positive_int, default=None,
                   help="sample only among the K most likely characters")
    p.add_argument("--num-samples", type=_positive_int, default=1,
                   help="how many continuations to generate")
    p.add_argument("--seed", type=int, default=None,
                   help="seed for sampling (same seed, same samples)")
    p.add_argument("--skip-unknown", action="store_true",
                   help="drop prefix characters that are not in the vocabulary instead of "
                        "stopping with an error")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args):
    """Run ``generate``: load a checkpoint and print samples from a prefix."""
    from .checkpoint import load_checkpoint
    from .utils import try_gpu
    if args.length < 0:
        raise CLIError("--length must be >= 0, got %d" % args.length)
    ckpt = load_checkpoint(args.checkpoint, which="best" if args.best else "latest")
    prefix = args.prefix
    if prefix is None:
        prefixes = ckpt.config.get("prefixes") or [ckpt.idx_to_char[0]]
        prefix = prefixes[0]
    texts = ckpt.generate(prefix, args.length, temperature=args.temperature, top_k=args.top_k,
                          num_samples=args.num_samples, seed=args.seed,
                          skip_unknown=args.skip_unknown, ctx=try_gpu())
    c = ckpt.config
    layout = "".join([", %d layers" % c["num_layers"] if (c.get("num_layers") or 1) > 1
                      else "", ", bidirectional" if c.get("bidirectional") else ""])
    print("# %s: %s %s%s, %d hidden, epoch %d, vocabulary %d"
          % (ckpt.path, c["impl"], c["model"], layout, c["num_hiddens"], ckpt.epoch,
             c["vocab_size"]), file=sys.stderr)
    for text in texts:
        print(text)
    return 0


def _add_data(sub):
    p = sub.add_parser("data", help="list the registered datasets and where they resolve",
                       description="List the dataset registry; with --fetch, download "
                                   "(and checksum) the named datasets into the cache.")
    p.add_argument("--fetch", nargs="*", metavar="NAME", default=None,
                   help="download these datasets now (no names: the two corpora)")
    p.set_defaults(func=cmd_data)


def cmd_data(args):
    """Run ``data``: list the registry (or fetch datasets with ``--fetch``)."""
    from .data import DATASETS, DataError, dataset_path
    if args.fetch is not None:
        for name in args.fetch or ["jaychou_lyrics", "time_machine"]:
            print("%s: %s" % (name, dataset_path(name)))
        return 0
    for name, ds in DATASETS.items():
        try:
            where = dataset_path(name, download_missing=False, verify=False)
        except DataError:
            where = "(not downloaded)"
        print("%-15s %-26s sha1 %s  %s\n                %s"
              % (name, ds.filename, ds.sha1[0], where, ds.description))
    return 0


def build_parser():
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m d2l_rnn",
        description="Gated RNNs from Dive into Deep Learning (MXNet): train, generate, "
                    "inspect data.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_train(sub)
    _add_generate(sub)
    _add_data(sub)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_subcommand(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print("warning: %s" % message, file=sys.stderr if file is None else file)


def main(argv=None):
    """Entry point: parse ``argv`` and run the subcommand; returns the exit status."""
    args = build_parser().parse_args(argv)
    from .checkpoint import CheckpointError
    from .data import DataError
    from .predict import UnknownCharacterError
    from .train import TrainingDiverged
    try:
        with warnings.catch_warnings():
            # One readable line per warning (skipped prefix characters, inexact resume).
            warnings.showwarning = _show_warning
            return args.func(args)
    except (CLIError, DataError, UnknownCharacterError, TrainingDiverged, CheckpointError,
            ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
