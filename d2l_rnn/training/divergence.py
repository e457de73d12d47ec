"""The one divergence check: training stops, with a message that says where and what to do,
when a minibatch's loss is not a finite number within bounds."""
import numpy as np


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN, infinite, or impossibly large."""


def check_losses(losses, epoch, lr, limit=np.inf, first_step=0, clipping_theta="n/a",
                 advice="Lower the learning rate."):
    """Raise :class:`TrainingDiverged` naming the first minibatch of ``epoch`` whose loss is
    not finite or not below ``limit``.

    losses: (num_batches,) float values of one epoch, in order; ``first_step``: how many
    minibatches came before this epoch (for the step number); ``clipping_theta``: shown when
    the trainer clips; ``advice``: what the user can change.
    """
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    ok = np.isfinite(losses) & (losses < limit)
    if ok.all():
        return
    bad = int(np.argmin(ok))
    clip = "" if clipping_theta == "n/a" else " and clipping_theta=%s" % (clipping_theta,)
    raise TrainingDiverged(
        "the training loss diverged to %s at epoch %d, minibatch %d (step %d) with lr=%g%s. %s"
        % (losses[bad], epoch, bad + 1, first_step + bad + 1, lr, clip, advice))
