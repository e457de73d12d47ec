"""The chapter's BiLSTM classifier, with an encoder that never reads the padding.

MXNet 1.9.1's fused ``rnn.LSTM(use_sequence_length=True)`` ignores the sequence lengths on
CPU (the backward direction reads the padding, and outputs after the end are not zero), so the
bidirectional encoder here is built from one unidirectional LSTM per direction and layer: the
backward direction runs on each review's *valid part reversed* (``SequenceReverse`` with
lengths), and the classifier reads the last *valid* time step (``SequenceLast``). Padding
therefore cannot change a prediction, which also lets training trim every minibatch to its
longest review.
"""
import os

import numpy as np
import mxnet as mx
from mxnet import init, nd
from mxnet.gluon import nn, rnn

from ...data import DataError
from ...util import checks
from .config import BOOK

SIZES = ("embed_size", "num_hiddens", "num_layers")


class MaskedBiLSTM(nn.HybridBlock):
    """Stacked bidirectional LSTM that never reads past each sequence's valid length.

    Input (T, N, C) and valid lengths (N,); output (T, N, 2*num_hiddens). Steps at or after a
    sequence's length hold values that depend on padding: read only the valid ones.
    """

    def __init__(self, num_hiddens, num_layers, input_size=0, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        with self.name_scope():
            for layer in range(num_layers):
                size = input_size if layer == 0 else 2 * num_hiddens
                setattr(self, "fwd%d" % layer, rnn.LSTM(num_hiddens, input_size=size))
                setattr(self, "bwd%d" % layer, rnn.LSTM(num_hiddens, input_size=size))

    def hybrid_forward(self, F, x, lengths):
        for layer in range(self.num_layers):
            forward = getattr(self, "fwd%d" % layer)(x)
            backward = getattr(self, "bwd%d" % layer)(
                F.SequenceReverse(x, lengths, use_sequence_length=True))
            backward = F.SequenceReverse(backward, lengths, use_sequence_length=True)
            x = F.concat(forward, backward, dim=2)
        return x


class BiRNN(nn.HybridBlock):
    """The chapter's classifier: embedding, 2-layer BiLSTM, [first; last valid] step -> 2.

    Input token indices (N, T) and valid lengths (N,); output logits (N, 2).
    """

    def __init__(self, vocab_size, embed_size=100, num_hiddens=100, num_layers=2, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.embedding = nn.Embedding(vocab_size, embed_size)
            self.encoder = MaskedBiLSTM(num_hiddens, num_layers, input_size=embed_size)
            self.decoder = nn.Dense(2, in_units=4 * num_hiddens)

    def hybrid_forward(self, F, inputs, lengths):
        outputs = self.encoder(self.embedding(F.transpose(inputs)), lengths)  # (T, N, 2h)
        first = F.slice_axis(outputs, axis=0, begin=0, end=1).reshape((-3, 0))
        last = F.SequenceLast(outputs, lengths, use_sequence_length=True)
        return self.decoder(F.concat(first, last, dim=1))


def make_net(vocab_size, seed=None, hybridize=True, **sizes):
    """A fresh, initialised ``BiRNN`` (Xavier for weights, as in the chapter).

    ``sizes``: any of ``embed_size``, ``num_hiddens``, ``num_layers`` (default: ``BOOK``'s).
    """
    unknown = sorted(set(sizes) - set(SIZES))
    if unknown:
        raise ValueError("make_net got unknown sizes %s; it takes %s"
                         % (", ".join(unknown), ", ".join(SIZES)))
    checks.positive_int("vocab_size", vocab_size)
    sizes = {k: checks.positive_int(k, sizes.get(k, BOOK[k])) for k in SIZES}
    if seed is not None:
        mx.random.seed(seed)
    net = BiRNN(vocab_size, **sizes)
    net.initialize(init.Xavier())
    if hybridize:
        net.hybridize(static_alloc=True)
    return net


def load_glove(path, vocab, embed_size=None):
    """Read a GloVe-format text file (``word v1 ... vd`` per line) for the vocabulary's words.

    Returns ``(vectors, found)``: float32 (len(vocab), d) with rows of words not in the file
    left NaN, and the number of vocabulary words found. ``embed_size`` checks d.
    """
    vectors, found, dim = None, 0, embed_size
    if not os.path.isfile(path):
        raise DataError("%s: no such GloVe file; give the path of a text file of lines "
                        "'word v1 ... vd'" % path)
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.rstrip("\n").rstrip(" ").split(" ")
            if len(parts) < 2:
                continue
            if dim is None:
                dim = len(parts) - 1
            if len(parts) - 1 != dim:
                raise DataError("%s line %d has %d numbers after the word %r, expected %d "
                                "(the embedding size). Use vectors of that size or change "
                                "embed_size." % (path, line_no, len(parts) - 1, parts[0], dim))
            if vectors is None:
                vectors = np.full((len(vocab), dim), np.nan, dtype=np.float32)
            idx = vocab.token_to_idx.get(parts[0])
            if idx is not None and np.isnan(vectors[idx, 0]):
                try:
                    vectors[idx] = np.array(parts[1:], dtype=np.float32)
                except ValueError as e:
                    raise DataError("%s line %d: %s; a GloVe file has a word followed by "
                                    "numbers" % (path, line_no, e)) from e
                found += 1
    if vectors is None:
        raise DataError("%s holds no vectors; expected lines of 'word v1 ... vd'" % path)
    return vectors, found


def use_pretrained_embedding(net, vectors, freeze=False):
    """Copy ``vectors`` (vocab_size, embed_size) into the embedding; rows that are NaN keep
    their initial values. Returns the number of rows copied.

    With ``freeze`` the embedding gets no gradient, as in the chapter's frozen GloVe setup.
    """
    weight = net.embedding.weight
    current = weight.data().asnumpy()
    if vectors.shape != current.shape:
        raise ValueError("pretrained vectors have shape %s, the embedding %s; build the "
                         "vectors from the same vocabulary and embed_size"
                         % (vectors.shape, current.shape))
    have = ~np.isnan(vectors[:, 0])
    current[have] = vectors[have]
    weight.set_data(nd.array(current))
    if freeze:
        weight.grad_req = "null"
    return int(have.sum())
