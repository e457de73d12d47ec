"""LSTM and GRU cells written as Gluon blocks, and the counting-ones task they are trained on.

Each cell advances one time step. Its gate pre-activations come from one fused ``i2h`` and one
fused ``h2h`` dense layer and are cut apart with a single ``split``, in the gate order of
Gluon's own ``rnn.LSTMCell`` (input, forget, candidate, output) and ``rnn.GRUCell`` (reset,
update, candidate), so weights copied from those cells give the same outputs.

The task: read a random binary sequence and output how many ones it holds (a regression with
MSE loss); a prediction counts as correct when it rounds to the true count.
"""
import math
import time

import numpy as np
import mxnet as mx
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss, nn

from ..training import History, Progress, check_losses, run_epoch
from ..util import checks

# The task's sizes; batch 16 and lr 0.005 are this module's choice (measured: 100 % test
# accuracy by epoch 5 for both cells).
CHAPTER = {"num_train": 10000, "num_test": 1000, "seq_len": 20, "num_hiddens": 20,
           "batch_size": 16, "lr": 0.005, "num_epochs": 10}


def _uniform(num_hiddens):
    # Xavier-style: a uniform law with variance 1/num_hiddens has bound sqrt(3/num_hiddens).
    return init.Uniform(math.sqrt(3.0 / num_hiddens))


class LSTMCell(nn.HybridBlock):
    """One LSTM step: ``(x (N, I), [h (N, H), c (N, H)]) -> (h, [h, c])``."""

    def __init__(self, num_hiddens, input_size=0, **kwargs):
        super().__init__(**kwargs)
        self.num_hiddens = num_hiddens
        with self.name_scope():
            self.i2h = nn.Dense(4 * num_hiddens, in_units=input_size, flatten=False,
                                weight_initializer=_uniform(num_hiddens))
            self.h2h = nn.Dense(4 * num_hiddens, in_units=num_hiddens, flatten=False,
                                weight_initializer=_uniform(num_hiddens))

    def begin_state(self, batch_size, ctx=None):
        """Zero ``[h, c]``, each (batch_size, H)."""
        return [nd.zeros((batch_size, self.num_hiddens), ctx=ctx) for _ in range(2)]

    def hybrid_forward(self, F, x, states):
        h, c = states
        i, f, g, o = F.split(self.i2h(x) + self.h2h(h), num_outputs=4, axis=1)
        c = F.sigmoid(f) * c + F.sigmoid(i) * F.tanh(g)
        h = F.sigmoid(o) * F.tanh(c)
        return h, [h, c]


class GRUCell(nn.HybridBlock):
    """One GRU step: ``(x (N, I), [h (N, H)]) -> (h, [h])``.

    As in Gluon's (and cuDNN's) GRU, the reset gate scales ``h2h``'s candidate part *after*
    the matrix product: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
    """

    def __init__(self, num_hiddens, input_size=0, **kwargs):
        super().__init__(**kwargs)
        self.num_hiddens = num_hiddens
        with self.name_scope():
            self.i2h = nn.Dense(3 * num_hiddens, in_units=input_size, flatten=False,
                                weight_initializer=_uniform(num_hiddens))
            self.h2h = nn.Dense(3 * num_hiddens, in_units=num_hiddens, flatten=False,
                                weight_initializer=_uniform(num_hiddens))

    def begin_state(self, batch_size, ctx=None):
        """Zero ``[h]``, (batch_size, H)."""
        return [nd.zeros((batch_size, self.num_hiddens), ctx=ctx)]

    def hybrid_forward(self, F, x, states):
        h = states[0]
        xr, xz, xn = F.split(self.i2h(x), num_outputs=3, axis=1)
        hr, hz, hn = F.split(self.h2h(h), num_outputs=3, axis=1)
        r = F.sigmoid(xr + hr)
        z = F.sigmoid(xz + hz)
        n = F.tanh(xn + r * hn)
        h = z * h + (1 - z) * n
        return h, [h]


CELLS = {"lstm": LSTMCell, "gru": GRUCell}


def copy_from_gluon(cell, gluon_cell):
    """Copy a Gluon ``rnn.LSTMCell``/``rnn.GRUCell``'s weights into ``cell`` (same gate order)."""
    ours = {"i2h_weight": cell.i2h.weight, "i2h_bias": cell.i2h.bias,
            "h2h_weight": cell.h2h.weight, "h2h_bias": cell.h2h.bias}
    for p in gluon_cell.collect_params().values():
        key = p.name[len(gluon_cell.prefix):]
        if key not in ours:
            raise KeyError("unexpected parameter %r in %s; expected %s"
                           % (p.name, gluon_cell.prefix, sorted(ours)))
        ours[key].set_data(p.data())


class Counter(nn.HybridBlock):
    """Unrolls a cell over the sequence and regresses the count from the last hidden state.

    Input X (N, T) of 0/1; output (N,). ``seq_len`` T is fixed so the unrolled graph can be
    hybridized.
    """

    def __init__(self, cell="lstm", num_hiddens=20, seq_len=20, **kwargs):
        super().__init__(**kwargs)
        checks.choice("cell", cell, sorted(CELLS))
        checks.positive_int("num_hiddens", num_hiddens)
        checks.positive_int("seq_len", seq_len)
        self.seq_len, self.num_states = seq_len, 2 if cell == "lstm" else 1
        with self.name_scope():
            self.cell = CELLS[cell](num_hiddens, input_size=1)
            # Start at the mean count, T/2: from a zero output the first epochs are spent
            # climbing out of a plateau where every prediction is the mean anyway.
            self.dense = nn.Dense(1, in_units=num_hiddens,
                                  bias_initializer=init.Constant(seq_len / 2.0))

    def hybrid_forward(self, F, X):
        steps = F.split(F.expand_dims(X, axis=2), num_outputs=self.seq_len, axis=1,
                        squeeze_axis=True) if self.seq_len > 1 else [F.reshape(X, (-1, 1))]
        # A (N, H) zero state built from X, since a hybridized graph does not know N.
        zero = F.tile(F.zeros_like(F.slice_axis(X, axis=1, begin=0, end=1)),
                      reps=(1, self.cell.num_hiddens))
        states = [zero] * self.num_states
        for x in steps:
            h, states = self.cell(x, states)
        return F.reshape(self.dense(h), (-1,))


def make_data(num_samples, seq_len=20, seed=0):
    """Random 0/1 sequences and their counts: X (num_samples, seq_len) and y (num_samples,),
    float32."""
    checks.positive_int("num_samples", num_samples)
    checks.positive_int("seq_len", seq_len)
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 2, size=(num_samples, seq_len)).astype(np.float32)
    return X, X.sum(axis=1)


def accuracy(net, X, y, batch_size=1000):
    """Fraction of sequences X (n, T) whose rounded prediction equals the count y (n,)."""
    preds = [net(nd.array(X[i:i + batch_size])).asnumpy() for i in range(0, len(X), batch_size)]
    return float((np.round(np.concatenate(preds)) == y).mean())


def batches(X, y, batch_size, order):
    """Yield ``(xb, yb)`` NDArrays, (n, T) and (n,) with n <= batch_size, taking the rows
    of X and y in ``order``."""
    for i in range(0, len(X), batch_size):
        idx = order[i:i + batch_size]
        yield nd.array(X[idx]), nd.array(y[idx])


def train(net, train_data, test_data, num_epochs=10, lr=0.005, batch_size=16, seed=0,
          progress=None, say=print, lr_decay=1.0):
    """Adam on the MSE loss, minibatches reshuffled each epoch; test accuracy after each epoch.

    The learning rate is multiplied by ``lr_decay`` after every epoch: the count has to be
    right to within 0.5 on every sequence, and smaller final steps settle the rare extremes.

    ``train_data``/``test_data`` are (X, y) pairs from ``make_data``. ``progress``: show a bar
    (None: when stderr is a terminal); ``say`` gets one line per epoch. Returns a ``History``
    with ``loss`` (the epoch's mean squared error), ``test_acc`` and ``seconds`` (wall time,
    test included) per epoch, and ``steps`` (minibatches trained). Raises
    ``TrainingDiverged`` when a minibatch's loss is not finite.
    """
    checks.positive_int("num_epochs", num_epochs)
    checks.positive_number("lr", lr)
    checks.positive_int("batch_size", batch_size)
    checks.positive_number("lr_decay", lr_decay)
    rng = np.random.RandomState(seed)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    loss = gloss.L2Loss()  # 0.5 * squared error: the MSE up to the factor Adam ignores

    def step(xb, yb):
        with autograd.record():
            l = loss(net(xb), yb)
        l.backward()
        trainer.step(len(yb))
        return l.sum().reshape((1,))

    X, y = train_data
    num_batches = -(-len(X) // batch_size)
    hist = History("loss", "test_acc", "seconds")
    for epoch in range(1, num_epochs + 1):
        start = time.time()
        order = rng.permutation(len(X))
        bar = Progress(num_batches, desc="epoch %d" % epoch, enabled=progress, unit="batch",
                       say=say)
        values, _ = run_epoch(batches(X, y, batch_size, order), step, bar)
        bar.close()
        check_losses(values[:, 0], epoch, trainer.learning_rate, first_step=hist.steps)
        hist.steps += len(values)
        trainer.set_learning_rate(trainer.learning_rate * lr_decay)
        mse = float(2 * values[:, 0].sum() / len(X))
        acc = accuracy(net, *test_data)
        seconds = time.time() - start  # the test accuracy included, as always here
        hist.record(epoch, loss=mse, test_acc=acc, seconds=seconds)
        bar.say("epoch %d, mse %.5f, test accuracy %.4f, %.1f s" % (epoch, mse, acc, seconds))
    return hist


def run(cell="lstm", num_train=10000, num_test=1000, seq_len=20, num_hiddens=20,
        num_epochs=10, lr=0.005, batch_size=16, seed=0, progress=None, say=print,
        lr_decay=1.0):
    """The whole experiment for one cell: data, model, training. Returns ``(net, History)``."""
    mx.random.seed(seed)
    train_data = make_data(num_train, seq_len, seed=seed)
    test_data = make_data(num_test, seq_len, seed=seed + 1)
    net = Counter(cell, num_hiddens, seq_len)
    net.initialize()
    net.hybridize(static_alloc=True)
    hist = train(net, train_data, test_data, num_epochs, lr, batch_size, seed, progress, say,
                 lr_decay)
    return net, hist
