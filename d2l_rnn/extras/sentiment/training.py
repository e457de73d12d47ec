"""Training and using the classifier: length-bucketed minibatches, Adam on softmax
cross-entropy with a test accuracy after every epoch, and the verdict on one review."""
import math

import numpy as np
from mxnet import autograd, gluon, nd
from mxnet.gluon import loss as gloss

from ...training import History, Progress, check_losses, run_epoch
from ...util import checks
from .data import LABELS, Split, encode, tokenize
from .model import BiRNN


def batches(split, batch_size, rng=None, pool=50, bucket_to=20):
    """Yield ``(X, lengths, y)`` float32 NDArrays, X (n, t) trimmed to the batch's longest
    review, lengths and y (n,), with n <= batch_size.

    With ``rng`` the order is random: shuffled pools of ``pool`` batches are sorted by length
    so a batch holds reviews of similar length (less work), then the batches are shuffled.
    Without ``rng`` reviews come sorted by length (for evaluation). ``t`` is rounded up to a
    multiple of ``bucket_to`` so the hybridized graph sees few distinct shapes.
    """
    n = len(split.labels)
    if rng is None:
        order = np.argsort(split.lengths, kind="stable")
        groups = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    else:
        perm = rng.permutation(n)
        groups = []
        for start in range(0, n, batch_size * pool):
            chunk = perm[start:start + batch_size * pool]
            chunk = chunk[np.argsort(split.lengths[chunk], kind="stable")]
            groups += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
        groups = [groups[i] for i in rng.permutation(len(groups))]
    max_len = split.features.shape[1]
    for idx in groups:
        t = min(max_len, int(math.ceil(split.lengths[idx].max() / bucket_to) * bucket_to))
        yield (nd.array(split.features[idx, :t], dtype="float32"),
               nd.array(split.lengths[idx], dtype="float32"),
               nd.array(split.labels[idx], dtype="float32"))


def predict_logits(net, features, lengths, batch_size=256):
    """Logits (n, 2) float32 for encoded reviews, features (n, t) and lengths (n,)."""
    split = Split(np.asarray(features), np.asarray(lengths),
                  np.zeros(len(lengths), dtype=np.int64))
    order = np.argsort(split.lengths, kind="stable")
    out = np.empty((len(lengths), 2), dtype=np.float32)
    start = 0
    for X, L, _ in batches(split, batch_size):
        out[order[start:start + len(L)]] = net(X, L).asnumpy()
        start += len(L)
    return out


def accuracy(net, split, batch_size=256):
    """Fraction of reviews in ``split`` whose arg-max prediction equals the label."""
    logits = predict_logits(net, split.features, split.lengths, batch_size)
    return float((logits.argmax(axis=1) == split.labels).mean())


def train(net, train_split, test_split, num_epochs=5, lr=0.01, batch_size=64, seed=0,
          progress=None, say=print):
    """Train with Adam and softmax cross-entropy; evaluate on ``test_split`` each epoch.

    ``train_split``/``test_split``: ``Split``s. ``progress``: show a bar (None: when stderr is
    a terminal); ``say`` gets one line per epoch. Returns a ``History`` with ``loss`` (mean
    per review), ``train_acc``, ``test_acc`` and ``seconds`` (the epoch's training time) per
    epoch, and ``steps`` (minibatches trained). Raises ``TrainingDiverged`` when a
    minibatch's loss is not finite.
    """
    checks.positive_int("num_epochs", num_epochs)
    checks.positive_number("lr", lr)
    checks.positive_int("batch_size", batch_size)
    rng = np.random.RandomState(seed)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    loss = gloss.SoftmaxCrossEntropyLoss()

    def step(X, L, y):
        with autograd.record():
            logits = net(X, L)
            l = loss(logits, y)
        l.backward()
        trainer.step(len(y))
        correct = (logits.argmax(axis=1) == y).sum()
        return nd.concat(l.sum().reshape((1,)), correct.reshape((1,)), dim=0)

    hist = History("loss", "train_acc", "test_acc", "seconds")
    n = len(train_split.labels)
    num_batches = -(-n // batch_size)
    for epoch in range(1, num_epochs + 1):
        bar = Progress(num_batches, desc="epoch %d/%d" % (epoch, num_epochs),
                       enabled=progress, unit="batch", say=say)
        values, seconds = run_epoch(batches(train_split, batch_size, rng), step, bar)
        bar.close()
        check_losses(values[:, 0], epoch, lr, first_step=hist.steps)
        hist.steps += len(values)
        mean_loss, train_acc = float(values[:, 0].sum() / n), float(values[:, 1].sum() / n)
        test_acc = accuracy(net, test_split)
        hist.record(epoch, loss=mean_loss, train_acc=train_acc, test_acc=test_acc,
                    seconds=seconds)
        bar.say("epoch %d, loss %.4f, train acc %.3f, test acc %.3f, %.1f s (%.0f reviews/s)"
                % (epoch, mean_loss, train_acc, test_acc, seconds, n / seconds))
    return hist


def predict_sentiment(net, vocab, sentence, max_len=500):
    """``'positive'`` or ``'negative'`` for a review given as a string or a list of words.

    Both the package's classifier (:class:`~d2l_rnn.extras.sentiment.BiRNN` with its
    :class:`Vocab`) and the book's (a net called on token indices (1, n), with MXNet's
    ``Vocabulary`` from ``get_vocab_imdb``) are accepted, as in the book's call
    ``predict_sentiment(net, vocab, ['this', 'movie', 'is', 'so', 'great'])``. A word the
    vocabulary lacks is its unknown token (index 0), as in the book.
    """
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    if not tokens:
        raise ValueError("the sentence has no words to classify: %r" % (sentence,))
    if isinstance(net, BiRNN):
        features, lengths = encode([tokens], vocab, max_len)
        logits = net(nd.array(features[:, :lengths[0]]), nd.array(lengths))
    else:
        indices = vocab.to_indices(tokens) if hasattr(vocab, "to_indices") \
            else vocab.indices(tokens)
        logits = net(nd.array([indices], ctx=_context_of(net)))
    return LABELS[int(logits.argmax(axis=1).asscalar())]


def _context_of(net):
    """Where the net's parameters are (the book puts the sentence on d2l.try_gpu())."""
    params = list(net.collect_params().values())
    return params[0].list_ctx()[0] if params else None
