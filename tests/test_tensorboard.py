"""``train --tensorboard DIR``: the event file holds every epoch's scalars and the samples."""
import glob
import os
import struct
import sys

import pytest

from d2l_rnn import cli

tensorboardX = pytest.importorskip("tensorboardX")


def read_events(logdir):
    """Every Event of the TFRecord files in ``logdir`` (length, CRC, data, CRC records)."""
    from tensorboardX.proto import event_pb2
    events = []
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        with open(path, "rb") as f:
            while True:
                header = f.read(12)
                if len(header) < 12:
                    break
                length = struct.unpack("<Q", header[:8])[0]
                data = f.read(length)
                f.read(4)
                events.append(event_pb2.Event.FromString(data))
    return events


def test_train_writes_scalars_and_samples_for_tensorboard(tmp_path, capsys):
    logdir = str(tmp_path / "tb")
    assert cli.main(["train", "--smoke", "--no-progress", "--val-fraction", "0.1",
                     "--tensorboard", logdir, "--prefix", "分开"]) == 0
    assert "tensorboard --logdir" in capsys.readouterr().out
    scalars, texts = {}, {}
    for e in read_events(logdir):
        for v in e.summary.value:
            if v.HasField("simple_value"):
                scalars.setdefault(v.tag, {})[e.step] = v.simple_value
            else:
                texts.setdefault(v.tag, set()).add(e.step)
    for name in ("perplexity", "val_perplexity", "tokens_per_second", "grad_norm"):
        assert sorted(scalars[name]) == [1, 2], name
        assert all(value > 0 for value in scalars[name].values())
    assert scalars["perplexity"][2] < scalars["perplexity"][1]
    assert any(tag.startswith("samples/分开") for tag in texts)


def test_a_missing_tensorboardx_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails
    assert cli.main(["train", "--smoke", "--tensorboard", str(tmp_path / "tb")]) == 2
    assert "pip install 'd2l_rnn[tensorboard]'" in capsys.readouterr().err
