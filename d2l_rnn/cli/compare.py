"""``python -m d2l_rnn compare``: scratch vs concise on shared weights."""
import json

from ..compare import compare, format_comparison, plot_side_by_side, train_side_by_side
from ..data import load_data_jay_lyrics
from ..models import ModelConfig
from ..training import TrainConfig
from ..util.fileio import write_text_atomic
from .args import CLIError, positive_float, positive_int

BOOK_MODEL, BOOK_TRAINING = ModelConfig(), TrainConfig()


def add_parser(subparsers):
    """Register ``compare``: scratch vs concise on shared weights."""
    p = subparsers.add_parser(
        "compare", help="scratch vs concise (Gluon) on the same weights: differences of "
                        "outputs, states and gradients",
        description="Copy one set of random weights into a Gluon RNNModel and the scratch "
                    "model, run the first minibatch of the lyrics through both, backpropagate "
                    "the same loss and print the largest differences; optionally train both "
                    "side by side from the same weights.")
    p.add_argument("--model", choices=("rnn", "gru", "lstm"), default="gru",
                   help="cell (default %(default)s); Gluon's RNN is built with tanh")
    p.add_argument("--layers", type=positive_int, default=1, help="stacked layers")
    p.add_argument("--bidirectional", action="store_true", help="bidirectional layers")
    p.add_argument("--gru-variant", choices=("cudnn", "book"), default="cudnn",
                   help="scratch GRU: 'cudnn' (Gluon's equations, exact) or 'book' (the "
                        "book's candidate, shows how far it is from Gluon's)")
    p.add_argument("--num-hiddens", type=positive_int, default=BOOK_MODEL.num_hiddens,
                   help="hidden units")
    p.add_argument("--batch-size", type=positive_int, default=BOOK_TRAINING.batch_size,
                   help="sequences")
    p.add_argument("--num-steps", type=positive_int, default=BOOK_TRAINING.num_steps,
                   help="time steps")
    p.add_argument("--scale", type=positive_float, default=None,
                   help="standard deviation of the random weights and biases (default "
                        "0.5 / sqrt(num_hiddens): a stable, non-chaotic regime)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.add_argument("--data-path", default=None,
                   help="jaychou_lyrics.txt.zip or a folder holding it (default: "
                        "$D2L_RNN_DATA, ./data, ../data, else download)")
    p.add_argument("--json", metavar="FILE", default=None,
                   help="also write the table (and the training run) as JSON")
    p.add_argument("--train", metavar="EPOCHS", type=int, default=0,
                   help="then train both sides from the same (book-initialised) weights for "
                        "EPOCHS epochs on the book's task and print both curves' ends")
    p.add_argument("--freeze-hidden-bias", action="store_true",
                   help="with --train: freeze Gluon's h2h biases (and the scratch cuDNN GRU's "
                        "b_hh) so both sides train the same parameters and their curves "
                        "coincide; by default Gluon's two biases per gate learn twice as fast")
    p.add_argument("--plot", metavar="FILE.png", default=None,
                   help="save both perplexity curves of --train on one figure")
    p.add_argument("--smoke", action="store_true",
                   help="quick check: hidden 32, batch 4 x 7 steps, --train 2 on 2,000 "
                        "characters if --train is given")
    p.set_defaults(func=run)


def run(args):
    """Run ``compare``; returns the exit status (1 when the exact comparison disagrees)."""
    if args.train < 0:
        raise CLIError("--train must be 0 (no training run) or a number of epochs, got %d"
                       % args.train)
    if args.freeze_hidden_bias and args.model == "gru" and args.gru_variant == "book":
        raise CLIError("--freeze-hidden-bias needs --gru-variant cudnn (the book's GRU has no "
                       "Gluon twin to train side by side exactly)")
    if args.plot and not args.train:
        raise CLIError("--plot needs --train EPOCHS (the curves come from the training run)")
    if args.smoke:
        args.num_hiddens, args.batch_size, args.num_steps = 32, 4, 7
    num_chars = 2000 if args.smoke else 10000
    corpus = load_data_jay_lyrics(path=args.data_path, num_chars=num_chars)
    c = compare(args.model, args.layers, args.bidirectional, args.gru_variant,
                args.num_hiddens, args.batch_size, args.num_steps, args.seed, args.scale,
                corpus)
    print(format_comparison(c), flush=True)
    report = {"settings": c.settings, "rows": c.rows, "book_gru": c.book_gru}
    exact = args.model != "gru" or args.gru_variant == "cudnn"
    status = 1 if exact and not all(r["allclose"] for r in c.rows) else 0
    if args.train:
        epochs = 2 if args.smoke else args.train
        hp = dict(num_hiddens=args.num_hiddens, num_steps=args.num_steps,
                  batch_size=args.batch_size, pred_period=max(1, epochs // 4))
        r = train_side_by_side(args.model, corpus, epochs, args.layers, args.bidirectional,
                               args.gru_variant, seed=args.seed, quiet=True,
                               freeze_hidden_bias=args.freeze_hidden_bias, **hp)
        print("\nside by side, %d epochs from the same weights:" % epochs)
        print("%-8s %14s %14s" % ("epoch", "scratch ppl", "concise ppl"))
        for i in sorted(set([0, len(r.scratch.epochs) // 2, len(r.scratch.epochs) - 1])):
            print("%-8d %14.3f %14.3f" % (r.scratch.epochs[i], r.scratch.perplexity[i],
                                          r.concise.perplexity[i]))
        for prefix, (a, b) in r.texts.items():
            print(" scratch: %s\n concise: %s" % (a, b))
        report["training"] = {"epochs": r.scratch.epochs, "scratch": r.scratch.perplexity,
                              "concise": r.concise.perplexity, "texts": r.texts,
                              "seconds": list(r.seconds)}
        if args.plot:
            import matplotlib
            matplotlib.use("Agg")
            from ..util.plot import save_figure
            ax = plot_side_by_side(r, title="%s: scratch vs concise" % args.model)
            save_figure(ax.figure, args.plot)
            print("plot saved to %s" % args.plot)
    if args.json:
        write_text_atomic(args.json, json.dumps(report, ensure_ascii=False, indent=1))
        print("JSON written to %s" % args.json)
    return status
