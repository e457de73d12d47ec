"""Dataset registry, checksum-verified downloads (against a local HTTP server), corpora and
minibatch iterators (against the book's d2lzh)."""
import hashlib
import http.server
import os
import random
import socket
import subprocess
import sys
import threading
import zipfile

import d2lzh
import numpy as np
import pytest

import d2l_rnn
from d2l_rnn import data as ddata


@pytest.fixture
def server(tmp_path):
    """A static HTTP server on 127.0.0.1 serving ``tmp_path / 'www'``; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield root, "http://127.0.0.1:%d/" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def _fake_dataset(content, name="toy"):
    return ddata.Dataset(name, None, "toy.txt", (hashlib.sha1(content).hexdigest(),), "toy")


def test_download_good_file(server, tmp_path):
    root, url = server
    content = "分开 不分开\n".encode("utf-8") * 100
    (root / "toy.txt").write_bytes(content)
    cache = tmp_path / "cache"
    path = ddata.download(_fake_dataset(content), str(cache), url=url + "toy.txt")
    assert open(path, "rb").read() == content
    assert os.listdir(cache) == ["toy.txt"]  # no temporary file left behind


def test_corrupt_download_never_replaces_a_file(server, tmp_path):
    root, url = server
    good = b"the right bytes"
    (root / "toy.txt").write_bytes(b"something else entirely")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "toy.txt").write_bytes(good)
    # The right file is there already: it is kept and not downloaded again.
    assert ddata.download(_fake_dataset(good), str(cache), url=url + "toy.txt") == \
        str(cache / "toy.txt")
    # A stale file, and the server sends a wrong one: an error, and the file is left as it was.
    (cache / "toy.txt").write_bytes(b"stale")
    with pytest.raises(ddata.DataError, match="SHA-1") as e:
        ddata.download(_fake_dataset(good), str(cache), url=url + "toy.txt")
    assert url + "toy.txt" in str(e.value) and str(cache / "toy.txt") in str(e.value)
    assert (cache / "toy.txt").read_bytes() == b"stale"
    assert os.listdir(cache) == ["toy.txt"]


def test_download_404(server, tmp_path):
    _, url = server
    with pytest.raises(ddata.DataError, match="could not download.*404"):
        ddata.download(_fake_dataset(b"x"), str(tmp_path / "c"), url=url + "missing.txt")
    assert not (tmp_path / "c" / "toy.txt").exists()


def test_download_server_down(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens on this port now
    with pytest.raises(ddata.DataError, match="could not download.*copy toy.txt there"):
        ddata.download(_fake_dataset(b"x"), str(tmp_path / "c"),
                       url="http://127.0.0.1:%d/toy.txt" % port, timeout=5)


def test_dataset_path_downloads_into_cache(server, tmp_path, monkeypatch):
    root, url = server
    src = os.path.join(os.environ["D2L_RNN_DATA"], "jaychou_lyrics.txt.zip")
    (root / "jaychou_lyrics.txt.zip").write_bytes(open(src, "rb").read())
    cache = tmp_path / "cache"
    monkeypatch.setenv("D2L_RNN_DATA", str(cache))
    monkeypatch.chdir(tmp_path)
    path = ddata.dataset_path("jaychou_lyrics", url=url + "jaychou_lyrics.txt.zip")
    assert path == str(cache / "jaychou_lyrics.txt.zip")
    corpus = d2l_rnn.load_data_jay_lyrics()  # found in the cache now, no download
    assert corpus[3] == 1027


def test_resolution_order(tmp_path, monkeypatch):
    shared = os.environ["D2L_RNN_DATA"]
    explicit = os.path.join(shared, "timemachine.txt")
    assert ddata.dataset_path("time_machine", explicit) == explicit
    assert ddata.dataset_path("time_machine", shared) == explicit  # a directory works too
    monkeypatch.delenv("D2L_RNN_DATA")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    local = tmp_path / "data" / "timemachine.txt"
    local.write_bytes(open(explicit, "rb").read())
    assert ddata.dataset_path("time_machine") == os.path.join(".", "data", "timemachine.txt")
    with pytest.raises(ddata.DataError, match="was not found in"):
        ddata.dataset_path("jaychou_lyrics", download_missing=False)


def test_missing_and_corrupt_files(tmp_path, monkeypatch):
    with pytest.raises(ddata.DataError, match="does not exist"):
        d2l_rnn.load_data_jay_lyrics(path=str(tmp_path / "nope.zip"))
    bad = tmp_path / "jaychou_lyrics.txt.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ddata.DataError, match="SHA-1 .* expected 9529987e"):
        d2l_rnn.load_data_jay_lyrics(path=str(bad))
    # A corrupt file in the cache is reported, not silently used or overwritten.
    monkeypatch.setenv("D2L_RNN_DATA", str(tmp_path))
    with pytest.raises(ddata.DataError, match="cached file .* delete it"):
        d2l_rnn.load_data_jay_lyrics()
    with pytest.raises(ddata.DataError, match="not a readable zip"):
        ddata.read_text(str(bad))
    with pytest.raises(ddata.DataError, match="unknown dataset 'nope'"):
        ddata.dataset_path("nope")


def test_lyrics_corpus(lyrics):
    corpus_indices, char_to_idx, idx_to_char, vocab_size = lyrics
    assert len(corpus_indices) == 10000 and vocab_size == 1027 == len(idx_to_char)
    assert idx_to_char == sorted(idx_to_char)
    assert all(char_to_idx[c] == i for i, c in enumerate(idx_to_char))
    assert "\n" not in char_to_idx and "\r" not in char_to_idx
    text = "".join(idx_to_char[i] for i in corpus_indices[:12])
    assert text == "想要有直升机 想要和你飞到宇宙"[:12]
    full = d2l_rnn.load_data_jay_lyrics(num_chars=None)
    assert len(full[0]) > 60000


def test_time_machine_corpus():
    corpus_indices, char_to_idx, idx_to_char, vocab_size = d2l_rnn.load_data_time_machine()
    assert len(corpus_indices) == 10000
    assert all(c == c.lower() for c in idx_to_char)
    assert "".join(idx_to_char[i] for i in corpus_indices[:13]) == "the time mach"


def test_any_text_file(tmp_path):
    f = tmp_path / "poem.txt"
    f.write_text("床前明月光\n疑是地上霜\n", encoding="utf-8")
    corpus_indices, char_to_idx, idx_to_char, V = d2l_rnn.load_corpus(str(f), num_chars=None)
    assert len(corpus_indices) == 12 and "明" in char_to_idx and " " in char_to_idx
    f.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ddata.DataError, match="not UTF-8"):
        d2l_rnn.load_corpus(str(f))
    with pytest.raises(ddata.DataError, match="neither a registered dataset"):
        d2l_rnn.load_corpus(str(tmp_path / "absent.txt"))


def test_vocabulary_is_the_same_in_every_process():
    code = ("import d2l_rnn; c = d2l_rnn.load_data_jay_lyrics(); "
            "print(''.join(c[2][:40]), sum(c[0][:500]))")
    outs = set()
    for seed in ("1", "2", "3"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                capture_output=True, text=True).stdout)
    assert len(outs) == 1


@pytest.mark.parametrize("batch_size,num_steps", [(32, 35), (3, 5), (7, 1)])
@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_iterators_match_the_book(small_lyrics, monkeypatch, batch_size, num_steps, chunk):
    """Also when the iterators copy a chunk of 1 or 3 minibatches to the device at a time
    (the whole epoch here otherwise): the same minibatches across the chunks' boundaries."""
    if chunk is not None:
        monkeypatch.setattr(d2l_rnn.data, "CHUNK_CHARS", chunk * batch_size * num_steps)
    corpus = small_lyrics[0]
    for ours_fn, book_fn in ((d2l_rnn.data_iter_random, d2lzh.data_iter_random),
                             (d2l_rnn.data_iter_consecutive, d2lzh.data_iter_consecutive)):
        random.seed(7)
        ours = [(X.asnumpy(), Y.asnumpy()) for X, Y in ours_fn(corpus, batch_size, num_steps)]
        random.seed(7)
        book = [(X.asnumpy(), Y.asnumpy()) for X, Y in book_fn(corpus, batch_size, num_steps)]
        assert len(ours) == len(book) > 0
        for (x1, y1), (x2, y2) in zip(ours, book):
            np.testing.assert_array_equal(x1, x2)
            np.testing.assert_array_equal(y1, y2)


def test_iterator_properties():
    corpus = list(range(1000))
    batches = list(d2l_rnn.data_iter_consecutive(corpus, 4, 10))
    assert len(batches) == (1000 // 4 - 1) // 10
    for i, (X, Y) in enumerate(batches):
        assert X.shape == Y.shape == (4, 10)
        np.testing.assert_array_equal(Y.asnumpy(), X.asnumpy() + 1)  # Y is X shifted by one
        if i:  # each row continues the same row of the previous minibatch
            np.testing.assert_array_equal(X.asnumpy()[:, 0],
                                          batches[i - 1][0].asnumpy()[:, -1] + 1)
    rng = random.Random(0)
    seen = np.concatenate([X.asnumpy().ravel()
                           for X, _ in d2l_rnn.data_iter_random(corpus, 4, 10, rng=rng)])
    assert len(set(seen)) == len(seen)  # windows never overlap
    assert len(seen) == ((1000 - 1) // 10 // 4) * 4 * 10  # and cover whole minibatches
    again = np.concatenate([X.asnumpy().ravel() for X, _ in
                            d2l_rnn.data_iter_random(corpus, 4, 10, rng=random.Random(0))])
    np.testing.assert_array_equal(seen, again)  # same seed, same batches


def test_too_short_corpus_is_a_clear_error():
    with pytest.raises(d2l_rnn.CorpusTooShortError, match="needs at least 1152"):
        next(d2l_rnn.data_iter_consecutive(list(range(500)), 32, 35))
    with pytest.raises(d2l_rnn.CorpusTooShortError, match="needs at least 1121"):
        next(d2l_rnn.data_iter_random(list(range(500)), 32, 35))
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        next(d2l_rnn.data_iter_random(list(range(500)), 0, 35))
