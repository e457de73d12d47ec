"""The hand-written LSTM/GRU cells equal Gluon's on copied weights and learn to count ones."""
import numpy as np
import pytest
import mxnet as mx
from mxnet import nd
from mxnet.gluon import rnn

from d2l_rnn.extras import cells


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cell_matches_gluon_cell_on_copied_weights(kind):
    mx.random.seed(2)
    I, H, N, T = 3, 5, 4, 6
    ref = {"lstm": rnn.LSTMCell, "gru": rnn.GRUCell}[kind](H, input_size=I)
    ref.initialize(mx.init.Uniform(0.5))
    for p in ref.collect_params().values():  # non-zero biases so their placement is tested
        p.set_data(nd.random.uniform(-0.5, 0.5, shape=p.shape))
    ours = cells.CELLS[kind](H, input_size=I)
    ours.initialize()
    cells.copy_from_gluon(ours, ref)
    xs = nd.random.normal(shape=(T, N, I))
    s_ref, s_ours = ref.begin_state(N), ours.begin_state(N)
    for t in range(T):
        o_ref, s_ref = ref(xs[t], s_ref)
        o_ours, s_ours = ours(xs[t], s_ours)
        np.testing.assert_allclose(o_ours.asnumpy(), o_ref.asnumpy(), rtol=1e-5, atol=1e-6)
        for a, b in zip(s_ours, s_ref):
            np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-6)


def test_initialisation_bound_is_sqrt_3_over_hidden():
    H = 12
    cell = cells.LSTMCell(H, input_size=7)
    cell.initialize()
    w = cell.h2h.weight.data().asnumpy()
    bound = np.sqrt(3.0 / H)
    assert w.shape == (4 * H, H)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_counter_shapes_and_bad_cell_name():
    net = cells.Counter("gru", num_hiddens=4, seq_len=7)
    net.initialize()
    assert net(nd.zeros((3, 7))).shape == (3,)
    with pytest.raises(ValueError, match="'rnn'"):
        cells.Counter("rnn")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_small_counting_task_reaches_99_percent(kind):
    _, hist = cells.run(kind, num_train=3000, num_test=500, seq_len=10, num_hiddens=20,
                        num_epochs=4, progress=False, say=lambda s: None)
    assert hist.test_acc[-1] >= 0.99, hist.test_acc
