"""Scratch vs concise on one set of weights: outputs, final states and gradients side by side.

``build_pair`` makes a Gluon :class:`~d2l_rnn.RNNModel` and copies its weights into the scratch
parameter list (:mod:`d2l_rnn.mapping`); ``compare_batch`` runs one minibatch through both,
backpropagates the same loss and reports the largest differences; ``train_side_by_side``
trains both from the same weights on the same batches. ``python -m d2l_rnn compare`` prints
the table.
"""
import time
from collections import namedtuple

import numpy as np
from mxnet import autograd, init, nd
from mxnet.gluon import loss as gloss
from mxnet.gluon import rnn as grnn

from .concise import RNNModel
from .mapping import _scratch_kind, gluon_to_scratch
from .scratch import KINDS, LAYER_PARAMS, NUM_STATES, gru_cudnn, init_state_fn, param_names

RTOL, ATOL = 1e-4, 1e-5
STATE_NAMES = {1: ("H",), 2: ("H", "C")}

Pair = namedtuple("Pair", "kind variant num_layers bidirectional num_hiddens vocab_size model "
                          "fn params ctx")
Pair.__doc__ = """A Gluon ``model`` and the scratch model ``fn(inputs, state, params)`` with
``params`` copied from it; ``variant`` is the GRU variant of the scratch side."""


def default_scale(num_hiddens):
    """0.5 / sqrt(num_hiddens): random recurrent weights of spectral radius about 0.5."""
    return 0.5 / np.sqrt(num_hiddens)


def gluon_layer(kind, num_hiddens, num_layers=1, bidirectional=False, input_size=0, dropout=0):
    """A Gluon recurrent layer matching the scratch ``kind`` ('rnn' is built with tanh, the
    scratch RNN's activation; Gluon's default would be ReLU)."""
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, input_size=input_size,
              dropout=dropout)
    if kind == "rnn":
        return grnn.RNN(num_hiddens, activation="tanh", **kw)
    if kind not in ("gru", "lstm"):
        raise ValueError("kind must be 'rnn', 'gru' or 'lstm', got %r" % (kind,))
    return {"gru": grnn.GRU, "lstm": grnn.LSTM}[kind](num_hiddens, **kw)


def build_pair(kind, vocab_size, num_hiddens, num_layers=1, bidirectional=False,
               variant="cudnn", ctx=None, scale=None, seed=0, random_biases=True):
    """A Gluon ``RNNModel`` and its scratch twin holding the same weights (a :class:`Pair`).

    Every weight (and, with ``random_biases``, every bias; else biases are zero as in the
    book) is drawn from N(0, scale^2) by ``numpy.random.RandomState(seed)``. The default
    scale, 0.5 / sqrt(num_hiddens), gives recurrent matrices of spectral radius about 0.5: at
    much larger scales a tanh RNN turns chaotic over 35 steps and amplifies float32 rounding
    (1e-7) into differences of 1e-5 that say nothing about the two implementations. ``variant``
    chooses the scratch GRU: 'cudnn' (:func:`d2l_rnn.gru_cudnn`, Gluon's equations) or 'book'
    (:func:`d2l_rnn.gru`, which computes the candidate differently).
    """
    skind = _scratch_kind(kind, variant)
    scale = default_scale(num_hiddens) if scale is None else scale
    model = RNNModel(gluon_layer(kind, num_hiddens, num_layers, bidirectional, vocab_size),
                     vocab_size)
    model.initialize(init.Zero(), ctx=ctx)
    # One tiny forward pass gives the dense layer its input size (deferred initialisation).
    model(nd.zeros((1, 1), ctx=ctx), model.begin_state(batch_size=1, ctx=ctx))
    rng = np.random.RandomState(seed)
    for p in model.collect_params().values():
        if random_biases or not p.name.endswith("bias"):
            p.set_data(nd.array(rng.normal(0, scale, p.shape), ctx=ctx))
    params = [nd.array(a, ctx=ctx) for a in gluon_to_scratch(model, variant)]
    for p in params:
        p.attach_grad()
    return Pair(kind, variant, num_layers, bidirectional, num_hiddens, vocab_size, model,
                KINDS[skind], params, ctx)


def scratch_state(pair, batch_size):
    """Zero state of the scratch side, stacked like Gluon's even for one unidirectional layer:
    arrays (num_layers * num_directions, batch, num_hiddens)."""
    LD = pair.num_layers * (2 if pair.bidirectional else 1)
    return tuple(nd.zeros((LD, batch_size, pair.num_hiddens), ctx=pair.ctx)
                 for _ in range(NUM_STATES[_scratch_kind(pair.kind, pair.variant)]))


def _difference(name, ours, theirs):
    a = ours.asnumpy() if hasattr(ours, "asnumpy") else np.asarray(ours)
    b = theirs.asnumpy() if hasattr(theirs, "asnumpy") else np.asarray(theirs)
    if a.shape != b.shape:
        raise ValueError("%s: scratch shape %s vs Gluon shape %s" % (name, a.shape, b.shape))
    diff = np.abs(a.astype(np.float64) - b)
    scale = float(np.abs(b).max()) if b.size else 0.0
    # Gradients of a mean loss are ~1e-8 here: an absolute tolerance of 1e-5 would pass any
    # error, so both sides are divided by max |Gluon| before the elementwise test.
    s = scale if scale > 0 else 1.0
    return {"name": name, "shape": list(a.shape), "max_abs": float(diff.max()),
            "max_rel": float(diff.max() / scale) if scale > 0 else float(diff.max() > 0),
            "allclose": bool(np.allclose(a / s, b / s, rtol=RTOL, atol=ATOL))}


def compare_batch(pair, X, Y):
    """Run one minibatch through both sides, backpropagate the mean cross-entropy, compare.

    X, Y: (batch, num_steps) token indices (Y is X shifted by one). Returns a list of rows
    ``{name, shape, max_abs, max_rel, allclose}``: the loss, the outputs (num_steps * batch,
    vocab), each final state (layers * directions, batch, h), and the gradient of every
    scratch parameter (Gluon's gradients mapped to the scratch layout). ``max_rel`` is
    max |scratch - Gluon| / max |Gluon|; ``allclose`` is ``numpy.allclose`` (rtol=1e-4,
    atol=1e-5) of both sides divided by max |Gluon|, so it means the same at every scale.
    """
    loss = gloss.SoftmaxCrossEntropyLoss()
    y = Y.T.reshape((-1,))
    with autograd.record():
        out_g, state_g = pair.model(X, pair.model.begin_state(batch_size=X.shape[0],
                                                              ctx=pair.ctx))
        l_g = loss(out_g, y).mean()
    l_g.backward()
    with autograd.record():
        out_s, state_s = pair.fn(X.T, scratch_state(pair, X.shape[0]), pair.params)
        l_s = loss(out_s, y).mean()
    l_s.backward()
    rows = [_difference("loss", l_s, l_g), _difference("outputs", out_s, out_g)]
    for name, s, g in zip(STATE_NAMES[len(state_s)], state_s, state_g):
        rows.append(_difference("final state " + name, s, g))
    names = param_names(_scratch_kind(pair.kind, pair.variant), pair.num_layers,
                        pair.bidirectional)
    grads_g = gluon_to_scratch(pair.model, pair.variant, grads=True)
    for name, p, g in zip(names, pair.params, grads_g):
        rows.append(_difference("grad " + name, p.grad, g))
    return rows


Comparison = namedtuple("Comparison", "settings rows book_gru")
Comparison.__doc__ = """``rows`` from :func:`compare_batch`; ``book_gru``: for a GRU, the
outputs/state rows of the book's GRU run on the same (Gluon) weights, else None."""


def compare(kind="gru", num_layers=1, bidirectional=False, variant="cudnn", num_hiddens=256,
            batch_size=32, num_steps=35, seed=0, scale=None, corpus=None, ctx=None):
    """Compare scratch and concise on the first minibatch of the lyrics (book settings).

    corpus: ``(corpus_indices, char_to_idx, idx_to_char, vocab_size)``, default the first
    10,000 characters of the lyrics. Returns a :class:`Comparison`.
    """
    from .data import data_iter_consecutive, load_data_jay_lyrics
    corpus_indices, _, _, vocab_size = corpus or load_data_jay_lyrics(num_chars=10000)
    X, Y = next(iter(data_iter_consecutive(corpus_indices, batch_size, num_steps, ctx)))
    pair = build_pair(kind, vocab_size, num_hiddens, num_layers, bidirectional, variant, ctx,
                      scale, seed)
    rows = compare_batch(pair, X, Y)
    book_gru = None
    if kind == "gru" and variant == "cudnn":
        # The book's GRU on Gluon's weights (the candidate's biases folded into one).
        book = pair._replace(variant="book", fn=KINDS["gru"],
                             params=[nd.array(a, ctx=ctx)
                                     for a in gluon_to_scratch(pair.model, "book")])
        out_b, state_b = book.fn(X.T, scratch_state(book, batch_size), book.params)
        out_g, state_g = pair.model(X, pair.model.begin_state(batch_size=batch_size, ctx=ctx))
        book_gru = [_difference("outputs", out_b, out_g),
                    _difference("final state H", state_b[0], state_g[0])]
    scale = default_scale(num_hiddens) if scale is None else scale
    settings = dict(kind=kind, num_layers=num_layers, bidirectional=bidirectional,
                    variant=variant if kind == "gru" else None, num_hiddens=num_hiddens,
                    batch_size=batch_size, num_steps=num_steps, seed=seed, scale=scale,
                    vocab_size=vocab_size)
    return Comparison(settings, rows, book_gru)


def format_comparison(c):
    """The comparison as a text table, with a one-line verdict (and the book-GRU lines)."""
    s = c.settings
    title = "%s%s, %d layer(s)%s, hidden %d, batch %d x %d steps, weights N(0, %.3g^2)" % (
        s["kind"].upper(), " (%s variant)" % s["variant"] if s["variant"] else "",
        s["num_layers"], ", bidirectional" if s["bidirectional"] else "", s["num_hiddens"],
        s["batch_size"], s["num_steps"], s["scale"])
    lines = [title, "%-22s %-16s %12s %12s  %s" % ("quantity", "shape", "max abs diff",
                                                  "max rel diff", "allclose")]
    for r in c.rows:
        lines.append("%-22s %-16s %12.3e %12.3e  %s" % (
            r["name"], "x".join(map(str, r["shape"])) or "()", r["max_abs"], r["max_rel"],
            "yes" if r["allclose"] else "NO"))
    bad = [r["name"] for r in c.rows if not r["allclose"]]
    lines.append("all %d quantities agree (rtol %g, atol %g, relative to max |Gluon|)"
                 % (len(c.rows), RTOL, ATOL)
                 if not bad else "%d of %d quantities differ beyond rtol %g, atol %g: %s"
                 % (len(bad), len(c.rows), RTOL, ATOL, ", ".join(bad)))
    if c.book_gru:
        lines.append("the book's GRU on the same weights (candidate biases folded): outputs "
                     "differ by up to %.3e (relative %.3e), final H by %.3e"
                     % (c.book_gru[0]["max_abs"], c.book_gru[0]["max_rel"],
                        c.book_gru[1]["max_abs"]))
    return "\n".join(lines)


SideBySide = namedtuple("SideBySide", "scratch concise texts seconds")
SideBySide.__doc__ = """Two :class:`~d2l_rnn.History` objects, ``texts`` {prefix: (scratch
text, concise text)} after training, and the seconds each side took."""


def _without_hidden_bias(pair):
    """The cuDNN GRU with ``b_hh`` held at zero: the scratch twin of a Gluon GRU whose
    ``h2h_bias`` is frozen (its r and z parts have no scratch counterpart)."""
    per = len(LAYER_PARAMS["gru_cudnn"])  # b_hh is the last of each layer and direction
    trained = [p for i, p in enumerate(pair.params[:-2]) if i % per != per - 1] \
        + pair.params[-2:]
    zeros = nd.zeros(pair.num_hiddens, ctx=pair.ctx)

    def gru_fixed_b_hh(inputs, state, params):
        full = []
        for i in range(0, len(params) - 2, per - 1):
            full += list(params[i:i + per - 1]) + [zeros]
        return gru_cudnn(inputs, state, full + list(params[-2:]))
    gru_fixed_b_hh.takes_token_indices = True
    return gru_fixed_b_hh, trained


def train_side_by_side(kind, corpus, num_epochs, num_layers=1, bidirectional=False,
                       variant="cudnn", num_hiddens=256, num_steps=35, batch_size=32, lr=100.0,
                       clipping_theta=0.01, pred_period=40, pred_len=50,
                       prefixes=("分开", "不分开"), seed=0, ctx=None, progress=None,
                       quiet=False, freeze_hidden_bias=False):
    """Train the scratch and the concise model from the same weights on the same batches.

    corpus: ``(corpus_indices, char_to_idx, idx_to_char, vocab_size)``. Weights are the
    book's (N(0, 0.01^2), zero biases), drawn once and copied to both sides. Each side prints
    the book's lines when not ``quiet``. Returns a :class:`SideBySide`.

    Gluon keeps two biases per gate where the scratch model has one, and SGD moves each of
    them by the full step, so Gluon's effective bias moves twice as fast (and counts twice in
    the clipping norm): the curves start together and then drift apart a little.
    ``freeze_hidden_bias=True`` freezes Gluon's ``h2h_bias`` at zero (and the cuDNN GRU's
    ``b_hh`` with it), which makes the two trainings the same computation.
    """
    from .predict import predict_rnn, predict_rnn_gluon
    from .train import train_and_predict_rnn, train_and_predict_rnn_gluon
    corpus_indices, char_to_idx, idx_to_char, vocab_size = corpus
    pair = build_pair(kind, vocab_size, num_hiddens, num_layers, bidirectional, variant, ctx,
                      scale=0.01, seed=seed, random_biases=False)
    init_state = init_state_fn(_scratch_kind(kind, variant), num_layers, bidirectional)
    fn, params = pair.fn, pair.params
    if freeze_hidden_bias:
        for name, p in pair.model.rnn.collect_params().items():
            if name.endswith("h2h_bias"):
                p.grad_req = "null"
        if pair.fn is gru_cudnn:
            fn, params = _without_hidden_bias(pair)
        elif kind == "gru":
            raise ValueError("freeze_hidden_bias needs the cuDNN GRU (variant='cudnn')")
    common = (num_epochs, num_steps, lr, clipping_theta, batch_size, pred_period, pred_len,
              list(prefixes))
    extras = dict(seed=seed, progress=progress, quiet=quiet)
    seconds = []
    t = time.time()
    scratch = train_and_predict_rnn(fn, lambda: params, init_state, num_hiddens,
                                    vocab_size, ctx, corpus_indices, idx_to_char, char_to_idx,
                                    False, *common, **extras)
    seconds.append(time.time() - t)
    t = time.time()
    concise = train_and_predict_rnn_gluon(pair.model, num_hiddens, vocab_size, ctx,
                                          corpus_indices, idx_to_char, char_to_idx, *common,
                                          initialize=False, **extras)
    seconds.append(time.time() - t)
    texts = {p: (predict_rnn(p, pred_len, fn, params, init_state, num_hiddens,
                             vocab_size, ctx, idx_to_char, char_to_idx),
                 predict_rnn_gluon(p, pred_len, pair.model, vocab_size, ctx, idx_to_char,
                                   char_to_idx))
             for p in prefixes}
    return SideBySide(scratch, concise, texts, tuple(seconds))


def plot_side_by_side(result, ax=None, title=None):
    """Both perplexity curves of a :class:`SideBySide` on one figure; returns the Axes."""
    from .plot import plot_perplexity
    return plot_perplexity({"scratch": result.scratch, "concise (Gluon)": result.concise},
                           ax=ax, title=title)


# ---------------------------------------------------------------------------------- CLI ----

def add_subcommand(subparsers):
    """Register ``compare``: scratch vs concise on shared weights."""
    from .cli import _positive_int
    p = subparsers.add_parser(
        "compare", help="scratch vs concise (Gluon) on the same weights: differences of "
                        "outputs, states and gradients",
        description="Copy one set of random weights into a Gluon RNNModel and the scratch "
                    "model, run the first minibatch of the lyrics through both, backpropagate "
                    "the same loss and print the largest differences; optionally train both "
                    "side by side from the same weights.")
    p.add_argument("--model", choices=("rnn", "gru", "lstm"), default="gru",
                   help="cell (default %(default)s); Gluon's RNN is built with tanh")
    p.add_argument("--layers", type=_positive_int, default=1, help="stacked layers")
    p.add_argument("--bidirectional", action="store_true", help="bidirectional layers")
    p.add_argument("--gru-variant", choices=("cudnn", "book"), default="cudnn",
                   help="scratch GRU: 'cudnn' (Gluon's equations, exact) or 'book' (the "
                        "book's candidate, shows how far it is from Gluon's)")
    p.add_argument("--num-hiddens", type=_positive_int, default=256, help="hidden units")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="sequences")
    p.add_argument("--num-steps", type=_positive_int, default=35, help="time steps")
    p.add_argument("--scale", type=float, default=None,
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
    p.set_defaults(func=cmd_compare)


def cmd_compare(args):
    """Run ``compare``; returns the exit status (1 when the exact comparison disagrees)."""
    import json
    from .cli import CLIError
    from .data import load_data_jay_lyrics
    from .fileio import write_text_atomic
    if args.train < 0:
        raise CLIError("--train must be 0 (no training run) or a number of epochs, got %d"
                       % args.train)
    if args.freeze_hidden_bias and args.model == "gru" and args.gru_variant == "book":
        raise CLIError("--freeze-hidden-bias needs --gru-variant cudnn (the book's GRU has no "
                       "Gluon twin to train side by side exactly)")
    if args.plot and not args.train:
        raise CLIError("--plot needs --train EPOCHS (the curves come from the training run)")
    if args.scale is not None and args.scale <= 0:
        raise CLIError("--scale must be positive, got %g" % args.scale)
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
            from .plot import save_figure
            ax = plot_side_by_side(r, title="%s: scratch vs concise" % args.model)
            save_figure(ax.figure, args.plot)
            print("plot saved to %s" % args.plot)
    if args.json:
        write_text_atomic(args.json, json.dumps(report, ensure_ascii=False, indent=1))
        print("JSON written to %s" % args.json)
    return status
