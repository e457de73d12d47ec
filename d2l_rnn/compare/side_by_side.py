"""Scratch and concise trained side by side, from the same weights on the same batches."""
import dataclasses
import time
from collections import namedtuple

from mxnet import nd

from ..generate import generate_texts
from ..models import ScratchModel, registry
from ..models.scratch import gru_cudnn, init_state_fn
from ..training import TrainConfig, fit
from ..util.plot import plot_perplexity
from ..util.seeding import seed_everything
from .twins import build_pair

SideBySide = namedtuple("SideBySide", "scratch concise texts seconds")
SideBySide.__doc__ = """Two :class:`~d2l_rnn.History` objects, ``texts`` {prefix: (scratch
text, concise text)} after training, and the seconds each side took."""

_BOOK = TrainConfig()


def _without_hidden_bias(pair, init_state):
    """The cuDNN GRU with ``b_hh`` held at zero, as a :class:`ScratchModel` of the other
    parameters: the scratch twin of a Gluon GRU whose ``h2h_bias`` is frozen (its r and z
    parts have no scratch counterpart)."""
    per = len(registry.get("gru_cudnn").layer_params)  # b_hh is the last of each layer
    trained = [p for i, p in enumerate(pair.params[:-2]) if i % per != per - 1] \
        + pair.params[-2:]
    zeros = nd.zeros(pair.config.num_hiddens, ctx=pair.scratch.ctx)

    def gru_fixed_b_hh(inputs, state, params):
        full = []
        for i in range(0, len(params) - 2, per - 1):
            full += list(params[i:i + per - 1]) + [zeros]
        return gru_cudnn(inputs, state, full + list(params[-2:]))
    gru_fixed_b_hh.takes_token_indices = True
    config = dataclasses.replace(pair.config, model="gru_fixed_b_hh", builtin=False)
    return ScratchModel(gru_fixed_b_hh, trained, init_state, config, pair.scratch.ctx)


def train_side_by_side(kind, corpus, num_epochs, num_layers=1, bidirectional=False,
                       variant="cudnn", num_hiddens=256, num_steps=_BOOK.num_steps,
                       batch_size=_BOOK.batch_size, lr=_BOOK.lr,
                       clipping_theta=_BOOK.clipping_theta, pred_period=_BOOK.pred_period,
                       pred_len=_BOOK.pred_len, prefixes=_BOOK.prefixes, seed=0, ctx=None,
                       progress=None, quiet=False, freeze_hidden_bias=False):
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
    corpus_indices, char_to_idx, idx_to_char, vocab_size = corpus
    pair = build_pair(kind, vocab_size, num_hiddens, num_layers, bidirectional, variant, ctx,
                      scale=0.01, seed=seed, random_biases=False)
    # The scratch side trains with the book's state layout ((batch, h) for one layer).
    scratch = ScratchModel(pair.fn, pair.params,
                           init_state_fn(pair.config.model, num_layers, bidirectional),
                           pair.config, ctx)
    if freeze_hidden_bias:
        for name, p in pair.model.rnn.collect_params().items():
            if name.endswith("h2h_bias"):
                p.grad_req = "null"
        if pair.fn is gru_cudnn:
            scratch = _without_hidden_bias(pair, scratch.init_state)
        elif kind == "gru":
            raise ValueError("freeze_hidden_bias needs the cuDNN GRU (variant='cudnn')")
    config = TrainConfig(num_epochs=num_epochs, num_steps=num_steps, batch_size=batch_size,
                         lr=lr, clipping_theta=clipping_theta, seed=seed,
                         pred_period=pred_period, pred_len=pred_len, prefixes=prefixes)
    histories, seconds = [], []
    for model in (scratch, pair.concise):
        seed_everything(seed)
        t = time.time()
        histories.append(fit(model, corpus_indices, idx_to_char, char_to_idx, config,
                             progress=progress, quiet=quiet))
        seconds.append(time.time() - t)
    texts = {p: tuple(generate_texts(m, p, pred_len, char_to_idx, idx_to_char)[0]
                      for m in (scratch, pair.concise))
             for p in prefixes}
    return SideBySide(histories[0], histories[1], texts, tuple(seconds))


def plot_side_by_side(result, ax=None, title=None):
    """Both perplexity curves of a :class:`SideBySide` on one figure; returns the Axes."""
    return plot_perplexity({"scratch": result.scratch, "concise (Gluon)": result.concise},
                           ax=ax, title=title)
