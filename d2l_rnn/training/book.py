"""The book's training calls, ``train_and_predict_rnn`` and ``train_and_predict_rnn_gluon``:
their arguments become a :class:`~d2l_rnn.models.LanguageModel` and a
:class:`~d2l_rnn.training.TrainConfig` once, here, and :func:`~d2l_rnn.training.loop.fit`
trains them."""
from mxnet import init

from ..models import ConciseModel, ScratchModel
from ..util import checks
from ..util.seeding import seed_everything
from .config import TrainConfig
from .loop import fit


def _prepare(num_hiddens, num_epochs, num_steps, lr, clipping_theta, batch_size, pred_period,
             pred_len, prefixes, is_random_iter, seed, val_fraction, save_every, save_best,
             temperature, top_k, overfit_ratio, meta):
    """The book's arguments as a TrainConfig (checked); seeds the run when asked to, before
    the caller draws the model's weights."""
    checks.positive_int("num_hiddens", num_hiddens)
    corpus = {k: v for k, v in (meta or {}).items() if k in ("corpus", "num_chars", "lower")}
    config = TrainConfig(num_epochs=num_epochs, num_steps=num_steps, batch_size=batch_size,
                         lr=lr, clipping_theta=clipping_theta, is_random_iter=is_random_iter,
                         seed=seed, pred_period=pred_period, pred_len=pred_len,
                         prefixes=prefixes, temperature=temperature, top_k=top_k,
                         val_fraction=val_fraction or 0.0, overfit_ratio=overfit_ratio,
                         save_every=save_every, save_best=save_best, **corpus)
    if seed is not None:
        seed_everything(seed)
    return config


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

    Returns a :class:`~d2l_rnn.training.History`; ``history.params`` holds the trained
    parameters.
    """
    config = _prepare(num_hiddens, num_epochs, num_steps, lr, clipping_theta, batch_size,
                      pred_period, pred_len, prefixes, is_random_iter, seed, val_fraction,
                      save_every, save_best, temperature, top_k, overfit_ratio, meta)
    model = ScratchModel.from_book(rnn, get_params(), init_rnn_state, num_hiddens, vocab_size,
                                   ctx)
    return fit(model, corpus_indices, idx_to_char, char_to_idx, config,
               val_indices=val_indices, resume=resume, save_dir=save_dir, meta=meta,
               progress=progress, callback=callback, quiet=quiet)


def train_and_predict_rnn_gluon(model, num_hiddens, vocab_size, ctx, corpus_indices,
                                idx_to_char, char_to_idx, num_epochs, num_steps, lr,
                                clipping_theta, batch_size, pred_period, pred_len, prefixes,
                                *, is_random_iter=False, seed=None, progress=None,
                                callback=None, quiet=False, val_fraction=0.0, val_indices=None,
                                save_dir=None, save_every=None, save_best=True, resume=None,
                                temperature=None, top_k=None, overfit_ratio=2.0, meta=None,
                                initialize=True):
    """Train an :class:`~d2l_rnn.RNNModel` (Gluon layer) like :func:`train_and_predict_rnn`.

    The model is (re)initialised with N(0, 0.01^2) weights as in the book (``initialize=False``
    keeps the weights it has, e.g. copied from a scratch model; or they are loaded from
    ``resume``), then trained with consecutive sampling (``is_random_iter=True`` for random
    sampling). Same extras and return value (``history.model`` is the trained model).
    """
    config = _prepare(num_hiddens, num_epochs, num_steps, lr, clipping_theta, batch_size,
                      pred_period, pred_len, prefixes, is_random_iter, seed, val_fraction,
                      save_every, save_best, temperature, top_k, overfit_ratio, meta)
    if initialize:
        model.initialize(ctx=ctx, force_reinit=True, init=init.Normal(0.01))
    elif any(p._data is None and not p._deferred_init for p in model.collect_params().values()):
        raise ValueError("initialize=False keeps the model's weights, but the model has not "
                         "been initialised: call model.initialize() first, or leave "
                         "initialize=True for the book's N(0, 0.01^2) weights")
    return fit(ConciseModel.from_book(model, num_hiddens, vocab_size, ctx), corpus_indices,
               idx_to_char, char_to_idx, config, val_indices=val_indices, resume=resume,
               save_dir=save_dir, meta=meta, progress=progress, callback=callback, quiet=quiet)
