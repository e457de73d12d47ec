"""Kills at random moments during saves never break a save folder: LATEST always loads, the
user's own files survive, and the run resumes to the end."""
import os
import random
import re
import subprocess
import sys
import time

import d2l_rnn
from d2l_rnn.checkpoint import store

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A tiny model saved after every epoch (~0.1 s each): most of a run's time is spent saving.
ARGS = ["train", "--num-chars", "2000", "--num-hiddens", "8", "--num-steps", "10",
        "--batch-size", "8", "--no-progress", "--pred-period", "1000", "--save-every", "1",
        "--val-fraction", "0.1", "--seed", "3"]
# What a save folder may hold: the run's checkpoints, pointers and plot, its lock, and the
# temporary files of an interrupted save (cleared by the next run).
ALLOWED = re.compile(r"^(LATEST|BEST|perplexity\.png|epoch-\d{4,}(\.\d+)?|\.lock|\.lock\.owner|"
                     r"\.tmp-epoch-.*|\..*\.part|notes\.txt)$")


def test_sigkill_during_saves_never_breaks_the_save_folder(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "notes.txt").write_text("the user's own notes")
    rng = random.Random(0)
    argv = [sys.executable, "-m", "d2l_rnn"] + ARGS + ["--save-dir", str(d), "--resume",
                                                        str(d)]
    epochs_seen = []
    for kill in range(6):
        p = subprocess.Popen(argv + ["--epochs", "100000"], cwd=REPO,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 120
            while not os.path.exists(os.path.join(str(d), ".lock.owner")) \
                    and time.time() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(1.0, 3.0))  # some saves in, then anywhere in one
        finally:
            p.kill()  # the process this test started, by its handle's pid
            p.wait(timeout=60)
        assert all(ALLOWED.match(name) for name in os.listdir(str(d))), os.listdir(str(d))
        assert (d / "notes.txt").read_text() == "the user's own notes"
        if store.has_checkpoint(str(d)):
            ck = d2l_rnn.load_checkpoint(str(d))  # verified: every file against its manifest
            epochs_seen.append(ck.epoch)
    assert epochs_seen and epochs_seen == sorted(epochs_seen)  # never went back
    last = epochs_seen[-1]
    done = subprocess.run(argv + ["--epochs", str(last + 2)], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    ck = d2l_rnn.load_checkpoint(str(d))
    assert ck.epoch == last + 2 and ck.history["epochs"] == list(range(1, last + 3))
    assert not [n for n in os.listdir(str(d)) if n.startswith(".tmp") or n.endswith(".part")]
