"""The model kinds: everything the package knows about a recurrent cell, in one place.

Every other module asks this registry: the parameter factories (names and shapes), the layer
code (which equations, which kernel), the concise path (which Gluon layer), the weight
mapping (Gluon's gate order), checkpoints (what a configuration may name), the command line
(``--model`` choices) and the benchmark (FLOPs per gate).

Adding a kind (say, an LSTM with peepholes) means one :class:`Kind` here and one file,
``models/scratch/<cell>.py``, with its equations and a model function named like the kind
(``models/scratch/__init__.py`` finds it there). A kind can also live outside the package:
``register(Kind(..., module="mypackage.peephole"))``.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class Kind:
    """One recurrent cell.

    name: the registry key ('gru', 'gru_cudnn'...); cell: the family the command line and
    the concise path call it by ('gru' for both GRU variants); gates: the book's gate
    letters in the book's parameter order (each gate g has ``W_xg``, ``W_hg``, ``b_g``);
    extra_params: parameters after the gates' (the cuDNN GRU's ``b_hh``); states: the names
    of the state arrays; gluon_layer: the class name in ``mxnet.gluon.rnn`` that computes
    the same cell (None if there is none); gluon_exact: whether that layer computes exactly
    these equations (the book's GRU differs from Gluon's); gluon_gates: Gluon's stacking
    order of the gate blocks; variant: 'book' or 'cudnn' for the two GRUs; kernel: whether a
    fused C++ layer operator exists (``d2l_rnn.kernels``); book_epochs: the chapter's epochs;
    module: where its model function is (default ``d2l_rnn.models.scratch.<cell>``).
    """
    name: str
    cell: str
    gates: Tuple[str, ...]
    states: Tuple[str, ...]
    gluon_layer: Optional[str]
    gluon_gates: Tuple[str, ...]
    gluon_exact: bool = True
    extra_params: Tuple[str, ...] = ()
    variant: Optional[str] = None
    kernel: bool = False
    book_epochs: int = 160
    module: Optional[str] = None

    @property
    def layer_params(self):
        """Parameter names of one layer in one direction, in the book's order."""
        return tuple(n for g in self.gates for n in ("W_x" + g, "W_h" + g, "b_" + g)) \
            + self.extra_params

    @property
    def module_name(self):
        """The module that defines the kind's model function (named like the kind)."""
        return self.module or "d2l_rnn.models.scratch." + self.cell

    @property
    def num_states(self):
        """How many arrays the state holds (H; or H and C)."""
        return len(self.states)

    @property
    def init_state_name(self):
        """The book's name of the state initialiser, for messages."""
        return "init_%s_state" % self.cell

    @property
    def params_factory_name(self):
        """The book's name of the parameter factory (with the variant, if any), for messages."""
        return "get_%s_params%s" % (self.cell, "(..., variant='cudnn')"
                                    if self.variant == "cudnn" else "")


REGISTRY = OrderedDict((k.name, k) for k in [
    Kind("rnn", "rnn", gates=("h",), states=("H",), gluon_layer="RNN", gluon_gates=("h",),
         book_epochs=250),
    Kind("gru", "gru", gates=("z", "r", "h"), states=("H",), gluon_layer="GRU",
         gluon_gates=("r", "z", "h"), gluon_exact=False, variant="book", kernel=True),
    # cuDNN's and Gluon's GRU: the reset gate scales (H W_hh + b_hh) after the product.
    Kind("gru_cudnn", "gru", gates=("z", "r", "h"), states=("H",), gluon_layer="GRU",
         gluon_gates=("r", "z", "h"), extra_params=("b_hh",), variant="cudnn",
         kernel=True),
    Kind("lstm", "lstm", gates=("i", "f", "o", "c"), states=("H", "C"), gluon_layer="LSTM",
         gluon_gates=("i", "f", "c", "o"), kernel=True),
])

# The cells the command line offers (--model), each trained as its first kind: the book's GRU
# for 'gru'; the cuDNN variant is for comparisons with Gluon.
CELLS = OrderedDict()
for _k in REGISTRY.values():
    CELLS.setdefault(_k.cell, _k.name)
del _k


def register(kind):
    """Add a :class:`Kind` (its model function in ``kind.module_name``); returns it."""
    if kind.name in REGISTRY:
        raise ValueError("a kind named %r is registered already" % kind.name)
    REGISTRY[kind.name] = kind
    CELLS.setdefault(kind.cell, kind.name)
    return kind


def get(name):
    """The :class:`Kind` called ``name``; ValueError listing the known kinds otherwise."""
    if isinstance(name, Kind):
        return name
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError("unknown scratch model %r; choose one of %s"
                         % (name, ", ".join(REGISTRY))) from None


def scratch_kind(cell, variant="book"):
    """The kind of the scratch model for a ``cell`` ('rnn', 'gru', 'lstm') and a GRU
    ``variant`` ('book': the chapter's GRU; 'cudnn': the exact twin of Gluon's)."""
    if cell == "gru":
        if variant not in ("book", "cudnn"):
            raise ValueError("variant must be 'cudnn' (Gluon's GRU, exact) or 'book' (the "
                             "book's GRU, which computes the candidate differently), got %r"
                             % (variant,))
        return REGISTRY["gru" if variant == "book" else "gru_cudnn"]
    return get(cell)


def gluon_twin(cell):
    """The scratch kind that computes exactly what Gluon's layer for ``cell`` computes."""
    return next(k for k in REGISTRY.values() if k.cell == cell and k.gluon_exact)
