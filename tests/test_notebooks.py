"""Every notebook runs top to bottom in fast mode: its own ``fast_parameters`` (notebook
metadata) are injected after the cell tagged ``parameters``; the code is the full run's."""
import glob
import os
import sys

import nbformat
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tools"))
import nbexec  # noqa: E402

NOTEBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(HERE), "notebooks", "*.ipynb")))

# What each notebook must print in fast mode (besides drawing at least one plot).
EXPECT = {
    "gru.ipynb": ["epoch 2, perplexity", "max |difference| of the outputs:",
                  "one-hot product", "speed-up:"],
    "lstm.ipynb": ["epoch 2, perplexity", "max |difference| of the outputs:"],
    "rnn_numpy_bptt.ipynb": ["gradients overflow at epoch", "overflow: None"],
    "counting_ones.ipynb": ["largest |ours - gluon|"],
    "sentiment_birnn.ipynb": ["training on [cpu(0)]", "epoch 5, loss", "positive",
                              "max |change in logits| = 0"],
    "deep_rnn.ipynb": ["max |difference| of the outputs: 0.0 ; of the states: 0.0",
                       "2 layer(s): perplexity", "(perplexity at the last epoch / median"],
    "bidirectional_rnn.ipynb": ["ppl, one char at a time", "BidirectionalLMWarning",
                                "held-out F1 bidirectional"],
    "scratch_vs_concise.ipynb": ["all 45 quantities agree", "all agree",
                                 "round trip scratch -> Gluon -> scratch exact: True",
                                 "largest |perplexity difference|"],
}


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_every_notebook_is_covered():
    assert sorted(os.path.basename(p) for p in NOTEBOOKS) == sorted(EXPECT)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_committed_with_full_run_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert "fast_parameters" in nb.metadata.get("d2l_rnn", {})
    nbexec.parameters_index(nb)
    assert any("image/png" in o.get("data", {}) for o in _outputs(nb)), "no plot committed"
    assert not [o for o in _outputs(nb) if o.get("output_type") == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_in_fast_mode(path):
    nb = nbexec.execute(path, fast=True, timeout=600)
    text = "".join(o.get("text", "") for o in _outputs(nb))
    for expected in EXPECT[os.path.basename(path)]:
        assert expected in text
    assert any("image/png" in o.get("data", {}) for o in _outputs(nb)), "no plot drawn"
