"""Nothing lost, nothing silently wrong: the trainer under bad input, faults and concurrent
runs (each test here failed on the version before these fixes)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet import nd
from mxnet.gluon import rnn as grnn

import d2l_rnn
from d2l_rnn import cli
from d2l_rnn import data as ddata
from d2l_rnn.checkpoint import store

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMALL = ["--num-chars", "2000", "--num-hiddens", "16", "--num-steps", "10", "--batch-size",
         "8", "--no-progress", "--prefix", "分开", "--pred-len", "3"]


def run(*args, timeout=600, **popen):
    return subprocess.run([sys.executable, "-m", "d2l_rnn"] + list(args), capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, **popen)


def _scratch(corpus, **kw):
    ci, c2i, i2c, V = corpus
    args = dict(num_hiddens=16, num_epochs=2, num_steps=10, lr=100.0, clipping_theta=0.01,
                batch_size=8, pred_period=100, pred_len=3, prefixes=["分开"])
    args.update(kw)
    return d2l_rnn.train_and_predict_rnn(
        d2l_rnn.gru, d2l_rnn.get_params_fn("gru", V, args["num_hiddens"]),
        d2l_rnn.init_gru_state, args.pop("num_hiddens"), V, None, ci, i2c, c2i, False,
        args.pop("num_epochs"), args.pop("num_steps"), args.pop("lr"),
        args.pop("clipping_theta"), args.pop("batch_size"), args.pop("pred_period"),
        args.pop("pred_len"), args.pop("prefixes"), quiet=True, seed=0, **args)


# ----------------------------------------------------------------------------------------
# 1, 2: divergence that stays finite; no checkpoint of exploded weights

@pytest.mark.parametrize("impl", ["scratch", "concise"])
def test_a_loss_far_above_a_uniform_guess_is_divergence(impl):
    """lr 100 without clipping: losses of hundreds of nats, finite; it used to train on."""
    r = run("train", "--impl", impl, "--epochs", "4", "--lr", "100", "--clipping-theta",
            "none", *SMALL)
    assert r.returncode == 2, r.stdout[-500:]
    assert "error: the training loss diverged" in r.stderr or "diverge" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_checkpoint_holds_exploded_weights(small_lyrics, tmp_path):
    d = str(tmp_path / "run")
    with pytest.raises(d2l_rnn.TrainingDiverged):
        _scratch(small_lyrics, lr=1e6, clipping_theta=None, num_epochs=4, save_dir=d,
                 save_every=1)
    for ckpt in store.checkpoints(d):
        arrays = d2l_rnn.Checkpoint(ckpt).load_arrays()
        assert max(float(np.abs(a.asnumpy()).max()) for a in arrays.values()) < 1e3


def test_generation_refuses_a_checkpoint_with_non_finite_weights(small_lyrics, tmp_path):
    d = str(tmp_path / "run")
    _scratch(small_lyrics, num_epochs=1, save_dir=d)
    ckpt = d2l_rnn.load_checkpoint(d)
    arrays = ckpt.load_arrays()
    arrays["b_q"][:] = np.inf  # what an unchecked update could write
    _rewrite_params(ckpt.path, arrays)
    with pytest.raises(d2l_rnn.CheckpointError, match="not finite.*diverged"):
        d2l_rnn.load_checkpoint(d).generate("分开", 5)
    assert cli.main(["generate", d, "--prefix", "分开", "--length", "5"]) == 2


def _rewrite_params(ckpt_dir, arrays):
    """Write new parameters and a manifest that matches them (as a damaged writer would)."""
    path = os.path.join(ckpt_dir, "params.params")
    nd.save(path, arrays)
    manifest = store.read_json(ckpt_dir, "MANIFEST.json")
    manifest["files"]["params.params"] = {"sha256": store._sha256(path),
                                          "bytes": os.path.getsize(path)}
    with open(os.path.join(ckpt_dir, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f)


def test_model_scores_that_are_not_finite_are_refused_not_printed(small_lyrics):
    ci, c2i, i2c, V = small_lyrics
    params = d2l_rnn.get_gru_params(V, 8)
    params[-1][:] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        d2l_rnn.predict_rnn("分开", 5, d2l_rnn.gru, params, d2l_rnn.init_gru_state, 8, V, None,
                            i2c, c2i)


# ----------------------------------------------------------------------------------------
# 3: output paths checked before the first epoch

@pytest.mark.parametrize("flag,where,message", [
    ("--save-dir", "file", "is a file, not a folder"),
    ("--save-dir", "/proc/d2l_rnn_test/run", "cannot be"),
    ("--history", "dir", "is a folder"),
    ("--history", "/proc/d2l_rnn_test/h.json", "cannot be written"),
    ("--plot", "p.xyz", "cannot write .xyz"),
])
def test_bad_output_paths_fail_before_training(tmp_path, flag, where, message):
    (tmp_path / "file").write_text("mine")
    (tmp_path / "dir").mkdir()
    target = where if where.startswith("/") else str(tmp_path / where)
    start = time.time()
    r = run("train", "--smoke", "--epochs", "50", flag, target, *SMALL)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert "epoch 1," not in r.stdout and time.time() - start < 120
    assert (tmp_path / "file").read_text() == "mine"


# ----------------------------------------------------------------------------------------
# 4, 5, 6, 8: the save folder

def test_a_fresh_run_never_prunes_another_runs_checkpoints(tmp_path, capsys):
    d = str(tmp_path / "run")
    assert cli.main(["train", "--epochs", "2", "--save-dir", d] + SMALL) == 0
    gru = sorted(os.listdir(d))
    assert cli.main(["train", "--model", "lstm", "--epochs", "1", "--save-dir", d] + SMALL) == 2
    err = capsys.readouterr().err
    assert "holds checkpoints of another run" in err and "epoch-0002: scratch gru" in err
    assert "--resume" in err and "--overwrite" in err
    assert sorted(os.listdir(d)) == gru  # untouched
    assert cli.main(["train", "--model", "lstm", "--epochs", "1", "--save-dir", d,
                     "--overwrite"] + SMALL) == 0
    assert d2l_rnn.load_checkpoint(d).model_config.model == "lstm"


def test_a_missing_latest_pointer_resumes_from_the_newest_valid_checkpoint(tmp_path, capsys):
    d = str(tmp_path / "run")
    assert cli.main(["train", "--epochs", "2", "--save-dir", d, "--save-every", "1",
                     "--val-fraction", "0.1"] + SMALL) == 0
    os.remove(os.path.join(d, "LATEST"))
    (tmp_path / "run" / "notes.txt").write_text("the user's own file")
    assert cli.main(["train", "--epochs", "3", "--save-dir", d, "--resume", d,
                     "--val-fraction", "0.1"] + SMALL) == 0
    out, err = capsys.readouterr()
    assert "no checkpoint" not in out and "newest valid checkpoint, epoch-0002" in err
    ck = d2l_rnn.load_checkpoint(d)
    assert ck.epoch == 3 and ck.history["epochs"] == [1, 2, 3]
    assert (tmp_path / "run" / "notes.txt").read_text() == "the user's own file"


def test_two_runs_on_one_save_folder(tmp_path):
    d = str(tmp_path / "run")
    first = subprocess.Popen([sys.executable, "-m", "d2l_rnn", "train", "--epochs", "400",
                              "--save-dir", d] + SMALL, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(d, ".lock.owner")) and time.time() < deadline:
            time.sleep(0.2)
        assert first.poll() is None, first.stderr.read()
        start = time.time()
        r = run("train", "--epochs", "1", "--save-dir", d, *SMALL)
        assert r.returncode == 2 and time.time() - start < 60
        assert "in use by another training run" in r.stderr
        assert "process %d" % first.pid in r.stderr
    finally:
        first.send_signal(signal.SIGKILL)  # the process this test started, by its pid
        first.wait(timeout=60)


def test_stale_temporary_files_of_interrupted_saves_are_cleared(small_lyrics, tmp_path):
    d = tmp_path / "run"
    _scratch(small_lyrics, num_epochs=1, save_dir=str(d))
    # ..lock.owner.x4.part: a run killed while it wrote the lock's owner record
    for name in (".perplexity.png.x1.part", ".LATEST.x2.part", ".tmp-epoch-0002-x3",
                 "..lock.owner.x4.part"):
        (d / name).mkdir() if name.startswith(".tmp") else (d / name).write_text("half")
    (d / "mine.part").write_text("not ours")
    _scratch(small_lyrics, num_epochs=2, save_dir=str(d), resume=str(d))
    names = set(os.listdir(str(d)))
    assert not {n for n in names if n.startswith((".perplexity", ".LATEST", ".tmp", "..lock"))}
    assert "mine.part" in names


# ----------------------------------------------------------------------------------------
# 7: a damaged cached kernel library

def test_a_damaged_cached_kernel_library_is_never_loaded(tmp_path, monkeypatch):
    """A truncated library in the cache is detected (size and SHA-256 recorded at build time)
    and not loaded (loading it kills the process with SIGBUS): it is rebuilt, or, when that
    fails, the graph route is taken with the usual warning."""
    from d2l_rnn import kernels
    if not kernels.available():
        pytest.skip("the kernels are not built here")
    lib = kernels.build(verbose=False)
    bad = tmp_path / "cxx"  # a compiler that fails, so that the rebuild fails too
    bad.write_text("#!/bin/sh\necho 'no compiler today' >&2\nexit 1\n")
    bad.chmod(0o755)
    monkeypatch.setenv("D2L_RNN_CACHE", str(tmp_path / "cache"))
    keyed = kernels._library_path(str(bad))  # where a process with CXX=bad looks
    os.makedirs(os.path.dirname(keyed))
    shutil.copy(lib, keyed)
    shutil.copy(lib + ".json", keyed + ".json")
    assert kernels.verified(keyed)
    with open(keyed, "r+b") as f:
        f.truncate(os.path.getsize(keyed) // 3)
    assert not kernels.verified(keyed)
    code = ("import warnings; warnings.simplefilter('always')\n"
            "from d2l_rnn import kernels; print('available', kernels.available())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, CXX=str(bad)), timeout=300)
    assert done.returncode == 0, done.stderr  # not killed by SIGBUS
    assert "available False" in done.stdout and "no compiler today" in done.stderr


# ----------------------------------------------------------------------------------------
# Silent acceptance of bad input

def test_compare_rejects_a_scale_that_is_not_a_positive_number():
    for scale in ("nan", "inf", "-1"):
        r = run("compare", "--smoke", "--scale", scale)
        assert r.returncode == 2 and "expected a positive finite number" in r.stderr


def test_a_tiny_temperature_is_greedy_not_blank(small_lyrics):
    ci, c2i, i2c, V = small_lyrics
    h = _scratch(small_lyrics, num_epochs=2)
    args = ("分开", 10, d2l_rnn.gru, h.params, d2l_rnn.init_gru_state, 16, V, None, i2c, c2i)
    greedy = d2l_rnn.predict_rnn(*args)
    assert d2l_rnn.predict_rnn(*args, temperature=5e-324, seed=0) == greedy


@pytest.mark.parametrize("change,message", [
    (dict(corpus_indices=[10 ** 7]), r"corpus_indices\[500\] is 10000000, outside"),
    (dict(corpus_indices=[-1]), r"corpus_indices\[500\] is -1, outside"),
    (dict(lr=True), "lr must be a positive finite number, got True"),
    (dict(vocab_size=320), "vocab_size=320, but idx_to_char holds 317 characters"),
])
def test_bad_training_inputs_are_refused_up_front(small_lyrics, change, message):
    ci, c2i, i2c, V = small_lyrics
    kw = dict(corpus_indices=list(ci), lr=100.0, vocab_size=V)
    kw.update(change)
    if len(kw["corpus_indices"]) == 1:
        kw["corpus_indices"] = list(ci[:500]) + kw["corpus_indices"] + list(ci[:500])
    with pytest.raises(ValueError, match=message):
        d2l_rnn.train_and_predict_rnn(
            d2l_rnn.gru, d2l_rnn.get_params_fn("gru", V, 8), d2l_rnn.init_gru_state, 8,
            kw["vocab_size"], None, kw["corpus_indices"], i2c, c2i, False, 10 ** 6, 10,
            kw["lr"], 0.01, 8, 1, 5, ["分开"], quiet=True)


def test_predict_rnn_refuses_a_negative_length(small_lyrics):
    ci, c2i, i2c, V = small_lyrics
    with pytest.raises(ValueError, match="num_chars must be an integer >= 0, got -3"):
        d2l_rnn.predict_rnn("分", -3, d2l_rnn.gru, d2l_rnn.get_gru_params(V, 8),
                            d2l_rnn.init_gru_state, 8, V, None, i2c, c2i)


# ----------------------------------------------------------------------------------------
# Clear messages

def test_a_validation_fraction_that_leaves_too_little_is_named():
    r = run("train", "--smoke", "--val-fraction", "0.99")
    assert r.returncode == 2 and "val_fraction=0.99 holds out" in r.stderr
    assert "num_chars" not in r.stderr.replace("val_fraction", "")


def test_unknown_prefix_messages_suggest_what_exists_where_they_are_raised(small_lyrics,
                                                                           tmp_path, capsys):
    with pytest.raises(d2l_rnn.UnknownCharacterError) as e:
        _scratch(small_lyrics, prefixes=["分☃"])
    assert "skip_unknown" not in str(e.value) and "--skip-unknown" not in str(e.value)
    d = str(tmp_path / "run")
    _scratch(small_lyrics, num_epochs=1, save_dir=d)
    with pytest.raises(d2l_rnn.UnknownCharacterError, match="skip_unknown=True"):
        d2l_rnn.load_checkpoint(d).generate("分☃", 3)
    assert cli.main(["generate", d, "--prefix", "分☃"]) == 2
    err = capsys.readouterr().err
    assert "--skip-unknown" in err and "skip_unknown=True" not in err
    assert cli.main(["generate", d, "--prefix=", "--skip-unknown"]) == 2
    assert "at least one character" in capsys.readouterr().err


def test_data_file_messages_fit_the_file(tmp_path, monkeypatch):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip at all")
    with pytest.raises(ddata.DataError) as e:
        d2l_rnn.load_corpus(str(fake))
    assert "downloaded again" not in str(e.value) and "not a readable zip" in str(e.value)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "jaychou_lyrics.txt.zip").write_bytes(b"damaged")
    monkeypatch.setenv("D2L_RNN_DATA", str(cache))
    with pytest.raises(ddata.DataError) as e:
        d2l_rnn.load_data_jay_lyrics()
    assert "verify=False" not in str(e.value) and "delete it" in str(e.value)
    monkeypatch.setenv("D2L_RNN_DATA", str(fake))
    with pytest.raises(ddata.DataError, match="D2L_RNN_DATA=.* is a file"):
        d2l_rnn.load_data_jay_lyrics()


def test_resuming_on_another_text_warns(tmp_path):
    d = str(tmp_path / "run")
    assert cli.main(["train", "--epochs", "1", "--save-dir", d] + SMALL) == 0
    corpus = d2l_rnn.load_data_jay_lyrics(num_chars=2000)
    ci, c2i, i2c, V = corpus
    with pytest.warns(UserWarning, match="another text than it was trained on"):
        d2l_rnn.train_and_predict_rnn(
            d2l_rnn.gru, d2l_rnn.get_params_fn("gru", V, 16), d2l_rnn.init_gru_state, 16, V,
            None, list(reversed(ci)), i2c, c2i, False, 2, 10, 100.0, 0.01, 8, 100, 3, ["分开"],
            quiet=True, seed=0, resume=d, meta={"corpus": "jaychou_lyrics", "num_chars": 2000})


def test_generate_on_a_file_says_to_pass_the_folder(small_lyrics, tmp_path, capsys):
    d = str(tmp_path / "run")
    _scratch(small_lyrics, num_epochs=1, save_dir=d)
    ckpt = d2l_rnn.load_checkpoint(d).path
    assert cli.main(["generate", os.path.join(ckpt, "params.params")]) == 2
    assert "is a file; pass the run's save folder" in capsys.readouterr().err


def test_one_line_errors_instead_of_tracebacks(tmp_path):
    r = run("sentiment", "--glove", "/nonexistent/glove.txt", "--smoke", timeout=120)
    assert r.returncode == 2 and "no such file" in r.stderr and "IMDb:" not in r.stdout
    r = run("train", "--smoke", "--num-hiddens", "400000")
    assert r.returncode == 2 and "GB" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(TypeError, match="Gluon recurrent layer"):
        d2l_rnn.RNNModel("gru", 10)


def test_parameters_of_another_size_are_named_before_mxnet_sees_them():
    params = d2l_rnn.get_gru_params(30, 20)
    state = d2l_rnn.init_gru_state(4, 16)
    with pytest.raises(ValueError, match=r"parameter W_xz has shape \(30, 20\).*16 hidden"):
        d2l_rnn.gru(nd.zeros((5, 4)), state, params)


def test_the_data_command_shows_each_files_checksum_status(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(os.path.join(os.environ["D2L_RNN_DATA"], "timemachine.txt"), str(cache))
    with open(os.path.join(os.environ["D2L_RNN_DATA"], "jaychou_lyrics.txt.zip"), "rb") as f:
        (cache / "jaychou_lyrics.txt.zip").write_bytes(f.read()[:1000])  # truncated
    r = run("data", env=dict(os.environ, D2L_RNN_DATA=str(cache)))
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert any("timemachine.txt: ok" in l for l in lines)
    assert any("jaychou_lyrics.txt.zip: CORRUPT" in l for l in lines)
