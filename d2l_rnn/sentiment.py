"""Sentiment classification of IMDb reviews with a bidirectional LSTM (d2l-zh, chapter 10.7).

The reviews are read straight from the ``.tar.gz`` archive (the labeled repack in the shared
data folder, or Stanford's original ``aclImdb_v1.tar.gz``), tokenised, mapped through a
vocabulary built on the training reviews and padded or truncated to 500 tokens.

MXNet 1.9.1's fused ``rnn.LSTM(use_sequence_length=True)`` ignores the sequence lengths on
CPU (the backward direction reads the padding, and outputs after the end are not zero), so the
bidirectional encoder here is built from one unidirectional LSTM per direction and layer: the
backward direction runs on each review's *valid part reversed* (``SequenceReverse`` with
lengths), and the classifier reads the last *valid* time step (``SequenceLast``). Padding
therefore cannot change a prediction, which also lets training trim every minibatch to its
longest review.
"""
import collections
import json
import math
import os
import re
import sys
import tarfile
import time

import numpy as np
import mxnet as mx
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import loss as gloss, nn, rnn
from tqdm import tqdm

from .data import DATASETS, ENV_VAR, DataError, DatasetNotFound, dataset_path, sha1_of
from .utils import seed_everything

PAD, UNK = "<pad>", "<unk>"
LABELS = ("negative", "positive")
BOOK = {"embed_size": 100, "num_hiddens": 100, "num_layers": 2, "max_len": 500,
        "min_freq": 5, "lr": 0.01, "batch_size": 64, "num_epochs": 5}
SMOKE = {"num_train": 2000, "num_test": 1000, "num_epochs": 2}

# A review file inside either archive; this leaves out train/unsup and the .feat/url files.
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt$")
_TOKEN = re.compile(r"[\w']+|[^\w\s]")


# ---------------------------------------------------------------------------------- data ----

def imdb_archive(path=None, verify=True, download_missing=True):
    """Path of an IMDb archive: the labeled repack if found, else Stanford's (downloaded).

    ``path`` may be either archive file or a directory holding one; an explicit file is
    checked against both registered SHA-1s.
    """
    if path is not None and os.path.isfile(path):
        if verify:
            digest = sha1_of(path)
            known = DATASETS["imdb_labeled"].sha1 + DATASETS["imdb"].sha1
            if digest not in known:
                raise DataError(
                    "%s has SHA-1 %s, which is neither the labeled IMDb repack (%s) nor "
                    "Stanford's aclImdb_v1.tar.gz (%s). Point at one of those two archives, "
                    "or pass verify=False for a file you changed on purpose."
                    % (path, digest, DATASETS["imdb_labeled"].sha1[0],
                       DATASETS["imdb"].sha1[0]))
        return path
    if path is not None:
        for name in ("imdb_labeled", "imdb"):
            if os.path.isfile(os.path.join(path, DATASETS[name].filename)):
                return dataset_path(name, path, verify=verify)
        raise DataError("%s holds neither %s nor %s; pass the path of one of those archives."
                        % (path, DATASETS["imdb_labeled"].filename,
                           DATASETS["imdb"].filename))
    try:
        return dataset_path("imdb_labeled", download_missing=False, verify=verify)
    except DatasetNotFound:
        pass  # a present but corrupt file is a DataError of its own and propagates
    try:
        return dataset_path("imdb", download_missing=download_missing, verify=verify)
    except DatasetNotFound as e:
        raise DataError("no IMDb archive: %s was not found in $%s, ./data or ../data, and "
                        "the Stanford archive could not be used either (%s). Set %s to the "
                        "folder holding %s, or pass the archive's path."
                        % (DATASETS["imdb_labeled"].filename, ENV_VAR, e, ENV_VAR,
                           DATASETS["imdb_labeled"].filename)) from e


def read_imdb(archive, splits=("train", "test")):
    """Read labeled reviews straight from an IMDb ``.tar.gz`` (no extraction).

    Returns {split: (texts, labels)} in archive order; labels are 1 (pos) or 0 (neg).
    """
    out = {s: ([], []) for s in splits}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                m = _MEMBER.search(member.name)
                if not member.isfile() or m is None or m.group(1) not in out:
                    continue
                texts, labels = out[m.group(1)]
                texts.append(tar.extractfile(member).read().decode("utf-8"))
                labels.append(1 if m.group(2) == "pos" else 0)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DataError("%s is not a readable tar.gz archive (%s); delete it and fetch it "
                        "again." % (archive, e)) from e
    for s, (texts, _) in out.items():
        if not texts:
            raise DataError("%s holds no aclImdb/%s/{pos,neg}/*.txt reviews; is it an IMDb "
                            "archive?" % (archive, s))
    return {s: (texts, np.array(labels, dtype=np.int64)) for s, (texts, labels) in out.items()}


def tokenize(text):
    """Lower-case word and punctuation tokens; ``<br />`` line breaks are dropped."""
    return _TOKEN.findall(text.replace("<br />", " ").lower())


class Vocab:
    """Token <-> index mapping: ``<unk>`` is 0, ``<pad>`` is 1, then tokens by frequency."""

    def __init__(self, token_lists, min_freq=5):
        counter = collections.Counter(t for tokens in token_lists for t in tokens)
        kept = sorted((t for t, c in counter.items() if c >= min_freq and t not in (PAD, UNK)),
                      key=lambda t: (-counter[t], t))
        self.idx_to_token = [UNK, PAD] + kept
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, token):
        return self.token_to_idx.get(token, 0)

    @property
    def pad(self):
        """Index of the padding token."""
        return 1

    def indices(self, tokens):
        """Token list -> index list; unknown tokens map to 0 (``<unk>``)."""
        return [self.token_to_idx.get(t, 0) for t in tokens]


def encode(token_lists, vocab, max_len=500):
    """Pad or truncate to ``max_len``: features (n, max_len) int32 and valid lengths (n,).

    An empty review gets one ``<pad>`` step of valid length 1, so every row has a last step.
    """
    features = np.full((len(token_lists), max_len), vocab.pad, dtype=np.int32)
    lengths = np.empty(len(token_lists), dtype=np.int32)
    for i, tokens in enumerate(token_lists):
        idx = vocab.indices(tokens[:max_len])
        features[i, :len(idx)] = idx
        lengths[i] = max(len(idx), 1)
    return features, lengths


Split = collections.namedtuple("Split", "features lengths labels")


def _subset(n_total, n, rng):
    if n is None or n >= n_total:
        return np.arange(n_total)
    return np.sort(rng.permutation(n_total)[:n])


def load_data_imdb(path=None, num_train=None, num_test=None, max_len=500, min_freq=5, seed=0):
    """Tokenised, encoded IMDb: ``(train, test, vocab)``, each split a ``Split``.

    ``num_train``/``num_test`` take a seeded random subset (the archives are sorted by
    label). The vocabulary comes from the (possibly reduced) training reviews only.
    """
    data = read_imdb(imdb_archive(path))
    rng = np.random.RandomState(seed)
    splits = {}
    for name, n in (("train", num_train), ("test", num_test)):
        texts, labels = data[name]
        keep = _subset(len(texts), n, rng)
        splits[name] = ([tokenize(texts[i]) for i in keep], labels[keep])
    vocab = Vocab(splits["train"][0], min_freq=min_freq)
    train, test = (Split(*encode(splits[s][0], vocab, max_len), splits[s][1])
                   for s in ("train", "test"))
    return train, test, vocab


# --------------------------------------------------------------------------------- model ----

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
    """A fresh, initialised ``BiRNN`` (Xavier for weights, as in the chapter)."""
    if seed is not None:
        mx.random.seed(seed)
    net = BiRNN(vocab_size, **{k: sizes.get(k, BOOK[k])
                               for k in ("embed_size", "num_hiddens", "num_layers")})
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
    """Copy ``vectors`` (rows that are NaN keep their initial values) into the embedding.

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


# ------------------------------------------------------------------------------ training ----

def batches(split, batch_size, rng=None, pool=50, bucket_to=20):
    """Yield ``(X, lengths, y)`` NDArrays; X is (n, t) trimmed to the batch's longest review.

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
    """Logits (n, 2) for encoded reviews, features (n, t) and lengths (n,)."""
    split = Split(np.asarray(features), np.asarray(lengths),
                  np.zeros(len(lengths), dtype=np.int64))
    order = np.argsort(split.lengths, kind="stable")
    out = np.empty((len(lengths), 2), dtype=np.float32)
    start = 0
    for X, L, _ in batches(split, batch_size):
        out[order[start:start + len(L)]] = net(X, L).asnumpy()
        start += len(L)
    return out


def evaluate_accuracy(net, split, batch_size=256):
    """Fraction of reviews in ``split`` whose arg-max prediction equals the label."""
    logits = predict_logits(net, split.features, split.lengths, batch_size)
    return float((logits.argmax(axis=1) == split.labels).mean())


History = collections.namedtuple("History", "epoch loss train_acc test_acc seconds")


def train(net, train_split, test_split, num_epochs=5, lr=0.01, batch_size=64, seed=0,
          progress=None, say=print):
    """Train with Adam and softmax cross-entropy; evaluate on ``test_split`` each epoch.

    Returns a ``History`` of per-epoch lists (loss, train accuracy, test accuracy, seconds).
    """
    if progress is None:
        progress = sys.stderr.isatty()
    rng = np.random.RandomState(seed)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    loss = gloss.SoftmaxCrossEntropyLoss()
    hist = History([], [], [], [], [])
    n = len(train_split.labels)
    for epoch in range(1, num_epochs + 1):
        start, loss_sum, correct, seen = time.time(), 0.0, 0, 0
        bar = tqdm(total=n, desc="epoch %d/%d" % (epoch, num_epochs), unit="review",
                   disable=not progress, file=sys.stderr, leave=False, smoothing=0.05)
        for X, L, y in batches(train_split, batch_size, rng):
            with autograd.record():
                logits = net(X, L)
                l = loss(logits, y)
            l.backward()
            trainer.step(len(y))
            loss_sum += float(l.sum().asscalar())
            correct += int((logits.argmax(axis=1) == y).sum().asscalar())
            seen += len(y)
            bar.update(len(y))
            bar.set_postfix(loss="%.3f" % (loss_sum / seen), refresh=False)
        bar.close()
        if not math.isfinite(loss_sum):
            raise FloatingPointError("the training loss became %s in epoch %d with lr=%g; "
                                     "lower the learning rate" % (loss_sum, epoch, lr))
        seconds = time.time() - start
        test_acc = evaluate_accuracy(net, test_split)
        for field, value in zip(hist, (epoch, loss_sum / n, correct / n, test_acc, seconds)):
            field.append(value)
        say("epoch %d, loss %.4f, train acc %.3f, test acc %.3f, %.1f s (%.0f reviews/s)"
            % (epoch, loss_sum / n, correct / n, test_acc, seconds, n / seconds))
    return hist


def predict_sentiment(net, vocab, sentence, max_len=500):
    """``'positive'`` or ``'negative'`` for a review given as a string or a token list."""
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    features, lengths = encode([tokens], vocab, max_len)
    logits = net(nd.array(features[:, :lengths[0]]), nd.array(lengths))
    return LABELS[int(logits.argmax(axis=1).asscalar())]


# ---------------------------------------------------------------------------------- CLI ----

def add_subcommand(subparsers):
    """Register ``sentiment``: train and evaluate the BiLSTM on IMDb."""
    from .cli import _positive_float, _positive_int
    p = subparsers.add_parser(
        "sentiment", help="train the bidirectional-LSTM sentiment classifier on IMDb",
        description="Train the chapter's 2-layer BiLSTM on IMDb reviews (read straight from "
                    "the tar.gz) and report test accuracy.")
    p.add_argument("--data-path", default=None,
                   help="aclImdb_labeled.tar.gz or aclImdb_v1.tar.gz, or a folder holding "
                        "one (default: $D2L_RNN_DATA, ./data, ../data, else download)")
    p.add_argument("--epochs", type=_positive_int, default=BOOK["num_epochs"],
                   help="epochs (the chapter: %(default)s)")
    p.add_argument("--batch-size", type=_positive_int, default=BOOK["batch_size"],
                   help="reviews per minibatch (the chapter: %(default)s)")
    p.add_argument("--lr", type=_positive_float, default=BOOK["lr"],
                   help="Adam learning rate (the chapter: %(default)s)")
    p.add_argument("--num-train", type=_positive_int, default=None,
                   help="train on a random subset of N reviews (default: all 25,000)")
    p.add_argument("--num-test", type=_positive_int, default=None,
                   help="evaluate on a random subset of N reviews (default: all 25,000)")
    p.add_argument("--glove", metavar="PATH", default=None,
                   help="GloVe-format text file to initialise the embedding from")
    p.add_argument("--freeze", action="store_true",
                   help="keep the loaded GloVe vectors fixed (needs --glove)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed (subsets, initialisation, shuffling)")
    p.add_argument("--history", metavar="FILE.json", default=None,
                   help="write the per-epoch history (and run size, wall time) as JSON")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--smoke", action="store_true",
                   help="quick run: 2 epochs on 2,000 training and 1,000 test reviews")
    p.set_defaults(func=cmd_sentiment)


def cmd_sentiment(args):
    """Run the ``sentiment`` subcommand; returns the exit status."""
    if args.freeze and not args.glove:
        raise ValueError("--freeze keeps pretrained vectors fixed, so it needs --glove PATH")
    if args.smoke:
        args.num_train = args.num_train or SMOKE["num_train"]
        args.num_test = args.num_test or SMOKE["num_test"]
        args.epochs = SMOKE["num_epochs"]
    seed_everything(args.seed)
    start = time.time()
    train_split, test_split, vocab = load_data_imdb(args.data_path, args.num_train,
                                                    args.num_test, seed=args.seed)
    print("IMDb: %d train, %d test reviews, vocabulary %d (read in %.1f s)"
          % (len(train_split.labels), len(test_split.labels), len(vocab), time.time() - start),
          flush=True)
    net = make_net(len(vocab), seed=args.seed)
    if args.glove:
        vectors, found = load_glove(args.glove, vocab, BOOK["embed_size"])
        use_pretrained_embedding(net, vectors, freeze=args.freeze)
        print("GloVe: %d of %d vocabulary words found in %s (%s)"
              % (found, len(vocab), args.glove, "frozen" if args.freeze else "fine-tuned"))
    hist = train(net, train_split, test_split, args.epochs, args.lr, args.batch_size,
                 seed=args.seed, progress=False if args.no_progress else None)
    total = time.time() - start
    print("test accuracy %.4f after %d epochs; %.1f s/epoch, %.0f s in all"
          % (hist.test_acc[-1], len(hist.epoch), float(np.mean(hist.seconds)), total))
    for text in ("this movie is so great", "this movie is so bad"):
        print("%r: %s" % (text, predict_sentiment(net, vocab, text)))
    if args.history:
        from .cli import write_text_atomic
        record = dict(hist._asdict(), num_train=len(train_split.labels),
                      num_test=len(test_split.labels), vocab_size=len(vocab), lr=args.lr,
                      batch_size=args.batch_size, seed=args.seed, glove=args.glove,
                      freeze=args.freeze, wall_seconds=total,
                      threads=os.environ.get("OMP_NUM_THREADS"))
        write_text_atomic(args.history, json.dumps(record, indent=1))
        print("history written to %s" % args.history)
    return 0
