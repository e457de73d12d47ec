"""The models: a registry of kinds, the scratch models with the chapter's equations, the
concise ``RNNModel``, and the one model object both paths satisfy.

    registry.py     what a kind is (gates, parameters, states, Gluon layer, kernel)
    scratch/        rnn.py, gru.py, lstm.py: the equations first, then the book's functions
    layers.py       input products, deep/bidirectional stacking, the compiled graph
    ops.py          the few operations the equations are written with
    concise.py      RNNModel and gluon_layer (the concise path)
    model.py        ModelConfig, LanguageModel, ScratchModel, ConciseModel, build_model
    book_cells.py   the chapter's step-by-step cells, the reference of the tests
"""
from . import registry
from .concise import RNNModel, gluon_layer
from .model import (ConciseModel, LanguageModel, ModelConfig, ScratchModel, build_model)
