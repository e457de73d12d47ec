"""``python -m d2l_rnn train``: train a character-level language model, the book's way.

The flags become a :class:`~d2l_rnn.models.ModelConfig` and a
:class:`~d2l_rnn.training.TrainConfig` (whose defaults are the book's), which go as they are
through the training loop into every checkpoint.
"""
import argparse
import json
import os

from .. import data
from ..extras.sentiment.data import load_imdb_text
from ..extras.tensorboard import TensorBoardLogger
from ..checkpoint import has_checkpoint
from ..models import ModelConfig, build_model, registry
from ..training import TrainConfig, fit, train_language_model
from ..training.parallel import Parallel, parse_contexts
from ..util.device import try_gpu
from ..util.fileio import check_file, write_text_atomic
from ..util.plot import check_figure_path
from ..util.seeding import seed_everything
from . import launch
from .args import CLIError, clipping, fraction, non_negative_float, positive_float, positive_int

BOOK_MODEL, BOOK_TRAINING = ModelConfig(), TrainConfig()
SMOKE = {"epochs": 2, "num_chars": 2000, "pred_period": 1, "pred_len": 10, "num_hiddens": 64}
# What --smoke replaces: the flags left at these defaults (an explicit flag still applies).
_SMOKE_DEFAULTS = {"epochs": None, "num_chars": data.BOOK_NUM_CHARS,
                   "pred_period": BOOK_TRAINING.pred_period, "pred_len": BOOK_TRAINING.pred_len,
                   "num_hiddens": BOOK_MODEL.num_hiddens}
TIME_MACHINE_PREFIXES = ["traveller", "time traveller"]
IMDB_PREFIXES = ["This movie", "The acting"]


def add_parser(sub):
    """Register ``train``."""
    p = sub.add_parser(
        "train", help="train a character-level language model (the book's settings by default)",
        description="Train a scratch or concise (Gluon) RNN/GRU/LSTM language model and print "
                    "the book's perplexity lines and generated text.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    m, t = BOOK_MODEL, BOOK_TRAINING
    epochs = ", ".join("%d for %s" % (registry.get(k).book_epochs, c)
                       for c, k in registry.CELLS.items())
    p.add_argument("--model", choices=list(registry.CELLS), default=m.model,
                   help="recurrent cell")
    p.add_argument("--impl", choices=["scratch", "concise"], default=m.impl,
                   help="scratch model functions or Gluon's rnn layers")
    p.add_argument("--corpus", default="jaychou_lyrics",
                   help="registered corpus (jaychou_lyrics, time_machine), imdb_text (the "
                        "50,000 IMDb reviews as one text of 64.5 million characters, held as "
                        "an array) or the path of any UTF-8 text file")
    p.add_argument("--data-path", default=None,
                   help="where the registered corpus file is (default: $D2L_RNN_DATA, ./data, "
                        "../data, else download)")
    p.add_argument("--num-chars", type=int, default=data.BOOK_NUM_CHARS,
                   help="use the first N characters; 0 for the whole corpus")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs (default: %s)" % epochs)
    p.add_argument("--num-hiddens", type=positive_int, default=m.num_hiddens,
                   help="hidden units")
    p.add_argument("--num-steps", type=positive_int, default=t.num_steps,
                   help="time steps per minibatch")
    p.add_argument("--batch-size", type=positive_int, default=t.batch_size,
                   help="sequences per minibatch")
    p.add_argument("--lr", type=positive_float, default=t.lr, help="SGD learning rate")
    p.add_argument("--clipping-theta", type=clipping, default=t.clipping_theta,
                   help="global gradient-norm threshold ('none' disables clipping)")
    p.add_argument("--pred-period", type=positive_int, default=t.pred_period,
                   help="print perplexity and samples every N epochs")
    p.add_argument("--pred-len", type=int, default=t.pred_len,
                   help="characters to generate after each prefix")
    p.add_argument("--prefix", action="append", default=None,
                   help="prefix to continue (repeatable; default: %s)"
                        % " and ".join(t.prefixes))
    p.add_argument("--random-iter", action="store_true",
                   help="random sampling instead of consecutive sampling")
    p.add_argument("--seed", type=int, default=0, help="random seed (Python, NumPy, MXNet)")
    p.add_argument("--history", metavar="FILE.json", default=None,
                   help="write the per-epoch history as JSON")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="save a perplexity-vs-epoch plot")
    p.add_argument("--tensorboard", metavar="DIR", default=None,
                   help="also log perplexities, tokens/s, gradient norm and samples per epoch "
                        "for TensorBoard into DIR (needs pip install 'd2l_rnn[tensorboard]')")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--smoke", action="store_true",
                   help="quick smoke run: 2 epochs, 2,000 characters, 64 hidden units, unless "
                        "those flags are given")
    p.add_argument("--dry-run", action="store_true",
                   help="check everything (corpus, model, prefixes, minibatch size, "
                        "checkpoint to resume) and print what would be trained, without "
                        "training")
    p.add_argument("--full-corpus", action="store_true",
                   help="use the whole corpus (same as --num-chars 0)")
    p.add_argument("--val-fraction", type=fraction, default=t.val_fraction,
                   help="hold out the last fraction of the text (by characters) and report "
                        "validation perplexity every epoch; 0 for none")
    p.add_argument("--num-layers", type=positive_int, default=m.num_layers,
                   help="stacked recurrent layers (deep RNN)")
    p.add_argument("--bidirectional", action="store_true",
                   help="bidirectional layers (a bidirectional language model sees the "
                        "characters it predicts: its training perplexity is meaningless and "
                        "its generated text is poor; shown for teaching)")
    p.add_argument("--dropout", type=fraction, default=m.dropout,
                   help="dropout between stacked layers, in [0, 1) (concise only; needs "
                        "--num-layers 2 or more; MXNet 1.9.1 applies it on GPU only)")
    p.add_argument("--save-dir", metavar="DIR", default=None,
                   help="write checkpoints (and perplexity.png) into DIR: at the end, every "
                        "--save-every epochs and at each best validation perplexity")
    p.add_argument("--save-every", type=positive_int, default=None,
                   help="also save a checkpoint every N epochs (needs --save-dir)")
    p.add_argument("--ctx", default=None, metavar="CTX,CTX",
                   help="train on these devices at once, each minibatch split across them "
                        "(e.g. cpu(0),cpu(1) or gpu(0),gpu(1)); default: a GPU if one works, "
                        "else the CPU")
    p.add_argument("--kvstore", default=None, choices=["local", "device", "dist_sync"],
                   help="how gradients are summed: local/device across --ctx devices, "
                        "dist_sync as a worker of a parameter-server cluster (started by "
                        "python -m d2l_rnn launch)")
    p.add_argument("--overwrite", action="store_true",
                   help="let --save-dir replace the checkpoints of another run that it holds "
                        "(without it such a folder is refused)")
    p.add_argument("--resume", metavar="DIR", default=None,
                   help="continue from the latest checkpoint in DIR (or a checkpoint "
                        "directory); --epochs counts from the start of the original run. If "
                        "DIR is --save-dir and holds no checkpoint yet, training starts afresh")
    p.add_argument("--temperature", type=non_negative_float, default=t.temperature,
                   help="sample the printed texts at this temperature (0 or unset: greedy)")
    p.add_argument("--top-k", type=positive_int, default=t.top_k,
                   help="sample the printed texts from the K most likely characters")
    p.set_defaults(func=run)


def _corpus(args):
    """The corpus tuple, the prefixes and the number of characters asked for."""
    prefixes = args.prefix or list(BOOK_TRAINING.prefixes)
    if args.num_chars < 0 or args.num_chars == 1:
        raise CLIError("--num-chars must be 0 (whole corpus) or at least 2, got %d"
                       % args.num_chars)
    num_chars = None if args.full_corpus else (args.num_chars or None)
    lower = args.corpus == "time_machine"
    if lower:
        corpus = data.load_data_time_machine(path=args.data_path, num_chars=num_chars)
        prefixes = args.prefix or TIME_MACHINE_PREFIXES
    elif args.corpus == "imdb_text":
        corpus = load_imdb_text(args.data_path, num_chars=num_chars)
        prefixes = args.prefix or IMDB_PREFIXES
    else:
        corpus = data.load_corpus(args.corpus, num_chars=num_chars, path=args.data_path)
    corpus_indices, char_to_idx, idx_to_char, _ = corpus
    if args.corpus != "jaychou_lyrics" and args.prefix is None:
        # The book's prefixes are Chinese: keep those the text can continue, else its start.
        prefixes = [p for p in prefixes if all(c in char_to_idx for c in p)] or \
            [idx_to_char[corpus_indices[0]]]
    return corpus, prefixes, num_chars, lower


def _resume_from(args, speak=True):
    """The checkpoint to resume from, or None to start afresh (see --resume)."""
    if args.resume is None:
        return None
    same_dir = args.save_dir is not None and \
        os.path.abspath(args.resume) == os.path.abspath(args.save_dir)
    if same_dir and not (os.path.isdir(args.resume) and has_checkpoint(args.resume)):
        if speak:
            print("no checkpoint in %s yet: starting from epoch 0" % args.resume, flush=True)
        return None
    return args.resume


def configs(args, vocab_size, prefixes, num_chars, lower):
    """The :class:`ModelConfig` and :class:`TrainConfig` that ``train``'s flags describe."""
    if args.save_every is not None and args.save_dir is None:
        raise CLIError("--save-every needs --save-dir (where to write the checkpoints)")
    if args.dropout and args.impl == "scratch":
        raise CLIError("--dropout needs --impl concise: the scratch models have no dropout")
    if args.dropout and args.num_layers < 2:
        raise CLIError("--dropout %g acts between stacked layers: add --num-layers 2 or more"
                       % args.dropout)
    model = ModelConfig(args.impl, registry.CELLS[args.model], vocab_size, args.num_hiddens,
                        args.num_layers, args.bidirectional, args.dropout)
    training = TrainConfig(
        num_epochs=args.epochs or registry.get(model.model).book_epochs,
        num_steps=args.num_steps, batch_size=args.batch_size, lr=args.lr,
        clipping_theta=args.clipping_theta, is_random_iter=args.random_iter, seed=args.seed,
        pred_period=args.pred_period, pred_len=args.pred_len, prefixes=prefixes,
        temperature=args.temperature, top_k=args.top_k, val_fraction=args.val_fraction,
        save_every=args.save_every, corpus=args.corpus, num_chars=num_chars, lower=lower)
    return model, training


def prepare(args):
    """What ``train``'s flags describe: ``(corpus, ModelConfig, TrainConfig)``, with the
    corpus loaded (``--smoke`` applied first)."""
    if args.smoke:
        for k, v in SMOKE.items():
            if getattr(args, k) == _SMOKE_DEFAULTS[k]:
                setattr(args, k, v)
    corpus, prefixes, num_chars, lower = _corpus(args)
    return (corpus,) + configs(args, corpus[3], prefixes, num_chars, lower)


def run(args):
    """Run ``train``: load the corpus, train, print, write the requested files."""
    corpus, model_config, config = prepare(args)
    corpus_indices, char_to_idx, idx_to_char, vocab_size = corpus
    ctxs = parse_contexts(args.ctx) if args.ctx else [try_gpu()]
    if args.kvstore and args.kvstore.startswith("dist") and "DMLC_ROLE" not in os.environ:
        raise CLIError("--kvstore %s makes this process a worker of an MXNet parameter-server "
                       "cluster, and none was started for it: run it through python -m "
                       "d2l_rnn launch --workers N -- train ..." % args.kvstore)
    parallel = Parallel(ctxs, args.kvstore)  # a cluster's worker waits here for the others
    if parallel.dist and os.environ.get(launch.RANK_ENV):
        print(launch.RANK_MARKER % parallel.rank, flush=True)  # the launcher's line prefix
    speak = parallel.rank == 0
    resume = _resume_from(args, speak)
    if speak:
        _header(args, corpus, config, ctxs, parallel, resume)
        if args.history:
            check_file(args.history, "--history")
        if args.plot:
            check_figure_path(args.plot, "--plot")
    options = dict(resume=resume, save_dir=args.save_dir, overwrite=args.overwrite,
                   progress=False if args.no_progress else None, parallel=parallel)
    if args.dry_run:
        return _dry_run(model_config, config, corpus, ctxs[0], options)
    logger = TensorBoardLogger(args.tensorboard) if args.tensorboard and speak else None
    try:
        _, history = train_language_model(model_config, config, corpus, ctxs[0],
                                          callback=logger, **options)
    finally:
        if logger is not None:
            logger.close()
    if not speak:
        return 0
    if args.tensorboard:
        print("TensorBoard logs in %s (view them with: tensorboard --logdir %s)"
              % (args.tensorboard, args.tensorboard))
    if history.epochs:
        _summarise(args, history)
    if parallel.active:
        b = parallel.bytes
        steps = max(b["steps"], 1)
        print("communication per step and worker: %.0f KB pushed, %.0f KB pulled (dense: %.0f "
              "and %.0f KB)" % (b["pushed"] / steps / 1024, b["pulled"] / steps / 1024,
                                b["pushed_dense"] / steps / 1024,
                                b["pulled_dense"] / steps / 1024))
    return 0


def _header(args, corpus, config, ctxs, parallel, resume):
    corpus_indices, _, _, vocab_size = corpus
    layout = "".join([", %d layers" % args.num_layers if args.num_layers > 1 else "",
                      ", bidirectional" if args.bidirectional else ""])
    where = ",".join(str(c) for c in ctxs)
    if parallel.dist:
        where += " on each of %d workers (kvstore %s)" % (parallel.num_workers,
                                                          parallel.kvstore)
    print("corpus %s: %d characters, vocabulary %d; %s %s%s, %d epochs, context %s"
          % (args.corpus, len(corpus_indices), vocab_size, args.impl, args.model, layout,
             config.num_epochs, where), flush=True)
    if args.val_fraction:
        n_val = int(round(len(corpus_indices) * args.val_fraction))
        print("validation: the last %d characters (%.0f%%), training: the first %d"
              % (n_val, 100 * args.val_fraction, len(corpus_indices) - n_val), flush=True)
    if resume is not None:
        print("resuming from %s" % resume, flush=True)


def _dry_run(model_config, config, corpus, ctx, options):
    """Every check ``run`` makes before its first epoch, then a summary instead of training."""
    corpus_indices, char_to_idx, idx_to_char, _ = corpus
    seed_everything(config.seed)
    model = build_model(model_config, ctx)
    history = fit(model, corpus_indices, idx_to_char, char_to_idx, config, dry_run=True,
                  **options)
    train = data.split_corpus(corpus_indices, config.val_fraction)[0]
    n = data.batches_per_epoch(len(train), config.batch_size, config.num_steps,
                               config.is_random_iter)
    print("dry run: %r would train epochs %d to %d, %d minibatches of %d x %d characters "
          "each; nothing was trained or written"
          % (model, len(history.epochs) + 1, config.num_epochs, n, config.batch_size,
             config.num_steps))
    return 0


def _summarise(args, history):
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
        from ..util.plot import save_figure
        ax = history.plot(label="%s %s" % (args.impl, args.model))
        ax.set_title("%s on %s" % (args.model, args.corpus))
        save_figure(ax.figure, args.plot)
        print("plot saved to %s" % args.plot)
