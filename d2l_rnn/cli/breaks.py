"""``python -m d2l_rnn breaks``: unidirectional vs bidirectional phrase-break restoration
(:mod:`d2l_rnn.extras.breaks`)."""
import json

from ..extras.breaks import DEFAULTS, IMPLS, SMOKE, compare_break_taggers, load_break_data
from ..models import registry
from ..util.fileio import write_text_atomic
from .args import CLIError, positive_float, positive_int

# Flags whose default depends on --smoke: (flag attribute, key of DEFAULTS / SMOKE).
SMOKE_FLAGS = (("epochs", "num_epochs"), ("num_hiddens", "num_hiddens"),
               ("num_steps", "num_steps"), ("batch_size", "batch_size"),
               ("num_chars", "num_chars"))


def add_parser(subparsers):
    """Register ``breaks``: unidirectional vs bidirectional phrase-break restoration."""
    d = DEFAULTS
    p = subparsers.add_parser(
        "breaks", help="restore phrase breaks in the lyrics: unidirectional vs bidirectional",
        description="Remove the spaces (phrase breaks) from the lyrics, train a "
                    "unidirectional and a bidirectional tagger with identical settings to "
                    "put them back, and compare them on the held-out last 20% of the "
                    "characters (never trained on) beside the majority baseline.")
    p.add_argument("--model", choices=sorted(registry.CELLS), default="gru",
                   help="recurrent cell (default: gru)")
    p.add_argument("--impl", choices=IMPLS, default="scratch",
                   help="scratch model functions or Gluon's rnn layers (default: scratch)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs (default: %d; --smoke: %d)"
                        % (d["num_epochs"], SMOKE["num_epochs"]))
    p.add_argument("--num-hiddens", type=positive_int, default=None,
                   help="hidden units per direction (default: %d; --smoke: %d)"
                        % (d["num_hiddens"], SMOKE["num_hiddens"]))
    p.add_argument("--num-layers", type=positive_int, default=d["num_layers"],
                   help="stacked recurrent layers (default: %(default)s)")
    p.add_argument("--num-steps", type=positive_int, default=None,
                   help="characters per training and evaluation window (default: %d; "
                        "--smoke: %d)" % (d["num_steps"], SMOKE["num_steps"]))
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="windows per minibatch (default: %d; --smoke: %d)"
                        % (d["batch_size"], SMOKE["batch_size"]))
    p.add_argument("--lr", type=positive_float, default=d["lr"],
                   help="Adam's initial learning rate, decayed to 0 along a half cosine "
                        "(default: %(default)s)")
    p.add_argument("--num-chars", type=positive_int, default=None,
                   help="use the first N characters of the corpus, spaces included "
                        "(default: all 63,282; --smoke: %d)" % SMOKE["num_chars"])
    p.add_argument("--data-path", default=None,
                   help="where the lyrics file is (default: $D2L_RNN_DATA, ./data, ../data, "
                        "else download)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed: Python, NumPy, MXNet, window order (default: 0)")
    p.add_argument("--json", metavar="FILE.json", default=None,
                   help="write the table, settings, per-epoch histories and the example as "
                        "JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--smoke", action="store_true",
                   help="quick run with small defaults (see the other flags); flags given "
                        "explicitly still apply")
    p.set_defaults(func=run)


def run(args):
    """Run the ``breaks`` subcommand on parsed ``args``; returns the exit status."""
    defaults = dict(DEFAULTS, **SMOKE) if args.smoke else dict(DEFAULTS, num_chars=None)
    for flag, key in SMOKE_FLAGS:
        if getattr(args, flag) is None:
            setattr(args, flag, defaults[key])
    if args.num_chars is not None and args.num_chars < 2:
        raise CLIError("--num-chars must be at least 2, got %d" % args.num_chars)
    data = load_break_data(args.data_path, args.num_chars)
    print(data.describe(), flush=True)
    print("%s %s, %d hidden, %d layer(s), windows of %d, batch %d, Adam lr %g, %d epochs, "
          "seed %d" % (args.impl, args.model, args.num_hiddens, args.num_layers,
                       args.num_steps, args.batch_size, args.lr, args.epochs, args.seed),
          flush=True)
    result = compare_break_taggers(
        args.model, args.impl, num_epochs=args.epochs, num_hiddens=args.num_hiddens,
        seed=args.seed, data=data, progress=False if args.no_progress else None,
        num_layers=args.num_layers, num_steps=args.num_steps, batch_size=args.batch_size,
        lr=args.lr)
    if args.json:
        record = dict(result.as_dict(), num_chars=args.num_chars, smoke=args.smoke)
        write_text_atomic(args.json, json.dumps(record, ensure_ascii=False, indent=1))
        print("results written to %s" % args.json)
    return 0
