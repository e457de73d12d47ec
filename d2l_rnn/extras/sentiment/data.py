"""IMDb reviews for the sentiment classifier: found, read, tokenised and encoded.

The reviews are read straight from the ``.tar.gz`` archive (the labeled repack in the shared
data folder, or Stanford's original ``aclImdb_v1.tar.gz``), tokenised, mapped through a
vocabulary built on the training reviews and padded or truncated to ``max_len`` tokens.
"""
import collections
import os
import re
import tarfile

import numpy as np

from ...data import DATASETS, ENV_VAR, DataError, DatasetNotFound, dataset_path, sha1_of
from ...util import checks

PAD, UNK = "<pad>", "<unk>"
LABELS = ("negative", "positive")  # label 0 is a negative review, 1 a positive one

# A review file inside either archive; this leaves out train/unsup and the .feat/url files.
_MEMBER = re.compile(r"(?:^|/)aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt$")
_TOKEN = re.compile(r"[\w']+|[^\w\s]")


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
                    "Stanford's aclImdb_v1.tar.gz (%s): point at one of those two archives."
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


def read_imdb_archive(archive, splits=("train", "test")):
    """Read labeled reviews straight from an IMDb ``.tar.gz`` (no extraction).

    Returns {split: (texts, labels)} in archive order: a list of n strings and an (n,) int64
    array of labels, 1 (pos) or 0 (neg).
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


def load_imdb_text(path=None, num_chars=None, splits=("train", "test")):
    """The IMDb reviews as one character corpus for the language model (``train --corpus
    imdb_text``): ``(corpus_indices, char_to_idx, idx_to_char, vocab_size)`` as
    :func:`d2l_rnn.data.load_corpus` returns, but ``corpus_indices`` is a NumPy array
    (uint16 when the vocabulary allows, else int32) of about 65 million characters for
    the whole archive, never a Python list (which would take ~2 GB).

    The reviews of ``splits``, a split after the other, each in archive order; each one's
    ``<br />`` breaks and newlines as spaces, joined by a space; ``num_chars``: only the
    first N characters (None: all). Reading the whole archive peaks at about 6 bytes per
    character.
    """
    if num_chars is not None:
        checks.positive_int("num_chars", num_chars)
    archive = imdb_archive(path)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and _split_of(m) in splits]
            members.sort(key=lambda m: splits.index(_split_of(m)))  # stable: archive order
            # UTF-8 bytes bound the characters: one buffer of code points, filled in place.
            bound = sum(m.size + 1 for m in members)
            codes = np.empty(bound if num_chars is None else min(bound, num_chars),
                             dtype=np.uint32)
            n, chars = 0, set()
            for m in members:
                if n >= len(codes):
                    break
                text = tar.extractfile(m).read().decode("utf-8")
                text = text.replace("<br />", " ").replace("\n", " ").replace("\r", " ")
                text = (" " if n else "") + text
                chars.update(text)
                piece = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
                piece = piece[:len(codes) - n]
                codes[n:n + len(piece)] = piece
                n += len(piece)
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DataError("%s is not a readable tar.gz archive (%s); delete it and fetch it "
                        "again." % (archive, e)) from e
    if n < 2:
        raise DataError("%s holds no aclImdb/{%s}/{pos,neg}/*.txt reviews; is it an IMDb "
                        "archive?" % (archive, ",".join(splits)))
    idx_to_char = sorted(set(chr(c) for c in np.unique(codes[:n]))) if num_chars else \
        sorted(chars)  # a cut corpus may end before some characters are seen
    char_to_idx = {c: i for i, c in enumerate(idx_to_char)}
    table = np.zeros(max(map(ord, idx_to_char)) + 1, dtype=np.uint32)
    table[[ord(c) for c in idx_to_char]] = np.arange(len(idx_to_char))
    dtype = np.uint16 if len(idx_to_char) <= np.iinfo(np.uint16).max else np.int32
    corpus = np.empty(n, dtype=dtype)
    step = 1 << 22
    for i in range(0, n, step):  # a chunk at a time: no second full-size temporary
        corpus[i:i + step] = table[codes[i:min(i + step, n)]]
    return corpus, char_to_idx, idx_to_char, len(idx_to_char)


def _split_of(member):
    m = _MEMBER.search(member.name)
    return m.group(1) if m else None


def tokenize(text):
    """Lower-case word and punctuation tokens of a string; ``<br />`` line breaks are dropped."""
    return _TOKEN.findall(text.replace("<br />", " ").lower())


class Vocab:
    """Token <-> index mapping: ``<unk>`` is 0, ``<pad>`` is 1, then tokens by frequency
    (ties alphabetically); tokens seen fewer than ``min_freq`` times are left out."""

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
    """Pad or truncate n token lists to ``max_len``: features (n, max_len) int32 and valid
    lengths (n,) int32.

    An empty review gets one ``<pad>`` step of valid length 1, so every row has a last step.
    """
    features = np.full((len(token_lists), max_len), vocab.pad, dtype=np.int32)
    lengths = np.empty(len(token_lists), dtype=np.int32)
    for i, tokens in enumerate(token_lists):
        idx = vocab.indices(tokens[:max_len])
        features[i, :len(idx)] = idx
        lengths[i] = max(len(idx), 1)
    return features, lengths


# features (n, max_len) int32, lengths (n,) int32, labels (n,) int64
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
    for name, n in (("num_train", num_train), ("num_test", num_test)):
        if n is not None:
            checks.positive_int(name, n)
    checks.positive_int("max_len", max_len)
    checks.non_negative_int("min_freq", min_freq)
    data = read_imdb_archive(imdb_archive(path))
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
