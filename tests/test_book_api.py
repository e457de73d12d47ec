"""The book's names, against the book's library: every ``d2lzh`` name the covered chapters
call exists here, takes the book's positional parameters in the book's order, and gives the
book's results on the same inputs (the recurrent chapters' trainers are compared in
test_train.py, test_data.py and test_generate.py; the sentiment chapter's here)."""
import hashlib
import inspect
import io
import os
import random
import re
import tarfile
import warnings
from contextlib import redirect_stdout

import d2lzh
import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon, init, nd
from mxnet.gluon import data as gdata, loss as gloss, nn, rnn

import d2l_rnn
from d2l_rnn import data as ddata

# chapter_recurrent-neural-networks (lang-model-dataset, rnn-scratch, rnn-gluon, gru, lstm,
# deep-rnn, bi-rnn), chapter_natural-language-processing/sentiment-analysis-rnn, and the
# book's plotting and file helpers those chapters' cells use.
COVERED = (
    "load_data_jay_lyrics", "load_data_time_machine", "data_iter_random",
    "data_iter_consecutive", "to_onehot", "try_gpu", "try_all_gpus", "grad_clipping", "sgd",
    "predict_rnn", "predict_rnn_gluon", "train_and_predict_rnn", "train_and_predict_rnn_gluon",
    "RNNModel",
    "download_imdb", "read_imdb", "get_tokenized_imdb", "get_vocab_imdb", "preprocess_imdb",
    "count_tokens", "train", "evaluate_accuracy", "predict_sentiment",
    "set_figsize", "use_svg_display", "semilogy", "mkdir_if_not_exist",
)


def test_every_covered_name_is_here():
    """The promise cannot shrink silently: each name the book's cells call is ours too."""
    for name in COVERED:
        assert hasattr(d2lzh, name), "%s is not a d2lzh name: fix the list" % name
        assert callable(getattr(d2l_rnn, name, None)), "d2l_rnn lacks the book's %s" % name
    assert not inspect.ismodule(d2l_rnn.train)


def _positional(fn):
    sig = inspect.signature(fn.__init__ if inspect.isclass(fn) else fn)
    return [p.name for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]


@pytest.mark.parametrize("name", COVERED)
def test_the_books_positional_parameters_come_first_in_the_books_order(name):
    book, ours = _positional(getattr(d2lzh, name)), _positional(getattr(d2l_rnn, name))
    assert ours[:len(book)] == book


# ----------------------------------------------------------------------------------------
# The IMDb helpers, on a small data set made here

REVIEWS = {  # (split, label): reviews, with the newlines and capitals the book removes
    ("train", "pos"): ["A Great film!\nReally great.", "great great fun", "Loved it, great"],
    ("train", "neg"): ["bad\nBAD bad", "a dull, bad plot", "Bad acting. bad bad"],
    ("test", "pos"): ["great fun", "loved the great plot"],
    ("test", "neg"): ["bad plot", "dull and bad"],
}


@pytest.fixture
def imdb(tmp_path, monkeypatch):
    """``tmp/data/aclImdb/...`` as the book expects it, the same as an archive registered as
    the labeled repack (in $D2L_RNN_DATA), and the working directory ``tmp/nb`` (so that
    ``../data`` is ``tmp/data``, as for a notebook of the book)."""
    root = tmp_path / "data" / "aclImdb"
    for (split, label), texts in REVIEWS.items():
        folder = root / split / label
        folder.mkdir(parents=True)
        for i, text in enumerate(texts):
            (folder / ("%d_%d.txt" % (i, 7 if label == "pos" else 2))).write_text(
                text, encoding="utf-8")
    archives = tmp_path / "archives"
    archives.mkdir()
    archive = archives / "aclImdb_labeled.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(str(root), arcname="aclImdb")
    sha1 = hashlib.sha1(archive.read_bytes()).hexdigest()
    monkeypatch.setitem(ddata.DATASETS, "imdb_labeled",
                        ddata.DATASETS["imdb_labeled"]._replace(sha1=(sha1,)))
    monkeypatch.setenv("D2L_RNN_DATA", str(archives))
    (tmp_path / "nb").mkdir()
    monkeypatch.chdir(tmp_path / "nb")
    return tmp_path


def _both(fn, *args):
    random.seed(7)
    book = getattr(d2lzh, fn)(*args)
    random.seed(7)
    return book, getattr(d2l_rnn, fn)(*args)


@pytest.mark.parametrize("split", ["train", "test"])
def test_read_imdb_from_the_books_folders_and_from_the_archive(imdb, split):
    book, ours = _both("read_imdb", split)
    assert ours == book and len(ours) == 6 - 2 * (split == "test")
    assert all(review == review.lower() and "\n" not in review for review, _ in ours)
    import shutil
    shutil.rmtree(str(imdb / "data" / "aclImdb"))  # now only the registry's archive is left
    random.seed(7)
    from_archive = d2l_rnn.read_imdb(split)
    assert sorted(from_archive) == sorted(book)


def test_tokens_vocabulary_counts_and_features_are_the_books(imdb):
    train_data = d2lzh.read_imdb("train")
    book, ours = _both("get_tokenized_imdb", train_data)
    assert ours == book
    book, ours = _both("count_tokens", book)
    assert ours == book and ours["bad"] == 5  # "bad\nBAD" is the book's token "badbad"
    book_vocab, vocab = _both("get_vocab_imdb", train_data * 2)  # so some tokens reach 5
    assert vocab.idx_to_token == book_vocab.idx_to_token and len(vocab) > 2
    assert vocab.token_to_idx == book_vocab.token_to_idx
    (bf, bl), (f, l) = _both("preprocess_imdb", train_data, vocab)
    assert f.shape == bf.shape == (6, 500) and f.dtype == bf.dtype == np.float32
    np.testing.assert_array_equal(f.asnumpy(), bf.asnumpy())
    np.testing.assert_array_equal(l.asnumpy(), bl.asnumpy())


def test_download_imdb_unpacks_the_registrys_archive_atomically(imdb, monkeypatch):
    import shutil
    shutil.rmtree(str(imdb / "data" / "aclImdb"))
    where = d2l_rnn.download_imdb()  # the book's call: ../data
    assert os.path.samefile(where, str(imdb / "data" / "aclImdb"))
    assert sorted(os.listdir(where)) == ["test", "train"]
    assert os.listdir(str(imdb / "data")) == ["aclImdb"]  # nothing else left behind
    assert d2l_rnn.download_imdb() == where  # there already: left as it is
    # Interrupted half-way: neither the target nor a temporary folder remains.
    shutil.rmtree(where)
    real = tarfile.TarFile.extractall

    def dies(self, path, members=None, **kw):
        real(self, path, members=list(members)[:3], **kw)
        raise KeyboardInterrupt
    monkeypatch.setattr(tarfile.TarFile, "extractall", dies)
    with pytest.raises(KeyboardInterrupt):
        d2l_rnn.download_imdb()
    assert os.listdir(str(imdb / "data")) == []


def test_missing_imdb_data_is_one_clear_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("D2L_RNN_DATA", str(empty))
    monkeypatch.chdir(str(empty))
    monkeypatch.setitem(ddata.DATASETS, "imdb", ddata.DATASETS["imdb"]._replace(
        url="http://127.0.0.1:9/aclImdb_v1.tar.gz"))  # nothing listens on port 9
    for call in (lambda: d2l_rnn.read_imdb("train"), d2l_rnn.download_imdb):
        with pytest.raises(d2l_rnn.DataError) as e:
            call()
        assert "aclImdb" in str(e.value) and "python -m d2l_rnn data --fetch imdb" in str(e.value)
    assert os.listdir(str(empty)) == [] or os.listdir(str(empty)) == ["data"] and \
        os.listdir(str(empty / "data")) == []


def test_download_imdb_keeps_archive_members_inside_the_folder(tmp_path, monkeypatch):
    archives = tmp_path / "archives"
    archives.mkdir()
    archive = archives / "aclImdb_labeled.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("aclImdb/train/pos/0_9.txt", "../escaped.txt", "aclImdb/../../up.txt"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"good"))
    monkeypatch.setitem(ddata.DATASETS, "imdb_labeled", ddata.DATASETS["imdb_labeled"]._replace(
        sha1=(hashlib.sha1(archive.read_bytes()).hexdigest(),)))
    monkeypatch.setenv("D2L_RNN_DATA", str(archives))
    d2l_rnn.download_imdb(str(tmp_path / "data"))
    assert (tmp_path / "data" / "aclImdb" / "train" / "pos" / "0_9.txt").exists()
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "up.txt").exists()


# ----------------------------------------------------------------------------------------
# train, evaluate_accuracy, predict_sentiment

class BookBiRNN(nn.Block):
    """The chapter's model cell, as the book writes it."""

    def __init__(self, vocab, embed_size, num_hiddens, num_layers, **kwargs):
        super(BookBiRNN, self).__init__(**kwargs)
        self.embedding = nn.Embedding(len(vocab), embed_size)
        self.encoder = rnn.LSTM(num_hiddens, num_layers=num_layers, bidirectional=True,
                                input_size=embed_size)
        self.decoder = nn.Dense(2)

    def forward(self, inputs):
        embeddings = self.embedding(inputs.T)
        outputs = self.encoder(embeddings)
        encoding = nd.concat(outputs[0], outputs[-1])
        return self.decoder(encoding)


def _twins(ctx):
    """The same small classifier twice, with the same weights, and its data."""
    rng = np.random.RandomState(0)
    X = rng.randint(0, 30, (40, 12)).astype(np.float32)
    y = (X[:, :6].sum(axis=1) > X[:, 6:].sum(axis=1)).astype(np.float32)
    vocab = list(range(30))
    nets = []
    for _ in range(2):
        mx.random.seed(1)
        net = BookBiRNN(vocab, 8, 6, 1)
        net.initialize(init.Xavier(), ctx=ctx)
        net(nd.zeros((1, 12), ctx=ctx[0] if isinstance(ctx, list) else ctx))  # deferred init
        nets.append(net)
    train_iter = gdata.DataLoader(gdata.ArrayDataset(X[:32], y[:32]), 8)
    test_iter = gdata.DataLoader(gdata.ArrayDataset(X[32:], y[32:]), 4)
    return nets, train_iter, test_iter


@pytest.mark.parametrize("ctx", [mx.cpu(), [mx.cpu(0), mx.cpu(1)]], ids=["one", "two"])
def test_train_is_the_books_on_one_or_several_contexts(ctx):
    (book_net, net), train_iter, test_iter = _twins(ctx)
    out = []
    for fn, model in ((d2lzh.train, book_net), (d2l_rnn.train, net)):
        trainer = gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 0.01})
        buf = io.StringIO()
        with redirect_stdout(buf):
            result = fn(train_iter, test_iter, model, gloss.SoftmaxCrossEntropyLoss(), trainer,
                        ctx, 2)
        out.append(buf.getvalue())
    line = r"epoch (\d), loss ([0-9.]+), train acc ([0-9.]+), test acc ([0-9.]+), time [0-9.]+ sec"
    book_lines, our_lines = (re.findall(line, o) for o in out)
    assert out[1].splitlines()[0] == out[0].splitlines()[0] == "training on %s" % (ctx,)
    assert our_lines == book_lines and len(our_lines) == 2
    for a, b in zip(book_net.collect_params().values(), net.collect_params().values()):
        np.testing.assert_allclose(a.data(mx.cpu()).asnumpy(), b.data(mx.cpu()).asnumpy(),
                                   rtol=1e-6, atol=1e-7)
    assert result.epochs == [1, 2] and "%.4f" % result.loss[-1] == book_lines[-1][1]


@pytest.mark.parametrize("ctx", [mx.cpu(), [mx.cpu(0), mx.cpu(1)]], ids=["one", "two"])
def test_evaluate_accuracy_is_the_books(ctx):
    (net, _), _, test_iter = _twins(ctx)
    ours = d2l_rnn.evaluate_accuracy(test_iter, net, ctx)
    assert ours == d2lzh.evaluate_accuracy(test_iter, net, ctx)
    assert 0 <= ours <= 1


def test_predict_sentiment_takes_the_books_word_list_and_unknown_words(imdb):
    train_data = d2lzh.read_imdb("train") * 5
    vocab = d2l_rnn.get_vocab_imdb(train_data)
    mx.random.seed(0)
    net = BookBiRNN(vocab, 8, 6, 1)
    net.initialize(init.Xavier())
    for words in (["this", "movie", "is", "so", "great"], ["bad", "bad"], ["great"]):
        assert d2l_rnn.predict_sentiment(net, vocab, words) == \
            d2lzh.predict_sentiment(net, vocab, words)
    # A word the vocabulary lacks is its unknown token, as in the book: no KeyError.
    assert d2l_rnn.predict_sentiment(net, vocab, ["zzyzx", "great"]) in ("positive", "negative")
    assert d2l_rnn.predict_sentiment(net, vocab, "This movie is so GREAT") == \
        d2lzh.predict_sentiment(net, vocab, ["this", "movie", "is", "so", "great"])


# ----------------------------------------------------------------------------------------
# Plotting and file helpers

def test_plotting_helpers_work_headless(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    d2l_rnn.set_figsize((4, 3))
    assert list(plt.rcParams["figure.figsize"]) == [4, 3]
    d2l_rnn.use_svg_display()
    plt.figure()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "FigureCanvasAgg is non-interactive"
        d2l_rnn.semilogy(range(1, 4), [1, 10, 100], "epochs", "loss", range(1, 4),
                         [2, 20, 200], ["train", "test"])
    ax = plt.gca()
    assert ax.get_yscale() == "log" and len(ax.lines) == 2
    assert ax.get_xlabel() == "epochs" and ax.get_legend() is not None
    plt.close("all")


def test_mkdir_if_not_exist(tmp_path):
    parts = [str(tmp_path), "a", "b"]
    d2l_rnn.mkdir_if_not_exist(parts)
    d2l_rnn.mkdir_if_not_exist(parts)  # again: nothing to do, no error
    assert (tmp_path / "a" / "b").is_dir()
