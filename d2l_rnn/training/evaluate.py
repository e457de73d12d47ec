"""Held-out evaluation of a language model: the perplexity of a character stream, and the
memorisation warning."""
import math

import numpy as np
from mxnet import nd
from mxnet.gluon import loss as gloss

from ..data import as_index_array, minibatch_chunks
from .progress import RUN_AHEAD


def evaluate_perplexity(forward, begin_state, indices, batch_size, num_steps, ctx=None):
    """Perplexity of a model on a held-out character stream (a list or array of indices), a float.

    ``forward(X (batch, T), state) -> (logits (T * batch, V), state)`` and
    ``begin_state(batch)`` (a :class:`~d2l_rnn.models.LanguageModel` and its
    ``begin_state`` will do). The stream is cut into at most ``batch_size`` contiguous pieces
    of at least ``4 * num_steps`` characters, each read from a zero state in windows of
    ``num_steps`` with the state carried over; every character but the first is predicted
    exactly once. No gradient is recorded; the losses are read back once.
    """
    n = len(indices)
    if n < 2:
        raise ValueError("the validation stream needs at least 2 characters, got %d" % n)
    b = max(1, min(batch_size, (n - 1) // (4 * num_steps)))
    length = (n - 1) // b
    data = as_index_array(indices)
    X_all = data[:b * length].reshape(b, length)  # views: converted a chunk at a time
    Y_all = data[1:b * length + 1].reshape(b, length)
    loss = gloss.SoftmaxCrossEntropyLoss()
    state = begin_state(b)
    totals = []
    num_windows = (length + num_steps - 1) // num_steps  # the last one may be short
    for first, count in minibatch_chunks(num_windows, b, num_steps):
        j0 = first * num_steps
        width = min(count * num_steps, length - j0)
        X_c = nd.array(X_all[:, j0:j0 + width].astype(np.float32), ctx=ctx)
        Y_c = nd.array(Y_all[:, j0:j0 + width].astype(np.float32), ctx=ctx)
        for j in range(0, width, num_steps):
            end = min(j + num_steps, width)
            outputs, state = forward(X_c[:, j:end], state)
            totals.append(loss(outputs, Y_c[:, j:end].T.reshape((-1,))).sum())
            if len(totals) > RUN_AHEAD:
                totals[-1 - RUN_AHEAD].wait_to_read()
    total = float(nd.add_n(*totals).asscalar()) if len(totals) > 1 \
        else float(totals[0].asscalar())
    try:
        return math.exp(total / (b * length))
    except OverflowError:  # weights that diverged: the training loop says so next
        return math.inf


def memorising(history, ppl, val_ppl, best, ratio):
    """Whether the model now memorises: far better on the training text (by ``ratio``) and
    no longer better on held-out text than its ``best`` (a validation text that is merely
    harder gives a gap from the first epoch on, without anything being memorised). Only the
    first time: False once ``history.memorisation`` is set."""
    return (val_ppl is not None and history.memorisation is None and best is not None
            and val_ppl > best and ppl * ratio < val_ppl)
