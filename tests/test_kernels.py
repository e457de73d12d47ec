"""The fused kernels compute the same function as the graphs they replace: the GRU and LSTM
layer operators against the graphs of MXNet operators (outputs, final states, every gradient,
every layout), the loss operator against Gluon's SoftmaxCrossEntropyLoss, the update operator
against the graph's clipped SGD step; and without a
compiler everything still trains, on the graph route, with a warning.

Where a C++ compiler is present the kernels must build: a failed build fails these tests
(the path users get would otherwise go untested); only a machine without any compiler skips
the comparisons, and the no-compiler path is tested everywhere by forcing it."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import mxnet as mx
from mxnet import autograd, nd
from mxnet.gluon import loss as gloss

import d2l_rnn
from d2l_rnn import kernels as fused
from d2l_rnn.models import concise, layers
from d2l_rnn.models.concise import gluon_layer
from d2l_rnn.training import loop
from d2l_rnn.util.optim import clipped_sgd_step, global_norm
from d2l_rnn.util.seeding import seed_everything

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMPILER = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
needs_compiler = pytest.mark.skipif(COMPILER is None, reason="no C++ compiler on this machine")


@pytest.fixture
def route():
    """``route(flag)`` switches the fused kernels on or off; restored after the test. Fails
    (with the compiler's message) if a compiler is present but the kernels do not build."""
    if COMPILER is None:
        pytest.skip("no C++ compiler on this machine: only the graph route exists")
    if not fused.available():
        fused.build(verbose=False)  # raises RuntimeError with the compiler's output
        pytest.fail("the fused kernels built but did not load (see the FusedKernelWarning)")
    old = fused.set_enabled(True)
    yield fused.set_enabled
    fused.set_enabled(old)


@needs_compiler
def test_kernels_build_and_load_where_a_compiler_exists():
    assert fused.available(), "a C++ compiler is present but the fused kernels are unavailable"
    assert fused.LAYERS.keys() == {k.name for k in d2l_rnn.models.registry.REGISTRY.values()
                                   if k.kernel}


LAYER_KINDS = ["gru", "lstm", "gru_cudnn"]  # the kinds with a fused layer operator


def _model_run(route, kind, on, L, bi, B, T, V, h, one_hot):
    """Outputs, new state and every parameter's gradient of a scratch ``kind`` model with
    random parameters and state, on the fused route (on) or the graph route."""
    route(on)
    rng = np.random.RandomState(3)
    mx.random.seed(3)
    params = d2l_rnn.get_params_fn(kind, V, h, None, L, bi)()
    for p in params:  # random biases too, and weights large enough to leave sigmoid's middle
        p[:] = nd.array(rng.normal(0, 0.5 if p.ndim == 1 else 1.0 / np.sqrt(p.shape[0]),
                                   p.shape))
        p.attach_grad()
    state = d2l_rnn.init_state_fn(kind, L, bi)(B, h, mx.cpu())
    state = tuple(nd.array(rng.normal(0, 0.5, s.shape)) for s in state)
    X = nd.array(rng.randint(0, V, (B, T)))
    Y = nd.array(rng.randint(0, V, (B, T)))
    inputs = d2l_rnn.to_onehot(X, V) if one_hot else X.T
    with autograd.record():
        outputs, new_state = getattr(d2l_rnn, kind)(inputs, state, params)
        if isinstance(outputs, list):
            outputs = nd.concat(*outputs, dim=0)
        l = gloss.SoftmaxCrossEntropyLoss()(outputs, Y.T.reshape((-1,))).mean()
        # The final state takes part in the loss too, so that its gradient (what the layer
        # operators receive for their last-step outputs) is tested as well.
        for i, s in enumerate(new_state):
            l = l + (s * nd.array(np.random.RandomState(10 + i).normal(size=s.shape))).sum()
    l.backward()
    return ([outputs.asnumpy()] + [s.asnumpy() for s in new_state]
            + [p.grad.asnumpy() for p in params])


@pytest.mark.parametrize("kind", LAYER_KINDS)
@pytest.mark.parametrize("L,bi,B,T,h", [
    (1, False, 32, 35, 64),   # the book's layout
    (1, False, 3, 1, 20),     # one step; batch and hidden not multiples of the kernel's blocks
    (1, False, 1, 4, 17),     # batch 1, an odd hidden size
    (2, False, 9, 5, 33),
    (1, False, 19, 6, 37),    # each of two threads owns its rows, in uneven short blocks
    (1, True, 5, 6, 24),      # the backward direction runs the operator in reverse
    (2, True, 7, 4, 40),
])
def test_fused_layer_equals_graph(route, kind, L, bi, B, T, h):
    fast = _model_run(route, kind, True, L, bi, B, T, 30, h, one_hot=False)
    slow = _model_run(route, kind, False, L, bi, B, T, 30, h, one_hot=False)
    n = len(d2l_rnn.models.registry.get(kind).layer_params)
    num_states = d2l_rnn.models.registry.get(kind).num_states
    assert len(fast) == len(slow) == 1 + num_states + n * L * (2 if bi else 1) + 2
    for i, (a, b) in enumerate(zip(fast, slow)):
        scale = max(np.abs(b).max(), 1e-6)
        np.testing.assert_allclose(a / scale, b / scale, rtol=1e-4, atol=2e-5,
                                   err_msg="array %d differs" % i)


_OP_RUN = """
import sys
import numpy as np
from mxnet import autograd, nd
from d2l_rnn import kernels
assert kernels.available()
T, h = 5, 37
for kind in ("lstm", "gru", "gru_cudnn"):
    for B in (1, 19, 40):
        rng = np.random.RandomState(B)
        shapes = {"lstm": [(T, B, 4 * h), (B, h), (B, h), (h, 4 * h), (4 * h,)],
                  "gru": [(T, B, 2 * h), (T, B, h), (B, h), (h, 2 * h), (2 * h,), (h, h), (h,)],
                  "gru_cudnn": [(T, B, 2 * h), (T, B, h), (B, h), (h, 3 * h), (3 * h,), (h,)]}
        args = [nd.array(rng.normal(0, 0.5, s)) for s in shapes[kind]]
        for a in args:
            a.attach_grad()
        with autograd.record():
            outs = getattr(nd, "d2l_%s_layer" % kind)(*args, reverse=1)
            loss = sum((o * nd.array(rng.normal(size=o.shape))).sum() for o in outs)
        loss.backward()
        np.savez("%s/%s_%d.npz" % (sys.argv[1], kind, B),
                 *[o.asnumpy() for o in outs], *[a.grad.asnumpy() for a in args])
"""


@needs_compiler
def test_layer_operators_give_the_same_bits_on_any_number_of_threads(tmp_path):
    """Rows owned by threads (a batch of at least one block per thread) or products shared
    among them (smaller batches): every thread count computes each element by the same
    sequence of operations, so a row left to no thread, or to two, shows up here (a missing
    barrier may, though a race need not show on every run). Run in fresh processes, since the
    operators read the thread count once per process."""
    script = tmp_path / "run.py"
    script.write_text(_OP_RUN)
    for threads in (1, 2, 3):
        out = tmp_path / str(threads)
        out.mkdir()
        done = subprocess.run([sys.executable, str(script), str(out)], cwd=REPO,
                              env=dict(os.environ, OMP_NUM_THREADS=str(threads)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=300)
        assert done.returncode == 0, done.stderr
    names = sorted(os.listdir(str(tmp_path / "1")))
    assert len(names) == 9
    for threads in (2, 3):
        for name in names:
            with np.load(str(tmp_path / "1" / name)) as one, \
                    np.load(str(tmp_path / str(threads) / name)) as many:
                assert one.files == many.files
                for key in one.files:
                    np.testing.assert_array_equal(
                        many[key], one[key],
                        err_msg="%s, %d threads: array %s" % (name, threads, key))


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_fused_layer_takes_the_book_one_hot_list(route, kind):
    fast = _model_run(route, kind, True, 1, False, 4, 7, 30, 16, one_hot=True)
    slow = _model_run(route, kind, False, 1, False, 4, 7, 30, 16, one_hot=True)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_the_operator_is_really_used(route, kind):
    """The graph route and the fused route are different computations (so the comparisons
    above compare something): their float32 round-off differs."""
    fast = _model_run(route, kind, True, 1, False, 8, 10, 30, 32, one_hot=False)
    slow = _model_run(route, kind, False, 1, False, 8, 10, 30, 32, one_hot=False)
    assert any(not np.array_equal(a, b) for a, b in zip(fast, slow))
    route(True)
    assert layers.uses_kernel(kind) and not layers.uses_kernel("rnn")  # rnn has no kernel
    route(False)
    assert not layers.uses_kernel(kind)


@pytest.mark.parametrize("T,B,V,widths", [
    (35, 32, 1027, (256, 256, 256, 256)),  # the chapter's LSTM
    (3, 5, 11, (7, 9)), (1, 1, 4, (3,)), (6, 2, 3, (1, 65, 2))])
def test_fused_rows_equal_take_of_the_concatenated_weights(route, T, B, V, widths):
    rng = np.random.RandomState(T + V)
    x = rng.randint(0, V, (T, B)).astype(np.float32)
    x.flat[0], x.flat[-1] = -2, V + 3  # out of range: clipped, as take's default mode does
    x = nd.array(x)
    weights = [nd.array(rng.normal(size=(V, w))) for w in widths]
    head = nd.array(rng.normal(size=(T, B, sum(widths))))  # the gradient coming back
    results = []
    for on in (True, False):
        ws = [w.copy() for w in weights]
        for w in ws:
            w.attach_grad()
        with autograd.record():
            out = fused.fused_rows(nd, x, ws) if on else nd.take(nd.concat(*ws, dim=1), x)
        out.backward(head)
        results.append([out.asnumpy()] + [w.grad.asnumpy() for w in ws])
    for i, (a, b) in enumerate(zip(*results)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg="array %d differs" % i)


@pytest.mark.parametrize("N,V", [(1120, 1027), (7, 5), (33, 17), (1, 1)])
def test_fused_loss_equals_gluon(route, N, V):
    rng = np.random.RandomState(N)
    scores = nd.array(rng.normal(0, 3, (N, V)))
    labels = nd.array(rng.randint(0, V, N))
    results = []
    for on in (True, False):
        route(on)
        x = scores.copy()
        x.attach_grad()
        with autograd.record():
            l = fused.mean_cross_entropy(x, labels) * 3.0
        l.backward()
        results.append((l.asnumpy(), x.grad.asnumpy()))
    (l1, g1), (l2, g2) = results
    assert l1.shape == l2.shape == (1,)
    np.testing.assert_allclose(l1, l2, rtol=1e-5, atol=1e-5)
    bound = 3.0 / N  # |d loss / d score| <= 3 / N
    np.testing.assert_allclose(g1 / bound, g2 / bound, rtol=1e-4, atol=1e-5)


def test_fused_loss_keeps_nan_and_falls_back_for_other_dtypes(route):
    route(True)
    x = nd.array(np.random.RandomState(0).normal(size=(4, 6)))
    x[2, 3] = np.nan
    assert np.isnan(fused.mean_cross_entropy(x, nd.array([0, 1, 2, 3])).asscalar())
    # float64 scores are not the operator's: Gluon's loss computes them.
    x64 = nd.array(np.ones((2, 3)), dtype="float64")
    l = fused.mean_cross_entropy(x64, nd.array([0, 1], dtype="float64"))
    assert l.asscalar() == pytest.approx(np.log(3.0))


def test_fused_loss_names_mismatched_shapes():
    with pytest.raises(ValueError, match=r"scores \(N, V\) and labels \(N,\), got \(4, 6\) and \(5,\)"):
        fused.mean_cross_entropy(nd.zeros((4, 6)), nd.zeros((5,)))


@pytest.mark.parametrize("cell,L,bi,B,T,h", [
    ("gru", 1, False, 32, 35, 32), ("lstm", 1, False, 32, 35, 32), ("gru", 2, True, 3, 7, 20),
    ("lstm", 3, False, 1, 5, 17), ("lstm", 1, True, 2, 1, 9)])
def test_concise_model_through_the_kernels_equals_gluons_operator(route, cell, L, bi, B, T, h):
    V = 29
    seed_everything(B * T + h)
    net = d2l_rnn.RNNModel(gluon_layer(cell, h, L, bi), V)
    net.initialize(mx.init.Normal(0.3))
    X = nd.array(np.random.RandomState(h).randint(0, V, (B, T)))
    net(X, net.begin_state(batch_size=B))  # Gluon infers the shapes
    # Fixed random weights of the outputs in the loss, so that every output's gradient differs.
    out_weights = nd.array(np.random.RandomState(3).normal(size=(T * B, V)))
    # A state that is not zero: at one step, the hidden weights' gradients depend on it.
    state0 = [nd.array(np.random.RandomState(i).normal(size=s.shape))
              for i, s in enumerate(net.begin_state(batch_size=B))]
    results = []
    for on in (True, False):
        route(on)
        with autograd.record():
            assert (concise._kernel_kind(net.rnn, X.context) is not None) == on
            Y, S = net(X, [s.copy() for s in state0])
            loss = (Y * out_weights).sum() + sum((s * s).sum() for s in S)
        loss.backward()
        results.append([Y.asnumpy()] + [s.asnumpy() for s in S]
                       + [p.grad().asnumpy().copy() for p in net.collect_params().values()])
    names = ["Y"] + ["state%d" % i for i in range(len(S))] + list(net.collect_params())
    for name, fast, graph in zip(names, *results):
        scale = np.abs(graph).max()
        assert scale > 0, name
        np.testing.assert_allclose(fast / scale, graph / scale, rtol=1e-4, atol=2e-5,
                                   err_msg=name)


@pytest.mark.parametrize("n", [1, 11, 150])
@pytest.mark.parametrize("theta", [None, 0.01, 1e6])
def test_fused_sgd_equals_the_graph_step(route, n, theta):
    rng = np.random.RandomState(n)
    shapes = [(rng.randint(1, 40), rng.randint(1, 20)) if i % 3 else (rng.randint(1, 50),)
              for i in range(n)]
    w0 = [rng.normal(size=s).astype(np.float32) for s in shapes]
    g = [rng.normal(size=s).astype(np.float32) for s in shapes]
    graph = [nd.array(x) for x in w0]
    clipped_sgd_step(graph, [nd.array(x) for x in g], 0.5, theta)
    graph_norm = global_norm([nd.array(x) for x in g]).asnumpy()
    weights = [nd.array(x) for x in w0]
    norm = fused.fused_clipped_sgd(weights, [nd.array(x) for x in g], 0.5, theta)
    assert norm.shape == (1,)
    np.testing.assert_allclose(norm.asnumpy(), graph_norm, rtol=1e-5)
    exact = np.sqrt(sum((x.astype(np.float64) ** 2).sum() for x in g))
    assert norm.asscalar() == pytest.approx(exact, rel=1e-6)
    factor = 1.0 if theta is None or exact <= theta else theta / exact
    for w, w_graph, x, gx in zip(weights, graph, w0, g):
        np.testing.assert_allclose(w.asnumpy(), w_graph.asnumpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(w.asnumpy(), x - 0.5 * factor * gx, rtol=1e-5, atol=1e-6)


def test_fused_sgd_keeps_nan_like_the_graph(route):
    g = [nd.array([[1.0, np.nan], [2.0, 3.0]]), nd.ones((3,))]
    results = []
    for step in (lambda w: fused.fused_clipped_sgd(w, g, 0.1, 0.01),
                 lambda w: (clipped_sgd_step(w, g, 0.1, 0.01), global_norm(g))[1]):
        w = [nd.ones((2, 2)), nd.ones((3,))]
        results.append((step(w).asnumpy(), [x.asnumpy() for x in w]))
    (n1, w1), (n2, w2) = results
    assert np.isnan(n1).all() and np.isnan(n2).all()
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))


def test_fused_sgd_declines_what_it_cannot_do_and_changes_nothing(route):
    w64 = [nd.ones((2, 2), dtype="float64")]
    assert fused.fused_clipped_sgd(w64, [nd.ones((2, 2), dtype="float64")], 1.0, None) is None
    assert w64[0].asnumpy().tolist() == [[1.0, 1.0], [1.0, 1.0]]
    route(False)
    w = [nd.ones((2,))]
    assert fused.fused_clipped_sgd(w, [nd.ones((2,))], 1.0, None) is None
    assert w[0].asnumpy().tolist() == [1.0, 1.0]


def test_the_trainers_update_through_the_operator(route, monkeypatch, small_lyrics):
    calls = []
    real = loop.fused_clipped_sgd
    monkeypatch.setattr(loop, "fused_clipped_sgd",
                        lambda *a: calls.append(real(*a)) or calls[-1])
    ci, c2i, i2c, V = small_lyrics
    d2l_rnn.train_and_predict_rnn(
        d2l_rnn.gru, d2l_rnn.get_params_fn("gru", V, 8), d2l_rnn.init_gru_state, 8, V,
        mx.cpu(), ci[:400], i2c, c2i, False, 1, 5, 1.0, 0.01, 4, 2, 1, [], quiet=True)
    assert calls and all(norm is not None for norm in calls), \
        "the training loop did not update through d2l_clipped_sgd"


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_training_curve_is_the_same_on_both_routes(route, small_lyrics, kind):
    """A few epochs of the book's scratch model: the same perplexities either way (up to
    float32 round-off accumulated over the updates)."""
    ci, c2i, i2c, V = small_lyrics
    init_state = getattr(d2l_rnn, "init_%s_state" % d2l_rnn.models.registry.get(kind).cell)
    ppl = []
    for on in (True, False):
        route(on)
        seed_everything(0)
        hist = d2l_rnn.train_and_predict_rnn(
            getattr(d2l_rnn, kind), d2l_rnn.get_params_fn(kind, V, 32),
            init_state, 32, V, mx.cpu(), ci, i2c, c2i, False, 4,
            35, 100.0, 0.01, 32, 5, 10, [], quiet=True)
        ppl.append(hist.perplexity)
    np.testing.assert_allclose(ppl[0], ppl[1], rtol=1e-3)


def _python(code, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=full,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300)


def test_without_a_compiler_training_still_works_with_a_warning(tmp_path):
    code = ("import warnings, mxnet as mx, d2l_rnn\n"
            "from d2l_rnn import kernels as fused\n"
            "warnings.simplefilter('always')\n"
            "ci, c2i, i2c, V = d2l_rnn.load_data_jay_lyrics(num_chars=500)\n"
            "h = d2l_rnn.train_and_predict_rnn(d2l_rnn.gru, d2l_rnn.get_params_fn('gru', V, 8),"
            " d2l_rnn.init_gru_state, 8, V, mx.cpu(), ci, i2c, c2i, False, 1, 5, 1.0, 0.01, 4,"
            " 5, 5, [], quiet=True)\n"
            "print('available', fused.available(), 'ppl', h.perplexity[-1])\n")
    done = _python(code, CXX=os.path.join(str(tmp_path), "no-such-compiler"),
                   D2L_RNN_CACHE=str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    assert "available False" in done.stdout
    assert "FusedKernelWarning" in done.stderr and "fused kernels are unavailable" in done.stderr


def test_switched_off_by_the_environment():
    done = _python("from d2l_rnn import kernels; print(kernels.enabled())", D2L_RNN_FUSED="0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_build_reports_the_compiler_error(tmp_path, monkeypatch):
    bad = tmp_path / "cxx"
    bad.write_text("#!/bin/sh\necho 'pretend compiler error' >&2\nexit 1\n")
    bad.chmod(0o755)
    monkeypatch.setenv("CXX", str(bad))
    monkeypatch.setenv("D2L_RNN_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError, match="pretend compiler error"):
        fused.build(verbose=False)
    # Nothing half-written is left in the cache.
    assert not [p for p in (tmp_path / "cache").iterdir()]


def test_a_broken_build_fails_the_suite_instead_of_skipping(tmp_path):
    """With a compiler that fails, this module's tests fail (they never skip silently)."""
    bad = tmp_path / "cxx"
    bad.write_text("#!/bin/sh\necho 'pretend compiler error' >&2\nexit 1\n")
    bad.chmod(0o755)
    env = dict(os.environ, CXX=str(bad), D2L_RNN_CACHE=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
         "build_and_load or fused_loss_equals_gluon"], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
    assert done.returncode == 1, done.stdout[-2000:]
    assert "skipped" not in done.stdout.splitlines()[-1] and "failed" in done.stdout
    assert "pretend compiler error" in done.stdout
