"""Scoring a tagger on the held-out part: windows fair to both directions, the break
probabilities, and the metrics beside those of the majority class.

Both taggers are scored on exactly the same windows (see :func:`predict_break_probs`), and
the majority baseline (never a break) is reported beside them, so a reader can see how much
of the accuracy is just the class balance.
"""
import numpy as np
from mxnet import nd

# Windows per forward pass when tagging a stream.
EVAL_BATCH = 256


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
        From :func:`~d2l_rnn.extras.breaks.build_tagger`.
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
