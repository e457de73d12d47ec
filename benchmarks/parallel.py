"""Benchmark: what data parallelism costs on this machine, and a model on paper of what it
would buy on many.

    python benchmarks/parallel.py            # about 4 minutes here
    python benchmarks/parallel.py --quick    # a smoke run (~40 s)

Rows (the book's task: 10,000 lyrics characters, hidden 256, 35 steps, global batch 32,
each row a fresh ``python -m d2l_rnn`` process so that the rows do not share threads):
one process; one process on two CPU contexts (``--ctx cpu(0),cpu(1)``); a cluster of two
workers and one server on 127.0.0.1 (``launch``), for the scratch GRU (its input weights'
gradients pushed row-sparse) and the concise GRU (pushed dense). Each row reports tokens/s
(median epoch after the first) and the bytes pushed and pulled per step and worker.

Then the scaling model: with one server per machine, each machine sends and receives about
twice a step's gradient bytes per step, whatever the number of machines M; the compute per
step shrinks as the global batch is shared, so communication hides behind compute once each
machine's share of the global batch takes as long as the transfer. Printed for M = 8, 64 and
512 at 10, 25 and 100 Gbit/s, from the compute per row and the bytes measured here.

Last, memory: the peak resident memory of ``train --corpus imdb_text --full-corpus
--dry-run`` (every check before the first epoch, on the 64.5 million characters) against the
same on the book's 10,000 characters, and of streaming 2,000 minibatches of the whole IMDb
corpus.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
from d2l_rnn.util.fileio import write_text_atomic  # noqa: E402

TASK = ["--num-chars", "10000", "--batch-size", "32", "--num-steps", "35",
        "--num-hiddens", "256", "--no-progress", "--seed", "0"]
COMM = re.compile(r"(\d+) KB pushed, (\d+) KB pulled \(dense: (\d+) and (\d+) KB\)")
MACHINES = (8, 64, 512)
GBITS = (10, 25, 100)

STREAM = r"""
import resource, sys
from d2l_rnn.data import data_iter_consecutive
from d2l_rnn.extras.sentiment import load_imdb_text
corpus = load_imdb_text()[0]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for k, (X, Y) in enumerate(data_iter_consecutive(corpus, 32, 35)):
    if k == 2000:
        break
print(len(corpus), corpus.dtype, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _python(argv, env=None):
    """Run ``python argv`` from the repository; its stdout, or SystemExit with its error."""
    p = subprocess.run([sys.executable] + argv, cwd=ROOT, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    if p.returncode:
        raise SystemExit("failed: %s\n%s%s" % (" ".join(argv), p.stdout, p.stderr[-3000:]))
    return p.stdout


def _peak_mib(argv):
    """Peak resident memory (MiB) of a ``python -m d2l_rnn argv`` process."""
    code = ("import resource\nfrom d2l_rnn.cli import main\ncode = main(%r)\n"
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
            "raise SystemExit(code)" % (argv,))
    return int(re.search(r"PEAK (\d+)", _python(["-c", code])).group(1)) / 1024


def row(name, argv, epochs, launch=False):
    """Train one row; returns its measures."""
    with tempfile.TemporaryDirectory() as tmp:
        history = os.path.join(tmp, "history.json")
        train = ["train"] + TASK + argv + ["--epochs", str(epochs), "--pred-period",
                                           str(epochs + 1), "--history", history]
        cmd = ["-m", "d2l_rnn"] + (["launch", "--workers", "2", "--servers", "1", "--"]
                                   if launch else []) + train
        out = _python(cmd)
        with open(history) as f:
            h = json.load(f)
    timed = h["tokens_per_second"][1:] or h["tokens_per_second"]
    seconds = h["seconds"][1:] or h["seconds"]
    comm = COMM.search(out)
    r = {"row": name, "tokens_per_second": sorted(timed)[len(timed) // 2],
         "seconds_per_epoch": sorted(seconds)[len(seconds) // 2],
         "perplexity": h["perplexity"][-1], "steps": h["steps"]}
    if comm:
        r.update(zip(("pushed_kb", "pulled_kb", "pushed_dense_kb", "pulled_dense_kb"),
                     map(int, comm.groups())))
    return r


def scaling(compute_per_row, step_bytes):
    """For each (M, Gbit/s): the transfer per step and the global batch that hides it."""
    out = []
    for m in MACHINES:
        for g in GBITS:
            transfer = 2 * step_bytes * (m - 1) / m / (g * 1e9 / 8)  # seconds per step
            rows_per_machine = transfer / compute_per_row
            out.append({"machines": m, "gbit_s": g, "transfer_ms": 1e3 * transfer,
                        "rows_per_machine": rows_per_machine,
                        "global_batch": m * max(1.0, rows_per_machine)})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=4, help="epochs per row (first untimed)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: two rows, 2 epochs")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    epochs = 2 if args.quick else args.epochs
    plan = [("one process, scratch GRU", ["--model", "gru"], False),
            ("2 workers + 1 server, scratch GRU (row-sparse)", ["--model", "gru"], True)]
    if not args.quick:
        plan[1:1] = [("one process, 2 contexts, scratch GRU",
                      ["--model", "gru", "--ctx", "cpu(0),cpu(1)"], False)]
        plan += [("one process, concise GRU", ["--model", "gru", "--impl", "concise"], False),
                 ("2 workers + 1 server, concise GRU (dense)",
                  ["--model", "gru", "--impl", "concise"], True)]
    rows = [row(name, a, epochs, launch) for name, a, launch in plan]
    base = rows[0]["tokens_per_second"]

    print("| row | tokens/s | vs one process | s/epoch | KB pushed/step | KB pulled/step "
          "| dense KB | perplexity |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print("| %s | %s | %.2fx | %.3f | %s | %s | %s | %.3f |" % (
            r["row"], format(int(r["tokens_per_second"]), ","), r["tokens_per_second"] / base,
            r["seconds_per_epoch"], r.get("pushed_kb", "-"), r.get("pulled_kb", "-"),
            r.get("pushed_dense_kb", "-"), r["perplexity"]))

    one, dist = rows[0], [r for r in rows if "workers" in r["row"]][0]
    compute_per_row = one["seconds_per_epoch"] / (one["steps"] / epochs) / 32
    dense = dist["pushed_dense_kb"] * 1024
    sparse = (dist["pushed_kb"] + dist["pulled_kb"]) / 2 * 1024
    print("\ncompute here: %.2f ms per minibatch row (batch 32: %.1f ms per step); gradient "
          "per step %.0f KB dense, %.0f KB row-sparse (mean of push and pull)"
          % (1e3 * compute_per_row, 32e3 * compute_per_row, dense / 1024, sparse / 1024))
    print("\n| machines | Gbit/s | transfer ms/step (dense) | rows per machine to hide it "
          "| global batch | same, row-sparse |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    table = scaling(compute_per_row, dense)
    for d, s in zip(table, scaling(compute_per_row, sparse)):
        print("| %d | %d | %.2f | %.1f | %s | %s |" % (
            d["machines"], d["gbit_s"], d["transfer_ms"], d["rows_per_machine"],
            format(int(round(d["global_batch"])), ","),
            format(int(round(s["global_batch"])), ",")))

    memory = {}
    if not args.quick:
        small = _peak_mib(["train", "--dry-run"] + TASK)
        big = _peak_mib(["train", "--dry-run", "--corpus", "imdb_text", "--full-corpus"] +
                        TASK[2:])
        n, dtype, before, after = _python(["-c", STREAM]).split()
        memory = {"dry_run_lyrics_mib": small, "dry_run_imdb_text_mib": big,
                  "imdb_text_chars": int(n), "dtype": dtype,
                  "loaded_mib": int(before) / 1024, "after_2000_minibatches_mib":
                  int(after) / 1024}
        print("\nmemory: train --dry-run peaks at %.0f MiB on 10,000 characters, %.0f MiB on "
              "imdb_text's %s characters (%s); streaming 2,000 minibatches of it: %.0f MiB "
              "after loading, %.0f MiB after"
              % (small, big, format(int(n), ","), dtype, memory["loaded_mib"],
                 memory["after_2000_minibatches_mib"]))
    if args.json:
        write_text_atomic(args.json, json.dumps({"rows": rows, "scaling": table,
                                                 "memory": memory}, indent=1))


if __name__ == "__main__":
    main()
