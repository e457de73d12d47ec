"""The command line: help on every flag, a smoke run, files written, clear errors."""
import json
import os
import subprocess
import sys

import pytest

import d2l_rnn
from d2l_rnn import cli
from d2l_rnn._compat import check_python

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "d2l_rnn"] + list(args), capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_every_train_flag_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, "%s %s has no help" % (name, action.option_strings)
    out = run("train", "--help").stdout
    for flag in ("--epochs", "--num-hiddens", "--num-steps", "--batch-size", "--lr",
                 "--clipping-theta", "--pred-period", "--pred-len", "--prefix",
                 "--random-iter", "--num-chars", "--seed", "--corpus", "--smoke"):
        assert flag in out


def test_smoke_run_writes_history_and_plot(tmp_path):
    r = run("train", "--smoke", "--model", "lstm", "--history", str(tmp_path / "h.json"),
            "--plot", str(tmp_path / "ppl.png"), "--prefix", "分开")
    assert r.returncode == 0, r.stderr
    assert "epoch 2, perplexity" in r.stdout and " - 分开" in r.stdout
    h = json.loads((tmp_path / "h.json").read_text(encoding="utf-8"))
    assert h["epochs"] == [1, 2] and h["perplexity"][1] < h["perplexity"][0]
    assert (tmp_path / "ppl.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(os.listdir(tmp_path)) == ["h.json", "ppl.png"]  # no temp files left


def test_concise_and_any_text_file(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("the time traveller was one of those " * 60, encoding="utf-8")
    r = run("train", "--smoke", "--impl", "concise", "--model", "rnn", "--corpus", str(f),
            "--num-steps", "5", "--batch-size", "4")
    assert r.returncode == 0, r.stderr
    assert "vocabulary" in r.stdout and "epoch 2, perplexity" in r.stdout


@pytest.mark.parametrize("args,message", [
    (["--lr", "-1"], "expected a positive finite number, got '-1'"),
    (["--epochs", "0"], "expected a positive integer, got '0'"),
    (["--model", "transformer"], "invalid choice: 'transformer'"),
])
def test_bad_flags(args, message):
    r = run("train", *args)
    assert r.returncode == 2 and message in r.stderr


def test_clear_runtime_errors(tmp_path):
    r = run("train", "--smoke", "--prefix", "分☃")
    assert r.returncode == 2 and "'☃'" in r.stderr and "Traceback" not in r.stderr
    r = run("train", "--smoke", "--num-steps", "500")
    assert r.returncode == 2 and "too few for one minibatch" in r.stderr
    r = run("train", "--smoke", "--corpus", str(tmp_path / "missing.txt"))
    assert r.returncode == 2 and "neither a registered dataset" in r.stderr
    r = run("train", "--smoke", "--lr", "1e6", "--clipping-theta", "none", "--num-steps", "5")
    assert r.returncode == 2 and "diverged" in r.stderr and "Traceback" not in r.stderr


def test_data_command():
    r = run("data")
    assert r.returncode == 0 and "jaychou_lyrics" in r.stdout and "9529987e" in r.stdout


def test_python_version_check():
    check_python((3, 11, 7))
    with pytest.raises(RuntimeError, match="Python 3.8 to 3.11.*Python 3.12"):
        check_python((3, 12, 0))
    code = ("import sys; sys.version_info = (3, 12, 1); "
            "exec(open(%r).read())" % os.path.join(REPO, "tools", "check_python.py"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 1 and "needs Python 3.8 to 3.11" in r.stderr
    assert "Python 3.12" in r.stderr


def test_version():
    assert d2l_rnn.__version__.count(".") == 2
