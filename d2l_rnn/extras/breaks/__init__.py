"""Restoring phrase breaks: a character-tagging task on which bidirectional RNNs honestly help.

A bidirectional model trained as a next-character language model cheats: its backward
direction has read the character it is asked to predict. Here the whole sequence is given and
only a label per character is asked for. The lyrics corpus marks the end of each line or
phrase by a space (the book turns newlines into spaces); remove the spaces and label each
remaining character 1 if a break followed it, else 0. Whether a break comes after a
character depends on what follows it as much as on what came before ("...的可爱女人|温柔的..."),
so a tagger that reads both sides of each gap should beat one that reads only the left side.

The held-out part is the last ``val_fraction`` (20%) of the characters, contiguous and never
trained on. Both taggers are scored on exactly the same windows (see
:func:`predict_break_probs`), and the majority baseline (never a break) is reported beside
them, so a reader can see how much of the accuracy is just the class balance. The vocabulary
is that of the training part (sorted, as in :mod:`d2l_rnn.data`) plus :data:`UNK`, which
stands for the ~280 characters that only the held-out songs use.

Both paths of the package are supported: ``impl="scratch"`` runs the scratch GRU/LSTM/RNN of
:mod:`d2l_rnn.models.scratch` (one-hot input as a row lookup, any number of layers, both
directions, two outputs), ``impl="concise"`` a Gluon ``rnn.GRU/LSTM/RNN`` layer with
``nn.Dense(2)``.

Measured (``python -m d2l_rnn breaks``, defaults, seed 0, whole corpus: 43,262 training and
10,815 held-out characters, 15.6% of them before a break; one busy CPU core)::

                    accuracy  precision  recall    F1   training s
    majority          0.8249      0         0       0        -
    scratch  uni      0.8291    0.522     0.283   0.367     5.3
    scratch  bi       0.8404    0.567     0.374   0.451    10.4
    concise  uni      0.8108    0.440     0.295   0.353     2.6
    concise  bi       0.8369    0.548     0.391   0.456     3.7

Over seeds 0-4 (scratch) the bidirectional F1 is 0.08-0.12 above the unidirectional one. The
task is hard on unseen songs: looking up the training part's break rate for the 1-3
characters around each gap scores F1 <= 0.30, and no setting tried (128 or 256 hidden units,
2 layers, 10 epochs, weight decay 1e-3, character dropout 0.1-0.4, rare characters as UNK)
lifted the bidirectional F1 above ~0.47 or the unidirectional one above ~0.37. Both taggers
memorise the lyrics quickly (training loss ~0.02 after 10 epochs), and then the
unidirectional tagger's held-out accuracy falls below the majority's.

The modules, in reading order (the command line is ``d2l_rnn/cli/breaks.py``)::

    defaults.py     DEFAULTS, SMOKE
    labels.py       text <-> characters and break labels; the held-out split (BreakData)
    models.py       the scratch and the concise tagger behind one interface (build_tagger)
    evaluate.py     centre-scored windows, break probabilities, metrics, majority baseline
    train.py        train_break_tagger -> BreakTaggerResult
    comparison.py   compare_break_taggers: uni vs bi -> BreakComparison
"""
from .comparison import BreakComparison, compare_break_taggers, example_span
from .defaults import DEFAULTS, SMOKE
from .evaluate import (EVAL_BATCH, break_metrics, eval_windows, majority_baseline,
                       predict_break_probs)
from .labels import (UNK, BreakData, break_labels, insert_breaks, load_break_data,
                     make_break_data, normalise_breaks)
from .models import IMPLS, ConciseTagger, build_tagger
from .train import BreakTaggerResult, train_break_tagger

__all__ = ["BreakComparison", "BreakData", "BreakTaggerResult", "ConciseTagger", "DEFAULTS",
           "EVAL_BATCH", "IMPLS", "SMOKE", "UNK", "break_labels", "break_metrics",
           "build_tagger", "compare_break_taggers", "eval_windows", "example_span",
           "insert_breaks", "load_break_data", "majority_baseline", "make_break_data",
           "normalise_breaks", "predict_break_probs", "train_break_tagger"]
