"""Restoring phrase breaks: a character-tagging task on which bidirectional RNNs honestly help.

A bidirectional model trained as a next-character language model cheats: its backward
direction has read the character it is asked to predict. Here the whole sequence is given and
only a label per character is asked for. The lyrics corpus marks the end of each line or
phrase by a space (the book turns newlines into spaces); remove the spaces and label each
remaining character 1 if a break followed it, else 0. Whether a break comes after a
character depends on what follows it as much as on what came before ("...的可爱女人|温柔的..."),
so a tagger that reads both sides of each gap should beat one that reads only the left side.

The held-out part is the last ``val_fraction`` (20%) of the characters, contiguous and never
trained on. Both taggers are scored on exactly the same windows (see
:func:`predict_break_probs`), and the majority baseline (never a break) is reported beside
them, so a reader can see how much of the accuracy is just the class balance. The vocabulary
is that of the training part (sorted, as in :mod:`d2l_rnn.data`) plus :data:`UNK`, which
stands for the ~280 characters that only the held-out songs use.

Both paths of the package are supported: ``impl="scratch"`` runs the scratch GRU/LSTM/RNN of
:mod:`d2l_rnn.scratch` (one-hot input as a row lookup, any number of layers, both directions,
two outputs), ``impl="concise"`` a Gluon ``rnn.GRU/LSTM/RNN`` layer with ``nn.Dense(2)``.

Measured (``python -m d2l_rnn breaks``, defaults, seed 0, whole corpus: 43,262 training and
10,815 held-out characters, 15.6% of them before a break; one busy CPU core)::

                    accuracy  precision  recall    F1   training s
    majority          0.8249      0         0       0        -
    scratch  uni      0.8291    0.522     0.283   0.367     5.3
    scratch  bi       0.8404    0.567     0.374   0.451    10.4
    concise  uni      0.8108    0.440     0.295   0.353     2.6
    concise  bi       0.8369    0.548     0.391   0.456     3.7

Over seeds 0-4 (scratch) the bidirectional F1 is 0.08-0.12 above the unidirectional one. The
task is hard on unseen songs: looking up the training part's break rate for the 1-3
characters around each gap scores F1 <= 0.30, and no setting tried (128 or 256 hidden units,
2 layers, 10 epochs, weight decay 1e-3, character dropout 0.1-0.4, rare characters as UNK)
lifted the bidirectional F1 above ~0.47 or the unidirectional one above ~0.37. Both taggers
memorise the lyrics quickly (training loss ~0.02 after 10 epochs), and then the
unidirectional tagger's held-out accuracy falls below the majority's.
"""
import collections
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import mxnet as mx
import numpy as np
from mxnet import autograd, nd
from mxnet.gluon import loss as gloss, nn, rnn
from tqdm import tqdm

from .data import build_vocab, load_corpus
from .scratch import KINDS, init_state_fn, make_params
from .utils import grad_clipping, seed_everything

# Defaults: a 1-layer GRU tagger of either path peaks on the held-out part after 3-4 epochs
# (seconds of one core on the whole corpus) and only overfits after that; larger or deeper
# models, weight decay and character dropout did not raise the peak (measurements in the
# module docstring). The cosine decay ends the run at that peak.
DEFAULTS = {"num_hiddens": 64, "num_layers": 1, "num_steps": 32, "batch_size": 32,
            "lr": 0.01, "clipping_theta": 1.0, "num_epochs": 4, "embed_size": 64,
            "val_fraction": 0.2}
SMOKE = {"num_chars": 3000, "num_epochs": 2, "num_hiddens": 32, "num_steps": 16,
         "batch_size": 16}
IMPLS = ("scratch", "concise")
# Stands for every character outside the vocabulary (U+FFFD REPLACEMENT CHARACTER).
UNK = "\ufffd"
GLUON_LAYERS = {"rnn": rnn.RNN, "gru": rnn.GRU, "lstm": rnn.LSTM}
EVAL_BATCH = 256


# ------------------------------------------------------------------------------ labels ----

def normalise_breaks(text):
    """The text as :func:`insert_breaks` gives it back: leading whitespace dropped, each run
    of whitespace (spaces, newlines, ideographic spaces) replaced by one ASCII space.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    words = text.split()
    if not words:
        return ""
    return " ".join(words) + (" " if text[-1].isspace() else "")


def break_labels(text):
    """Remove the whitespace from ``text`` and label each remaining character with a break.

    A run of whitespace counts as one break, after the character before it; whitespace at the
    start has no character before it and is ignored. The lyrics also use the ideographic
    space U+3000 between phrases, so every ``str.isspace`` character is a break.

    Parameters
    ----------
    text : str

    Returns
    -------
    chars : str
        ``text`` without whitespace, length n.
    labels : numpy.ndarray
        int8 array of shape (n,): 1 where a break follows the character, else 0.
    """
    chars, labels = [], []
    for c in text:
        if c.isspace():
            if labels:
                labels[-1] = 1
        else:
            chars.append(c)
            labels.append(0)
    return "".join(chars), np.array(labels, dtype=np.int8)


def insert_breaks(chars, labels):
    """The inverse of :func:`break_labels`: a space after every character labelled 1.

    ``insert_breaks(*break_labels(t)) == normalise_breaks(t)`` for every string ``t``.

    Parameters
    ----------
    chars : str
        n characters (whitespace in them is kept as it is).
    labels : sequence of int
        Shape (n,), 0 or 1 (anything truthy is a break).

    Returns
    -------
    str
    """
    if len(chars) != len(labels):
        raise ValueError("insert_breaks needs one label per character, got %d characters and "
                         "%d labels" % (len(chars), len(labels)))
    return "".join(c + " " if y else c for c, y in zip(chars, labels))


# -------------------------------------------------------------------------------- data ----

@dataclass
class BreakData:
    """A break-restoration corpus split into a training head and a held-out tail.

    ``train_indices``/``val_indices``: int32 arrays (n_train,) and (n_val,) of character
    indices; ``train_labels``/``val_labels``: int8 arrays of the same shapes;
    ``train_text``/``val_text``: the same characters as strings; ``char_to_idx``,
    ``idx_to_char`` (sorted), ``vocab_size``.
    """
    train_indices: np.ndarray
    val_indices: np.ndarray
    train_labels: np.ndarray
    val_labels: np.ndarray
    train_text: str
    val_text: str
    char_to_idx: Dict[str, int]
    idx_to_char: List[str]
    vocab_size: int
    source: str = "jaychou_lyrics"

    def describe(self):
        """One line: sizes of the split, share of breaks, vocabulary."""
        n_train, n_val = len(self.train_labels), len(self.val_labels)
        breaks = int(self.train_labels.sum()) + int(self.val_labels.sum())
        return ("%s: %d characters without spaces (%d breaks, %.1f%%), vocabulary %d; "
                "training: the first %d, held out: the last %d"
                % (self.source, n_train + n_val, breaks, 100.0 * breaks / (n_train + n_val),
                   self.vocab_size, n_train, n_val))


def _check_positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError("%s must be a positive integer, got %r" % (name, v))


def _check_fraction(val_fraction):
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) \
            or not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be a number strictly between 0 and 1, got %r"
                         % (val_fraction,))


def make_break_data(text, val_fraction=0.2, source="text", min_count=1):
    """Split any text into training and held-out break-labelled characters.

    Parameters
    ----------
    text : str
        Text whose whitespace marks the breaks.
    val_fraction : float
        In (0, 1): the last ``round(n * val_fraction)`` characters (n counted without
        whitespace) are held out.
    source : str
        A name for messages.
    min_count : int
        Characters seen fewer than ``min_count`` times in the training part map to
        :data:`UNK`; with 1, exactly those the training part never shows.

    Returns
    -------
    BreakData
    """
    _check_fraction(val_fraction)
    _check_positive_int("min_count", min_count)
    chars, labels = break_labels(text)
    n = len(chars)
    n_val = int(round(n * val_fraction))
    if n_val < 1 or n - n_val < 1:
        raise ValueError("%s has %d characters without whitespace: too few to hold out "
                         "val_fraction=%g of them and train on the rest; use more text"
                         % (source, n, val_fraction))
    cut = n - n_val
    if not labels[:cut].any():
        raise ValueError("the training part of %s (%d characters) has no break at all, so "
                         "there is nothing to learn; use more text or a smaller val_fraction"
                         % (source, cut))
    # The vocabulary comes from the training part only, sorted as in d2l_rnn.data, plus UNK:
    # a held-out character the training never showed would otherwise keep its random
    # initial input weights, and the rare ones would only be memorised.
    counts = collections.Counter(chars[:cut])
    char_to_idx, idx_to_char = build_vocab([c for c, k in counts.items() if k >= min_count]
                                           + [UNK])
    unk = char_to_idx[UNK]
    indices = np.array([char_to_idx.get(c, unk) for c in chars], dtype=np.int32)
    return BreakData(indices[:cut], indices[cut:], labels[:cut], labels[cut:], chars[:cut],
                     chars[cut:], char_to_idx, idx_to_char, len(idx_to_char), source)


def load_break_data(path=None, num_chars=None, val_fraction=0.2, source="jaychou_lyrics",
                    min_count=1):
    """The lyrics corpus as break-labelled characters, split into training and held-out parts.

    Parameters
    ----------
    path : str or None
        Where the corpus file is (see :func:`d2l_rnn.data.dataset_path`); None searches
        ``$D2L_RNN_DATA``, ./data, ../data, then downloads.
    num_chars : int or None
        Use the first ``num_chars`` characters of the text as :func:`d2l_rnn.load_corpus`
        reads it (newlines as spaces, so spaces included); None for the whole corpus (63,282
        characters, 54,077 without whitespace).
    val_fraction : float
        In (0, 1): the held-out tail, counted in characters without whitespace.
    source : str
        A registered corpus name or the path of a UTF-8 text file.

    Returns
    -------
    BreakData
        Index arrays (n_train,), (n_val,), labels of the same shapes, the sorted vocabulary.
    """
    _check_fraction(val_fraction)
    corpus_indices, _, idx_to_char, _ = load_corpus(source, num_chars=num_chars, path=path)
    text = "".join(idx_to_char[i] for i in corpus_indices)
    return make_break_data(text, val_fraction, source=source, min_count=min_count)


# ------------------------------------------------------------------------------- models ----

class ConciseTagger(nn.HybridBlock):
    """Embedding, Gluon recurrent layer(s), ``Dense(2)`` per step.

    An embedding rather than one-hot input: a one-hot vector times the layer's input weights
    is a row lookup, which is what an embedding is; feeding Gluon's layer one-hot vectors of
    ~2,300 characters would make every step a 2,300-wide dense product for the same function
    class (with ``embed_size`` >= the gates' width the two are equally expressive, below it
    the embedding is a low-rank factor of the input weights). The scratch path does the same
    lookup inside its model functions.

    Input: token indices (num_steps, batch), float32. Output: logits (num_steps, batch, 2).
    The layer starts every window from its zero state.
    """

    def __init__(self, kind, vocab_size, num_hiddens, num_layers=1, bidirectional=False,
                 embed_size=64, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.rnn = GLUON_LAYERS[kind](num_hiddens, num_layers=num_layers,
                                          bidirectional=bidirectional, input_size=embed_size)
            self.dense = nn.Dense(2, flatten=False,
                                  in_units=(2 if bidirectional else 1) * num_hiddens)

    def hybrid_forward(self, F, X):
        """Indices (num_steps, batch) -> logits (num_steps, batch, 2)."""
        return self.dense(self.rnn(self.embedding(X)))


class _ScratchTagger:
    """A scratch model function with two outputs, its parameters and zero states."""

    def __init__(self, kind, vocab_size, num_hiddens, num_layers, bidirectional, ctx):
        self.fn = KINDS[kind]
        self.params = make_params(kind, vocab_size, num_hiddens, num_outputs=2, ctx=ctx,
                                  num_layers=num_layers, bidirectional=bidirectional)
        self.init_state = init_state_fn(kind, num_layers, bidirectional)
        self.num_hiddens, self.ctx = num_hiddens, ctx

    def __call__(self, X):
        T, B = X.shape
        logits, _ = self.fn(X, self.init_state(B, self.num_hiddens, self.ctx), self.params)
        return logits.reshape((T, B, 2))

    def weights(self):
        """The parameter list (``make_params``'s order), gradients attached."""
        return self.params


class _GluonTagger:
    """Adapter giving a :class:`ConciseTagger` the scratch tagger's interface."""

    def __init__(self, net):
        self.net = net
        self._params = [p for p in net.collect_params().values() if p.grad_req != "null"]

    def __call__(self, X):
        return self.net(X)

    def weights(self):
        """The trainable parameters' data arrays, gradients attached."""
        # A Gluon parameter's data array carries its gradient as ``.grad`` (the same memory
        # as ``grad()``), so both paths hand plain NDArrays to the optimiser.
        return [p.data() for p in self._params]


def build_tagger(kind="gru", impl="scratch", vocab_size=None, num_hiddens=64, num_layers=1,
                 bidirectional=False, embed_size=DEFAULTS["embed_size"], ctx=None):
    """A fresh tagger: a callable from indices (num_steps, batch) to logits (num_steps,
    batch, 2), whose ``weights()`` are NDArrays with their gradients attached (``.grad``).

    Parameters are drawn from MXNet's random stream: seed it first for reproducibility.
    """
    if kind not in GLUON_LAYERS:
        raise ValueError("kind must be one of %s, got %r" % (", ".join(GLUON_LAYERS), kind))
    if impl not in IMPLS:
        raise ValueError("impl must be 'scratch' or 'concise', got %r" % (impl,))
    if impl == "scratch":
        return _ScratchTagger(kind, vocab_size, num_hiddens, num_layers, bidirectional, ctx)
    net = ConciseTagger(kind, vocab_size, num_hiddens, num_layers, bidirectional, embed_size)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize(static_alloc=True)
    return _GluonTagger(net)


# --------------------------------------------------------------------------- evaluation ----

def eval_windows(n, window, context):
    """Cut a stream of n characters into windows whose centres tile it.

    Every character is scored exactly once, in the window where it lies in the centre part:
    at least ``context`` characters from both ends of the window, except near the ends of the
    stream, where there is no more text.

    Returns
    -------
    list of (start, lo, hi)
        The window covers ``[start, start + min(window, n))``; it scores ``[lo, hi)``.
    """
    if n <= window:
        return [(0, 0, n)]
    stride = window - 2 * context
    if stride < 1:
        raise ValueError("context=%d leaves no centre in windows of %d characters; it must be "
                         "less than half the window" % (context, window))
    out = []
    for lo in range(0, n, stride):
        start = min(max(lo - context, 0), n - window)
        out.append((start, lo, min(lo + stride, n)))
    return out


def predict_break_probs(tagger, indices, num_steps, context=None, ctx=None,
                        batch_size=EVAL_BATCH):
    """Probability of a break after each character of a stream, read in centre-scored windows.

    The protocol, fair to both directions: the stream is read in windows of ``num_steps``
    characters (the training length), each from a zero state, overlapping so that every
    character is scored in the window where it has at least ``context`` (default
    ``num_steps // 4``) characters on *both* sides (:func:`eval_windows`). A unidirectional
    tagger thus never loses left context to a window's start, and a bidirectional one always
    sees some characters beyond the gap; both are scored on the same windows. Scoring whole
    windows instead would hand the unidirectional tagger many characters with almost no left
    context, and reading the held-out part as one long sequence would test lengths it was
    never trained on.

    Parameters
    ----------
    tagger : callable
        From :func:`build_tagger`.
    indices : array of int
        Shape (n,).

    Returns
    -------
    numpy.ndarray
        float32 (n,).
    """
    indices = np.asarray(indices, dtype=np.float32)
    n = len(indices)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    context = num_steps // 4 if context is None else context
    wins = eval_windows(n, num_steps, context)
    T = min(num_steps, n)
    probs = np.empty(n, dtype=np.float32)
    batch_size = min(batch_size, len(wins))
    for b in range(0, len(wins), batch_size):
        chunk = wins[b:b + batch_size]
        # A fixed batch shape: the scratch models compile one graph per shape.
        padded = chunk + [chunk[-1]] * (batch_size - len(chunk))
        X = np.stack([indices[s:s + T] for s, _, _ in padded], axis=1)  # (T, batch)
        p = nd.softmax(tagger(nd.array(X, ctx=ctx)), axis=-1)[:, :, 1].asnumpy()
        for j, (s, lo, hi) in enumerate(chunk):
            probs[lo:hi] = p[lo - s:hi - s, j]
    return probs


def break_metrics(labels, predicted):
    """Accuracy, and precision, recall and F1 of the break class (0 when undefined).

    Parameters
    ----------
    labels, predicted : array of 0/1
        Shape (n,).

    Returns
    -------
    dict
        ``accuracy``, ``precision``, ``recall``, ``f1`` (floats), ``breaks``, ``predicted``,
        ``n`` (ints).
    """
    y = np.asarray(labels).astype(bool)
    p = np.asarray(predicted).astype(bool)
    if y.shape != p.shape:
        raise ValueError("labels %s and predictions %s differ in shape" % (y.shape, p.shape))
    tp = int((y & p).sum())
    precision = tp / p.sum() if p.sum() else 0.0
    recall = tp / y.sum() if y.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float((y == p).mean()) if len(y) else 0.0,
            "precision": float(precision), "recall": float(recall), "f1": float(f1),
            "breaks": int(y.sum()), "predicted": int(p.sum()), "n": int(len(y))}


def majority_baseline(labels):
    """Metrics of always answering "no break" (the majority class) on ``labels`` (n,)."""
    return break_metrics(labels, np.zeros(len(labels), dtype=np.int8))


# ----------------------------------------------------------------------------- training ----

@dataclass
class BreakTaggerResult:
    """A trained break tagger, its history and its held-out scores.

    ``history``: one dict per epoch (``epoch``, ``train_loss``, ``accuracy``, ``precision``,
    ``recall``, ``f1`` on the held-out part, ``seconds`` of training). ``metrics``: the
    held-out scores after the last epoch (see :func:`break_metrics`); ``baseline``: those of
    the majority class; ``val_predicted``: the predicted held-out labels (n_val,);
    ``train_seconds``: training time without the evaluations.
    """
    settings: dict
    history: List[dict]
    metrics: dict
    baseline: dict
    val_predicted: np.ndarray
    train_seconds: float
    data: BreakData = field(repr=False)
    tagger: object = field(repr=False)
    ctx: object = field(default=None, repr=False)

    @property
    def name(self):
        """E.g. ``'bidirectional gru'``."""
        return "%s %s" % ("bidirectional" if self.settings["bidirectional"]
                          else "unidirectional", self.settings["kind"])

    def predict_labels(self, text):
        """Break labels (n,) int8 for ``text``, whose whitespace is removed first (n
        characters are left); characters outside the vocabulary are read as :data:`UNK`."""
        chars = "".join(text.split())
        c2i = self.data.char_to_idx
        unk = c2i[UNK]
        probs = predict_break_probs(self.tagger, [c2i.get(c, unk) for c in chars],
                                    self.settings["num_steps"], ctx=self.ctx)
        return (probs > 0.5).astype(np.int8)

    def restore(self, text):
        """``text`` (whitespace ignored) with a space after each character predicted to end a
        phrase: str -> str."""
        chars = "".join(text.split())
        return insert_breaks(chars, self.predict_labels(chars))

    def as_dict(self):
        """JSON-ready summary (no parameters)."""
        return {"model": self.name, "settings": dict(self.settings), "history": self.history,
                "metrics": self.metrics, "baseline": self.baseline,
                "train_seconds": self.train_seconds}


def _check_args(kind, impl, num_hiddens, num_layers, num_steps, batch_size, lr, num_epochs,
                clipping_theta, embed_size, n_train):
    if kind not in GLUON_LAYERS:
        raise ValueError("kind must be one of %s, got %r" % (", ".join(GLUON_LAYERS), kind))
    if impl not in IMPLS:
        raise ValueError("impl must be 'scratch' or 'concise', got %r" % (impl,))
    for name, v in (("num_hiddens", num_hiddens), ("num_layers", num_layers),
                    ("num_steps", num_steps), ("batch_size", batch_size),
                    ("num_epochs", num_epochs), ("embed_size", embed_size)):
        _check_positive_int(name, v)
    if num_steps < 4:
        raise ValueError("num_steps must be at least 4 (windows are scored in their centre "
                         "half), got %d" % num_steps)
    for name, v in (("lr", lr), ("clipping_theta", clipping_theta)):
        if v is None and name == "clipping_theta":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
            raise ValueError("%s must be a positive finite number, got %r" % (name, v))
    # Windows start at a random offset below num_steps; every epoch must fill one batch.
    windows = (n_train - num_steps + 1) // num_steps
    if windows < batch_size:
        raise ValueError(
            "the training part has %d characters: too few for one minibatch of batch_size=%d "
            "windows of num_steps=%d (it needs at least %d). Use more text (num_chars), a "
            "smaller batch_size or a smaller num_steps."
            % (n_train, batch_size, num_steps, batch_size * num_steps + num_steps - 1))


def _epoch_windows(n, num_steps, batch_size, rng):
    """Start offsets (num_batches, batch_size) of non-overlapping windows from a random
    offset, shuffled; an incomplete last batch is dropped (one compiled shape)."""
    offset = rng.randint(num_steps)
    starts = np.arange(offset, n - num_steps + 1, num_steps)
    rng.shuffle(starts)
    num_batches = len(starts) // batch_size
    return starts[:num_batches * batch_size].reshape(num_batches, batch_size)


class _Adam:
    """MXNet's Adam on plain NDArrays (the scratch weights, or a Gluon net's data arrays),
    after global-norm clipping, with the learning rate decayed along a half cosine from
    ``lr`` to 0 over ``total_steps``: the same update rule for both paths."""

    def __init__(self, weights, lr, clipping_theta, total_steps, weight_decay=0.0):
        self.optimizer = mx.optimizer.Adam(learning_rate=lr, wd=weight_decay)
        self.updater = mx.optimizer.get_updater(self.optimizer)
        self.lr, self.total_steps, self.steps = lr, total_steps, 0
        self.clipping_theta = clipping_theta
        self.weights = weights

    def step(self):
        """Clip the gradients, then update every weight in place."""
        # The decay ends training in a minimum rather than wherever the last large steps
        # left it, so the final held-out scores do not jump from one epoch to the next.
        self.optimizer.set_learning_rate(
            0.5 * self.lr * (1 + math.cos(math.pi * min(1.0, self.steps / self.total_steps))))
        self.steps += 1
        grad_clipping(self.weights, self.clipping_theta)
        for i, w in enumerate(self.weights):
            self.updater(i, w.grad, w)


def train_break_tagger(kind="gru", bidirectional=False, impl="scratch",
                       num_hiddens=DEFAULTS["num_hiddens"], num_layers=DEFAULTS["num_layers"],
                       num_steps=DEFAULTS["num_steps"], batch_size=DEFAULTS["batch_size"],
                       lr=DEFAULTS["lr"], num_epochs=DEFAULTS["num_epochs"], seed=0, data=None,
                       progress=None, quiet=False, clipping_theta=DEFAULTS["clipping_theta"],
                       embed_size=DEFAULTS["embed_size"], weight_decay=0.0, char_dropout=0.0,
                       ctx=None, say: Optional[Callable] = print):
    """Train a break tagger on ``data``'s training part; score it on the held-out part.

    Training: every epoch cuts the training characters into non-overlapping windows of
    ``num_steps`` from a random offset, shuffles them and reads each from a zero state (a
    tagging task, not a language model: no state is carried from window to window). The loss
    is the softmax cross-entropy of each character's label, averaged over the num_steps x
    batch_size characters of a minibatch; the update is MXNet's Adam after global-norm
    clipping at ``clipping_theta``, its learning rate decayed from ``lr`` to 0 along a half
    cosine over the whole run; the same for both paths. After each epoch the held-out part is
    tagged as :func:`predict_break_probs` describes, a break predicted where its probability
    exceeds 0.5, and scored with :func:`break_metrics`.

    Parameters
    ----------
    kind : {'gru', 'lstm', 'rnn'}
    bidirectional : bool
    impl : {'scratch', 'concise'}
    num_hiddens, num_layers, num_steps, batch_size, num_epochs : int
        Hidden units per direction, stacked layers, characters per window (training and
        evaluation), windows per minibatch, passes over the training part.
    lr : float
        Adam's initial learning rate.
    seed : int
        Seeds Python, NumPy and MXNet, and the window order.
    data : BreakData or None
        None loads the whole lyrics corpus (:func:`load_break_data`).
    progress : bool or None
        A progress bar on stderr; None shows it when stderr is a terminal.
    quiet : bool
        No line per epoch.
    clipping_theta : float or None
        Global gradient-norm threshold (None: no clipping).
    embed_size : int
        Concise only: the embedding width (see :class:`ConciseTagger`).
    weight_decay : float
        Adam's L2 penalty (``wd``), >= 0.
    char_dropout : float
        In [0, 1): the share of training input characters replaced by :data:`UNK` (labels
        kept), a regulariser for both paths alike.
    ctx : mxnet.Context or None
        Where to train (default: CPU).
    say : callable or None
        Receives the line per epoch (default: print).

    Returns
    -------
    BreakTaggerResult
        ``history`` has num_epochs entries; ``val_predicted`` is (n_val,).
    """
    data = load_break_data() if data is None else data
    _check_args(kind, impl, num_hiddens, num_layers, num_steps, batch_size, lr, num_epochs,
                clipping_theta, embed_size, len(data.train_labels))
    for name, v, hi in (("weight_decay", weight_decay, math.inf),
                        ("char_dropout", char_dropout, 1.0)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < hi:
            raise ValueError("%s must be a number in [0, %s), got %r" % (name, hi, v))
    if progress is None:
        progress = sys.stderr.isatty()
    ctx = ctx or mx.cpu()
    seed_everything(seed)
    rng = np.random.RandomState(seed)
    tagger = build_tagger(kind, impl, data.vocab_size, num_hiddens, num_layers,
                          bool(bidirectional), embed_size, ctx)
    # All epochs' windows are drawn up front so the learning-rate decay knows the step count.
    schedule = [_epoch_windows(len(data.train_labels), num_steps, batch_size, rng)
                for _ in range(num_epochs)]
    opt = _Adam(tagger.weights(), lr, clipping_theta, sum(len(b) for b in schedule),
                weight_decay)
    loss_fn = gloss.SoftmaxCrossEntropyLoss()
    settings = {"kind": kind, "impl": impl, "bidirectional": bool(bidirectional),
                "num_hiddens": num_hiddens, "num_layers": num_layers, "num_steps": num_steps,
                "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs, "seed": seed,
                "clipping_theta": clipping_theta, "optimizer": "adam, cosine decay",
                "weight_decay": weight_decay, "char_dropout": char_dropout,
                "embed_size": embed_size if impl == "concise" else None,
                "train_chars": int(len(data.train_labels)),
                "val_chars": int(len(data.val_labels)),
                "eval": "windows of num_steps, centre half scored"}
    train_x = data.train_indices.astype(np.float32)
    train_y = data.train_labels.astype(np.float32)
    offsets = np.arange(num_steps)
    unk = data.char_to_idx[UNK]
    baseline = majority_baseline(data.val_labels)
    history, train_seconds, predicted, metrics = [], 0.0, None, None
    label = "%s %s%s" % (impl, "bi-" if bidirectional else "", kind)
    for epoch in range(1, num_epochs + 1):
        start = time.time()
        losses = []
        bar = tqdm(schedule[epoch - 1], desc="%s epoch %d/%d" % (label, epoch, num_epochs),
                   unit="batch", disable=not progress, file=sys.stderr, leave=False)
        for starts in bar:
            rows = (starts[None, :] + offsets[:, None])  # (num_steps, batch): time-major
            x = train_x[rows]
            if char_dropout:
                x = np.where(rng.rand(*x.shape) < char_dropout, unk, x)
            X, Y = nd.array(x, ctx=ctx), nd.array(train_y[rows], ctx=ctx)
            with autograd.record():
                logits = tagger(X)
                l = loss_fn(logits.reshape((-1, 2)), Y.reshape((-1,))).mean()
            l.backward()
            opt.step()
            losses.append(l)
        # One host sync per epoch rather than per batch.
        train_loss = float(nd.concat(*[v.reshape((1,)) for v in losses], dim=0)
                           .mean().asscalar())
        seconds = time.time() - start
        train_seconds += seconds
        if not math.isfinite(train_loss):
            raise FloatingPointError("the training loss became %s in epoch %d with lr=%g; "
                                     "lower the learning rate" % (train_loss, epoch, lr))
        probs = predict_break_probs(tagger, data.val_indices, num_steps, ctx=ctx)
        predicted = (probs > 0.5).astype(np.int8)
        metrics = break_metrics(data.val_labels, predicted)
        history.append({"epoch": epoch, "train_loss": train_loss,
                        **{k: metrics[k] for k in ("accuracy", "precision", "recall", "f1")},
                        "seconds": seconds})
        if not quiet and say is not None:
            say("%s epoch %d: loss %.4f, held-out accuracy %.4f, precision %.3f, recall "
                "%.3f, F1 %.3f (%.1f s)" % (label, epoch, train_loss, metrics["accuracy"],
                                            metrics["precision"], metrics["recall"],
                                            metrics["f1"], seconds))
    return BreakTaggerResult(settings, history, metrics, baseline, predicted, train_seconds,
                             data, tagger, ctx)


# ---------------------------------------------------------------------------- comparison ----

@dataclass
class BreakComparison:
    """Unidirectional vs bidirectional tagger trained with identical settings.

    ``uni``, ``bi``: :class:`BreakTaggerResult`; ``baseline``: majority-class metrics;
    ``example``: a held-out stretch as ``{"start", "truth", "uni", "bi"}`` strings.
    """
    uni: BreakTaggerResult
    bi: BreakTaggerResult
    baseline: dict
    example: dict

    def rows(self):
        """Table rows: dicts with model, accuracy, precision, recall, f1, seconds."""
        keys = ("accuracy", "precision", "recall", "f1")
        out = [dict(model="majority (never a break)", seconds=None,
                    **{k: self.baseline[k] for k in keys})]
        for r in (self.uni, self.bi):
            out.append(dict(model=r.name, seconds=r.train_seconds,
                            **{k: r.metrics[k] for k in keys}))
        return out

    def table(self):
        """The rows as aligned text."""
        lines = ["%-26s %9s %10s %7s %7s %8s"
                 % ("model", "accuracy", "precision", "recall", "F1", "seconds")]
        for r in self.rows():
            lines.append("%-26s %9.4f %10.3f %7.3f %7.3f %8s"
                         % (r["model"], r["accuracy"], r["precision"], r["recall"], r["f1"],
                            "-" if r["seconds"] is None else "%.1f" % r["seconds"]))
        return "\n".join(lines)

    def as_dict(self):
        """JSON-ready: settings, rows, per-epoch histories, example."""
        return {"settings": {k: v for k, v in self.uni.settings.items()
                             if k != "bidirectional"},
                "rows": self.rows(), "baseline": self.baseline,
                "unidirectional": self.uni.as_dict(), "bidirectional": self.bi.as_dict(),
                "example": self.example}


def example_span(labels, near, max_chars=40):
    """A stretch of whole phrases around position ``near`` of a labelled stream (n,): returns
    ``(start, end)``, starting just after a break and ending at one, at most ``max_chars``
    long (a longer first phrase is cut at ``max_chars``)."""
    labels = np.asarray(labels)
    n = len(labels)
    breaks = np.flatnonzero(labels)
    before = breaks[breaks < near]
    start = int(before[-1]) + 1 if len(before) else 0
    ends = breaks[(breaks >= start) & (breaks < start + max_chars)]
    end = int(ends[-1]) + 1 if len(ends) else min(n, start + max_chars)
    return start, end


def compare_break_taggers(kind="gru", impl="scratch", num_epochs=DEFAULTS["num_epochs"],
                          num_hiddens=DEFAULTS["num_hiddens"], seed=0, data=None,
                          progress=None, quiet=False, say=print, **kwargs):
    """Train the unidirectional and the bidirectional tagger with identical settings (same
    data, seed, hyperparameters) and compare them on the held-out part.

    ``kwargs`` go to :func:`train_break_tagger` (num_layers, num_steps, batch_size, lr ...).
    Unless ``quiet``, prints the table and an example held-out line (truth, uni, bi).

    Returns
    -------
    BreakComparison
    """
    data = load_break_data() if data is None else data
    common = dict(kind=kind, impl=impl, num_epochs=num_epochs, num_hiddens=num_hiddens,
                  seed=seed, data=data, progress=progress, quiet=quiet, say=say, **kwargs)
    uni = train_break_tagger(bidirectional=False, **common)
    bi = train_break_tagger(bidirectional=True, **common)
    start, end = example_span(data.val_labels, len(data.val_labels) // 2)
    chars = data.val_text[start:end]
    example = {"start": start, "end": end,
               "truth": insert_breaks(chars, data.val_labels[start:end]),
               "uni": insert_breaks(chars, uni.val_predicted[start:end]),
               "bi": insert_breaks(chars, bi.val_predicted[start:end])}
    result = BreakComparison(uni, bi, uni.baseline, example)
    if not quiet and say is not None:
        say(result.table())
        say("held-out characters %d-%d (scored as in the table):" % (start, end))
        for k in ("truth", "uni", "bi"):
            say("  %-6s %s" % (k + ":", example[k]))
    return result


# ----------------------------------------------------------------------------------- CLI ----

def add_subcommand(subparsers):
    """Register ``breaks``: unidirectional vs bidirectional phrase-break restoration."""
    from .cli import _positive_float, _positive_int
    d = DEFAULTS
    p = subparsers.add_parser(
        "breaks", help="restore phrase breaks in the lyrics: unidirectional vs bidirectional",
        description="Remove the spaces (phrase breaks) from the lyrics, train a "
                    "unidirectional and a bidirectional tagger with identical settings to "
                    "put them back, and compare them on the held-out last 20% of the "
                    "characters (never trained on) beside the majority baseline.")
    p.add_argument("--model", choices=sorted(GLUON_LAYERS), default="gru",
                   help="recurrent cell (default: gru)")
    p.add_argument("--impl", choices=IMPLS, default="scratch",
                   help="scratch model functions or Gluon's rnn layers (default: scratch)")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help="epochs (default: %d; --smoke: %d)"
                        % (d["num_epochs"], SMOKE["num_epochs"]))
    p.add_argument("--num-hiddens", type=_positive_int, default=None,
                   help="hidden units per direction (default: %d; --smoke: %d)"
                        % (d["num_hiddens"], SMOKE["num_hiddens"]))
    p.add_argument("--num-layers", type=_positive_int, default=d["num_layers"],
                   help="stacked recurrent layers (default: %(default)s)")
    p.add_argument("--num-steps", type=_positive_int, default=None,
                   help="characters per training and evaluation window (default: %d; "
                        "--smoke: %d)" % (d["num_steps"], SMOKE["num_steps"]))
    p.add_argument("--batch-size", type=_positive_int, default=None,
                   help="windows per minibatch (default: %d; --smoke: %d)"
                        % (d["batch_size"], SMOKE["batch_size"]))
    p.add_argument("--lr", type=_positive_float, default=d["lr"],
                   help="Adam's initial learning rate, decayed to 0 along a half cosine "
                        "(default: %(default)s)")
    p.add_argument("--num-chars", type=_positive_int, default=None,
                   help="use the first N characters of the corpus, spaces included "
                        "(default: all 63,282; --smoke: %d)" % SMOKE["num_chars"])
    p.add_argument("--data-path", default=None,
                   help="where the lyrics file is (default: $D2L_RNN_DATA, ./data, ../data, "
                        "else download)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed: Python, NumPy, MXNet, window order (default: 0)")
    p.add_argument("--json", metavar="FILE.json", default=None,
                   help="write the table, settings, per-epoch histories and the example as "
                        "JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--smoke", action="store_true",
                   help="quick run with small defaults (see the other flags); flags given "
                        "explicitly still apply")
    p.set_defaults(func=cmd_breaks)


def cmd_breaks(args):
    """Run the ``breaks`` subcommand; returns the exit status."""
    import json
    from .cli import CLIError, write_text_atomic
    defaults = dict(DEFAULTS, **SMOKE) if args.smoke else dict(DEFAULTS, num_chars=None)
    for flag, key in (("epochs", "num_epochs"), ("num_hiddens", "num_hiddens"),
                      ("num_steps", "num_steps"), ("batch_size", "batch_size"),
                      ("num_chars", "num_chars")):
        if getattr(args, flag) is None:
            setattr(args, flag, defaults[key])
    if args.num_chars is not None and args.num_chars < 2:
        raise CLIError("--num-chars must be at least 2, got %d" % args.num_chars)
    data = load_break_data(args.data_path, args.num_chars)
    print(data.describe(), flush=True)
    print("%s %s, %d hidden, %d layer(s), windows of %d, batch %d, Adam lr %g, %d epochs, "
          "seed %d" % (args.impl, args.model, args.num_hiddens, args.num_layers,
                       args.num_steps, args.batch_size, args.lr, args.epochs, args.seed),
          flush=True)
    result = compare_break_taggers(
        args.model, args.impl, num_epochs=args.epochs, num_hiddens=args.num_hiddens,
        seed=args.seed, data=data, progress=False if args.no_progress else None,
        num_layers=args.num_layers, num_steps=args.num_steps, batch_size=args.batch_size,
        lr=args.lr)
    if args.json:
        record = dict(result.as_dict(), num_chars=args.num_chars, smoke=args.smoke)
        write_text_atomic(args.json, json.dumps(record, ensure_ascii=False, indent=1))
        print("results written to %s" % args.json)
    return 0
