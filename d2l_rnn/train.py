"""One training loop for scratch model functions and Gluon models: the book's calls, plus a
returned history, a seed, a progress bar, a callback, a divergence check, a held-out
validation perplexity, checkpoints and exact resume.

The loop keeps the book's arithmetic (mean cross-entropy over batch x steps, global-norm
clipping, plain SGD, state reset per batch for random sampling and detached between
consecutive batches) but does not wait on the device after every batch: the losses stay on
the device until the end of the epoch, and clipping never reads the norm back to the host.

Exact resume: the random streams a run uses are Python's ``random`` (random sampling's
shuffles), whose state goes into every checkpoint, and MXNet's, which cannot be read back; so
when a seed is given MXNet is re-seeded at the start of every epoch from (seed, epoch), and a
run resumed at epoch k draws what an uninterrupted run draws from epoch k on.
"""
import math
import sys
import time
import warnings

import mxnet as mx
import numpy as np
from mxnet import autograd, init, nd
from mxnet.gluon import loss as gloss
from tqdm import tqdm

from .data import data_iter_consecutive, data_iter_random
from .predict import (check_prefix, check_sampling, predict_rnn, predict_rnn_gluon,
                      scratch_step)
from .fused import mean_cross_entropy
from .utils import clipped_sgd_step, seed_everything


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


class _Curve(object):
    def __init__(self, epochs, perplexity):
        self.epochs, self.perplexity = epochs, perplexity


class History(object):
    """What a training run produced: per-epoch perplexities and seconds, and generated texts.

    Attributes: ``epochs`` (list of int, 1-based), ``perplexity`` (training) and ``seconds``
    (lists of float, one per epoch), ``val_perplexity`` (one per epoch when there is a
    validation split, else empty), ``samples`` ({epoch: {prefix: text}} every
    ``pred_period`` epochs), ``memorisation`` ((epoch, training, validation perplexity) when
    the memorisation warning was given, else None), ``checkpoint`` (the last checkpoint
    directory written, or None), ``params`` (scratch: the trained parameter list) or
    ``model`` (Gluon).
    """

    def __init__(self):
        self.epochs, self.perplexity, self.seconds, self.samples = [], [], [], {}
        self.val_perplexity = []
        self.memorisation = None
        self.steps = 0
        self.checkpoint = None
        self.params = None
        self.model = None

    @property
    def best_epoch(self):
        """The epoch with the lowest validation perplexity (None without validation)."""
        if not self.val_perplexity:
            return None
        return self.epochs[int(np.argmin(self.val_perplexity))]

    @property
    def best_val_perplexity(self):
        """The lowest validation perplexity (None without validation)."""
        return min(self.val_perplexity) if self.val_perplexity else None

    def as_dict(self):
        """The history as plain JSON-ready data."""
        return {"epochs": self.epochs, "perplexity": self.perplexity, "seconds": self.seconds,
                "val_perplexity": self.val_perplexity,
                "best_epoch": self.best_epoch, "best_val_perplexity": self.best_val_perplexity,
                "memorisation": list(self.memorisation) if self.memorisation else None,
                "steps": self.steps,
                "samples": {str(k): v for k, v in self.samples.items()}}

    @classmethod
    def from_dict(cls, d):
        """A History from :meth:`as_dict` data (parameters and model are not part of it)."""
        h = cls()
        h.epochs, h.perplexity = list(d["epochs"]), list(d["perplexity"])
        h.seconds = list(d["seconds"])
        h.val_perplexity = list(d.get("val_perplexity") or [])
        h.memorisation = tuple(d["memorisation"]) if d.get("memorisation") else None
        h.steps = int(d.get("steps", 0))
        h.samples = {int(k): v for k, v in d.get("samples", {}).items()}
        return h

    def plot(self, ax=None, label=None):
        """Plot training (and validation) perplexity against epoch, log scale; returns the
        matplotlib Axes."""
        from .plot import plot_perplexity
        curves = {label or "training": self}
        if self.val_perplexity:
            curves["validation"] = _Curve(self.epochs, self.val_perplexity)
        return plot_perplexity(curves, ax=ax)

    def __repr__(self):
        if not self.epochs:
            return "History(no epochs)"
        val = ("" if not self.val_perplexity else
               ", best validation perplexity %.3f at epoch %d"
               % (self.best_val_perplexity, self.best_epoch))
        return ("History(%d epochs, final perplexity %.3f%s, median %.3f s/epoch)"
                % (len(self.epochs), self.perplexity[-1], val,
                   float(np.median(self.seconds))))


def _positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError("%s must be a positive integer, got %r" % (name, v))


def _check_hparams(num_hiddens, num_epochs, num_steps, lr, clipping_theta, batch_size,
                   pred_period, pred_len, prefixes, char_to_idx):
    for name, v in (("num_hiddens", num_hiddens), ("num_epochs", num_epochs),
                    ("num_steps", num_steps), ("batch_size", batch_size),
                    ("pred_period", pred_period)):
        _positive_int(name, v)
    if isinstance(pred_len, bool) or not isinstance(pred_len, (int, np.integer)) \
            or pred_len < 0:
        raise ValueError("pred_len must be an integer >= 0, got %r" % (pred_len,))
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError("lr must be a positive finite number, got %r" % (lr,))
    if clipping_theta is not None and not (isinstance(clipping_theta, (int, float))
                                           and clipping_theta > 0):
        raise ValueError("clipping_theta must be a positive number or None (no clipping), "
                         "got %r" % (clipping_theta,))
    prefixes = [prefixes] if isinstance(prefixes, str) else list(prefixes or [])
    for prefix in prefixes:
        check_prefix(prefix, char_to_idx)
    return prefixes


def _epoch_seed(seed, epoch):
    # Distinct, reproducible MXNet seeds per epoch; see the module docstring.
    return (seed * 1000003 + epoch) % (2 ** 31 - 1)


def split_corpus(corpus_indices, val_fraction):
    """Split a corpus by characters: the first ``1 - val_fraction`` for training, the last
    ``val_fraction`` for validation (never shuffled together). Returns ``(train, val)``
    lists; ``val`` is None when ``val_fraction`` is 0."""
    if not (isinstance(val_fraction, (int, float)) and 0 <= val_fraction < 1):
        raise ValueError("val_fraction must be a number in [0, 1), got %r" % (val_fraction,))
    if val_fraction == 0:
        return list(corpus_indices), None
    n = len(corpus_indices)
    n_val = int(round(n * val_fraction))
    if n_val < 2 or n - n_val < 2:
        raise ValueError("val_fraction=%g of %d characters leaves %d for validation and %d "
                         "for training; both need at least 2. Use more text or another "
                         "fraction." % (val_fraction, n, n_val, n - n_val))
    return list(corpus_indices[:n - n_val]), list(corpus_indices[n - n_val:])


def evaluate_perplexity(forward, begin_state, indices, batch_size, num_steps, ctx=None):
    """Perplexity of a model on a held-out character stream (a list of indices), a float.

    The stream is cut into at most ``batch_size`` contiguous pieces of at least
    ``4 * num_steps`` characters, each read from a zero state in windows of ``num_steps``
    with the state carried over; every character but the first is predicted exactly once.
    No gradient is recorded; the losses are read back once.
    """
    n = len(indices)
    if n < 2:
        raise ValueError("the validation stream needs at least 2 characters, got %d" % n)
    b = max(1, min(batch_size, (n - 1) // (4 * num_steps)))
    length = (n - 1) // b
    data = np.asarray(indices[:b * length + 1], dtype=np.float32)
    rows = np.arange(b)[:, None] * length + np.arange(length)
    X_all, Y_all = data[rows], data[rows + 1]
    loss = gloss.SoftmaxCrossEntropyLoss()
    state = begin_state(b)
    totals = []
    for j in range(0, length, num_steps):
        X = nd.array(X_all[:, j:j + num_steps], ctx=ctx)
        Y = nd.array(Y_all[:, j:j + num_steps], ctx=ctx)
        outputs, state = forward(X, state)
        totals.append(loss(outputs, Y.T.reshape((-1,))).sum())
    total = float(nd.add_n(*totals).asscalar()) if len(totals) > 1 \
        else float(totals[0].asscalar())
    return math.exp(total / (b * length))


class _Run(object):
    """The new, keyword-only parts of a run that both trainers pass to :func:`_fit`."""

    def __init__(self, val_indices=None, start_epoch=0, seed=None, save=None,
                 save_every=None, save_best=True, overfit_ratio=2.0):
        self.val_indices, self.start_epoch, self.seed = val_indices, start_epoch, seed
        self.save, self.save_every, self.save_best = save, save_every, save_best
        self.overfit_ratio = overfit_ratio


def _batches_per_epoch(n, batch_size, num_steps, is_random_iter):
    if is_random_iter:
        return max(0, ((n - 1) // num_steps) // batch_size)
    return max(0, (n // batch_size - 1) // num_steps)


def _check_memorisation(history, epoch, ppl, val_ppl, best, ratio, say):
    """Warn once when the model memorises: far better on the training text, and no longer
    better on held-out text (a validation text that is merely harder gives a gap from the
    first epoch on, without anything being memorised)."""
    if (val_ppl is not None and history.memorisation is None and best is not None
            and val_ppl > best and ppl * ratio < val_ppl):
        history.memorisation = (epoch, ppl, val_ppl)
        say("warning: at epoch %d the training perplexity %.3f is far below the validation "
            "perplexity %.3f: the model is memorising the training text rather than "
            "learning the language. Use more text, fewer epochs or a smaller model."
            % (epoch, ppl, val_ppl))


def _save_if_due(run, history, epoch, improved, final):
    """Checkpoint every ``save_every`` epochs, at the end, and at each new best validation
    perplexity; the plot is redrawn with the periodic and final saves only."""
    periodic = run.save_every is not None and epoch % run.save_every == 0
    if periodic or final or (improved and run.save_best):
        tags = ["latest"] + (["best"] if improved else [])
        history.checkpoint = run.save(epoch, history, tags, plot=periodic or final)


def _fit(forward, weights_and_grads, begin_state, corpus_indices, is_random_iter, num_epochs,
         num_steps, lr, clipping_theta, batch_size, ctx, pred_period, pred_len, prefixes,
         predict, history, progress, callback, quiet, run=None):
    """The loop both public trainers share. ``forward(X, state) -> (logits, state)``,
    ``weights_and_grads()`` the arrays SGD updates, ``begin_state(batch)`` a zero state,
    ``predict(prefix, pred_len, epoch)`` the text printed for a prefix."""
    run = run or _Run()
    data_iter_fn = data_iter_random if is_random_iter else data_iter_consecutive
    if progress is None:
        progress = (not quiet) and sys.stderr.isatty()
    # The bar advances per minibatch (no host sync: it only counts); the loss, perplexities
    # and tokens per second in its postfix are those of the last finished epoch.
    per_epoch = _batches_per_epoch(len(corpus_indices), batch_size, num_steps, is_random_iter)
    bar = tqdm(total=num_epochs * per_epoch, initial=run.start_epoch * per_epoch,
               desc="epoch %d/%d" % (run.start_epoch + 1, num_epochs), unit="batch",
               disable=not progress, file=sys.stderr, leave=False)
    say = (lambda s: None) if quiet else (tqdm.write if progress else print)
    best = history.best_val_perplexity
    if run.start_epoch >= num_epochs:
        say("the checkpoint is at epoch %d already; nothing to train for num_epochs=%d"
            % (run.start_epoch, num_epochs))
    for epoch in range(run.start_epoch, num_epochs):
        if run.seed is not None:
            mx.random.seed(_epoch_seed(run.seed, epoch))
        if not is_random_iter:
            state = begin_state(batch_size)
        start = time.time()
        losses, n_tokens = [], 0
        for X, Y in data_iter_fn(corpus_indices, batch_size, num_steps, ctx):
            if is_random_iter:
                state = begin_state(batch_size)
            else:
                state = [s.detach() for s in state]
            with autograd.record():
                outputs, state = forward(X, state)
                y = Y.T.reshape((-1,))
                l = mean_cross_entropy(outputs, y)
            l.backward()
            weights, grads = weights_and_grads()
            clipped_sgd_step(weights, grads, lr, clipping_theta)
            losses.append(l)
            n_tokens += y.size
            bar.update(1)
        batch_losses = nd.concat(*losses, dim=0).asnumpy().astype(np.float64)
        seconds = time.time() - start
        # A mean cross-entropy above ~709 nats already makes the perplexity overflow.
        ok = np.isfinite(batch_losses) & (batch_losses < 700)
        if not ok.all():
            bad = int(np.argmin(ok))
            raise TrainingDiverged(
                "the training loss diverged to %s at epoch %d, minibatch %d (step %d) with lr=%g "
                "and clipping_theta=%s. Lower the learning rate or clip the gradients "
                "(clipping_theta, the book uses 0.01)."
                % (batch_losses[bad], epoch + 1, bad + 1, history.steps + bad + 1, lr,
                   clipping_theta))
        history.steps += len(batch_losses)
        ppl = math.exp(batch_losses.mean())
        history.epochs.append(epoch + 1)
        history.perplexity.append(ppl)
        history.seconds.append(seconds)
        postfix = dict(loss="%.3f" % batch_losses.mean(), ppl="%.2f" % ppl)
        line = "epoch %d, perplexity %f, " % (epoch + 1, ppl)
        val_ppl = None
        if run.val_indices is not None:
            val_ppl = evaluate_perplexity(forward, begin_state, run.val_indices, batch_size,
                                          num_steps, ctx)
            history.val_perplexity.append(val_ppl)
            postfix["val_ppl"] = "%.2f" % val_ppl
            line += "validation perplexity %f, " % val_ppl
        postfix["tok/s"] = "%.0f" % (n_tokens / max(seconds, 1e-9))
        bar.set_description("epoch %d/%d" % (min(epoch + 2, num_epochs), num_epochs),
                            refresh=False)
        bar.set_postfix(postfix)
        _check_memorisation(history, epoch + 1, ppl, val_ppl, best, run.overfit_ratio, say)
        if (epoch + 1) % pred_period == 0:
            say(line + "time %.2f sec" % seconds)
            texts = {}
            for prefix in prefixes:
                texts[prefix] = predict(prefix, pred_len, epoch + 1)
                say(" - " + texts[prefix])
            history.samples[epoch + 1] = texts
        stop = callback is not None and callback(epoch + 1, history)
        improved = val_ppl is not None and (best is None or val_ppl < best)
        if run.save is not None:
            _save_if_due(run, history, epoch + 1, improved,
                         final=stop or epoch + 1 == num_epochs)
        if improved:
            best = val_ppl
        if stop:
            break
    bar.close()
    return history


# ----------------------------------------------------------------------------------------
# The keyword-only extras both trainers share: validation, checkpoints, resume, sampling.

def _split(corpus_indices, val_fraction, val_indices):
    if val_indices is not None and val_fraction:
        raise ValueError("pass either val_fraction or val_indices, not both")
    if val_indices is not None:
        if len(val_indices) < 2:
            raise ValueError("val_indices needs at least 2 characters, got %d"
                             % len(val_indices))
        return corpus_indices, list(val_indices)
    return split_corpus(corpus_indices, val_fraction or 0)


def _training_config(num_epochs, num_steps, lr, clipping_theta, batch_size, is_random_iter,
                     seed, train, val, prefixes, pred_len, meta):
    return {"num_epochs": num_epochs, "num_steps": num_steps, "lr": lr,
            "clipping_theta": clipping_theta, "batch_size": batch_size,
            "is_random_iter": bool(is_random_iter), "seed": seed, "train_chars": len(train),
            "val_chars": len(val) if val is not None else 0, "prefixes": prefixes,
            "pred_len": pred_len, "meta": meta or {}}


def _make_saver(save_dir, arch, training, idx_to_char, lr, clipping_theta, seed,
                write_params):
    from .checkpoint import rng_state, save_checkpoint
    config = dict(arch, **training)
    optimizer = {"name": "sgd", "lr": lr, "momentum": 0.0, "clipping": "global L2 norm",
                 "clipping_theta": clipping_theta, "state": None}

    def save(epoch, history, tags, plot=True):
        path = save_checkpoint(save_dir, epoch, write_params, config, idx_to_char,
                               history.as_dict(), optimizer, rng_state(seed), tags)
        if plot:
            save_history_plot(history, save_dir, title="%s %s" % (arch["impl"], arch["model"]))
        return path
    return save


def save_history_plot(history, folder, title=None, name="perplexity.png"):
    """Write ``history``'s perplexity plot (training and validation) as a PNG into ``folder``
    (atomically), without touching pyplot's current figures; returns the file's path."""
    import os
    from matplotlib.figure import Figure
    from .plot import save_figure
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    history.plot(ax=ax)
    if title:
        ax.set_title(title)
    path = os.path.join(folder, name)
    with warnings.catch_warnings():
        # Matplotlib's tick-label parser trips newer pyparsing's deprecation warnings.
        warnings.simplefilter("ignore", DeprecationWarning)
        save_figure(fig, path)
    return path


def _resume(resume, arch, training, idx_to_char, shapes):
    """Open and check the checkpoint to resume from; returns (checkpoint, History)."""
    from .checkpoint import load_checkpoint, set_rng_state
    ckpt = load_checkpoint(resume)
    ckpt.check(arch, idx_to_char, shapes)
    diffs = ckpt.training_differences(training)
    if diffs:
        warnings.warn("resuming from %s with different settings (%s): training continues, but "
                      "not exactly as an uninterrupted run would"
                      % (ckpt.path, ", ".join("%s %r -> %r" % d for d in diffs)), stacklevel=3)
    set_rng_state(ckpt.rng)
    return ckpt, History.from_dict(ckpt.history)


def _check_extras(save_dir, save_every, overfit_ratio, temperature, top_k):
    if save_every is not None:
        _positive_int("save_every", save_every)
        if save_dir is None:
            raise ValueError("save_every=%r needs a save_dir to write checkpoints into"
                             % (save_every,))
    if not (isinstance(overfit_ratio, (int, float)) and overfit_ratio > 1):
        raise ValueError("overfit_ratio must be a number > 1, got %r" % (overfit_ratio,))
    check_sampling(temperature, top_k)


def _sample_seed(seed, epoch):
    return None if seed is None else _epoch_seed(seed, epoch)


class BidirectionalLMWarning(UserWarning):
    """A bidirectional model is being trained as a next-character language model."""


def _warn_if_bidirectional(arch):
    # The backward direction reads the very character each step must predict, so training
    # perplexity falls towards 1 while generation (no future to read) stays poor.
    if arch.get("bidirectional"):
        warnings.warn("a bidirectional model trained as a language model sees the characters "
                      "it must predict (through its backward direction): its training "
                      "perplexity is not a measure of language modelling and its generated "
                      "text will be poor; use a unidirectional model to generate text",
                      BidirectionalLMWarning, stacklevel=3)


def train_and_predict_rnn(rnn, get_params, init_rnn_state, num_hiddens, vocab_size, ctx,
                          corpus_indices, idx_to_char, char_to_idx, is_random_iter,
                          num_epochs, num_steps, lr, clipping_theta, batch_size, pred_period,
                          pred_len, prefixes, *, seed=None, progress=None, callback=None,
                          quiet=False, val_fraction=0.0, val_indices=None, save_dir=None,
                          save_every=None, save_best=True, resume=None, temperature=None,
                          top_k=None, overfit_ratio=2.0, meta=None):
    """Train a scratch model function as a character-level language model (the book's call).

    ``rnn(inputs, state, params) -> (outputs, state)`` is the model, ``get_params()`` makes
    its parameter list, ``init_rnn_state(batch_size, num_hiddens, ctx)`` its zero state. Every
    ``pred_period`` epochs prints ``epoch E, perplexity P, time S sec`` and the continuation
    of each prefix. Keyword-only extras:

    - ``seed`` (seeds Python, NumPy and MXNet first; MXNet again at every epoch),
      ``progress`` (a progress bar on stderr; default: when stderr is a terminal),
      ``callback(epoch, history)`` (after each epoch; returning True stops training),
      ``quiet`` (print nothing);
    - ``val_fraction`` (hold out the last fraction of ``corpus_indices``, by characters, and
      report the validation perplexity every epoch) or ``val_indices`` (an explicit held-out
      stream); ``overfit_ratio``: warn once when the validation perplexity exceeds the
      training perplexity by this factor and has stopped falling (memorisation);
    - ``save_dir`` (write checkpoints there: at the end, every ``save_every`` epochs and, with
      validation and ``save_best``, at each new best validation perplexity), ``resume`` (a
      save directory or checkpoint to continue from; ``num_epochs`` counts from the start of
      the original run), ``meta`` (JSON data stored in the checkpoint's configuration);
    - ``temperature``, ``top_k`` (sampling for the printed texts; greedy by default).

    Returns a :class:`History`; ``history.params`` holds the trained parameters.
    """
    from .checkpoint import scratch_config
    prefixes = _check_hparams(num_hiddens, num_epochs, num_steps, lr, clipping_theta,
                              batch_size, pred_period, pred_len, prefixes, char_to_idx)
    _check_extras(save_dir, save_every, overfit_ratio, temperature, top_k)
    train, val = _split(corpus_indices, val_fraction, val_indices)
    if seed is not None:
        seed_everything(seed)
    params = get_params()
    step = scratch_step(rnn, params, vocab_size)
    arch = scratch_config(rnn, params, num_hiddens, vocab_size)
    _warn_if_bidirectional(arch)
    training = _training_config(num_epochs, num_steps, lr, clipping_theta, batch_size,
                                is_random_iter, seed, train, val, prefixes, pred_len, meta)
    history, start_epoch = History(), 0
    if resume is not None:
        ckpt, history = _resume(resume, arch, training, idx_to_char,
                                [p.shape for p in params])
        for p, saved in zip(params, ckpt.params(ctx)):
            p[:] = saved
        start_epoch = ckpt.epoch
    history.params = params
    save = None
    if save_dir is not None:
        names = arch["param_names"]
        save = _make_saver(save_dir, arch, training, idx_to_char, lr, clipping_theta, seed,
                           lambda path: nd.save(path, dict(zip(names, params))))

    def predict(prefix, n, epoch=None):
        return predict_rnn(prefix, n, rnn, params, init_rnn_state, num_hiddens, vocab_size,
                           ctx, idx_to_char, char_to_idx, temperature=temperature, top_k=top_k,
                           seed=_sample_seed(seed, epoch or 0))

    return _fit(step, lambda: (params, [p.grad for p in params]),
                lambda b: list(init_rnn_state(b, num_hiddens, ctx)), train,
                is_random_iter, num_epochs, num_steps, lr, clipping_theta, batch_size, ctx,
                pred_period, pred_len, prefixes, predict, history, progress, callback, quiet,
                _Run(val, start_epoch, seed, save, save_every, save_best, overfit_ratio))


def train_and_predict_rnn_gluon(model, num_hiddens, vocab_size, ctx, corpus_indices,
                                idx_to_char, char_to_idx, num_epochs, num_steps, lr,
                                clipping_theta, batch_size, pred_period, pred_len, prefixes,
                                *, is_random_iter=False, seed=None, progress=None,
                                callback=None, quiet=False, val_fraction=0.0, val_indices=None,
                                save_dir=None, save_every=None, save_best=True, resume=None,
                                temperature=None, top_k=None, overfit_ratio=2.0, meta=None,
                                initialize=True):
    """Train an :class:`RNNModel` (Gluon layer) like :func:`train_and_predict_rnn`.

    The model is (re)initialised with N(0, 0.01^2) weights as in the book (``initialize=False``
    keeps the weights it has, e.g. copied from a scratch model; or they are loaded from
    ``resume``), then trained with consecutive sampling (``is_random_iter=True`` for random
    sampling). Same extras and return value (``history.model`` is the trained model).
    """
    from .checkpoint import gluon_config, load_gluon_params
    prefixes = _check_hparams(num_hiddens, num_epochs, num_steps, lr, clipping_theta,
                              batch_size, pred_period, pred_len, prefixes, char_to_idx)
    _check_extras(save_dir, save_every, overfit_ratio, temperature, top_k)
    train, val = _split(corpus_indices, val_fraction, val_indices)
    if seed is not None:
        seed_everything(seed)
    if initialize:
        model.initialize(ctx=ctx, force_reinit=True, init=init.Normal(0.01))
    elif any(p._data is None and not p._deferred_init for p in model.collect_params().values()):
        raise ValueError("initialize=False keeps the model's weights, but the model has not "
                         "been initialised: call model.initialize() first, or leave "
                         "initialize=True for the book's N(0, 0.01^2) weights")
    arch = gluon_config(model, num_hiddens, vocab_size)
    _warn_if_bidirectional(arch)
    training = _training_config(num_epochs, num_steps, lr, clipping_theta, batch_size,
                                is_random_iter, seed, train, val, prefixes, pred_len, meta)
    history, start_epoch = History(), 0
    if resume is not None:
        ckpt, history = _resume(resume, arch, training, idx_to_char, None)
        load_gluon_params(ckpt, model, ctx)
        start_epoch = ckpt.epoch
    history.model = model
    save = None
    if save_dir is not None:
        save = _make_saver(save_dir, arch, training, idx_to_char, lr, clipping_theta, seed,
                           model.save_parameters)

    def weights_and_grads():
        # Frozen parameters (grad_req 'null') are neither clipped nor updated.
        params = [p for p in model.collect_params().values() if p.grad_req != "null"]
        return [p.data(ctx) for p in params], [p.grad(ctx) for p in params]

    def predict(prefix, n, epoch=None):
        return predict_rnn_gluon(prefix, n, model, vocab_size, ctx, idx_to_char, char_to_idx,
                                 temperature=temperature, top_k=top_k,
                                 seed=_sample_seed(seed, epoch or 0))

    return _fit(model, weights_and_grads, lambda b: model.begin_state(batch_size=b, ctx=ctx),
                train, is_random_iter, num_epochs, num_steps, lr, clipping_theta,
                batch_size, ctx, pred_period, pred_len, prefixes, predict, history, progress,
                callback, quiet,
                _Run(val, start_epoch, seed, save, save_every, save_best, overfit_ratio))
