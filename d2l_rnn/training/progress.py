"""What a run shows while it trains: a progress bar over minibatches and the printed lines,
and the minibatch loop that every trainer of the package runs inside an epoch."""
import sys
import time

import numpy as np
from mxnet import nd
from tqdm import tqdm


class Progress(object):
    """A tqdm bar on stderr counting minibatches, and ``say`` for the lines a run prints.

    ``enabled`` None shows the bar when stderr is a terminal (and not ``quiet``). Lines go to
    ``say`` if given, else to stdout (through tqdm while the bar is shown, so they do not
    break it); ``quiet`` drops them. The bar only counts: it never waits on the device.
    """

    def __init__(self, total, initial=0, desc=None, enabled=None, quiet=False, unit="batch",
                 say=None):
        if enabled is None:
            enabled = (not quiet) and sys.stderr.isatty()
        self.enabled, self.quiet, self._say = enabled, quiet, say
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit,
                        disable=not enabled, file=sys.stderr, leave=False)

    def say(self, line):
        """Print one line (unless quiet)."""
        if self.quiet:
            return
        if self._say is not None:
            self._say(line)
        elif self.enabled:
            tqdm.write(line)
        else:
            print(line, flush=True)

    def update(self, n=1):
        """Count ``n`` more minibatches."""
        self.bar.update(n)

    def show(self, desc=None, **postfix):
        """Set the bar's description and its ``key=value`` postfix (last epoch's numbers)."""
        if desc is not None:
            self.bar.set_description(desc, refresh=False)
        if postfix:
            self.bar.set_postfix(postfix)

    def close(self):
        """Remove the bar."""
        self.bar.close()


# Minibatches the loop may queue ahead of the one MXNet's engine is computing: enough that
# the engine never waits for Python, few enough that the arrays MXNet allocates for queued
# operations stay those of a few minibatches.
RUN_AHEAD = 2


def run_epoch(batches, step, progress=None):
    """One pass over ``batches``: ``step(*batch)`` for each, which trains on it and returns
    what to record as a (k,) NDArray (the loss, ...).

    The values stay on the device until the pass is over and are read back once; the loop
    waits only for the minibatch ``RUN_AHEAD`` before the one it has just queued. Returns
    ``(values, seconds)``: float64 (num_batches, k) and the wall time of the pass,
    read-back included.
    """
    start = time.time()
    values = []
    for batch in batches:
        values.append(step(*batch))
        if len(values) > RUN_AHEAD:
            values[-1 - RUN_AHEAD].wait_to_read()
        if progress is not None:
            progress.update()
    if not values:
        return np.zeros((0, 1)), time.time() - start
    host = nd.stack(*values, axis=0).asnumpy().astype(np.float64)
    return host.reshape(len(values), -1), time.time() - start
