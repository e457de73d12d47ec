"""The book's classifier trainer, ``train(train_iter, test_iter, net, loss, trainer, ctx,
num_epochs)``, and ``evaluate_accuracy``: the calls of the sentiment chapter (and of the
book's earlier chapters), over one context or several.

Same arithmetic as the book's: each minibatch is split across the contexts
(``split_and_load``), each part's loss is backpropagated, and ``trainer.step(batch_size)``
updates (the Trainer sums the parts' gradients). Unlike the book's loop it never waits on the
device inside an epoch: the loss sums and correct counts stay where they were computed and
are read back once per epoch (``run_epoch``). It prints the book's line per epoch and returns
a :class:`~d2l_rnn.training.History` (loss, train_acc, test_acc, seconds), which a notebook
shows as the cell's value.
"""
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, nd
from mxnet.gluon import utils as gutils

from ..util import checks
from .divergence import check_losses
from .history import History
from .progress import Progress, run_epoch


def _contexts(ctx):
    """``ctx`` as a list of contexts (the book accepts one context or a list)."""
    ctxs = [ctx] if isinstance(ctx, mx.Context) else list(ctx or [mx.cpu()])
    if not ctxs or not all(isinstance(c, mx.Context) for c in ctxs):
        raise ValueError("ctx must be an mxnet Context or a list of them (d2l.try_all_gpus() "
                         "gives one), got %r" % (ctx,))
    return ctxs


def _split(batch, ctxs):
    """A (features, labels) minibatch split across ``ctxs``, the labels in the features'
    dtype (as the book's ``_get_batch``); returns the two lists and the batch size."""
    features, labels = batch
    if labels.dtype != features.dtype:
        labels = labels.astype(features.dtype)
    return (gutils.split_and_load(features, ctxs), gutils.split_and_load(labels, ctxs),
            features.shape[0])


def evaluate_accuracy(data_iter, net, ctx=None):
    """Fraction of the examples of ``data_iter`` whose arg-max prediction is their label.

    data_iter yields (features, labels) minibatches, e.g. a Gluon DataLoader; ``net(X)``
    gives scores (batch, classes); ctx: a context or a list (default: the CPU). Returns a
    float. The counts stay on the device until the end: one read-back in all.
    """
    ctxs = _contexts(ctx)
    correct, n = [], 0
    for batch in data_iter:
        Xs, ys, _ = _split(batch, ctxs)
        for X, y in zip(Xs, ys):
            correct.append((net(X).argmax(axis=1) == y.astype("float32")).sum()
                           .as_in_context(ctxs[0]))
            n += y.size
    if not n:
        raise ValueError("evaluate_accuracy got no examples: data_iter is empty")
    return float(nd.add_n(*correct).asscalar()) / n


def train(train_iter, test_iter, net, loss, trainer, ctx, num_epochs, *, progress=None,
          quiet=False):
    """Train a classifier and evaluate it after every epoch, the book's way.

    train_iter, test_iter: (features, labels) minibatches (Gluon DataLoaders); ``net(X)``
    gives scores (batch, classes); ``loss(scores, labels)`` per-example losses (e.g.
    ``SoftmaxCrossEntropyLoss``); trainer: a ``gluon.Trainer`` of the net's parameters; ctx:
    a context or a list of them; num_epochs. Prints ``training on <ctx>`` and, per epoch,
    ``epoch E, loss L, train acc A, test acc B, time S sec`` (S includes the test); extras:
    ``progress`` (a bar on stderr; default: when stderr is a terminal), ``quiet``. Returns a
    :class:`~d2l_rnn.training.History` (``loss``, ``train_acc``, ``test_acc``, ``seconds``).
    """
    checks.positive_int("num_epochs", num_epochs)
    ctxs = _contexts(ctx)
    history = History("loss", "train_acc", "test_acc", "seconds")
    bar = Progress(num_epochs * len(train_iter) if hasattr(train_iter, "__len__") else None,
                   desc="epoch 1/%d" % num_epochs, enabled=progress, quiet=quiet)
    bar.say("training on %s" % (ctx,))

    sizes = []  # per minibatch: (losses, labels), known on the host

    def step(features, labels):
        Xs, ys, batch_size = _split((features, labels), ctxs)
        with autograd.record():
            y_hats = [net(X) for X in Xs]
            ls = [loss(y_hat, y) for y_hat, y in zip(y_hats, ys)]
        for l in ls:
            l.backward()
        trainer.step(batch_size)
        sizes.append((sum(l.size for l in ls), sum(y.size for y in ys)))
        # The loss sum and the correct predictions of every part, gathered on one device.
        parts = [nd.concat(l.sum(), (y_hat.argmax(axis=1) == y).sum(), dim=0)
                 .as_in_context(ctxs[0]) for l, y_hat, y in zip(ls, y_hats, ys)]
        return nd.add_n(*parts) if len(parts) > 1 else parts[0]

    for epoch in range(1, num_epochs + 1):
        start = time.time()
        del sizes[:]
        values, _ = run_epoch(train_iter, step, bar)
        (loss_sum, correct), (n, m) = values.sum(axis=0), np.sum(sizes, axis=0)
        check_losses(values[:, 0] / np.array(sizes)[:, 0], epoch, trainer.learning_rate,
                     first_step=history.steps)
        history.steps += len(values)
        test_acc = evaluate_accuracy(test_iter, net, ctxs)
        seconds = time.time() - start
        history.record(epoch, loss=loss_sum / n, train_acc=correct / m, test_acc=test_acc,
                       seconds=seconds)
        bar.show("epoch %d/%d" % (min(epoch + 1, num_epochs), num_epochs),
                 loss="%.4f" % (loss_sum / n), test_acc="%.3f" % test_acc)
        bar.say("epoch %d, loss %.4f, train acc %.3f, test acc %.3f, time %.1f sec"
                % (epoch, loss_sum / n, correct / m, test_acc, seconds))
    bar.close()
    return history
