"""The scratch models, one file per cell, each opening with the chapter's equations:
``rnn.py``, ``gru.py`` (the book's GRU and Gluon's cuDNN variant) and ``lstm.py``.

Each file defines the cell's recurrence with the book's names, its model function with the
book's signature ``model(inputs, state, params) -> (outputs, state)``, and the book's
``get_*_params`` / ``init_*_state``. The model function of a registry kind is the function
of that name in the file named after its cell (``gru_cudnn`` lives in ``gru.py``), which is
how :func:`model_function` finds it: a new kind needs no line here.
"""
import importlib

from .. import registry
from .gru import get_gru_params, gru, gru_cudnn, init_gru_state
from .lstm import get_lstm_params, init_lstm_state, lstm
from .params import (Params, get_params_fn, init_state_fn, make_params, param_names,
                     zero_state)
from .rnn import get_rnn_params, init_rnn_state, rnn


def model_function(kind):
    """The scratch model function of a registry ``kind`` (a name or a Kind)."""
    kind = registry.get(kind)
    return getattr(importlib.import_module(kind.module_name), kind.name)


# The built-in scratch model functions, by kind.
KINDS = {name: model_function(name) for name in registry.REGISTRY}

# The book's three models: (model function, parameter factory, state initialiser).
MODELS = {"rnn": (rnn, get_rnn_params, init_rnn_state),
          "gru": (gru, get_gru_params, init_gru_state),
          "lstm": (lstm, get_lstm_params, init_lstm_state)}

__all__ = ["KINDS", "MODELS", "Params", "get_gru_params", "get_lstm_params", "get_params_fn",
           "get_rnn_params", "gru", "gru_cudnn", "init_gru_state", "init_lstm_state",
           "init_rnn_state", "init_state_fn", "lstm", "make_params", "model_function",
           "param_names", "rnn", "zero_state"]
