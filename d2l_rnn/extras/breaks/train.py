"""Training one break tagger and scoring it on the held-out part after every epoch.

The pieces are the package's: the minibatch pass and the progress bar
(:mod:`d2l_rnn.training.progress`), the divergence check (:mod:`d2l_rnn.training.divergence`),
the per-epoch record (:class:`d2l_rnn.training.History`) and the optimiser
(:class:`d2l_rnn.util.optim.Optimizer`: Adam after global-norm clipping, cosine decay).
"""
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

import mxnet as mx
import numpy as np
from mxnet import autograd, nd
from mxnet.gluon import loss as gloss

from ...training import History, Progress, check_losses, run_epoch
from ...util import checks
from ...util.optim import Optimizer, cosine_decay
from ...util.seeding import seed_everything
from .defaults import DEFAULTS
from .evaluate import break_metrics, majority_baseline, predict_break_probs
from .labels import UNK, BreakData, insert_breaks, load_break_data
from .models import build_tagger, check_kind_and_impl

METRICS = ("accuracy", "precision", "recall", "f1")


@dataclass
class BreakTaggerResult:
    """A trained break tagger, its history and its held-out scores.

    ``history``: a :class:`~d2l_rnn.training.History` of ``train_loss`` and, on the held-out
    part, ``accuracy``, ``precision``, ``recall``, ``f1``, with the ``seconds`` of training
    per epoch; iterating it gives one dict per epoch (``{"epoch": 1, "train_loss": ...}``).
    ``metrics``: the held-out scores after the last epoch (see :func:`break_metrics`);
    ``baseline``: those of the majority class; ``val_predicted``: the predicted held-out
    labels (n_val,); ``train_seconds``: training time without the evaluations.
    """
    settings: dict
    history: History
    metrics: dict
    baseline: dict
    val_predicted: np.ndarray
    train_seconds: float
    data: BreakData = field(repr=False)
    tagger: object = field(repr=False)
    ctx: object = field(default=None, repr=False)

    @property
    def name(self):
        """E.g. ``'bidirectional gru'``."""
        return "%s %s" % ("bidirectional" if self.settings["bidirectional"]
                          else "unidirectional", self.settings["kind"])

    def predict_labels(self, text):
        """Break labels (n,) int8 for ``text``, whose whitespace is removed first (n
        characters are left); characters outside the vocabulary are read as :data:`UNK`."""
        chars = "".join(text.split())
        c2i = self.data.char_to_idx
        unk = c2i[UNK]
        probs = predict_break_probs(self.tagger, [c2i.get(c, unk) for c in chars],
                                    self.settings["num_steps"], ctx=self.ctx)
        return (probs > 0.5).astype(np.int8)

    def restore(self, text):
        """``text`` (whitespace ignored) with a space after each character predicted to end a
        phrase: str -> str."""
        chars = "".join(text.split())
        return insert_breaks(chars, self.predict_labels(chars))

    def as_dict(self):
        """JSON-ready summary (no parameters); ``history`` is a list of per-epoch dicts."""
        return {"model": self.name, "settings": dict(self.settings),
                "history": list(self.history), "metrics": self.metrics,
                "baseline": self.baseline, "train_seconds": self.train_seconds}


def train_break_tagger(kind="gru", bidirectional=False, impl="scratch",
                       num_hiddens=DEFAULTS["num_hiddens"], num_layers=DEFAULTS["num_layers"],
                       num_steps=DEFAULTS["num_steps"], batch_size=DEFAULTS["batch_size"],
                       lr=DEFAULTS["lr"], num_epochs=DEFAULTS["num_epochs"], seed=0, data=None,
                       progress=None, quiet=False, clipping_theta=DEFAULTS["clipping_theta"],
                       embed_size=DEFAULTS["embed_size"], weight_decay=0.0, char_dropout=0.0,
                       ctx=None, say: Optional[Callable] = print):
    """Train a break tagger on ``data``'s training part; score it on the held-out part.

    Training: every epoch cuts the training characters into non-overlapping windows of
    ``num_steps`` from a random offset, shuffles them and reads each from a zero state (a
    tagging task, not a language model: no state is carried from window to window). The loss
    is the softmax cross-entropy of each character's label, averaged over the num_steps x
    batch_size characters of a minibatch; the update is MXNet's Adam after global-norm
    clipping at ``clipping_theta``, its learning rate decayed from ``lr`` to 0 along a half
    cosine over the whole run; the same for both paths. After each epoch the held-out part is
    tagged as :func:`predict_break_probs` describes, a break predicted where its probability
    exceeds 0.5, and scored with :func:`break_metrics`.

    Parameters
    ----------
    kind : {'gru', 'lstm', 'rnn'}
    bidirectional : bool
    impl : {'scratch', 'concise'}
    num_hiddens, num_layers, num_steps, batch_size, num_epochs : int
        Hidden units per direction, stacked layers, characters per window (training and
        evaluation, at least 4), windows per minibatch, passes over the training part.
    lr : float
        Adam's initial learning rate.
    seed : int
        Seeds Python, NumPy and MXNet, and the window order.
    data : BreakData or None
        None loads the whole lyrics corpus (:func:`load_break_data`).
    progress : bool or None
        A progress bar on stderr; None shows it when stderr is a terminal.
    quiet : bool
        No line per epoch.
    clipping_theta : float or None
        Global gradient-norm threshold (None: no clipping).
    embed_size : int
        Concise only: the embedding width (see :class:`ConciseTagger`).
    weight_decay : float
        Adam's L2 penalty (``wd``), >= 0.
    char_dropout : float
        In [0, 1): the share of training input characters replaced by :data:`UNK` (labels
        kept), a regulariser for both paths alike.
    ctx : mxnet.Context or None
        Where to train (default: CPU).
    say : callable or None
        Receives the line per epoch (default: print).

    Returns
    -------
    BreakTaggerResult
        ``history`` has num_epochs entries; ``val_predicted`` is (n_val,).
    """
    data = load_break_data() if data is None else data
    _check_args(kind, impl, num_hiddens, num_layers, num_steps, batch_size, lr, num_epochs,
                clipping_theta, embed_size, weight_decay, char_dropout,
                len(data.train_labels))
    show_bar = sys.stderr.isatty() if progress is None else bool(progress)
    ctx = ctx or mx.cpu()
    seed_everything(seed)
    rng = np.random.RandomState(seed)
    tagger = build_tagger(kind, impl, data.vocab_size, num_hiddens, num_layers,
                          bool(bidirectional), embed_size, ctx)
    # All epochs' windows are drawn up front so the learning-rate decay knows the step count.
    schedule = [_epoch_windows(len(data.train_labels), num_steps, batch_size, rng)
                for _ in range(num_epochs)]
    # The decay ends training in a minimum rather than wherever the last large steps left
    # it, so the final held-out scores do not jump from one epoch to the next.
    optimizer = Optimizer(tagger.arrays, "adam", lr, clipping_theta,
                          cosine_decay(sum(len(b) for b in schedule)), wd=weight_decay)
    step = _train_step(tagger, optimizer, data, num_steps, char_dropout, rng, ctx)
    settings = {"kind": kind, "impl": impl, "bidirectional": bool(bidirectional),
                "num_hiddens": num_hiddens, "num_layers": num_layers, "num_steps": num_steps,
                "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs, "seed": seed,
                "clipping_theta": clipping_theta, "optimizer": "adam, cosine decay",
                "weight_decay": weight_decay, "char_dropout": char_dropout,
                "embed_size": embed_size if impl == "concise" else None,
                "train_chars": int(len(data.train_labels)),
                "val_chars": int(len(data.val_labels)),
                "eval": "windows of num_steps, centre half scored"}
    baseline = majority_baseline(data.val_labels)
    history = History("train_loss", *METRICS, "seconds")
    train_seconds, predicted, metrics = 0.0, None, None
    label = "%s %s%s" % (impl, "bi-" if bidirectional else "", kind)
    for epoch in range(1, num_epochs + 1):
        windows = schedule[epoch - 1]
        first_step = optimizer.steps
        # One bar per epoch, gone before the epoch's line is printed.
        bar = Progress(len(windows), desc="%s epoch %d/%d" % (label, epoch, num_epochs),
                       enabled=show_bar)
        values, seconds = run_epoch(((starts,) for starts in windows), step, bar)
        bar.close()
        check_losses(values[:, 0], epoch, lr, first_step=first_step,
                     clipping_theta=clipping_theta, advice="Lower the learning rate.")
        train_loss = float(values[:, 0].mean())
        train_seconds += seconds
        probs = predict_break_probs(tagger, data.val_indices, num_steps, ctx=ctx)
        predicted = (probs > 0.5).astype(np.int8)
        metrics = break_metrics(data.val_labels, predicted)
        history.record(epoch, train_loss=train_loss, **{k: metrics[k] for k in METRICS},
                       seconds=seconds)
        if not quiet and say is not None:
            say("%s epoch %d: loss %.4f, held-out accuracy %.4f, precision %.3f, recall "
                "%.3f, F1 %.3f (%.1f s)" % (label, epoch, train_loss, metrics["accuracy"],
                                            metrics["precision"], metrics["recall"],
                                            metrics["f1"], seconds))
    return BreakTaggerResult(settings, history, metrics, baseline, predicted, train_seconds,
                             data, tagger, ctx)


def _check_args(kind, impl, num_hiddens, num_layers, num_steps, batch_size, lr, num_epochs,
                clipping_theta, embed_size, weight_decay, char_dropout, n_train):
    check_kind_and_impl(kind, impl)
    for name, v in (("num_hiddens", num_hiddens), ("num_layers", num_layers),
                    ("num_steps", num_steps), ("batch_size", batch_size),
                    ("num_epochs", num_epochs), ("embed_size", embed_size)):
        checks.positive_int(name, v)
    if num_steps < 4:
        raise ValueError("num_steps must be at least 4 (windows are scored in their centre "
                         "half), got %d" % num_steps)
    checks.positive_number("lr", lr)
    checks.positive_number("clipping_theta", clipping_theta, allow_none=True,
                           none_means="no clipping")
    checks.non_negative_number("weight_decay", weight_decay)
    checks.fraction("char_dropout", char_dropout)
    # Windows start at a random offset below num_steps; every epoch must fill one batch.
    windows = (n_train - num_steps + 1) // num_steps
    if windows < batch_size:
        raise ValueError(
            "the training part has %d characters: too few for one minibatch of batch_size=%d "
            "windows of num_steps=%d (it needs at least %d). Use more text (num_chars), a "
            "smaller batch_size or a smaller num_steps."
            % (n_train, batch_size, num_steps, batch_size * num_steps + num_steps - 1))


def _epoch_windows(n, num_steps, batch_size, rng):
    """Start offsets (num_batches, batch_size) of non-overlapping windows from a random
    offset, shuffled; an incomplete last batch is dropped (one compiled shape)."""
    offset = rng.randint(num_steps)
    starts = np.arange(offset, n - num_steps + 1, num_steps)
    rng.shuffle(starts)
    num_batches = len(starts) // batch_size
    return starts[:num_batches * batch_size].reshape(num_batches, batch_size)


def _train_step(tagger, optimizer, data, num_steps, char_dropout, rng, ctx):
    """The work of one minibatch, given its window starts (batch_size,): forward, loss,
    backward, update; returns the mean loss (1,), left on the device."""
    train_x = data.train_indices.astype(np.float32)
    train_y = data.train_labels.astype(np.float32)
    offsets = np.arange(num_steps)
    unk = data.char_to_idx[UNK]
    loss_fn = gloss.SoftmaxCrossEntropyLoss()

    def step(starts):
        rows = starts[None, :] + offsets[:, None]  # (num_steps, batch): time-major
        x = train_x[rows]
        if char_dropout:
            x = np.where(rng.rand(*x.shape) < char_dropout, unk, x)
        X, Y = nd.array(x, ctx=ctx), nd.array(train_y[rows], ctx=ctx)
        with autograd.record():
            logits = tagger(X)
            loss = loss_fn(logits.reshape((-1, 2)), Y.reshape((-1,))).mean()
        loss.backward()
        optimizer.step()
        return loss.reshape((1,))
    return step
