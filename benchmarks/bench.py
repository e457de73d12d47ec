"""Benchmark: the book's library vs d2l_rnn (vs PyTorch) on the chapter's task, in one process.

    python benchmarks/bench.py                 # full run, text table + benchmarks/results.json
    python benchmarks/bench.py --quick         # a few seconds, to check that it works

Task (the book's settings): the first 10,000 characters of the lyrics corpus, hidden 256,
35 steps, batch 32, consecutive sampling, SGD lr 100, clipping 0.01. Each row trains for a
few warm-up epochs, then N timed epochs; the table gives the median seconds per epoch, tokens
per second, the process's peak resident memory while the row ran, the ratio to the book's
scratch model, and the achieved GFLOP/s against the machine's FullyConnected peak, measured
again before and after every row (the shared machines' speed drifts within a run).
A second table (``--no-deep`` skips it) times deep and bidirectional GRUs and LSTMs (1-3
layers; 1-2 layers both ways): our scratch and concise models against the book's concise model
(``d2lzh.RNNModel`` around the same Gluon layer; the book has no deep scratch model).
A scaling table (``--no-scaling`` skips it) times our scratch GRU and LSTM at hidden 128-1024
and 35/100 steps on the full corpus; a generation table (``--no-generation``) times
``predict_rnn`` / ``predict_rnn_gluon`` against the book's: 500 characters after 分开,
greedy, and 32 samples at temperature 0.8 as one batch.
The machines are shared: compare rows of one run (ratios), not runs of different days.
"""
import argparse
import contextlib
import importlib.metadata
import io
import json
import os
import random
import re
import sys
import threading
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
# d2l_rnn first: it sets MXNet's thread count, which MXNet reads when it is imported. Every row
# (the book's library and PyTorch too) runs in this process with the same setting.
import d2l_rnn  # noqa: E402
from d2l_rnn.models import book_cells, gluon_layer, registry  # noqa: E402
from d2l_rnn.util.fileio import write_text_atomic  # noqa: E402

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import nd  # noqa: E402

_MODEL, _TRAINING = d2l_rnn.ModelConfig(), d2l_rnn.TrainConfig()
BOOK = dict(num_hiddens=_MODEL.num_hiddens, num_steps=_TRAINING.num_steps,
            batch_size=_TRAINING.batch_size, lr=_TRAINING.lr,
            clipping_theta=_TRAINING.clipping_theta)
# Layouts of the deep table: (num_layers, bidirectional).
DEEP_LAYOUTS = [(1, False), (2, False), (3, False), (1, True), (2, True)]


class PeakRSS(object):
    """Samples this process's resident memory every 5 ms; ``peak`` in MiB after the block."""

    def __enter__(self):
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        page = os.sysconf("SC_PAGE_SIZE")
        while not self._stop.is_set():
            with open("/proc/self/statm") as f:
                self.peak = max(self.peak, int(f.read().split()[1]) * page / 2 ** 20)
            self._stop.wait(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def flops_per_token(kind, h, V, one_hot_input, num_layers=1, bidirectional=False):
    """Forward + backward FLOPs per token (backward ~ 2x forward) of the matrix products.

    Per layer and direction: the hidden product (h x g*h) and the input product; layer 0's
    input is the one-hot token (V wide; a row lookup, no product, unless ``one_hot_input``),
    a higher layer's the layer below's num_directions * h features. The output layer reads
    num_directions * h features.
    """
    g, D = len(registry.get(kind).gates), 2 if bidirectional else 1
    fwd = 2 * (D * h) * V
    for layer in range(num_layers):
        inputs = (V if one_hot_input else 0) if layer == 0 else D * h
        fwd += D * (2 * h * g * h + 2 * inputs * g * h)
    return 3 * fwd


def epoch_ratios(seconds, peaks, gflop):
    """Each epoch's time over its own arithmetic limit: ``gflop`` at the larger of the
    FullyConnected peaks measured just before and just after it (``peaks[i]``, ``peaks[i+1]``).

    The row's ratio compares the median epoch with the peak around the whole row; on a
    machine whose speed switches within seconds (seen: 2x, back and forth), an epoch run in a
    slow second then meets a peak measured in a fast one. Here each epoch meets the peak of
    its own moment (still the larger of two, so a slow measure never flatters it).
    """
    return [s * max(peaks[i], peaks[i + 1]) / gflop for i, s in enumerate(seconds)]


def layout_name(num_layers, bidirectional):
    return "L=%d%s" % (num_layers, " bi" if bidirectional else "")


def fc_peak_gflops(n=2048, reps=5):
    """Measured FullyConnected (oneDNN) throughput on an n^3 float32 product, in GFLOP/s."""
    a, w = nd.random.normal(shape=(n, n)), nd.random.normal(shape=(n, n))
    nd.FullyConnected(a, w, no_bias=True, num_hidden=n).wait_to_read()
    best = float("inf")
    for _ in range(reps):
        t = time.time()
        nd.FullyConnected(a, w, no_bias=True, num_hidden=n).wait_to_read()
        best = min(best, time.time() - t)
    return 2 * n ** 3 / best / 1e9


def _seed(s=0):
    random.seed(s)
    np.random.seed(s)
    mx.random.seed(s)


def _printed_times(text):
    return [float(t) for t in re.findall(r"time ([0-9.]+) sec", text)]


def run_d2lzh_scratch(kind, corpus, epochs):
    import d2lzh
    ci, c2i, i2c, V = corpus
    fn, init_state = book_cells.BOOK[kind]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        d2lzh.train_and_predict_rnn(
            fn, book_cells.make_get_params(kind, V, BOOK["num_hiddens"], V), init_state,
            BOOK["num_hiddens"], V, mx.cpu(), ci, i2c, c2i, False, epochs, BOOK["num_steps"],
            BOOK["lr"], BOOK["clipping_theta"], BOOK["batch_size"], 1, 1, [i2c[ci[0]]])
    return _printed_times(out.getvalue())


def run_d2lzh_concise(kind, corpus, epochs, num_hiddens=None, num_layers=1,
                      bidirectional=False):
    import d2lzh
    ci, c2i, i2c, V = corpus
    h = num_hiddens or BOOK["num_hiddens"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        d2lzh.train_and_predict_rnn_gluon(
            d2lzh.RNNModel(gluon_layer(kind, h, num_layers, bidirectional), V), h, V,
            mx.cpu(), ci, i2c, c2i, epochs,
            BOOK["num_steps"], BOOK["lr"], BOOK["clipping_theta"], BOOK["batch_size"], 1, 1,
            [i2c[ci[0]]])
    return _printed_times(out.getvalue())


@contextlib.contextmanager
def _timing_only(bidirectional):
    """Ours warns that a bidirectional language model sees what it must predict; here the
    models are only timed."""
    with warnings.catch_warnings():
        if bidirectional:
            warnings.simplefilter("ignore", d2l_rnn.BidirectionalLMWarning)
        yield


def run_ours_scratch(kind, corpus, epochs, num_hiddens=None, num_steps=None, num_layers=1,
                     bidirectional=False, after_epoch=None):
    """Our scratch model; ``after_epoch()`` is called after each epoch, outside its time."""
    ci, c2i, i2c, V = corpus
    h, T = num_hiddens or BOOK["num_hiddens"], num_steps or BOOK["num_steps"]
    with _timing_only(bidirectional):
        hist = d2l_rnn.train_and_predict_rnn(
            d2l_rnn.MODELS[kind][0],
            d2l_rnn.get_params_fn(kind, V, h, None, num_layers, bidirectional),
            d2l_rnn.init_state_fn(kind, num_layers, bidirectional), h, V, mx.cpu(), ci, i2c,
            c2i, False, epochs, T, BOOK["lr"], BOOK["clipping_theta"], BOOK["batch_size"],
            epochs + 1, 1, [], quiet=True,
            callback=None if after_epoch is None else lambda epoch, history: after_epoch())
    return hist.seconds


def run_ours_scratch_unfused(kind, corpus, epochs, **layout):
    """Ours with the fused kernels switched off (``D2L_RNN_FUSED=0``): the graph of MXNet
    operators, to show what the kernels (GRU layer, loss) bring."""
    old = d2l_rnn.kernels.set_enabled(False)
    try:
        return run_ours_scratch(kind, corpus, epochs, **layout)
    finally:
        d2l_rnn.kernels.set_enabled(old)


def run_ours_concise(kind, corpus, epochs, num_hiddens=None, num_layers=1,
                     bidirectional=False):
    ci, c2i, i2c, V = corpus
    h = num_hiddens or BOOK["num_hiddens"]
    with _timing_only(bidirectional):
        hist = d2l_rnn.train_and_predict_rnn_gluon(
            d2l_rnn.RNNModel(gluon_layer(kind, h, num_layers, bidirectional), V),
            h, V, mx.cpu(), ci, i2c, c2i, epochs, BOOK["num_steps"], BOOK["lr"],
            BOOK["clipping_theta"], BOOK["batch_size"], epochs + 1, 1, [], quiet=True)
    return hist.seconds


def run_torch(kind, corpus, epochs):
    """The same model in PyTorch: one-hot input, nn.GRU/nn.LSTM, linear output, SGD, same
    global-norm clipping, consecutive sampling with the state detached between batches."""
    import torch
    from torch import nn
    ci, c2i, i2c, V = corpus
    h = BOOK["num_hiddens"]
    torch.manual_seed(0)
    layer = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}[kind](V, h)
    dense = nn.Linear(h, V)
    params = list(layer.parameters()) + list(dense.parameters())
    for p in params:
        nn.init.normal_(p, std=0.01)
    opt = torch.optim.SGD(params, lr=BOOK["lr"])
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start, state = time.time(), None
        for X, Y in d2l_rnn.data_iter_consecutive(ci, BOOK["batch_size"], BOOK["num_steps"]):
            X = torch.from_numpy(X.asnumpy().astype(np.int64)).T
            Y = torch.from_numpy(Y.asnumpy().astype(np.int64)).T.reshape(-1)
            if state is not None:
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) \
                    else state.detach()
            out, state = layer(nn.functional.one_hot(X, V).float(), state)
            l = loss_fn(dense(out.reshape(-1, h)), Y)
            opt.zero_grad()
            l.backward()
            nn.utils.clip_grad_norm_(params, BOOK["clipping_theta"])
            opt.step()
        float(l)
        times.append(time.time() - start)
    return times


GENERATION = dict(prefix="分开", num_chars=500, num_samples=32, temperature=0.8)


def generation_rows(corpus, num_chars, repeats):
    """Characters per second of the book's and our generators on the same GRU weights (random:
    the work per character does not depend on what the model learnt).

    The cases are timed in turn, ``repeats`` rounds of all of them (median per case): the
    ratios compare calls made seconds apart, not in different phases of a machine whose speed
    switches (a whole case once fell into a slow phase and doubled its ratio)."""
    import d2lzh
    ci, c2i, i2c, V = corpus
    h, ctx, prefix = BOOK["num_hiddens"], mx.cpu(), GENERATION["prefix"]
    k, T = GENERATION["num_samples"], GENERATION["temperature"]
    _seed()
    params = d2l_rnn.get_params_fn("gru", V, h)()
    book_gru, book_init = book_cells.BOOK["gru"]
    model = d2l_rnn.RNNModel(gluon_layer("gru", h), V)
    model.initialize(ctx=ctx)
    book_model = d2lzh.RNNModel(gluon_layer("gru", h), V)
    book_model.initialize(ctx=ctx)
    cases = [  # (row, path, samples, call)
        ("book predict_rnn (d2lzh), greedy", "scratch", 1, lambda: d2lzh.predict_rnn(
            prefix, num_chars, book_gru, params, book_init, h, V, ctx, i2c, c2i)),
        ("ours predict_rnn, greedy", "scratch", 1, lambda: d2l_rnn.predict_rnn(
            prefix, num_chars, d2l_rnn.gru, params, d2l_rnn.init_gru_state, h, V, ctx, i2c,
            c2i)),
        ("ours predict_rnn, 1 sample at %.1f" % T, "scratch", 1, lambda: d2l_rnn.predict_rnn(
            prefix, num_chars, d2l_rnn.gru, params, d2l_rnn.init_gru_state, h, V, ctx, i2c,
            c2i, temperature=T, seed=0)),
        ("ours predict_rnn, %d samples at %.1f" % (k, T), "scratch", k,
         lambda: d2l_rnn.predict_rnn(
             prefix, num_chars, d2l_rnn.gru, params, d2l_rnn.init_gru_state, h, V, ctx, i2c,
             c2i, temperature=T, num_samples=k, seed=0)),
        ("book predict_rnn_gluon (d2lzh), greedy", "concise", 1,
         lambda: d2lzh.predict_rnn_gluon(prefix, num_chars, book_model, V, ctx, i2c, c2i)),
        ("ours predict_rnn_gluon, greedy", "concise", 1, lambda: d2l_rnn.predict_rnn_gluon(
            prefix, num_chars, model, V, ctx, i2c, c2i)),
        ("ours predict_rnn_gluon, 1 sample at %.1f" % T, "concise", 1,
         lambda: d2l_rnn.predict_rnn_gluon(prefix, num_chars, model, V, ctx, i2c, c2i,
                                           temperature=T, seed=0)),
        ("ours predict_rnn_gluon, %d samples at %.1f" % (k, T), "concise", k,
         lambda: d2l_rnn.predict_rnn_gluon(prefix, num_chars, model, V, ctx, i2c, c2i,
                                           temperature=T, num_samples=k, seed=0)),
    ]
    for _, _, _, call in cases:
        call()  # warm-up: compiles the graphs of the shapes
    times = [[] for _ in cases]
    for _ in range(repeats):
        for (_, _, _, call), t in zip(cases, times):
            start = time.time()
            call()
            t.append(time.time() - start)
    rows = []
    for (label, path, samples, _), t in zip(cases, times):
        s = float(np.median(t))
        rows.append(dict(row=label, path=path, num_samples=samples, num_chars=num_chars,
                         seconds=s, chars_per_second=samples * num_chars / s))
        print("generation: %-40s %.3f s" % (label, s), flush=True)
    for path in ("scratch", "concise"):
        book, greedy, one, many = [r for r in rows if r["path"] == path]
        greedy["speedup_over_book"] = book["seconds"] / greedy["seconds"]
        many["time_over_one_sample"] = many["seconds"] / one["seconds"]
    return rows


ROWS = [  # (label, runner, model kind, one-hot input products executed?)
    ("book scratch GRU (d2lzh)", run_d2lzh_scratch, "gru", True),
    ("ours scratch GRU", run_ours_scratch, "gru", False),
    ("ours scratch GRU, no kernels", run_ours_scratch_unfused, "gru", False),
    ("book scratch LSTM (d2lzh)", run_d2lzh_scratch, "lstm", True),
    ("ours scratch LSTM", run_ours_scratch, "lstm", False),
    ("book concise GRU (d2lzh)", run_d2lzh_concise, "gru", True),
    ("ours concise GRU", run_ours_concise, "gru", "unless kernels"),
    ("book concise LSTM (d2lzh)", run_d2lzh_concise, "lstm", True),
    ("ours concise LSTM", run_ours_concise, "lstm", "unless kernels"),
    ("PyTorch nn.GRU", run_torch, "gru", True),
    ("PyTorch nn.LSTM", run_torch, "lstm", True),
]
DEEP_PATHS = [  # (JSON key, runner, one-hot input products executed?)
    ("ours_scratch", run_ours_scratch, False),
    ("ours_concise", run_ours_concise, "unless kernels"),
    ("book_concise", run_d2lzh_concise, True),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--warmup", type=int, default=2, help="untimed epochs per row")
    ap.add_argument("--epochs", type=int, default=8, help="timed epochs per row (median)")
    ap.add_argument("--num-chars", type=int, default=10000, help="corpus characters")
    ap.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=True,
                    help="also time our scratch GRU at hidden 128-1024, 35 and 100 steps, on "
                         "the full lyrics corpus")
    ap.add_argument("--generation", action=argparse.BooleanOptionalAction, default=True,
                    help="also time text generation: the book's predict_rnn[_gluon] against "
                         "ours, greedy and %d samples at once" % GENERATION["num_samples"])
    ap.add_argument("--deep", action=argparse.BooleanOptionalAction, default=True,
                    help="also time deep and bidirectional GRUs and LSTMs (%s): our scratch "
                         "and concise models against the book's concise one"
                         % ", ".join(layout_name(*lay) for lay in DEEP_LAYOUTS))
    ap.add_argument("--quick", action="store_true",
                    help="smoke mode: 1 + 1 epochs on 2,000 characters, small scaling table, "
                         "deep table at hidden 64, 20 generated characters")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"),
                    help="where to write the results as JSON")
    args = ap.parse_args(argv)
    if args.quick:
        args.warmup, args.epochs, args.num_chars = 1, 1, 2000
    corpus = d2l_rnn.load_data_jay_lyrics(num_chars=args.num_chars)
    V = corpus[3]
    tokens = (len(corpus[0]) // BOOK["batch_size"] - 1) // BOOK["num_steps"] \
        * BOOK["num_steps"] * BOOK["batch_size"]
    peak = fc_peak_gflops(512 if args.quick else 2048)
    print("corpus: %d characters, vocabulary %d, %d tokens per epoch; FullyConnected peak "
          "%.0f GFLOP/s; MXNet %s, OMP_NUM_THREADS=%s"
          % (len(corpus[0]), V, tokens, peak, mx.__version__, os.environ.get("OMP_NUM_THREADS")))
    # Only look torch up here: importing it starts its OpenMP threads (see below).
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = None

    def peak_now():
        # The machine's speed drifts within a run (shared cores, clock boosts: the peak was
        # seen to move 2x between rows), so each row's share of the peak and its arithmetic
        # limit use the larger of the measures just before and just after the row (one
        # alone, taken in a slow second, once gave a row 102 %).
        return fc_peak_gflops(512 if args.quick else 2048)

    def time_row(runner, kind, one_hot, paired=False, **layout):
        """Warm-up epochs, then the timed ones; the measurements of one row. ``paired``: the
        peak is measured after every epoch as well (see ``epoch_ratios``)."""
        _seed()
        runner(kind, corpus, args.warmup, **layout)
        _seed()
        before = peak_now()
        peaks = [before]
        if paired:
            layout = dict(layout, after_epoch=lambda: peaks.append(peak_now()))
        with PeakRSS() as mem:
            times = runner(kind, corpus, args.epochs, **layout)
        peaks.append(peak_now())
        row_peak = max(peaks[0], peaks[-1])
        s = float(np.median(times))
        if one_hot == "unless kernels":  # our RNNModel looks rows up where they run
            one_hot = not d2l_rnn.kernels.enabled()
        gflop = flops_per_token(kind, layout.get("num_hiddens") or BOOK["num_hiddens"], V,
                                one_hot, layout.get("num_layers", 1),
                                layout.get("bidirectional", False)) * tokens / 1e9
        # The book prints its times to 10 ms: a tiny --quick row can read 0.00.
        row = dict(seconds_per_epoch=s, tokens_per_second=tokens / s if s > 0 else None,
                   peak_rss_mib=mem.peak, gflop_per_epoch=gflop,
                   gflops=gflop / s if s > 0 else None, fc_peak_gflops=row_peak)
        if paired:
            row["epoch_seconds"], row["epoch_peaks_gflops"] = times, peaks[:len(times) + 1]
        return row

    def run_row(label, runner, kind, one_hot):
        results.append(dict(row=label, model=kind, **time_row(
            runner, kind, one_hot, paired=label.startswith("ours scratch")
            and runner is run_ours_scratch)))
        print("%-28s %.3f s/epoch" % (label, results[-1]["seconds_per_epoch"]), flush=True)

    # PyTorch goes last: once loaded, its own OpenMP threads can slow MXNet's down.
    results = []
    for label, runner, kind, one_hot in ROWS:
        if runner is not run_torch:
            run_row(label, runner, kind, one_hot)
    scaling = []
    if args.scaling:
        full = d2l_rnn.load_data_jay_lyrics(num_chars=2000 if args.quick else None)
        hiddens = (32, 64) if args.quick else (128, 256, 512, 1024)
        for kind in ("gru", "lstm"):
            for T in (35, 100) if not args.quick else (5, 10):
                for h in hiddens:
                    _seed()
                    # Warm up (compile the graph for these shapes) on two minibatches only.
                    head = (full[0][:BOOK["batch_size"] * (2 * T + 1)],) + tuple(full[1:])
                    run_ours_scratch(kind, head, 1, h, T)
                    before = peak_now()
                    with PeakRSS() as mem:
                        s = run_ours_scratch(kind, full, 1, h, T)[0]
                    row_peak = max(before, peak_now())
                    n = (len(full[0]) // BOOK["batch_size"] - 1) // T * T * BOOK["batch_size"]
                    gflops = flops_per_token(kind, h, full[3], False) * n / s / 1e9
                    scaling.append(dict(model=kind, num_hiddens=h, num_steps=T,
                                        tokens_per_second=n / s, seconds_per_epoch=s,
                                        gflops=gflops, percent_of_peak=100 * gflops / row_peak,
                                        fc_peak_gflops=row_peak, peak_rss_mib=mem.peak))
                    print("scaling: %s hidden %d, %d steps: %.3f s/epoch"
                          % (kind.upper(), h, T, s), flush=True)
    generation = None
    if args.generation:
        # The book's task corpus: the prefix's characters are in its vocabulary.
        generation = generation_rows(d2l_rnn.load_data_jay_lyrics(num_chars=10000),
                                     20 if args.quick else GENERATION["num_chars"],
                                     1 if args.quick else 5)
    deep = None
    if args.deep:
        deep_h = 64 if args.quick else BOOK["num_hiddens"]
        deep = dict(num_hiddens=deep_h, rows=[])
        for kind in ("gru", "lstm"):
            for num_layers, bidirectional in DEEP_LAYOUTS:
                entry = dict(model=kind, num_layers=num_layers, bidirectional=bidirectional)
                for key, runner, one_hot in DEEP_PATHS:
                    try:
                        entry[key] = time_row(runner, kind, one_hot, num_hiddens=deep_h,
                                              num_layers=num_layers,
                                              bidirectional=bidirectional)
                    except Exception as e:  # noqa: BLE001
                        if runner is not run_d2lzh_concise:
                            raise  # ours must run every layout
                        entry[key] = dict(error="n/a (%s: %s)" % (
                            type(e).__name__, str(e).strip().splitlines()[0][:120]
                            if str(e).strip() else "no message"))
                    print("deep: %-4s %-6s %-12s %s" % (
                        kind.upper(), layout_name(num_layers, bidirectional), key,
                        entry[key]["error"] if "error" in entry[key]
                        else "%.3f s/epoch" % entry[key]["seconds_per_epoch"]), flush=True)
                book = entry["book_concise"].get("seconds_per_epoch")
                for key in ("ours_scratch", "ours_concise"):
                    entry["ratio_%s_to_book_concise" % key.split("_")[1]] = \
                        entry[key]["seconds_per_epoch"] / book if book else None
                deep["rows"].append(entry)
    for label, runner, kind, one_hot in ROWS:
        if runner is run_torch:
            if torch_version is None:
                print("%-28s skipped (torch is not installed)" % label)
            else:
                run_row(label, runner, kind, one_hot)

    base = {r["model"]: r["seconds_per_epoch"] for r in results if r["row"].startswith(
        "book scratch")}
    gflop_limit = {k: flops_per_token(k, BOOK["num_hiddens"], V, False) * tokens / 1e9
                   for k in ("gru", "lstm")}
    print("\n%-28s %9s %10s %9s %9s %8s %7s %6s" % (
        "row", "s/epoch", "tokens/s", "peak MiB", "vs book", "GFLOP/s", "% peak", "peak"))
    for r in results:
        r["ratio_to_book_scratch"] = r["seconds_per_epoch"] / base[r["model"]] \
            if r["model"] in base else None
        print("%-28s %9.3f %10.0f %9.0f %9s %8.0f %6.0f%% %6.0f"
              % (r["row"], r["seconds_per_epoch"], r["tokens_per_second"], r["peak_rss_mib"],
                 "%.3fx" % r["ratio_to_book_scratch"] if r["ratio_to_book_scratch"] else "-",
                 r["gflops"], 100 * r["gflops"] / r["fc_peak_gflops"], r["fc_peak_gflops"]))
    print("% peak: of the FullyConnected peak around the row (the larger of the measures "
          "just before and after it; column peak, GFLOP/s)\narithmetic limit with row lookup "
          "(matrix products only, at that peak):")
    for r in results:
        if r["row"].startswith("ours scratch"):
            limit = gflop_limit[r["model"]] / r["fc_peak_gflops"]
            r["arithmetic_limit_seconds"] = limit
            r["ratio_to_arithmetic_limit"] = r["seconds_per_epoch"] / limit
            paired = ""
            if "epoch_peaks_gflops" in r:
                ratios = epoch_ratios(r["epoch_seconds"], r["epoch_peaks_gflops"],
                                      gflop_limit[r["model"]])
                r["ratio_to_arithmetic_limit_per_epoch"] = float(np.median(ratios))
                paired = "; per epoch (peak just before/after it): median %.2fx, %.2f-%.2fx" % (
                    np.median(ratios), min(ratios), max(ratios))
            print("%-28s %.2fx the arithmetic limit (%.3f s/epoch)%s"
                  % (r["row"], r["ratio_to_arithmetic_limit"], limit, paired))

    if scaling:
        print("\nscaling: our scratch models on %d characters (vocabulary %d), 1 warm-up + 1 "
              "timed epoch; %% of the FullyConnected peak around each row, peak "
              "resident memory"
              % (len(full[0]), full[3]))
        print("%-5s %8s %6s %10s %9s %8s %7s %9s"
              % ("model", "hidden", "steps", "tokens/s", "s/epoch", "GFLOP/s", "% peak",
                 "peak MiB"))
        for r in scaling:
            print("%-5s %8d %6d %10.0f %9.3f %8.0f %6.0f%% %9.0f"
                  % (r["model"].upper(), r["num_hiddens"], r["num_steps"],
                     r["tokens_per_second"], r["seconds_per_epoch"], r["gflops"],
                     r["percent_of_peak"], r["peak_rss_mib"]))

    if generation:
        print("\ngeneration: %d characters after %s, GRU hidden %d, median of %d runs"
              % (generation[0]["num_chars"], GENERATION["prefix"], BOOK["num_hiddens"],
                 1 if args.quick else 5))
        print("%-42s %8s %9s %s" % ("row", "seconds", "chars/s", ""))
        for r in generation:
            note = ("%.1fx the book's speed" % r["speedup_over_book"]
                    if "speedup_over_book" in r else
                    "%.2fx the time of one sample" % r["time_over_one_sample"]
                    if "time_over_one_sample" in r else "")
            print("%-42s %8.3f %9.0f %s" % (r["row"], r["seconds"], r["chars_per_second"],
                                            note))

    if deep:
        print("\ndeep and bidirectional models, hidden %d (the book's task otherwise), %d "
              "warm-up + %d timed epochs (median);\nratios: seconds per epoch over the book's "
              "concise model (d2lzh.RNNModel around the same Gluon layer; the book has no deep "
              "scratch model)" % (deep["num_hiddens"], args.warmup, args.epochs))
        cols = ("scratch", "concise", "book")
        print("%-5s %-7s | %-23s | %-26s | %-17s | %s" % (
            "", "", "s/epoch", "tokens/s", "vs book concise", "GFLOP/s"))
        print("%-5s %-7s | %7s %7s %7s | %8s %8s %8s | %8s %8s | %7s %7s %7s"
              % (("model", "layout") + cols * 2 + cols[:2] + cols))

        def cell(entry, key, field, fmt, width):
            v = entry[key].get(field)
            return ("%*s" % (width, "n/a")) if v is None else fmt % v

        for e in deep["rows"]:
            keys = [k for k, _, _ in DEEP_PATHS]
            line = "%-5s %-7s | %s | %s | %s | %s" % (
                e["model"].upper(), layout_name(e["num_layers"], e["bidirectional"]),
                " ".join(cell(e, k, "seconds_per_epoch", "%7.3f", 7) for k in keys),
                " ".join(cell(e, k, "tokens_per_second", "%8.0f", 8) for k in keys),
                " ".join("%8s" % ("%.3fx" % e[r] if e[r] is not None else "n/a")
                         for r in ("ratio_scratch_to_book_concise",
                                   "ratio_concise_to_book_concise")),
                " ".join(cell(e, k, "gflops", "%7.0f", 7) for k in keys))
            errors = [e[k]["error"] for k in keys if "error" in e[k]]
            print(line + ("  book concise: " + errors[0] if errors else ""))

    report = dict(task=dict(BOOK, num_chars=len(corpus[0]), vocab_size=V,
                            tokens_per_epoch=tokens, warmup=args.warmup, epochs=args.epochs),
                  mxnet=mx.__version__, torch=torch_version, fc_peak_gflops=peak,
                  arithmetic_limit_gflop=gflop_limit, rows=results, scaling=scaling, deep=deep,
                  generation=generation)
    write_text_atomic(args.json, json.dumps(report, indent=1))
    print("\nresults written to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
