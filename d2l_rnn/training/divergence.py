"""The one divergence check: training stops, with a message that says where and what to do,
when a minibatch's loss or gradient is not a finite number within bounds."""
import math

import numpy as np


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN, infinite, or impossibly large."""


def loss_limit(num_classes):
    """The largest mean cross-entropy (nats) a language model that has not diverged shows.

    A uniform guess over ``num_classes`` characters costs ln(num_classes) (6.9 nats for the
    lyrics' 1,027): a minibatch far above that (three times, or 10 nats above, whichever is
    more; 700 at most, where the perplexity overflows) comes from weights that blew up, even
    while it stays finite.
    """
    uniform = math.log(max(num_classes, 2))
    return min(700.0, max(3 * uniform, uniform + 10))


def _clipping(clipping_theta):
    return "" if clipping_theta == "n/a" else " and clipping_theta=%s" % (clipping_theta,)


def check_losses(losses, epoch, lr, limit=np.inf, first_step=0, clipping_theta="n/a",
                 advice="Lower the learning rate.", what="the training loss"):
    """Raise :class:`TrainingDiverged` naming the first minibatch of ``epoch`` whose value is
    not finite or not below ``limit``.

    losses: (num_batches,) float values of one epoch, in order; ``first_step``: how many
    minibatches came before this epoch (for the step number); ``clipping_theta``: shown when
    the trainer clips; ``advice``: what the user can change; ``what`` the values are.
    """
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    ok = np.isfinite(losses) & (losses < limit)
    if ok.all():
        return
    bad = int(np.argmin(ok))
    raise TrainingDiverged(
        "%s diverged to %s at epoch %d, minibatch %d (step %d) with lr=%g%s. %s"
        % (what, losses[bad], epoch, bad + 1, first_step + bad + 1, lr,
           _clipping(clipping_theta), advice))


def check_update(loss, weight_norm, limit, epoch, minibatch, step, lr, clipping_theta="n/a",
                 advice="Lower the learning rate."):
    """Raise :class:`TrainingDiverged` if the last update of an epoch made the model
    diverge: its loss on the minibatch it learnt from, computed again after the update, is
    not finite or not below ``limit``, or a weight is no longer finite (``weight_norm``)."""
    if math.isfinite(weight_norm) and math.isfinite(loss) and loss < limit:
        return
    raise TrainingDiverged(
        "the update after minibatch %d of epoch %d (step %d) made the model diverge (its "
        "loss on that minibatch is now %s, the weights' norm %s) with lr=%g%s; nothing was "
        "saved from it. %s" % (minibatch, epoch, step, loss, weight_norm, lr,
                               _clipping(clipping_theta), advice))
