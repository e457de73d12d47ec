"""The benchmark script runs end to end in its quick mode and writes a complete report."""
import json
import os
import subprocess
import sys

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
    assert len(report["scaling"]) == 4 and report["fc_peak_gflops"] > 0
    assert "vs book" in r.stdout and "arithmetic limit" in r.stdout
