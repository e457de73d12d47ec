"""One training loop for scratch model functions and Gluon models: the book's calls, plus a
returned history, a seed, a progress bar, a callback and a divergence check.

The loop keeps the book's arithmetic (mean cross-entropy over batch x steps, global-norm
clipping, plain SGD, state reset per batch for random sampling and detached between
consecutive batches) but does not wait on the device after every batch: the losses stay on
the device until the end of the epoch, and clipping never reads the norm back to the host.
"""
import math
import random
import sys
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, init, nd
from mxnet.gluon import loss as gloss
from tqdm import tqdm

from .data import data_iter_consecutive, data_iter_random
from .predict import check_prefix, predict_rnn, predict_rnn_gluon, scratch_step
from .utils import clipped_sgd_step


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or infinite."""


class History(object):
    """What a training run produced: per-epoch perplexity and seconds, and generated texts.

    Attributes: ``epochs`` (list of int, 1-based), ``perplexity`` and ``seconds`` (lists of
    float, one per epoch), ``samples`` ({epoch: {prefix: text}} every ``pred_period``
    epochs), ``params`` (scratch: the trained parameter list) or ``model`` (Gluon).
    """

    def __init__(self):
        self.epochs, self.perplexity, self.seconds, self.samples = [], [], [], {}
        self.params = None
        self.model = None

    def as_dict(self):
        """The history as plain JSON-ready data."""
        return {"epochs": self.epochs, "perplexity": self.perplexity, "seconds": self.seconds,
                "samples": {str(k): v for k, v in self.samples.items()}}

    def plot(self, ax=None, label=None):
        """Plot perplexity against epoch (log scale); returns the matplotlib Axes."""
        from .plot import plot_perplexity
        return plot_perplexity({label or "training": self}, ax=ax)

    def __repr__(self):
        if not self.epochs:
            return "History(no epochs)"
        return ("History(%d epochs, final perplexity %.3f, median %.3f s/epoch)"
                % (len(self.epochs), self.perplexity[-1], float(np.median(self.seconds))))


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


def _seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def _fit(forward, weights_and_grads, begin_state, corpus_indices, is_random_iter, num_epochs,
         num_steps, lr, clipping_theta, batch_size, ctx, pred_period, pred_len, prefixes,
         predict, history, progress, callback, quiet):
    """The loop both public trainers share. ``forward(X, state) -> (logits, state)``,
    ``weights_and_grads()`` the arrays SGD updates, ``begin_state(batch)`` a zero state,
    ``predict(prefix, pred_len)`` greedy text."""
    loss = gloss.SoftmaxCrossEntropyLoss()
    data_iter_fn = data_iter_random if is_random_iter else data_iter_consecutive
    if progress is None:
        progress = (not quiet) and sys.stderr.isatty()
    bar = tqdm(range(num_epochs), desc="training", unit="epoch", disable=not progress,
               file=sys.stderr, leave=False)
    say = (lambda s: None) if quiet else (tqdm.write if progress else print)
    step_count = 0
    for epoch in bar:
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
                l = loss(outputs, y).mean()
            l.backward()
            weights, grads = weights_and_grads()
            clipped_sgd_step(weights, grads, lr, clipping_theta)
            losses.append(l)
            n_tokens += y.size
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
                % (batch_losses[bad], epoch + 1, bad + 1, step_count + bad + 1, lr,
                   clipping_theta))
        step_count += len(batch_losses)
        ppl = math.exp(batch_losses.mean())
        history.epochs.append(epoch + 1)
        history.perplexity.append(ppl)
        history.seconds.append(seconds)
        bar.set_postfix(perplexity="%.2f" % ppl, tok_per_s="%.0f" % (n_tokens / seconds))
        if (epoch + 1) % pred_period == 0:
            say("epoch %d, perplexity %f, time %.2f sec" % (epoch + 1, ppl, seconds))
            texts = {}
            for prefix in prefixes:
                texts[prefix] = predict(prefix, pred_len)
                say(" - " + texts[prefix])
            history.samples[epoch + 1] = texts
        if callback is not None and callback(epoch + 1, history):
            break
    bar.close()
    return history


def train_and_predict_rnn(rnn, get_params, init_rnn_state, num_hiddens, vocab_size, ctx,
                          corpus_indices, idx_to_char, char_to_idx, is_random_iter,
                          num_epochs, num_steps, lr, clipping_theta, batch_size, pred_period,
                          pred_len, prefixes, *, seed=None, progress=None, callback=None,
                          quiet=False):
    """Train a scratch model function as a character-level language model (the book's call).

    ``rnn(inputs, state, params) -> (outputs, state)`` is the model, ``get_params()`` makes
    its parameter list, ``init_rnn_state(batch_size, num_hiddens, ctx)`` its zero state. Every
    ``pred_period`` epochs prints ``epoch E, perplexity P, time S sec`` and the continuation
    of each prefix. Keyword-only extras: ``seed`` (seeds Python, NumPy and MXNet first),
    ``progress`` (a progress bar on stderr; default: when stderr is a terminal),
    ``callback(epoch, history)`` (after each epoch; returning True stops training),
    ``quiet`` (print nothing). Returns a :class:`History`; ``history.params`` holds the
    trained parameters.
    """
    prefixes = _check_hparams(num_hiddens, num_epochs, num_steps, lr, clipping_theta,
                              batch_size, pred_period, pred_len, prefixes, char_to_idx)
    if seed is not None:
        _seed_everything(seed)
    params = get_params()
    step = scratch_step(rnn, params, vocab_size)
    history = History()
    history.params = params

    def predict(prefix, n):
        return predict_rnn(prefix, n, rnn, params, init_rnn_state, num_hiddens, vocab_size,
                           ctx, idx_to_char, char_to_idx)

    return _fit(step, lambda: (params, [p.grad for p in params]),
                lambda b: list(init_rnn_state(b, num_hiddens, ctx)), corpus_indices,
                is_random_iter, num_epochs, num_steps, lr, clipping_theta, batch_size, ctx,
                pred_period, pred_len, prefixes, predict, history, progress, callback, quiet)


def train_and_predict_rnn_gluon(model, num_hiddens, vocab_size, ctx, corpus_indices,
                                idx_to_char, char_to_idx, num_epochs, num_steps, lr,
                                clipping_theta, batch_size, pred_period, pred_len, prefixes,
                                *, is_random_iter=False, seed=None, progress=None,
                                callback=None, quiet=False):
    """Train an :class:`RNNModel` (Gluon layer) like :func:`train_and_predict_rnn`.

    The model is (re)initialised with N(0, 0.01^2) weights as in the book, then trained with
    consecutive sampling (``is_random_iter=True`` for random sampling). Same extras and
    return value (``history.model`` is the trained model).
    """
    prefixes = _check_hparams(num_hiddens, num_epochs, num_steps, lr, clipping_theta,
                              batch_size, pred_period, pred_len, prefixes, char_to_idx)
    if seed is not None:
        _seed_everything(seed)
    model.initialize(ctx=ctx, force_reinit=True, init=init.Normal(0.01))
    history = History()
    history.model = model

    def weights_and_grads():
        params = list(model.collect_params().values())
        return [p.data(ctx) for p in params], [p.grad(ctx) for p in params]

    def predict(prefix, n):
        return predict_rnn_gluon(prefix, n, model, vocab_size, ctx, idx_to_char, char_to_idx)

    return _fit(model, weights_and_grads, lambda b: model.begin_state(batch_size=b, ctx=ctx),
                corpus_indices, is_random_iter, num_epochs, num_steps, lr, clipping_theta,
                batch_size, ctx, pred_period, pred_len, prefixes, predict, history, progress,
                callback, quiet)
