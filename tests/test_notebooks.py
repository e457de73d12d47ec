"""Every notebook runs top to bottom in fast mode, the papermill way: its own
``fast_parameters`` (notebook metadata) are injected after the cell tagged ``parameters``
(as ``papermill -p num_epochs 2 ...`` would); the code is the full run's."""
import glob
import os

import nbformat
import papermill
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
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
    assert isinstance(nb.metadata.get("d2l_rnn", {}).get("fast_parameters"), dict)
    assert [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert any("image/png" in o.get("data", {}) for o in _outputs(nb)), "no plot committed"
    assert not [o for o in _outputs(nb) if o.get("output_type") == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs_in_fast_mode(path, tmp_path):
    fast = nbformat.read(path, as_version=4).metadata["d2l_rnn"]["fast_parameters"]
    out = str(tmp_path / os.path.basename(path))
    nb = papermill.execute_notebook(path, out, parameters=fast, cwd=os.path.dirname(path),
                                    kernel_name="python3", progress_bar=False,
                                    execution_timeout=600)
    assert nb.cells[[i for i, c in enumerate(nb.cells)
                     if "parameters" in c.metadata.get("tags", [])][0] + 1] \
        .metadata.get("tags") == ["injected-parameters"]
    text = "".join(o.get("text", "") for o in _outputs(nb))
    for expected in EXPECT[os.path.basename(path)]:
        assert expected in text
    assert any("image/png" in o.get("data", {}) for o in _outputs(nb)), "no plot drawn"
