"""Scratch vs concise: the weight mapping between the scratch parameter lists and Gluon's
layers (``mapping.py``), the comparison of one minibatch on shared weights (``twins.py``) and
training both side by side (``side_by_side.py``). ``python -m d2l_rnn compare`` prints it."""
from . import mapping
from .side_by_side import SideBySide, plot_side_by_side, train_side_by_side
from .twins import (ATOL, RTOL, Comparison, Pair, build_pair, compare, compare_batch,
                    default_scale, format_comparison)
