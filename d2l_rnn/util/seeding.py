"""One seed for the three random streams a run draws from."""
import random

import mxnet as mx
import numpy as np


def seed_everything(seed):
    """Seed Python's ``random``, NumPy's and MXNet's global random streams with ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    mx.random.seed(seed)


def epoch_seed(seed, epoch):
    """A distinct, reproducible MXNet seed for ``epoch`` of a run seeded with ``seed``.

    MXNet cannot report its generator state, so a resumable run re-seeds it at the start of
    every epoch: a run resumed at epoch k then draws what an uninterrupted one draws.
    """
    return (seed * 1000003 + epoch) % (2 ** 31 - 1)
