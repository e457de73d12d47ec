"""The task's data: text whose whitespace marks the breaks, turned into characters with a 0/1
label each (1: a break follows), and split into a training head and a held-out tail.

The lyrics mark the end of each line or phrase by a space (the book turns newlines into
spaces). The vocabulary is that of the training part (sorted, as in :mod:`d2l_rnn.data`) plus
:data:`UNK`, which stands for the ~280 characters that only the held-out songs use.
"""
import collections
from dataclasses import dataclass
from typing import Dict, List

import numpy as np

from ...data import build_vocab, load_corpus
from ...util import checks

# Stands for every character outside the vocabulary (U+FFFD REPLACEMENT CHARACTER).
UNK = "\ufffd"


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
    checks.fraction("val_fraction", val_fraction, low_open=True)
    checks.positive_int("min_count", min_count)
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
    # The vocabulary comes from the training part only: a held-out character the training
    # never showed would otherwise keep its random initial input weights, and the rare ones
    # would only be memorised.
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
    min_count : int
        See :func:`make_break_data`.

    Returns
    -------
    BreakData
        Index arrays (n_train,), (n_val,), labels of the same shapes, the sorted vocabulary.
    """
    # Checked before the corpus is read (or downloaded).
    checks.fraction("val_fraction", val_fraction, low_open=True)
    corpus_indices, _, idx_to_char, _ = load_corpus(source, num_chars=num_chars, path=path)
    text = "".join(idx_to_char[i] for i in corpus_indices)
    return make_break_data(text, val_fraction, source=source, min_count=min_count)
