"""The command line: help on every flag, a smoke run, files written, clear errors."""
import json
import os
import subprocess
import sys

import pytest

import d2l_rnn
from d2l_rnn import cli
from d2l_rnn.cli import train as cli_train
from d2l_rnn.util.compat import check_python

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "d2l_rnn"] + list(args), capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def _prepare(*argv):
    return cli_train.prepare(cli.build_parser().parse_args(["train"] + list(argv)))


def test_defaults_are_the_books():
    corpus, model, training = _prepare()
    assert len(corpus[0]) == 10000 and corpus[3] == 1027
    assert model == d2l_rnn.ModelConfig("scratch", "gru", 1027, 256, 1, False, 0.0)
    assert training == d2l_rnn.TrainConfig(
        num_epochs=160, num_steps=35, batch_size=32, lr=100.0, clipping_theta=0.01,
        is_random_iter=False, seed=0, pred_period=40, pred_len=50, prefixes=("分开", "不分开"),
        corpus="jaychou_lyrics", num_chars=10000)
    assert _prepare("--model", "rnn")[2].num_epochs == 250


# Each flag of `train` with a value that is not its default, and where it must land.
FLAGS = [
    (["--model", "lstm"], "model", "lstm"), (["--impl", "concise"], "impl", "concise"),
    (["--num-hiddens", "7"], "num_hiddens", 7), (["--num-layers", "2"], "num_layers", 2),
    (["--bidirectional"], "bidirectional", True),
    (["--impl", "concise", "--num-layers", "2", "--dropout", "0.3"], "dropout", 0.3),
    (["--epochs", "3"], "num_epochs", 3), (["--num-steps", "7"], "num_steps", 7),
    (["--batch-size", "7"], "batch_size", 7), (["--lr", "3"], "lr", 3.0),
    (["--clipping-theta", "none"], "clipping_theta", None),
    (["--random-iter"], "is_random_iter", True), (["--seed", "9"], "seed", 9),
    (["--pred-period", "7"], "pred_period", 7), (["--pred-len", "7"], "pred_len", 7),
    (["--prefix", "分"], "prefixes", ("分",)), (["--temperature", "0.5"], "temperature", 0.5),
    (["--top-k", "3"], "top_k", 3), (["--val-fraction", "0.2"], "val_fraction", 0.2),
    (["--save-dir", "x", "--save-every", "4"], "save_every", 4),
    (["--num-chars", "3000"], "num_chars", 3000), (["--full-corpus"], "num_chars", None),
    (["--corpus", "time_machine"], "corpus", "time_machine"),
]


@pytest.mark.parametrize("argv,field,value", FLAGS, ids=lambda x: str(x))
def test_every_flag_reaches_the_configuration(argv, field, value):
    """No flag is parsed and then dropped: each one changes the configuration the run uses."""
    _, model, training = _prepare(*argv)
    config = model if hasattr(model, field) else training
    assert getattr(config, field) == value


def test_every_flag_has_help():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, "%s %s has no help" % (name, action.option_strings)


def test_dry_run_checks_everything_and_trains_nothing(tmp_path):
    d = tmp_path / "run"
    r = run("train", "--smoke", "--dry-run", "--save-dir", str(d), "--val-fraction", "0.1")
    assert r.returncode == 0, r.stderr
    assert "dry run:" in r.stdout and "epoch 1," not in r.stdout and not d.exists()
    for argv, message in ((["--num-steps", "5000"], "too few for one minibatch"),
                          (["--prefix", "分☃"], "'☃'"),
                          (["--resume", str(tmp_path / "none")], "does not exist")):
        r = run("train", "--smoke", "--dry-run", *argv)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


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


def test_train_save_resume_and_generate(tmp_path, capsys):
    d = str(tmp_path / "gru")
    r = run("train", "--smoke", "--val-fraction", "0.1", "--save-dir", d, "--save-every", "1",
            "--resume", d, "--prefix", "分开")
    assert r.returncode == 0, r.stderr
    assert "no checkpoint in %s yet" % d in r.stdout
    assert "epoch 2, perplexity" in r.stdout and "validation perplexity" in r.stdout
    assert "best" in r.stdout and os.path.isfile(os.path.join(d, "perplexity.png"))
    assert sorted(e for e in os.listdir(d) if e.startswith("epoch-")) == ["epoch-0002"]
    # A different model cannot resume from it: one line, naming the difference.
    assert cli.main(["train", "--smoke", "--val-fraction", "0.1", "--model", "lstm",
                     "--resume", d]) == 2
    err = capsys.readouterr().err
    assert "model='gru'" in err and "model='lstm'" in err

    # Generation reads the checkpoint alone, in a new process.
    gen = ["generate", d, "--prefix", "分开", "--length", "10", "--temperature", "0.8",
           "--top-k", "5", "--num-samples", "3", "--seed", "0"]
    r = run(*gen)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and all(l.startswith("分开") and len(l) == 12 for l in lines)
    assert "epoch 2" in r.stderr
    assert cli.main(gen) == 0
    assert capsys.readouterr().out == r.stdout  # same seed, same samples

    assert cli.main(["generate", d, "--best", "--prefix", "分☃开", "--length", "5"]) == 2
    err = capsys.readouterr().err
    assert "'☃'" in err and "--skip-unknown" in err
    assert cli.main(["generate", d, "--prefix", "分☃开", "--length", "5",
                     "--skip-unknown"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("分开") and "warning: skipped" in err

    with open(os.path.join(d, "epoch-0002", "vocab.json"), "a", encoding="utf-8") as f:
        f.write(" ")
    assert cli.main(["generate", d, "--length", "5"]) == 2
    assert "corrupt: vocab.json" in capsys.readouterr().err


def test_checkpoint_flag_errors(tmp_path, capsys):
    for argv, message in (
            (["--save-every", "2"], "--save-every needs --save-dir"),
            (["--resume", str(tmp_path / "none")], "does not exist")):
        assert cli.main(["train", "--smoke"] + argv) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--val-fraction", "1.5"])
    assert "expected a number in [0, 1), got '1.5'" in capsys.readouterr().err
