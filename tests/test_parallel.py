"""Data parallelism against one process: several devices (``--ctx``), an MXNet
parameter-server cluster on 127.0.0.1 (``launch``), a worker killed mid-run, the launcher's
commands for several machines, and a corpus held as an array."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc

import mxnet as mx
import numpy as np
import pytest
from mxnet import nd

from d2l_rnn import data
from d2l_rnn.checkpoint import load_checkpoint
from d2l_rnn.cli import main
from d2l_rnn.training.parallel import Parallel, parse_contexts

# 400 characters, batch 32, 10 steps: one minibatch per epoch (consecutive sampling).
ONE_BATCH = ["--num-chars", "400", "--batch-size", "32", "--num-steps", "10",
             "--pred-period", "100", "--no-progress", "--seed", "3", "--prefix", "想要"]
LAUNCH_TIMEOUT = 150


def _train(argv):
    assert main(["train"] + argv) == 0


def _launch(argv, timeout=LAUNCH_TIMEOUT):
    """Run ``launch`` in a subprocess; every process it starts is gone when it returns."""
    p = subprocess.Popen([sys.executable, "-m", "d2l_rnn", "launch"] + argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        children = _children(p.pid)
        p.send_signal(signal.SIGTERM)  # the launcher stops its cluster on SIGTERM
        out, err = p.communicate(timeout=30)
        _assert_gone(children)
        pytest.fail("launch did not finish in %d s:\n%s\n%s" % (timeout, out, err))
    return p.returncode, out, err


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def _assert_gone(pids, within=10.0):
    deadline = time.time() + within
    for pid in pids:
        while os.path.exists("/proc/%d" % pid):
            with open("/proc/%d/stat" % pid) as f:
                if f.read().split(") ")[-1].startswith("Z"):
                    break  # ended, waiting to be reaped by its parent
            assert time.time() < deadline, "process %d still runs" % pid
            time.sleep(0.1)


def _params(save_dir):
    return {k: v.asnumpy() for k, v in load_checkpoint(save_dir).load_arrays().items()}


def _perplexities(path):
    with open(path) as f:
        return json.load(f)["perplexity"]


def _assert_params_close(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-6, err_msg=k)


# ---- several devices in one process -------------------------------------------------------

def test_parse_contexts():
    assert parse_contexts("cpu(0), cpu(1)") == [mx.cpu(0), mx.cpu(1)]
    with pytest.raises(ValueError, match="cpu\\(0\\),cpu\\(1\\)"):
        parse_contexts("cpu0")
    with pytest.raises(ValueError, match="once"):
        parse_contexts("cpu(0),cpu(0)")


def test_parts_share_every_row():
    p = Parallel([mx.cpu(0), mx.cpu(1)])
    assert p.parts(5) == [(mx.cpu(0), 0, 2), (mx.cpu(1), 2, 5)]
    with pytest.raises(ValueError, match="batch_size=1 cannot be shared by 1 worker"):
        p.parts(1)


def test_sum_gradients_across_devices():
    p = Parallel([mx.cpu(0), mx.cpu(1)])
    a = [nd.array([1.0, 2.0], ctx=mx.cpu(0)), nd.array([[1.0]], ctx=mx.cpu(0))]
    b = [nd.array([10.0, 20.0], ctx=mx.cpu(1)), nd.array([[3.0]], ctx=mx.cpu(1))]
    p.sum_gradients([a, b])
    for grads in (a, b):
        np.testing.assert_array_equal(grads[0].asnumpy(), [11.0, 22.0])
        np.testing.assert_array_equal(grads[1].asnumpy(), [[4.0]])


@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_two_devices_equal_one(tmp_path, impl):
    """--ctx cpu(0),cpu(1): the parameters after the first minibatch and three epochs'
    perplexities are those of one device."""
    runs = {}
    for name, extra in (("one", []), ("two", ["--ctx", "cpu(0),cpu(1)"])):
        base = ["--model", "gru", "--impl", impl] + ONE_BATCH + extra
        _train(base + ["--epochs", "1", "--save-dir", str(tmp_path / name)])
        _train(base + ["--epochs", "3", "--num-chars", "2000",
                       "--history", str(tmp_path / (name + ".json"))])
        runs[name] = (_params(tmp_path / name), _perplexities(tmp_path / (name + ".json")))
    _assert_params_close(runs["one"][0], runs["two"][0])
    np.testing.assert_allclose(runs["two"][1], runs["one"][1], rtol=1e-3)


# ---- a parameter-server cluster on 127.0.0.1 ----------------------------------------------

@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_cluster_equals_one_process(tmp_path, impl):
    """2 workers + 1 server, global batch 32: the parameters after the first minibatch equal
    one process's; resumed in the cluster, three epochs' perplexities (the global ones,
    printed by worker 0) match too."""
    base = ["--model", "gru", "--impl", impl] + ONE_BATCH
    _train(base + ["--epochs", "1", "--save-dir", str(tmp_path / "one")])
    _train(base + ["--epochs", "3", "--history", str(tmp_path / "one.json")])

    cluster = tmp_path / "cluster"
    code, out, err = _launch(["--workers", "2", "--servers", "1", "--", "train"] + base +
                             ["--epochs", "1", "--save-dir", str(cluster)])
    assert code == 0, out + err
    assert "[worker 0] final perplexity" in out and "[worker 1] final" not in out
    assert "on each of 2 workers (kvstore dist_sync)" in out
    _assert_params_close(_params(tmp_path / "one"), _params(cluster))
    assert load_checkpoint(cluster).config["workers"] == 2

    code, out, err = _launch(["--workers", "2", "--", "train"] + base +
                             ["--epochs", "3", "--resume", str(cluster), "--save-dir",
                              str(cluster), "--history", str(tmp_path / "cluster.json")])
    assert code == 0, out + err
    assert "resuming from" in out
    np.testing.assert_allclose(_perplexities(tmp_path / "cluster.json"),
                               _perplexities(tmp_path / "one.json"), rtol=1e-3)
    if impl == "scratch":  # the input weights' gradients went row-sparse
        m = re.search(r"(\d+) KB pushed, (\d+) KB pulled \(dense: (\d+) and (\d+) KB\)",
                      out)
        pushed, pulled, pushed_dense, pulled_dense = map(int, m.groups())
        assert pushed < pushed_dense and pulled <= pulled_dense, m.group(0)


def test_killed_worker_stops_the_cluster_and_the_run_resumes(tmp_path):
    """SIGKILL one worker mid-run: the launcher stops the rest within 30 s, exits non-zero
    and names the worker; the last checkpoint then resumes (here in one process: the
    global minibatch does not depend on the number of workers)."""
    save = tmp_path / "run"
    argv = ["--workers", "2", "--", "train", "--model", "gru", "--num-chars", "2000",
            "--batch-size", "32", "--num-steps", "10", "--epochs", "500", "--pred-period",
            "1000", "--save-dir", str(save), "--save-every", "1", "--no-progress"]
    p = subprocess.Popen([sys.executable, "-m", "d2l_rnn", "launch"] + argv,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    children = []
    try:
        deadline = time.time() + LAUNCH_TIMEOUT
        while not (save / "LATEST").exists():
            assert p.poll() is None, p.communicate()
            assert time.time() < deadline, "no checkpoint within %d s" % LAUNCH_TIMEOUT
            time.sleep(0.2)
        children = _children(p.pid)
        workers = [c for c in children if b"DMLC_ROLE=worker" in _environ(c)]
        assert len(workers) == 2, children
        os.kill(workers[1], signal.SIGKILL)
        killed = time.time()
        out, err = p.communicate(timeout=30)
        assert time.time() - killed < 30
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=30)
        _assert_gone(children)
    assert p.returncode != 0
    died = [ln for ln in err.splitlines() if "died" in ln]
    assert len(died) == 1 and "(pid %d) died (killed by signal 9)" % workers[1] in died[0]
    assert died[0].startswith("error: worker "), died

    epoch = load_checkpoint(save).epoch
    _train(["--model", "gru", "--num-chars", "2000", "--batch-size", "32", "--num-steps",
            "10", "--epochs", str(epoch + 2), "--pred-period", "1000", "--no-progress",
            "--resume", str(save), "--save-dir", str(save)])
    assert load_checkpoint(save).epoch == epoch + 2


def _environ(pid):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_dist_without_a_cluster_is_refused(capsys):
    assert main(["train", "--kvstore", "dist_sync", "--num-chars", "400"]) == 2
    assert "python -m d2l_rnn launch --workers N -- train" in capsys.readouterr().err


def test_launch_needs_a_train_command(capsys):
    assert main(["launch", "--", "generate", "x"]) == 2
    assert "launch runs a train command" in capsys.readouterr().err


def test_print_commands_over_ssh_and_the_warning(tmp_path, capsys):
    hosts = tmp_path / "hosts"
    hosts.write_text("# the cluster\nnode-a\nnode-b slots=2\n")
    assert main(["launch", "--workers", "2", "--servers", "2", "--hosts", str(hosts),
                 "--root-uri", "8.8.8.8", "--port", "9091", "--print-commands", "--",
                 "train", "--epochs", "2"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [ln.split()[0] for ln in lines] == ["scheduler", "server", "server", "worker",
                                               "worker"]
    assert "ssh" in lines[1] and "node-a" in lines[1] and "node-b" in lines[2]
    assert "DMLC_ROLE=worker" in lines[3] and "DMLC_PS_ROOT_URI=8.8.8.8" in lines[3]
    assert "DMLC_PS_ROOT_PORT=9091" in lines[3] and "--kvstore dist_sync" in lines[3]
    assert err.count("warning: the scheduler's address 8.8.8.8 is not a private") == 1
    # a private address, or none given (everything on 127.0.0.1): no warning
    assert main(["launch", "--hosts", str(hosts), "--root-uri", "10.1.2.3",
                 "--print-commands", "--", "train"]) == 0
    assert main(["launch", "--print-commands", "--", "train"]) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err and "DMLC_PS_ROOT_URI=127.0.0.1" in out


# ---- a corpus held as an array ------------------------------------------------------------

def test_iterators_read_an_array_corpus_a_minibatch_at_a_time():
    """An array corpus is sliced a chunk at a time: iterating 5 million characters allocates
    a chunk's worth (data.CHUNK_CHARS characters, 1 MB as float32, and its indices), not a
    float copy of the corpus (20 MB), and gives what the list gives."""
    rng = np.random.RandomState(0)
    corpus = rng.randint(0, 200, size=5_000_000).astype(np.uint16)
    for it in (data.data_iter_consecutive, data.data_iter_random):
        tracemalloc.start()
        for k, (X, Y) in enumerate(it(corpus, 64, 35)):
            if k == 20:
                break
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 12_000_000, (it.__name__, peak)  # the random order's index list
    small = corpus[:5000]
    a = list(data.data_iter_consecutive(small, 4, 7))
    b = list(data.data_iter_consecutive(small.tolist(), 4, 7))
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa.asnumpy(), xb.asnumpy())
        np.testing.assert_array_equal(ya.asnumpy(), yb.asnumpy())


def test_imdb_text_corpus():
    from d2l_rnn.extras.sentiment import load_imdb_text, read_imdb_archive, imdb_archive
    corpus, char_to_idx, idx_to_char, vocab_size = load_imdb_text(num_chars=30_000)
    assert isinstance(corpus, np.ndarray) and corpus.dtype == np.uint16
    assert len(corpus) == 30_000 and vocab_size == len(idx_to_char) == corpus.max() + 1
    assert idx_to_char == sorted(idx_to_char)
    texts = read_imdb_archive(imdb_archive())["train"][0]
    expected = " ".join(t.replace("<br />", " ").replace("\n", " ") for t in texts[:40])
    assert "".join(idx_to_char[i] for i in corpus) == expected[:30_000]


def test_train_on_imdb_text(capsys):
    assert main(["train", "--corpus", "imdb_text", "--num-chars", "3000", "--epochs", "1",
                 "--num-hiddens", "16", "--no-progress", "--pred-period", "1",
                 "--pred-len", "5"]) == 0
    out = capsys.readouterr().out
    assert "corpus imdb_text: 3000 characters" in out and " - This movie" in out
