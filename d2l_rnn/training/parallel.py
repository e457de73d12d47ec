"""Data parallelism: each global minibatch split across the devices of this process and the
workers of an MXNet parameter-server cluster, the gradients summed through a kvstore, the
same update applied everywhere.

Worker k of W takes its block of the global minibatch's rows (every worker draws the same
minibatches: consecutive sampling's streams, or random sampling's shuffles from the shared
seed), and splits it again across its devices. Each part's loss is its share of the global
mean (scaled by rows / global batch), so the summed gradient is exactly the gradient of the
single-process loss; then every replica clips it by the global norm and takes the SGD step,
the book's, on identical weights. The servers only add (no optimiser runs on them).

The gradients of the first layer's input weights are row-sparse (only the characters of the
minibatch have one); on a cluster they are pushed as ``row_sparse`` arrays, and
:attr:`Parallel.bytes` counts what each step moves (dense and row-sparse).
"""
import random

import mxnet as mx
import numpy as np
from mxnet import nd


def parse_contexts(text):
    """``'cpu(0),cpu(1)'`` / ``'gpu(0),gpu(1)'`` -> a list of MXNet contexts (ValueError
    naming the form otherwise)."""
    ctxs = []
    for part in str(text).replace(" ", "").split(","):
        kind, _, rest = part.partition("(")
        if kind not in ("cpu", "gpu") or not rest.endswith(")") or not rest[:-1].isdigit():
            raise ValueError("contexts are written like cpu(0),cpu(1) or gpu(0),gpu(1); got %r"
                             % (part,))
        ctxs.append(mx.Context(kind, int(rest[:-1])))
    if len(set(ctxs)) != len(ctxs):
        raise ValueError("each context may appear once, got %r" % (text,))
    return ctxs


class Parallel(object):
    """How a global minibatch is shared: ``ctxs`` (this process's devices), ``kvstore`` (None
    for one device, ``'local'``/``'device'`` to sum across devices, ``'dist_sync'`` to join
    an MXNet parameter-server cluster as a worker: its ``rank`` and ``num_workers`` come from
    the cluster)."""

    def __init__(self, ctxs, kvstore=None, sparse=True):
        self.ctxs = list(ctxs)
        if kvstore is None and len(self.ctxs) > 1:
            kvstore = "local"
        self.kvstore = kvstore
        self.kv = mx.kv.create(kvstore) if kvstore else None
        self.dist = bool(kvstore) and kvstore.startswith("dist")
        self.rank = self.kv.rank if self.dist else 0
        self.num_workers = self.kv.num_workers if self.dist else 1
        self.sparse = sparse and self.dist
        self.bytes = {"pushed": 0, "pulled": 0, "pushed_dense": 0, "pulled_dense": 0,
                      "steps": 0}
        self._keys = {}

    @property
    def active(self):
        """Whether gradients are summed at all (several devices or workers)."""
        return self.kv is not None

    def parts(self, batch_size):
        """This process's share of a global minibatch of ``batch_size`` rows, split across
        its devices: ``[(ctx, first row, end row)]``. Every worker and device gets a share."""
        n = self.num_workers * len(self.ctxs)
        if batch_size < n:
            raise ValueError("batch_size=%d cannot be shared by %d worker(s) x %d device(s): "
                             "each needs at least one row"
                             % (batch_size, self.num_workers, len(self.ctxs)))
        first = self.rank * len(self.ctxs)
        return [(ctx, (first + j) * batch_size // n, (first + j + 1) * batch_size // n)
                for j, ctx in enumerate(self.ctxs)]

    def sum_gradients(self, grads, sparse=None):
        """Sum each gradient over the devices (``grads``: one list per device of the same
        parameters' gradient arrays) and the workers, in place: afterwards every device's
        array holds the global sum.

        ``sparse``: ``(indices, rows, part_rows)`` for the parameters whose gradient has a
        row per character (``indices`` into each list): ``rows`` are the characters of the
        global minibatch, ``part_rows`` those of each device's part; on a cluster only
        those rows are pushed (``row_sparse``)."""
        per_param = list(zip(*grads))
        indices, rows, part_rows = sparse if (sparse and self.sparse) else ((), None, None)
        for i, arrays in enumerate(per_param):
            key = "g%d" % i
            self._init(key, arrays[0], i in indices)
            if i in indices:
                pushed = [_row_sparse(a, r) for a, r in zip(arrays, part_rows)]
            else:
                pushed = list(arrays)
            self.kv.push(key, pushed, priority=-i)
            self._count(arrays[0], pushed[0], len(rows) if i in indices else None)
        for i, arrays in enumerate(per_param):
            if i in indices:
                self._pull_rows("g%d" % i, arrays, rows, priority=-i)
            else:
                self.kv.pull("g%d" % i, out=list(arrays), priority=-i)
        self.bytes["steps"] += 1

    def _pull_rows(self, key, arrays, rows, priority):
        # MXNet 1.9.1's server, when it runs no optimiser, stores the sum of row-sparse
        # pushes compactly (the rows pushed, in ascending order) and answers a
        # row_sparse_pull by position in that store. Every worker knows which rows the sum
        # holds (the characters of the global minibatch, which every worker draws), so it
        # asks for positions 0..len(rows)-1 and puts them back at their rows. (Asking for
        # the rows themselves returns the wrong ones; tests compare with one process.)
        n = len(rows)
        outs = [nd.sparse.zeros("row_sparse", a.shape, ctx=a.context) for a in arrays]
        self.kv.row_sparse_pull(key, out=outs, priority=priority,
                                row_ids=[nd.arange(n, dtype="int64", ctx=a.context)
                                         for a in arrays])
        for a, o in zip(arrays, outs):
            index = nd.array(rows, ctx=a.context, dtype="int64")
            nd.sparse.row_sparse_array((o.data[:n], index), shape=a.shape,
                                       ctx=a.context).tostype("default").copyto(a)

    def sum_over_workers(self, values, key="values"):
        """The sum over the workers of a 1-D float NumPy array (per-minibatch losses)."""
        if not self.dist:
            return values
        a = nd.array(values)
        key = "%s%d" % (key, a.size)
        self._init(key, a, False)
        self.kv.push(key, a)
        out = nd.zeros(a.shape)
        self.kv.pull(key, out=out)
        return out.asnumpy().astype(values.dtype)

    def broadcast(self, arrays):
        """Worker 0's values of ``arrays`` (NDArrays) copied into every worker's, in place:
        the same initial (or resumed) weights everywhere, whatever each worker drew."""
        if not self.dist:
            return
        for i, a in enumerate(arrays):
            key = "w%d" % i
            self._init(key, a, False)
            self.kv.push(key, a if self.rank == 0 else nd.zeros_like(a))  # the sum: worker 0's
            self.kv.pull(key, out=a)
        nd.waitall()

    def shared_seed(self, seed):
        """``seed``, or when it is None worker 0's random draw, the same on every worker
        (random sampling must shuffle the same way everywhere)."""
        if not self.dist or seed is not None:
            return seed
        mine = np.array([random.randrange(2 ** 24) if self.rank == 0 else 0], dtype=np.float32)
        return int(self.sum_over_workers(mine, "seed")[0])  # exact: below float32's 2^24

    def any_worker(self, flag):
        """Whether ``flag`` is true on any worker (a stop asked for on worker 0 stops all)."""
        if not self.dist:
            return bool(flag)
        return bool(self.sum_over_workers(np.array([1.0 if flag else 0.0]), "flag")[0])

    def _init(self, key, like, sparse):
        if key in self._keys:
            return
        if sparse:  # a row_sparse key is initialised with every row present (ps-lite needs data)
            rows = like.shape[0]
            zero = nd.sparse.row_sparse_array((nd.zeros(like.shape), nd.arange(rows)),
                                              shape=like.shape)
        else:
            zero = nd.zeros(like.shape)
        self.kv.init(key, zero)
        self._keys[key] = True

    def _count(self, dense, pushed, pulled_rows):
        size = dense.size * 4
        self.bytes["pushed_dense"] += size
        if pulled_rows is None:
            self.bytes["pushed"] += size
            self.bytes["pulled"] += size
        else:  # values and int64 row indices
            self.bytes["pushed"] += pushed.data.size * 4 + pushed.indices.size * 8
            self.bytes["pulled"] += pulled_rows * (dense.size // dense.shape[0]) * 4
        self.bytes["pulled_dense"] += size


def _row_sparse(grad, rows):
    """The ``rows`` (sorted character indices, NumPy) of a dense gradient as a row-sparse
    array: every row listed is sent, even one whose values happen to be zero, so that the
    servers' sum holds exactly the global minibatch's rows."""
    index = nd.array(rows, ctx=grad.context, dtype="int64")
    return nd.sparse.row_sparse_array((nd.take(grad, index), index), shape=grad.shape,
                                      ctx=grad.context)
