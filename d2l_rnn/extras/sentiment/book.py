"""The sentiment chapter's own data helpers, with the book's signatures and results.

``download_imdb``, ``read_imdb``, ``get_tokenized_imdb``, ``get_vocab_imdb``,
``preprocess_imdb`` and ``count_tokens`` give what ``d2lzh`` gives (``tests/test_book_api.py``
compares them on the same inputs), so the chapter's cells run unchanged with
``import d2l_rnn as d2l``. Where the book downloads and unpacks Stanford's archive into
``../data``, these take the archive from the dataset registry (the labeled repack if it is on
the machine, else Stanford's, checksum verified) and unpack it atomically; ``read_imdb`` also
reads straight from the archive when the folder is not there.

The package's own, faster path (length-bucketed minibatches, a BiLSTM that never reads the
padding) is in ``data.py``, ``model.py`` and ``training.py`` beside this file.
"""
import collections
import os
import random
import shutil
import tarfile
import tempfile

import numpy as np
from mxnet import nd

from ...data import ENV_VAR, DataError
from .data import imdb_archive, read_imdb_archive

BOOK_DATA_DIR = os.path.join("..", "data")
MAX_LEN = 500  # the chapter pads or truncates every review to 500 tokens
_SPLITS, _LABELS = ("train", "test"), ("pos", "neg")  # the book reads pos before neg


def _missing(where, error):
    return DataError(
        "no IMDb reviews: %s does not exist and no IMDb archive could be used (%s). Run "
        "d2l.download_imdb() (or `python -m d2l_rnn data --fetch imdb` for Stanford's archive), "
        "or set %s to the folder holding aclImdb_labeled.tar.gz or aclImdb_v1.tar.gz."
        % (where, error, ENV_VAR))


def download_imdb(data_dir=BOOK_DATA_DIR, *, path=None):
    """Put the IMDb reviews at ``data_dir/aclImdb`` (train/test, pos/neg folders), as the
    book's ``download_imdb`` does; returns that folder.

    The archive comes from the dataset registry: ``path``, else the labeled repack found in
    $D2L_RNN_DATA, ./data or ../data, else Stanford's ``aclImdb_v1.tar.gz``, downloaded and
    its SHA-1 checked. It is unpacked into a temporary folder beside the target and renamed
    into place when complete, so an interruption leaves nothing half-extracted; a folder
    that is already there is left as it is.
    """
    target = os.path.join(data_dir, "aclImdb")
    if os.path.isdir(target):
        return target
    try:
        archive = imdb_archive(path)
    except DataError as e:
        raise _missing(target, e) from None
    os.makedirs(data_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".aclImdb-", dir=data_dir)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar.getmembers() if _inside_acl_imdb(m)]
            kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(tmp, members=members, **kw)
        os.rename(os.path.join(tmp, "aclImdb"), target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _inside_acl_imdb(member):
    # Only regular files and folders under aclImdb/: never links, absolute or ../ paths.
    name = os.path.normpath(member.name)
    return (member.isfile() or member.isdir()) and not os.path.isabs(name) \
        and name.split(os.sep)[0] == "aclImdb"


def read_imdb(folder="train", *, data_dir=BOOK_DATA_DIR):
    """The book's ``read_imdb``: a shuffled list of ``[review, label]`` pairs, the review
    lower-cased with its newlines removed, label 1 (pos) or 0 (neg).

    ``folder``: 'train' or 'test'. Reads ``data_dir/aclImdb/<folder>/{pos,neg}/*.txt`` as the
    book does (in ``os.listdir`` order, then ``random.shuffle`` with Python's global
    generator, so a seed gives the book's list); without that folder, straight from the
    registry's IMDb archive (in the archive's order, then the same shuffle).
    """
    if folder not in _SPLITS:
        raise ValueError("folder must be 'train' or 'test', got %r" % (folder,))
    root = os.path.join(data_dir, "aclImdb", folder)
    data = []
    if os.path.isdir(root):
        for label in _LABELS:
            sub = os.path.join(root, label)
            for name in os.listdir(sub):
                with open(os.path.join(sub, name), "rb") as f:
                    data.append([_clean(f.read().decode("utf-8")), int(label == "pos")])
    else:
        try:
            texts, labels = read_imdb_archive(imdb_archive(download_missing=False),
                                              splits=(folder,))[folder]
        except DataError as e:
            raise _missing(root, e) from None
        for want in (1, 0):
            data += [[_clean(t), want] for t, y in zip(texts, labels) if y == want]
    random.shuffle(data)
    return data


def _clean(review):
    return review.replace("\n", "").lower()


def get_tokenized_imdb(data):
    """The reviews of ``[review, label]`` pairs split at single spaces, lower-cased: a list
    of token lists, as the book's tokenizer gives them."""
    return [[token.lower() for token in review.split(" ")] for review, _ in data]


def count_tokens(samples):
    """A ``collections.Counter`` of the tokens of ``samples`` (a list of token lists)."""
    counter = collections.Counter()
    for sample in samples:
        counter.update(sample)
    return counter


def get_vocab_imdb(data):
    """The book's vocabulary of the tokenised reviews: MXNet's
    ``contrib.text.vocab.Vocabulary`` of the tokens seen at least 5 times (index 0 is
    ``<unk>``), which the chapter's GloVe cell accepts."""
    from mxnet.contrib import text
    return text.vocab.Vocabulary(count_tokens(get_tokenized_imdb(data)), min_freq=5)


def preprocess_imdb(data, vocab, max_len=MAX_LEN):
    """``(features, labels)`` NDArrays: the token indices of each review, (n, max_len)
    float32, truncated or padded with 0 (the ``<unk>`` index, as in the book), and the
    labels (n,)."""
    features = np.zeros((len(data), max_len), dtype=np.float32)
    for i, tokens in enumerate(get_tokenized_imdb(data)):
        idx = vocab.to_indices(tokens[:max_len])
        features[i, :len(idx)] = idx
    return nd.array(features), nd.array([label for _, label in data])
