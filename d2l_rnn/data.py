"""Corpora: a small registry, checksum-verified downloads (through ``pooch``), vocabularies
and minibatch iterators.

The book reads ``../data/jaychou_lyrics.txt.zip`` and builds its vocabulary with
``list(set(chars))``, whose order changes from one Python process to the next (hash
randomisation). Here the vocabulary is sorted, so indices are the same in every process and a
saved model stays usable.
"""
import os
import random
import sys
import zipfile
from collections import namedtuple

import numpy as np
import pooch
import requests
from mxnet import nd

from .util import checks
from .util.fileio import file_digest

Dataset = namedtuple("Dataset", "name url filename sha1 description")

DATASETS = {
    "jaychou_lyrics": Dataset(
        "jaychou_lyrics",
        "https://raw.githubusercontent.com/d2l-ai/d2l-zh/v1/data/jaychou_lyrics.txt.zip",
        "jaychou_lyrics.txt.zip", ("9529987e701a4f37048ab778270a5dde9a762a0b",),
        "Jay Chou lyrics, the d2l-zh book's corpus (zip holding jaychou_lyrics.txt)"),
    "time_machine": Dataset(
        "time_machine", "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
        "timemachine.txt", ("090b5e7e70c295757f55df93cb0a180b9691891a",),
        "H. G. Wells, The Time Machine (plain text)"),
    "imdb": Dataset(
        "imdb", "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
        "aclImdb_v1.tar.gz", ("01ada507287d82875905620988597833ad4e0903",),
        "Large Movie Review Dataset v1.0 (Maas et al. 2011), the original Stanford archive"),
    # The labeled-only repack (no train/unsup) kept beside the project; it has no public URL.
    "imdb_labeled": Dataset(
        "imdb_labeled", None, "aclImdb_labeled.tar.gz",
        ("1fdbc4f7a2334dca442b4d2e47c695d63e68274a",),
        "IMDb reviews, labeled train/test only (same layout as the Stanford archive)"),
}

ENV_VAR = "D2L_RNN_DATA"
# The chapter trains on the first 10,000 characters of its corpus.
BOOK_NUM_CHARS = 10000


class DataError(RuntimeError):
    """A dataset file is missing, corrupt or could not be downloaded."""


class DatasetNotFound(DataError):
    """A dataset file is not on this machine and could not be downloaded."""


class CorpusTooShortError(ValueError):
    """The corpus cannot fill a single minibatch of the requested shape."""


def sha1_of(path):
    """Hex SHA-1 of a file's bytes (the registry's checksums)."""
    return file_digest(path, "sha1")


def _env_dir():
    """``$D2L_RNN_DATA`` if set (DataError if it names something that is not a folder)."""
    value = os.environ.get(ENV_VAR)
    if value and os.path.exists(value) and not os.path.isdir(value):
        raise DataError("%s=%s is a file; set %s to the folder that holds the data files (or "
                        "unset it)" % (ENV_VAR, value, ENV_VAR))
    return value or None


def _search_dirs():
    dirs = []
    if _env_dir():
        dirs.append(_env_dir())
    dirs += [os.path.join(".", "data"), os.path.join("..", "data")]
    return dirs


def _cache_dir():
    if _env_dir():
        return _env_dir()
    for d in (os.path.join(".", "data"), os.path.join("..", "data")):
        if os.path.isdir(d):
            return d
    return os.path.join(".", "data")


def _check(path, ds, what):
    digest = sha1_of(path)
    if digest not in ds.sha1:
        fetch = ("delete it so that it is downloaded again (from %s)" % ds.url if ds.url
                 else "replace it with the right file")
        if what == "file":  # named by the caller: theirs, not a cached copy
            fetch = "pass dataset %r's own file" % ds.name
        raise DataError(
            "%s %s has SHA-1 %s, expected %s for dataset %r: it is corrupt or another file; "
            "%s, or, to use a text of your own, give it as the corpus by its path (a file "
            "named by its path is read without this check)."
            % (what, path, digest, " or ".join(ds.sha1), ds.name, fetch))


def download(ds, dest_dir, url=None, timeout=60):
    """Download dataset ``ds`` into ``dest_dir`` and check its SHA-1, with ``pooch``; returns
    the file's path.

    pooch writes to a temporary file and moves it into place only when the checksum matches,
    so an interrupted or corrupt download never replaces (or masquerades as) a good file; a
    file already there with the right checksum is not downloaded again. A progress bar is
    shown on a terminal.
    """
    url = url or ds.url
    final = os.path.join(dest_dir, ds.filename)
    if not url:
        raise DatasetNotFound(
            "dataset %r has no public download address: copy %s into %s, or set %s to a "
            "directory that holds it." % (ds.name, ds.filename, dest_dir, ENV_VAR))
    os.makedirs(dest_dir, exist_ok=True)
    progress = sys.stderr.isatty()
    try:
        return pooch.retrieve(url, known_hash="sha1:" + ds.sha1[0], fname=ds.filename,
                              path=dest_dir, progressbar=progress,
                              downloader=pooch.HTTPDownloader(timeout=timeout,
                                                              progressbar=progress))
    except (requests.exceptions.RequestException, OSError) as e:
        raise DatasetNotFound(
            "could not download dataset %r from %s to %s (%s). Check the network, or "
            "copy %s there by hand, or point %s at a directory that has it."
            % (ds.name, url, final, e, ds.filename, ENV_VAR)) from None
    except ValueError as e:  # pooch: the downloaded file's hash is not the known one
        raise DataError(
            "downloaded %s for dataset %r, but its SHA-1 is not %s (%s); %s was left "
            "unchanged. The server sent a different or truncated file: try again later, "
            "or copy the right file there by hand."
            % (url, ds.name, " or ".join(ds.sha1), str(e).splitlines()[0], final)) from None


def dataset_path(name, path=None, download_missing=True, verify=True, url=None):
    """Return the local path of registered dataset ``name``, downloading it if needed.

    Order: ``path`` (a file, or a directory holding the file), ``$D2L_RNN_DATA``, ``./data``,
    ``../data``; then a download into the cache directory. Files found are SHA-1 checked.
    """
    if name not in DATASETS:
        raise DataError("unknown dataset %r; known datasets: %s"
                        % (name, ", ".join(sorted(DATASETS))))
    ds = DATASETS[name]
    if path is not None:
        candidate = os.path.join(path, ds.filename) if os.path.isdir(path) else path
        if not os.path.isfile(candidate):
            raise DataError("dataset %r: %s does not exist. Pass the path of %s (or of the "
                            "directory holding it), or leave path unset to use %s / ./data "
                            "and download it." % (name, candidate, ds.filename, ENV_VAR))
        if verify:
            _check(candidate, ds, "file")
        return candidate
    for d in _search_dirs():
        candidate = os.path.join(d, ds.filename)
        if os.path.isfile(candidate):
            if verify:
                _check(candidate, ds, "cached file")
            return candidate
    if not download_missing:
        raise DatasetNotFound(
            "dataset %r (%s) was not found in %s. Download it from %s, or set %s to a "
            "directory that holds it."
            % (name, ds.filename, ", ".join(_search_dirs()), ds.url, ENV_VAR))
    return download(ds, _cache_dir(), url=url)


def read_text(path):
    """Read a UTF-8 text file, or the single ``.txt`` member of a zip archive."""
    try:
        if path.endswith(".zip") or zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                members = [m for m in z.namelist() if m.endswith(".txt")]
                if len(members) != 1:
                    raise DataError("%s should hold exactly one .txt file, it holds %s"
                                    % (path, z.namelist()))
                raw = z.read(members[0])
        else:
            with open(path, "rb") as f:
                raw = f.read()
        return raw.decode("utf-8")
    except zipfile.BadZipFile as e:
        raise DataError("%s is not a readable zip archive (%s): give a UTF-8 text file, or a "
                        "zip archive holding one .txt file" % (path, e)) from e
    except UnicodeDecodeError as e:
        raise DataError("%s is not UTF-8 text (%s at byte %d). Convert it to UTF-8 first."
                        % (path, e.reason, e.start)) from e


def build_vocab(chars):
    """Return ``(char_to_idx, idx_to_char)`` with characters in sorted (deterministic) order."""
    idx_to_char = sorted(set(chars))
    char_to_idx = {c: i for i, c in enumerate(idx_to_char)}
    return char_to_idx, idx_to_char


def load_corpus(source="jaychou_lyrics", num_chars=BOOK_NUM_CHARS, lower=False, path=None):
    """Load a character-level corpus: a registered dataset name or the path of a UTF-8 file.

    Newlines become spaces, as in the book. ``num_chars=None`` keeps the whole text.
    Returns ``(corpus_indices, char_to_idx, idx_to_char, vocab_size)``; ``corpus_indices``
    is a list of ``len(text)`` ints in ``[0, vocab_size)``.
    """
    if num_chars is not None and (not isinstance(num_chars, int) or num_chars < 2):
        raise ValueError("num_chars must be an integer >= 2 or None (whole corpus), got %r"
                         % (num_chars,))
    if source in DATASETS:
        file_path = dataset_path(source, path)
    elif os.path.isfile(str(source)):
        file_path = source
    else:
        raise DataError("corpus %r is neither a registered dataset (%s) nor an existing file"
                        % (source, ", ".join(sorted(DATASETS))))
    text = read_text(file_path).replace("\n", " ").replace("\r", " ")
    if lower:
        text = text.lower()
    if num_chars is not None:
        text = text[:num_chars]
    if len(text) < 2:
        raise DataError("corpus %s has %d characters; at least 2 are needed"
                        % (file_path, len(text)))
    char_to_idx, idx_to_char = build_vocab(text)
    corpus_indices = [char_to_idx[c] for c in text]
    return corpus_indices, char_to_idx, idx_to_char, len(idx_to_char)


def load_data_jay_lyrics(path=None, num_chars=BOOK_NUM_CHARS):
    """The book's lyrics corpus: ``(corpus_indices, char_to_idx, idx_to_char, vocab_size)``.

    The first ``num_chars`` characters (10,000 as in the book; None for all 63,282), newlines
    as spaces, sorted vocabulary (1,027 characters for the first 10,000).
    """
    return load_corpus("jaychou_lyrics", num_chars=num_chars, path=path)


def load_data_time_machine(path=None, num_chars=BOOK_NUM_CHARS):
    """The time machine corpus, lower-cased, at character level (same tuple as the lyrics)."""
    return load_corpus("time_machine", num_chars=num_chars, lower=True, path=path)


def check_minibatch(n, batch_size, num_steps, is_random_iter):
    """CorpusTooShortError unless n characters fill one minibatch of batch_size x
    num_steps (ValueError for sizes that are not positive integers)."""
    checks.positive_int("batch_size", batch_size)
    checks.positive_int("num_steps", num_steps)
    if batches_per_epoch(n, batch_size, num_steps, is_random_iter) < 1:
        raise CorpusTooShortError(
            "the corpus has %d characters, too few for one minibatch of batch_size=%d x "
            "num_steps=%d with %s sampling (it needs at least %d). Use more characters "
            "(num_chars), a smaller batch_size or a smaller num_steps."
            % (n, batch_size, num_steps, "random" if is_random_iter else "consecutive",
               min_chars(batch_size, num_steps, is_random_iter)))


def as_index_array(corpus_indices):
    """A corpus as a flat NumPy integer array, without a copy when it is one already (a list
    becomes int32): the iterators below slice it per minibatch, so a corpus of tens of
    millions of characters is never converted whole."""
    if isinstance(corpus_indices, np.ndarray):
        return corpus_indices
    return np.asarray(corpus_indices, dtype=np.int32)


# Characters copied to the device at a time by the iterators below. Copying each minibatch
# on its own would make the training loop wait for everything queued before it: MXNet's copy
# from host memory first waits until every earlier operation has run (SyncCopyFromCPU), so
# the engine would idle while Python prepares the next minibatch (measured: 130 ms of a
# 240 ms epoch of the book's GRU spent in those copies; 0.19-0.21 s/epoch instead of
# 0.22-0.29 with one copy per epoch). A chunk of 2^18 characters holds the book's whole
# epoch (and the whole lyrics corpus), and keeps what a large corpus costs in host memory at
# a few MB.
CHUNK_CHARS = 1 << 18


def minibatch_chunks(num_batches, batch_size, num_steps):
    """``(first, count)`` ranges of ``num_batches`` minibatches of batch_size x num_steps
    characters, each range copied to the device at once (``CHUNK_CHARS`` at most, one
    minibatch at least)."""
    per_chunk = max(1, CHUNK_CHARS // (batch_size * num_steps))
    for first in range(0, num_batches, per_chunk):
        yield first, min(per_chunk, num_batches - first)


def data_iter_random(corpus_indices, batch_size, num_steps, ctx=None, rng=random):
    """Yield ``(X, Y)`` minibatches of non-overlapping windows in a random order.

    corpus_indices: a list or 1-D integer array of n character indices. X, Y: float32
    NDArrays of shape (batch_size, num_steps); Y is X shifted by one character. The windows
    start at multiples of ``num_steps`` and are shuffled with ``rng.shuffle`` (Python's
    global ``random`` by default, so a given ``random.seed`` reproduces the book's
    ``d2lzh.data_iter_random`` batches).
    """
    n = len(corpus_indices)
    check_minibatch(n, batch_size, num_steps, True)
    num_examples = (n - 1) // num_steps
    epoch_size = num_examples // batch_size
    corpus = as_index_array(corpus_indices)
    example_indices = list(range(num_examples))
    rng.shuffle(example_indices)
    offsets = np.arange(num_steps)
    for first, count in minibatch_chunks(epoch_size, batch_size, num_steps):
        starts = np.array(example_indices[first * batch_size:(first + count) * batch_size])
        rows = starts[:, None] * num_steps + offsets
        X = nd.array(corpus[rows].astype(np.float32), ctx=ctx)
        rows += 1  # in place: Y's windows, without a second index array
        Y = nd.array(corpus[rows].astype(np.float32), ctx=ctx)
        for i in range(count):  # views of the chunk's rows
            yield X[i * batch_size:(i + 1) * batch_size], Y[i * batch_size:(i + 1) * batch_size]


def data_iter_consecutive(corpus_indices, batch_size, num_steps, ctx=None):
    """Yield ``(X, Y)`` minibatches whose rows continue the previous minibatch's rows.

    corpus_indices: a list or 1-D integer array of n character indices. X, Y: float32
    NDArrays of shape (batch_size, num_steps). The corpus is cut into ``batch_size``
    contiguous streams; minibatch i holds characters ``[i*num_steps, (i+1)*num_steps)`` of
    each stream, so a hidden state can be carried over.
    """
    n = len(corpus_indices)
    check_minibatch(n, batch_size, num_steps, False)
    batch_len = n // batch_size
    epoch_size = (batch_len - 1) // num_steps
    streams = as_index_array(corpus_indices)[:batch_size * batch_len].reshape(
        batch_size, batch_len)  # a view of an array: nothing is copied until a chunk
    for first, count in minibatch_chunks(epoch_size, batch_size, num_steps):
        j0 = first * num_steps
        chunk = nd.array(streams[:, j0:j0 + count * num_steps + 1].astype(np.float32), ctx=ctx)
        for i in range(count):
            j = i * num_steps
            yield chunk[:, j:j + num_steps], chunk[:, j + 1:j + num_steps + 1]


def min_chars(batch_size, num_steps, is_random_iter):
    """The fewest characters that fill one minibatch of batch_size x num_steps."""
    return batch_size * num_steps + 1 if is_random_iter else batch_size * (num_steps + 1)


def batches_per_epoch(n, batch_size, num_steps, is_random_iter):
    """How many minibatches one epoch over n characters holds (0 when it cannot fill one)."""
    if is_random_iter:
        return max(0, ((n - 1) // num_steps) // batch_size)
    return max(0, (n // batch_size - 1) // num_steps)


def split_corpus(corpus_indices, val_fraction):
    """Split a corpus by characters: the first ``1 - val_fraction`` for training, the last
    ``val_fraction`` for validation (never shuffled together). Returns ``(train, val)``,
    slices of ``corpus_indices`` (lists for a list, views for an array); ``val`` is None
    when ``val_fraction`` is 0."""
    checks.fraction("val_fraction", val_fraction)
    if val_fraction == 0:
        return corpus_indices, None
    n = len(corpus_indices)
    n_val = int(round(n * val_fraction))
    if n_val < 2 or n - n_val < 2:
        raise ValueError("val_fraction=%g of %d characters leaves %d for validation and %d "
                         "for training; both need at least 2. Use more text or another "
                         "fraction." % (val_fraction, n, n_val, n - n_val))
    return corpus_indices[:n - n_val], corpus_indices[n - n_val:]


def to_onehot(X, size):
    """One-hot encode a (batch, num_steps) index array as the book's list of num_steps
    (batch, size) arrays."""
    return [nd.one_hot(x, size) for x in X.T]
