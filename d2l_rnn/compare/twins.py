"""Scratch vs concise on one set of weights: outputs, final states and gradients side by side.

``build_pair`` makes a Gluon :class:`~d2l_rnn.RNNModel` and copies its weights into the scratch
parameter list (:mod:`d2l_rnn.compare.mapping`); ``compare_batch`` runs one minibatch through
both, backpropagates the same loss and reports the largest differences.
"""
import dataclasses
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from mxnet import autograd, init, nd
from mxnet.gluon import loss as gloss

from ..data import data_iter_consecutive, load_data_jay_lyrics
from ..models import ConciseModel, ModelConfig, RNNModel, ScratchModel, gluon_layer, registry
from ..models.scratch import model_function, param_names, zero_state
from ..training.config import TrainConfig
from .mapping import gluon_to_scratch

RTOL, ATOL = 1e-4, 1e-5


@dataclass
class Pair:
    """A Gluon model and its scratch twin holding the same weights.

    ``concise``: a :class:`~d2l_rnn.models.ConciseModel` (its Gluon ``RNNModel`` is
    ``model``); ``scratch``: a :class:`~d2l_rnn.models.ScratchModel` (its function ``fn``,
    its parameter list ``params``) whose state is stacked like Gluon's, (num_layers *
    num_directions, batch, num_hiddens); ``variant``: the GRU variant of the scratch side.
    """
    kind: str
    variant: str
    concise: ConciseModel
    scratch: ScratchModel

    @property
    def model(self):
        """The Gluon :class:`~d2l_rnn.RNNModel`."""
        return self.concise.net

    @property
    def params(self):
        """The scratch parameter list."""
        return self.scratch.params

    @property
    def fn(self):
        """The scratch model function."""
        return self.scratch.fn

    @property
    def config(self):
        """The scratch side's :class:`~d2l_rnn.models.ModelConfig`."""
        return self.scratch.config


def default_scale(num_hiddens):
    """0.5 / sqrt(num_hiddens): random recurrent weights of spectral radius about 0.5."""
    return 0.5 / np.sqrt(num_hiddens)


def stacked_state_fn(kind, num_layers, bidirectional):
    """``init_state(batch, h, ctx)`` giving states stacked like Gluon's even for one
    unidirectional layer: (num_layers * num_directions, batch, h)."""
    n = registry.get(kind).num_states

    def init_state(batch_size, num_hiddens, ctx=None):
        return zero_state(n, batch_size, num_hiddens, ctx, num_layers, bidirectional)
    return init_state


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
    skind = registry.scratch_kind(kind, variant).name
    scale = default_scale(num_hiddens) if scale is None else scale
    model = RNNModel(gluon_layer(kind, num_hiddens, num_layers, bidirectional,
                                 activation="tanh", input_size=vocab_size), vocab_size)
    # The Gluon side is Gluon's own RNN operator, not the scratch kernels RNNModel would
    # otherwise compute it with: a comparison of the scratch code with itself proves nothing.
    model.fused = False
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
    concise = ConciseModel(model, ModelConfig("concise", kind, vocab_size, num_hiddens,
                                              num_layers, bidirectional, activation="tanh"),
                           ctx)
    scratch = ScratchModel(model_function(skind), params,
                           stacked_state_fn(skind, num_layers, bidirectional),
                           ModelConfig("scratch", skind, vocab_size, num_hiddens, num_layers,
                                       bidirectional), ctx)
    return Pair(kind, variant, concise, scratch)


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
    results = []
    for side in (pair.concise, pair.scratch):
        with autograd.record():
            out, state = side(X, side.begin_state(X.shape[0]))
            l = loss(out, y).mean()
        l.backward()
        results.append((l, out, state))
    (l_g, out_g, state_g), (l_s, out_s, state_s) = results
    rows = [_difference("loss", l_s, l_g), _difference("outputs", out_s, out_g)]
    for name, s, g in zip(pair.config.kind.states, state_s, state_g):
        rows.append(_difference("final state " + name, s, g))
    c = pair.config
    names = param_names(c.model, c.num_layers, c.bidirectional)
    grads_g = gluon_to_scratch(pair.model, pair.variant, grads=True)
    for name, p, g in zip(names, pair.params, grads_g):
        rows.append(_difference("grad " + name, p.grad, g))
    return rows


Comparison = namedtuple("Comparison", "settings rows book_gru")
Comparison.__doc__ = """``rows`` from :func:`compare_batch`; ``book_gru``: for a GRU, the
outputs/state rows of the book's GRU run on the same (Gluon) weights, else None."""


_BOOK_MODEL, _BOOK_TRAINING = ModelConfig(), TrainConfig()


def compare(kind="gru", num_layers=1, bidirectional=False, variant="cudnn",
            num_hiddens=_BOOK_MODEL.num_hiddens, batch_size=_BOOK_TRAINING.batch_size,
            num_steps=_BOOK_TRAINING.num_steps, seed=0, scale=None, corpus=None, ctx=None):
    """Compare scratch and concise on the first minibatch of the lyrics (book settings).

    corpus: ``(corpus_indices, char_to_idx, idx_to_char, vocab_size)``, default the first
    10,000 characters of the lyrics. Returns a :class:`Comparison`.
    """
    corpus_indices, _, _, vocab_size = corpus or load_data_jay_lyrics(num_chars=10000)
    X, Y = next(iter(data_iter_consecutive(corpus_indices, batch_size, num_steps, ctx)))
    pair = build_pair(kind, vocab_size, num_hiddens, num_layers, bidirectional, variant, ctx,
                      scale, seed)
    rows = compare_batch(pair, X, Y)
    book_gru = None
    if kind == "gru" and variant == "cudnn":
        # The book's GRU on Gluon's weights (the candidate's biases folded into one).
        book_params = [nd.array(a, ctx=ctx) for a in gluon_to_scratch(pair.model, "book")]
        book = ScratchModel(model_function("gru"), book_params,
                            stacked_state_fn("gru", num_layers, bidirectional),
                            dataclasses.replace(pair.config, model="gru"), ctx)
        out_b, state_b = book(X, book.begin_state(batch_size))
        out_g, state_g = pair.concise(X, pair.concise.begin_state(batch_size))
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
