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
import math
import warnings

import mxnet as mx
from mxnet import autograd

from ..checkpoint import load_checkpoint, set_rng_state
from ..data import batches_per_epoch, data_iter_consecutive, data_iter_random, split_corpus
from ..generate import check_prefix, generate_texts
from ..kernels import mean_cross_entropy
from ..models import ScratchModel, build_model
from ..util.optim import Optimizer
from ..util.seeding import epoch_seed, seed_everything
from .divergence import check_losses
from .evaluate import evaluate_perplexity, memorising
from .history import History
from .progress import Progress, run_epoch
from .saving import Saver

# A mean cross-entropy above ~709 nats already makes the perplexity overflow.
LOSS_LIMIT = 700.0


class BidirectionalLMWarning(UserWarning):
    """A bidirectional model is being trained as a next-character language model."""


def fit(model, corpus_indices, idx_to_char, char_to_idx, config, *, val_indices=None,
        resume=None, save_dir=None, meta=None, progress=None, callback=None, quiet=False,
        dry_run=False):
    """Train ``model`` on ``corpus_indices`` (a list of ints) as ``config`` says.

    model: a :class:`~d2l_rnn.models.LanguageModel`; config: a
    :class:`~d2l_rnn.training.TrainConfig`. ``val_indices``: an explicit held-out stream
    (instead of ``config.val_fraction``); ``resume``: a save folder or checkpoint to continue
    from (``num_epochs`` counts from the start of the original run); ``save_dir``: where to
    write checkpoints; ``meta``: JSON data stored with them; ``progress``: a progress bar on
    stderr (None: when stderr is a terminal); ``callback(epoch, history)`` after each epoch
    (returning True stops training); ``quiet``: print nothing; ``dry_run``: make every
    check that comes before the first epoch (prefixes, split, resume, the first minibatch)
    and return without training or writing. Returns a :class:`History`.
    """
    for prefix in config.prefixes:
        check_prefix(prefix, char_to_idx)
    if config.save_every is not None and save_dir is None:
        raise ValueError("save_every=%r needs a save_dir to write checkpoints into"
                         % (config.save_every,))
    num_epochs = config.num_epochs or _book_epochs(model.config)
    train, val = _split(corpus_indices, config.val_fraction, val_indices)
    data = {"train_chars": len(train), "val_chars": len(val) if val is not None else 0}
    _warn_if_bidirectional(model.config)
    history, start = History(), 0
    if resume is not None:
        history, start = _resume(resume, model, config, idx_to_char, data)
    if isinstance(model, ScratchModel):
        history.params = model.params
    else:
        history.model = model.net
    saver = Saver(save_dir, model, config, idx_to_char, data, meta) if save_dir else None

    B, T = config.batch_size, config.num_steps
    minibatches = data_iter_random if config.is_random_iter else data_iter_consecutive
    per_epoch = batches_per_epoch(len(train), B, T, config.is_random_iter)
    if dry_run:
        next(iter(minibatches(train, B, T)))  # CorpusTooShortError if it cannot fill one
        return history
    bar = Progress(num_epochs * per_epoch, start * per_epoch,
                   "epoch %d/%d" % (start + 1, num_epochs), progress, quiet)
    optimizer = Optimizer(model.arrays, "sgd", config.lr, config.clipping_theta)
    best = history.best_val_perplexity
    if start >= num_epochs:
        bar.say("the checkpoint is at epoch %d already; nothing to train for num_epochs=%d"
                % (start, num_epochs))
    for epoch in range(start + 1, num_epochs + 1):
        if config.seed is not None:
            mx.random.seed(epoch_seed(config.seed, epoch - 1))
        values, seconds = run_epoch(minibatches(train, B, T, model.ctx),
                                    _train_step(model, optimizer, B, config.is_random_iter),
                                    bar)
        losses = values[:, 0]
        check_losses(losses, epoch, config.lr, LOSS_LIMIT, history.steps,
                     config.clipping_theta, "Lower the learning rate or clip the gradients "
                     "(clipping_theta, the book uses 0.01).")
        history.steps += len(losses)
        ppl = math.exp(losses.mean())
        val_ppl = None
        if val is not None:
            val_ppl = evaluate_perplexity(model, model.begin_state, val, B, T, model.ctx)
        history.record(epoch, perplexity=ppl, seconds=seconds,
                       **({} if val_ppl is None else {"val_perplexity": val_ppl}))
        _report(bar, history, epoch, num_epochs, losses.mean(), ppl, val_ppl,
                len(losses) * B * T / max(seconds, 1e-9))
        if memorising(history, ppl, val_ppl, best, config.overfit_ratio):
            history.memorisation = (epoch, ppl, val_ppl)
            bar.say("warning: at epoch %d the training perplexity %.3f is far below the "
                    "validation perplexity %.3f: the model is memorising the training text "
                    "rather than learning the language. Use more text, fewer epochs or a "
                    "smaller model." % (epoch, ppl, val_ppl))
        if epoch % config.pred_period == 0:
            _print_samples(bar, model, history, epoch, ppl, val_ppl, seconds, config,
                           char_to_idx, idx_to_char)
        stop = callback is not None and callback(epoch, history)
        improved = val_ppl is not None and (best is None or val_ppl < best)
        if saver is not None:
            saver.after_epoch(epoch, history, improved, final=stop or epoch == num_epochs)
        if improved:
            best = val_ppl
        if stop:
            break
    bar.close()
    return history


def train_language_model(model_config, config, corpus, ctx=None, **kwargs):
    """Seed, build the model of ``model_config`` (:func:`~d2l_rnn.models.build_model`) and
    :func:`fit` it on ``corpus`` = ``(corpus_indices, char_to_idx, idx_to_char,
    vocab_size)``; ``kwargs`` go to :func:`fit`. Returns ``(model, history)``."""
    corpus_indices, char_to_idx, idx_to_char, _ = corpus
    if config.seed is not None:
        seed_everything(config.seed)
    model = build_model(model_config, ctx)
    return model, fit(model, corpus_indices, idx_to_char, char_to_idx, config, **kwargs)


def _train_step(model, optimizer, batch_size, is_random_iter):
    """The work of one minibatch: forward, loss, backward, update; returns the loss (1,).
    The state starts from zero per minibatch for random sampling, else it is carried over
    (detached: the gradient stops at the minibatch's first step)."""
    carried = [None if is_random_iter else model.begin_state(batch_size)]

    def step(X, Y):
        if is_random_iter:
            state = model.begin_state(batch_size)
        else:
            state = [s.detach() for s in carried[0]]
        with autograd.record():
            outputs, state = model(X, state)
            loss = mean_cross_entropy(outputs, Y.T.reshape((-1,)))
        loss.backward()
        optimizer.step()
        carried[0] = state
        return loss
    return step


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


def _split(corpus_indices, val_fraction, val_indices):
    if val_indices is not None and val_fraction:
        raise ValueError("pass either val_fraction or val_indices, not both")
    if val_indices is not None:
        if len(val_indices) < 2:
            raise ValueError("val_indices needs at least 2 characters, got %d"
                             % len(val_indices))
        return corpus_indices, list(val_indices)
    return split_corpus(corpus_indices, val_fraction or 0)


def _resume(resume, model, config, idx_to_char, data):
    """Open and check the checkpoint to resume from, load it into ``model``; returns
    ``(History, epoch)``."""
    ckpt = load_checkpoint(resume)
    shapes = [p.shape for p in model.params] if isinstance(model, ScratchModel) else None
    ckpt.check(model.config, idx_to_char, shapes)
    diffs = ckpt.training_differences(config, {"val_chars": data["val_chars"]})
    if diffs:
        warnings.warn("resuming from %s with different settings (%s): training continues, but "
                      "not exactly as an uninterrupted run would"
                      % (ckpt.path, ", ".join("%s %r -> %r" % d for d in diffs)), stacklevel=4)
    ckpt.load_into(model)
    set_rng_state(ckpt.rng)
    return History.from_dict(ckpt.history), ckpt.epoch


def _warn_if_bidirectional(model_config):
    # The backward direction reads the very character each step must predict, so training
    # perplexity falls towards 1 while generation (no future to read) stays poor.
    if model_config.bidirectional:
        warnings.warn("a bidirectional model trained as a language model sees the characters "
                      "it must predict (through its backward direction): its training "
                      "perplexity is not a measure of language modelling and its generated "
                      "text will be poor; use a unidirectional model to generate text",
                      BidirectionalLMWarning, stacklevel=4)
