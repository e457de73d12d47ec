"""The training loop of the language model, for both paths.

``fit(model, corpus, config)`` trains a :class:`~d2l_rnn.models.LanguageModel` with the
book's arithmetic: mean cross-entropy over batch x steps, global-norm clipping, plain SGD,
the state reset per minibatch for random sampling and detached between consecutive
minibatches. It is built of small pieces that the extras reuse: the minibatch pass and the
progress bar (``progress.py``), the optimiser step (``util/optim.py``), the divergence check
(``divergence.py``), the history (``history.py``), held-out evaluation (``evaluate.py``) and
the checkpoint policy (``saving.py``). Every ``pred_period`` epochs it prints the book's line
``epoch E, perplexity P, time S sec`` and the continuation of each prefix.

It never waits on the device inside an epoch: the losses are read back once per epoch and
clipping never reads the norm back. Exact resume: the random streams a run uses are Python's
``random`` (random sampling's shuffles), whose state goes into every checkpoint, and
MXNet's, which cannot be read back; so with a seed MXNet is re-seeded at the start of every
epoch from (seed, epoch), and a run resumed at epoch k draws what an uninterrupted run draws.
"""
import contextlib
import math
import random
import warnings

import mxnet as mx
import numpy as np
from mxnet import autograd, nd

from ..data import batches_per_epoch, data_iter_consecutive, data_iter_random
from ..generate import generate_texts
from ..kernels import fused_clipped_sgd, mean_cross_entropy
from ..models import ScratchModel, build_model
from ..util.fileio import check_folder
from ..util.optim import Optimizer, global_norm
from ..util.seeding import epoch_seed, seed_everything
from .divergence import check_losses, check_update, loss_limit
from .evaluate import evaluate_perplexity, memorising
from .history import History
from .inputs import check_inputs, resume_from
from .parallel import Parallel
from .progress import Progress, run_epoch
from .saving import Saver, new_run_id

ADVICE = "Lower the learning rate or clip the gradients (clipping_theta, the book uses 0.01)."


class BidirectionalLMWarning(UserWarning):
    """A bidirectional model is being trained as a next-character language model."""


def fit(model, corpus_indices, idx_to_char, char_to_idx, config, *, val_indices=None,
        resume=None, save_dir=None, overwrite=False, meta=None, progress=None, callback=None,
        quiet=False, dry_run=False, parallel=None):
    """Train ``model`` on ``corpus_indices`` (a list of ints) as ``config`` says.

    model: a :class:`~d2l_rnn.models.LanguageModel`; config: a
    :class:`~d2l_rnn.training.TrainConfig`. ``val_indices``: an explicit held-out stream
    (instead of ``config.val_fraction``); ``resume``: a save folder or checkpoint to continue
    from (``num_epochs`` counts from the start of the original run); ``save_dir``: where to
    write checkpoints (locked while the run trains; a folder holding another run's
    checkpoints is refused unless ``overwrite``); ``meta``: JSON data stored with them;
    ``progress``: a progress bar on stderr (None: when stderr is a terminal);
    ``callback(epoch, history)`` after each epoch (returning True stops training);
    ``quiet``: print nothing; ``dry_run``: make every check that comes before the first
    epoch and return without training or writing; ``parallel``: a
    :class:`~d2l_rnn.training.parallel.Parallel` to share each minibatch across devices
    and cluster workers (only worker 0 prints and saves). Returns a :class:`History`.

    Training stops with :class:`~d2l_rnn.training.TrainingDiverged` when a minibatch's loss
    or gradient norm is not finite, or the loss is far above a uniform guess's
    (:func:`~d2l_rnn.training.divergence.loss_limit`), or the last update of an epoch made
    the model diverge; no checkpoint is written from such parameters.
    """
    train, val, data = check_inputs(model, corpus_indices, idx_to_char, char_to_idx, config,
                                    val_indices, save_dir)
    num_epochs = config.num_epochs or _book_epochs(model.config)
    _warn_if_bidirectional(model.config)
    history, start, run_id, owned = History(), 0, new_run_id(), ()
    if resume is not None:
        history, start, resumed_id = resume_from(resume, model, config, idx_to_char, data)
        run_id, owned = resumed_id or run_id, (resumed_id,)
    if isinstance(model, ScratchModel):
        history.params = model.params
    else:
        history.model = model.net
    parallel = parallel or Parallel([model.ctx or mx.cpu()])
    parallel.parts(config.batch_size)  # every worker and device gets rows, or ValueError
    if parallel.rank:  # one worker of a cluster speaks and writes: worker 0
        save_dir, quiet, progress = None, True, False
    if parallel.dist:
        data.update(workers=parallel.num_workers, devices=len(parallel.ctxs))
        if config.seed is None:  # the same shuffles on every worker
            random.seed(parallel.shared_seed(None))
    if dry_run:
        if save_dir is not None:
            check_folder(save_dir, "the save folder", create=False)
        return history
    saver = Saver(save_dir, model, config, idx_to_char, data, meta, run_id, owned,
                  overwrite) if save_dir else None
    with saver or contextlib.nullcontext():
        _epochs(model, train, val, config, num_epochs, start, history, saver, progress,
                callback, quiet, char_to_idx, idx_to_char, parallel)
    return history


def _epochs(model, train, val, config, num_epochs, start, history, saver, progress, callback,
            quiet, char_to_idx, idx_to_char, parallel):
    """The epochs of :func:`fit`, from ``start`` to ``num_epochs``."""
    B, T = config.batch_size, config.num_steps
    minibatches = data_iter_random if config.is_random_iter else data_iter_consecutive
    per_epoch = batches_per_epoch(len(train), B, T, config.is_random_iter)
    bar = Progress(num_epochs * per_epoch, start * per_epoch,
                   "epoch %d/%d" % (start + 1, num_epochs), progress, quiet)
    replicas = optimizers = None
    limit = loss_limit(model.config.vocab_size or 2)
    best = history.best_val_perplexity
    if start >= num_epochs:
        bar.say("the checkpoint is at epoch %d already; nothing to train for num_epochs=%d"
                % (start, num_epochs))
    for epoch in range(start + 1, num_epochs + 1):
        if config.seed is not None:
            mx.random.seed(epoch_seed(config.seed, epoch - 1))
        if replicas is None:  # after the seed: Gluon draws its weights at the first forward
            replicas, optimizers = _replicas(model, parallel, config)
        step = _TrainStep(replicas, optimizers, parallel, B, config.is_random_iter)
        values, seconds = run_epoch(minibatches(train, B, T, model.ctx), step, bar)
        # A worker's losses are its share of each global minibatch's mean: summed over the
        # workers they are the global losses (the gradient norms are global already).
        losses, norms = parallel.sum_over_workers(values[:, 0]), values[:, 1]
        check_losses(losses, epoch, config.lr, limit, history.steps, config.clipping_theta,
                     ADVICE)
        check_losses(norms, epoch, config.lr, first_step=history.steps, advice=ADVICE,
                     clipping_theta=config.clipping_theta,
                     what="the gradient norm (before clipping)")
        history.steps += len(losses)
        ppl = math.exp(losses.mean())
        val_ppl = None
        if val is not None:
            val_ppl = evaluate_perplexity(model, model.begin_state, val, B, T, model.ctx)
        tokens_per_second = len(losses) * B * T / max(seconds, 1e-9)  # the cluster's
        history.record(epoch, perplexity=ppl, seconds=seconds,
                       **({} if val_ppl is None else {"val_perplexity": val_ppl}),
                       tokens_per_second=tokens_per_second, grad_norm=float(norms.mean()))
        _report(bar, history, epoch, num_epochs, losses.mean(), ppl, val_ppl,
                tokens_per_second)
        if memorising(history, ppl, val_ppl, best, config.overfit_ratio):
            history.memorisation = (epoch, ppl, val_ppl)
            bar.say("warning: at epoch %d the training perplexity %.3f is far below the "
                    "validation perplexity %.3f: the model is memorising the training text "
                    "rather than learning the language. Use more text, fewer epochs or a "
                    "smaller model." % (epoch, ppl, val_ppl))
        if epoch % config.pred_period == 0:
            _print_samples(bar, model, history, epoch, ppl, val_ppl, seconds, config,
                           char_to_idx, idx_to_char)
        stop = parallel.any_worker(callback is not None and callback(epoch, history))
        improved = val_ppl is not None and (best is None or val_ppl < best)
        final = stop or epoch == num_epochs
        if final or (saver is not None and saver.due(epoch, improved, final)):
            # The next epoch's losses check this epoch's last update; when there is none, or
            # the weights are about to be saved, it is checked now.
            step.check_last_update(limit, epoch, len(losses), history.steps, config)
        if saver is not None:
            saver.after_epoch(epoch, history, improved, final)
        if improved:
            best = val_ppl
        if stop:
            break
    bar.close()


def _replicas(model, parallel, config):
    """The model on each of this process's devices (worker 0's weights on every worker of
    a cluster), and an optimiser for each."""
    if parallel.dist:
        model.materialize()
        parallel.broadcast(model.arrays()[0])
    replicas = model.replicas(parallel.ctxs)
    return replicas, [Optimizer(r.arrays, "sgd", config.lr, config.clipping_theta,
                                fused_sgd=fused_clipped_sgd) for r in replicas]


def train_language_model(model_config, config, corpus, ctx=None, **kwargs):
    """Seed, build the model of ``model_config`` (:func:`~d2l_rnn.models.build_model`) and
    :func:`fit` it on ``corpus`` = ``(corpus_indices, char_to_idx, idx_to_char,
    vocab_size)``; ``kwargs`` go to :func:`fit`. Returns ``(model, history)``."""
    corpus_indices, char_to_idx, idx_to_char, _ = corpus
    if config.seed is not None:
        seed_everything(config.seed)
    model = build_model(model_config, ctx)
    return model, fit(model, corpus_indices, idx_to_char, char_to_idx, config, **kwargs)


class _TrainStep(object):
    """The work of one global minibatch: forward, loss, backward on this process's share of
    its rows (split across its devices), the gradients summed over devices and workers,
    then the same update on every replica; returns this process's share of the loss and
    the gradient norm before clipping, (2,), left on the device.

    The state starts from zero per minibatch for random sampling, else it is carried over
    (detached: the gradient stops at the minibatch's first step), per device."""

    def __init__(self, replicas, optimizers, parallel, batch_size, is_random_iter):
        self.replicas, self.optimizers, self.parallel = replicas, optimizers, parallel
        self.batch_size, self.is_random_iter = batch_size, is_random_iter
        self.parts = parallel.parts(batch_size)
        self.whole = len(self.parts) == 1 and self.parts[0][1:] == (0, batch_size)
        self.states = None if is_random_iter else [
            r.begin_state(end - first) for r, (_, first, end) in zip(replicas, self.parts)]
        self.sparse = replicas[0].sparse_gradients() if parallel.dist else ()
        self.last = None

    def __call__(self, X, Y):
        losses, states = [], []
        with autograd.record():
            for k, (replica, (ctx, first, end)) in enumerate(zip(self.replicas, self.parts)):
                X_k, Y_k = (X, Y) if self.whole else (X[first:end].as_in_context(ctx),
                                                      Y[first:end].as_in_context(ctx))
                state = replica.begin_state(end - first) if self.is_random_iter \
                    else [s.detach() for s in self.states[k]]
                outputs, state = replica(X_k, state)
                loss = mean_cross_entropy(outputs, Y_k.T.reshape((-1,)))
                if not self.whole:  # this part's share of the global mean
                    loss = loss * ((end - first) / self.batch_size)
                losses.append(loss)
                states.append(state)
        autograd.backward(losses)
        if self.parallel.active:
            sparse = None
            if self.sparse:  # the characters of the minibatch and of each part
                chars = X.asnumpy()
                sparse = (self.sparse, np.unique(chars).astype(np.int64),
                          [np.unique(chars[first:end]).astype(np.int64)
                           for _, first, end in self.parts])
            self.parallel.sum_gradients([r.arrays()[1] for r in self.replicas], sparse)
        norms = [optimizer.step() for optimizer in self.optimizers]
        self.states, self.last = states, (X, Y)
        ctx = self.parts[0][0]
        total = losses[0] if len(losses) == 1 else \
            nd.add_n(*[part.as_in_context(ctx) for part in losses])
        return nd.concat(total, norms[0], dim=0)

    def check_last_update(self, limit, epoch, minibatch, step, config):
        """The losses of an epoch are computed before each update, so the epoch's last
        update is checked here: the loss on its (whole) minibatch again, and the weights'
        norm; the same computation, and verdict, on every worker."""
        if self.last is None:
            return
        X, Y = self.last
        model = self.replicas[0]
        with autograd.record():  # training data is only ever read while recording
            outputs, _ = model(X, model.begin_state(X.shape[0]))
        weights, _ = model.arrays()
        loss, norm = nd.concat(mean_cross_entropy(outputs, Y.T.reshape((-1,))),
                               global_norm(weights), dim=0).asnumpy().tolist()
        check_update(loss, norm, limit, epoch, minibatch, step, config.lr,
                     config.clipping_theta, ADVICE)


def _report(bar, history, epoch, num_epochs, loss, ppl, val_ppl, tokens_per_second):
    # The bar's postfix shows the last finished epoch; it advanced per minibatch meanwhile.
    postfix = dict(loss="%.3f" % loss, ppl="%.2f" % ppl)
    if val_ppl is not None:
        postfix["val_ppl"] = "%.2f" % val_ppl
    postfix["tok/s"] = "%.0f" % tokens_per_second
    bar.show("epoch %d/%d" % (min(epoch + 1, num_epochs), num_epochs), **postfix)


def _print_samples(bar, model, history, epoch, ppl, val_ppl, seconds, config, char_to_idx,
                   idx_to_char):
    line = "epoch %d, perplexity %f, " % (epoch, ppl)
    if val_ppl is not None:
        line += "validation perplexity %f, " % val_ppl
    bar.say(line + "time %.2f sec" % seconds)
    seed = None if config.seed is None else epoch_seed(config.seed, epoch)
    texts = {}
    for prefix in config.prefixes:
        texts[prefix] = generate_texts(model, prefix, config.pred_len, char_to_idx,
                                       idx_to_char, temperature=config.temperature,
                                       top_k=config.top_k, seed=seed)[0]
        bar.say(" - " + texts[prefix])
    history.samples[epoch] = texts


def _book_epochs(model_config):
    kind = model_config.kind
    if kind is None:
        raise ValueError("num_epochs is needed for a custom model (the chapter's number of "
                         "epochs depends on the model)")
    return kind.book_epochs


def _warn_if_bidirectional(model_config):
    # The backward direction reads the very character each step must predict, so training
    # perplexity falls towards 1 while generation (no future to read) stays poor.
    if model_config.bidirectional:
        warnings.warn("a bidirectional model trained as a language model sees the characters "
                      "it must predict (through its backward direction): its training "
                      "perplexity is not a measure of language modelling and its generated "
                      "text will be poor; use a unidirectional model to generate text",
                      BidirectionalLMWarning, stacklevel=4)
