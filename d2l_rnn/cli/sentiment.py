"""``python -m d2l_rnn sentiment``: train and evaluate the BiLSTM on IMDb
(``d2l_rnn.extras.sentiment``)."""
import json
import os
import time

import numpy as np

from ..extras.sentiment import (BOOK, SMOKE, load_data_imdb, load_glove, make_net,
                                predict_sentiment, seed_everything, train,
                                use_pretrained_embedding)
from ..util.fileio import check_file, write_text_atomic
from .args import CLIError, positive_float, positive_int


def add_parser(subparsers):
    """Register ``sentiment``: train and evaluate the BiLSTM on IMDb."""
    p = subparsers.add_parser(
        "sentiment", help="train the bidirectional-LSTM sentiment classifier on IMDb",
        description="Train the chapter's 2-layer BiLSTM on IMDb reviews (read straight from "
                    "the tar.gz) and report test accuracy.")
    p.add_argument("--data-path", default=None,
                   help="aclImdb_labeled.tar.gz or aclImdb_v1.tar.gz, or a folder holding "
                        "one (default: $D2L_RNN_DATA, ./data, ../data, else download)")
    p.add_argument("--epochs", type=positive_int, default=BOOK["num_epochs"],
                   help="epochs (the chapter: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=BOOK["batch_size"],
                   help="reviews per minibatch (the chapter: %(default)s)")
    p.add_argument("--lr", type=positive_float, default=BOOK["lr"],
                   help="Adam learning rate (the chapter: %(default)s)")
    p.add_argument("--num-train", type=positive_int, default=None,
                   help="train on a random subset of N reviews (default: all 25,000)")
    p.add_argument("--num-test", type=positive_int, default=None,
                   help="evaluate on a random subset of N reviews (default: all 25,000)")
    p.add_argument("--glove", metavar="PATH", default=None,
                   help="GloVe-format text file to initialise the embedding from")
    p.add_argument("--freeze", action="store_true",
                   help="keep the loaded GloVe vectors fixed (needs --glove)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed (subsets, initialisation, shuffling)")
    p.add_argument("--history", metavar="FILE.json", default=None,
                   help="write the per-epoch history (and run size, wall time) as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--smoke", action="store_true",
                   help="quick run: 2 epochs on 2,000 training and 1,000 test reviews")
    p.set_defaults(func=cmd_sentiment)
    return p


def cmd_sentiment(args):
    """Run the ``sentiment`` subcommand on parsed ``args``; returns the exit status."""
    if args.freeze and not args.glove:
        raise ValueError("--freeze keeps pretrained vectors fixed, so it needs --glove PATH")
    if args.glove and not os.path.isfile(args.glove):  # before minutes of reading IMDb
        raise CLIError("--glove %s: no such file; give the path of a GloVe-format text file "
                       "(lines of 'word v1 ... vd')" % args.glove)
    if args.history:
        check_file(args.history, "--history")
    if args.smoke:
        args.num_train = args.num_train or SMOKE["num_train"]
        args.num_test = args.num_test or SMOKE["num_test"]
        args.epochs = SMOKE["num_epochs"]
    seed_everything(args.seed)
    start = time.time()
    train_split, test_split, vocab = load_data_imdb(args.data_path, args.num_train,
                                                    args.num_test, seed=args.seed)
    print("IMDb: %d train, %d test reviews, vocabulary %d (read in %.1f s)"
          % (len(train_split.labels), len(test_split.labels), len(vocab), time.time() - start),
          flush=True)
    net = make_net(len(vocab), seed=args.seed)
    if args.glove:
        vectors, found = load_glove(args.glove, vocab, BOOK["embed_size"])
        use_pretrained_embedding(net, vectors, freeze=args.freeze)
        print("GloVe: %d of %d vocabulary words found in %s (%s)"
              % (found, len(vocab), args.glove, "frozen" if args.freeze else "fine-tuned"))
    hist = train(net, train_split, test_split, args.epochs, args.lr, args.batch_size,
                 seed=args.seed, progress=False if args.no_progress else None)
    total = time.time() - start
    print("test accuracy %.4f after %d epochs; %.1f s/epoch, %.0f s in all"
          % (hist.test_acc[-1], len(hist.epochs), float(np.mean(hist.seconds)), total))
    for text in ("this movie is so great", "this movie is so bad"):
        print("%r: %s" % (text, predict_sentiment(net, vocab, text)))
    if args.history:
        record = dict(hist.as_dict(), num_train=len(train_split.labels),
                      num_test=len(test_split.labels), vocab_size=len(vocab), lr=args.lr,
                      batch_size=args.batch_size, seed=args.seed, glove=args.glove,
                      freeze=args.freeze, wall_seconds=total,
                      threads=os.environ.get("OMP_NUM_THREADS"))
        write_text_atomic(args.history, json.dumps(record, indent=1))
        print("history written to %s" % args.history)
    return 0
