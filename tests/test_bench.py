"""The benchmark script runs end to end in its quick mode and writes a complete report."""
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_quick(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "bench.py"), "--quick",
                        "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads(out.read_text())
    rows = {row["row"]: row for row in report["rows"]}
    for name in ("book scratch GRU (d2lzh)", "ours scratch GRU", "book scratch LSTM (d2lzh)",
                 "ours scratch LSTM", "book concise GRU (d2lzh)", "ours concise GRU"):
        assert rows[name]["seconds_per_epoch"] > 0 and rows[name]["peak_rss_mib"] > 0
    assert rows["book scratch GRU (d2lzh)"]["ratio_to_book_scratch"] == 1.0
    assert ("PyTorch nn.GRU" in rows) == (report["torch"] is not None)
    assert report["fc_peak_gflops"] > 0
    assert "vs book" in r.stdout and "arithmetic limit" in r.stdout
    for name in ("ours scratch GRU", "ours scratch LSTM"):  # a peak after every epoch too
        row = rows[name]
        assert len(row["epoch_peaks_gflops"]) == len(row["epoch_seconds"]) + 1
        assert row["ratio_to_arithmetic_limit_per_epoch"] > 0
    assert "per epoch (peak just before/after it)" in r.stdout
    check_scaling(report["scaling"], r.stdout)
    check_generation(report["generation"], r.stdout)
    check_deep(report, r.stdout)


def check_scaling(scaling, stdout):
    """Both scratch models at every size and sequence length, with their share of the
    machine's peak and their memory."""
    assert [(r["model"], r["num_steps"], r["num_hiddens"]) for r in scaling] == \
        [(kind, T, h) for kind in ("gru", "lstm") for T in (5, 10) for h in (32, 64)]
    for r in scaling:
        assert r["tokens_per_second"] > 0 and r["peak_rss_mib"] > 0
        assert 0 < r["percent_of_peak"] < 100 and r["gflops"] > 0
    assert "% peak" in stdout and "LSTM        64     10" in stdout


def check_generation(rows, stdout):
    """The book's generators and ours, one greedy sample and a batch of samples, for both
    paths; the ratios agree with the times."""
    paths = [(r["path"], r["num_samples"]) for r in rows]
    assert paths == [(p, k) for p in ("scratch", "concise") for k in (1, 1, 1, 32)]
    for path in ("scratch", "concise"):
        book, greedy, one, many = [r for r in rows if r["path"] == path]
        assert book["row"].startswith("book") and greedy["row"].startswith("ours")
        assert abs(greedy["speedup_over_book"] - book["seconds"] / greedy["seconds"]) < 1e-9
        assert abs(many["time_over_one_sample"] - many["seconds"] / one["seconds"]) < 1e-9
        assert many["chars_per_second"] == pytest.approx(
            32 * many["num_chars"] / many["seconds"])
    assert "the book's speed" in stdout and "the time of one sample" in stdout


def check_deep(report, stdout):
    """The deep/bidirectional table: every model and layout, all three paths timed (or the
    book's marked n/a with a reason), ratios consistent with the times, in JSON and text."""
    deep = report["deep"]
    assert deep["num_hiddens"] > 0
    layouts = [(1, False), (2, False), (3, False), (1, True), (2, True)]
    assert [(e["model"], e["num_layers"], e["bidirectional"]) for e in deep["rows"]] == \
        [(kind, L, bi) for kind in ("gru", "lstm") for L, bi in layouts]
    for e in deep["rows"]:
        for key in ("ours_scratch", "ours_concise"):
            assert e[key]["seconds_per_epoch"] > 0 and e[key]["tokens_per_second"] > 0
            assert e[key]["gflops"] > 0 and e[key]["peak_rss_mib"] > 0
        book = e["book_concise"]
        if "error" in book:
            assert book["error"].startswith("n/a (")
            assert e["ratio_scratch_to_book_concise"] is None
            continue
        if book["seconds_per_epoch"] > 0:  # the book prints 10 ms steps: may read 0.00
            for key in ("scratch", "concise"):
                assert abs(e["ratio_%s_to_book_concise" % key] * book["seconds_per_epoch"]
                           - e["ours_" + key]["seconds_per_epoch"]) < 1e-9
        # The work grows with the layers and the directions; the book's concise model
        # multiplies the one-hot input, ours look its rows up (where the kernels run, as
        # here), as our scratch models do.
        assert e["ours_concise"]["gflop_per_epoch"] == e["ours_scratch"]["gflop_per_epoch"]
        assert e["ours_scratch"]["gflop_per_epoch"] < book["gflop_per_epoch"]
    work = {(e["model"], e["num_layers"], e["bidirectional"]):
            e["ours_concise"]["gflop_per_epoch"] for e in deep["rows"]}
    for kind in ("gru", "lstm"):
        assert work[kind, 1, False] < work[kind, 2, False] < work[kind, 3, False]
        assert work[kind, 1, False] < work[kind, 1, True] < work[kind, 2, True]
    assert "deep and bidirectional models" in stdout and "vs book concise" in stdout
    for name in ("GRU   L=1 ", "GRU   L=3 ", "LSTM  L=2 bi"):
        assert name in stdout


def test_flops_per_token_layers():
    """Deep/bidirectional FLOPs: higher layers read num_directions * h, so does the output."""
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    h, V, g = 256, 1000, 3
    one = bench.flops_per_token("gru", h, V, True)
    assert one == 3 * (2 * h * g * h + 2 * h * V + 2 * V * g * h)
    assert bench.flops_per_token("gru", h, V, True, 1, False) == one
    assert bench.flops_per_token("gru", h, V, False, 2) == \
        3 * (2 * (2 * h * g * h) + 2 * h * g * h + 2 * h * V)
    assert bench.flops_per_token("gru", h, V, True, 2, True) == 3 * (
        2 * (2 * h * g * h + 2 * V * g * h)            # layer 0, both directions
        + 2 * (2 * h * g * h + 2 * (2 * h) * g * h)    # layer 1 reads 2h, both directions
        + 2 * (2 * h) * V)                              # output layer reads 2h


def test_each_epoch_meets_the_peak_of_its_own_moment():
    """An epoch's ratio uses the larger of the peaks measured just before and after it."""
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    try:
        import bench
    finally:
        sys.path.pop(0)
    # Epoch 0 ran between peaks 100 and 50, epoch 1 between 50 and 200; 100 GFLOP each.
    assert bench.epoch_ratios([1.0, 2.0], [100.0, 50.0, 200.0], 100.0) == [1.0, 4.0]
