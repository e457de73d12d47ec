"""How a language model is trained: one dataclass, the book's defaults written once.

A :class:`TrainConfig` is made by the command line from its flags or by the book's call
(``train_and_predict_rnn``) from its arguments, goes through the training loop as it is and
into every checkpoint (``config.json``). On resume each field is compared with the
checkpoint's: a field marked ``exact`` that differs makes the resumed run differ from an
uninterrupted one (a warning names it); the ``free`` ones (how long, what is printed, how
often it is saved) do not change the trajectory.
"""
import dataclasses
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ..generate import check_sampling
from ..util import checks

BOOK_PREFIXES = ("分开", "不分开")


def _exact(default):
    return field(default=default, metadata={"resume": "exact"})


def _free(default):
    return field(default=default, metadata={"resume": "free"})


@dataclass(frozen=True)
class TrainConfig:
    """The training settings, defaulting to the chapter's.

    num_epochs (None: the chapter's for the model, 250 for the RNN, 160 for GRU and LSTM);
    num_steps, batch_size (minibatches of batch_size x num_steps characters); lr (plain
    SGD); clipping_theta (global gradient-norm threshold, None: no clipping);
    is_random_iter (random instead of consecutive sampling); seed (None: not seeded, not
    exactly resumable); pred_period, pred_len, prefixes (what is printed, every pred_period
    epochs); temperature, top_k (sampling of the printed texts, greedy by default);
    val_fraction (the last fraction of the text held out); overfit_ratio (the memorisation
    warning's factor); save_every, save_best (checkpoints, with a save folder); corpus,
    num_chars, lower (where the text came from, recorded for a resume).
    """
    num_epochs: Optional[int] = _free(None)
    num_steps: int = _exact(35)
    batch_size: int = _exact(32)
    lr: float = _exact(100.0)
    clipping_theta: Optional[float] = _exact(0.01)
    is_random_iter: bool = _exact(False)
    seed: Optional[int] = _exact(None)
    pred_period: int = _free(40)
    pred_len: int = _free(50)
    prefixes: Tuple[str, ...] = _free(BOOK_PREFIXES)
    temperature: Optional[float] = _free(None)
    top_k: Optional[int] = _free(None)
    val_fraction: float = _exact(0.0)
    overfit_ratio: float = _free(2.0)
    save_every: Optional[int] = _free(None)
    save_best: bool = _free(True)
    corpus: Optional[str] = _exact(None)
    num_chars: Optional[int] = _exact(None)
    lower: bool = _exact(False)

    def __post_init__(self):
        if self.num_epochs is not None:
            checks.positive_int("num_epochs", self.num_epochs)
        for name in ("num_steps", "batch_size", "pred_period"):
            checks.positive_int(name, getattr(self, name))
        checks.non_negative_int("pred_len", self.pred_len)
        checks.positive_number("lr", self.lr)
        checks.positive_number("clipping_theta", self.clipping_theta, allow_none=True,
                               none_means="no clipping")
        object.__setattr__(self, "is_random_iter", bool(self.is_random_iter))
        if self.seed is not None:
            checks.integer("seed", self.seed)
        prefixes = [self.prefixes] if isinstance(self.prefixes, str) \
            else list(self.prefixes or [])
        object.__setattr__(self, "prefixes", tuple(prefixes))
        check_sampling(self.temperature, self.top_k)
        checks.fraction("val_fraction", self.val_fraction or 0)
        if not (isinstance(self.overfit_ratio, (int, float)) and self.overfit_ratio > 1):
            raise ValueError("overfit_ratio must be a number > 1, got %r"
                             % (self.overfit_ratio,))
        if self.save_every is not None:
            checks.positive_int("save_every", self.save_every)

    def replace(self, **changes):
        """A copy with ``changes`` (checked like a new configuration)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self):
        """The configuration as JSON-ready data."""
        d = dataclasses.asdict(self)
        d["prefixes"] = list(self.prefixes)
        return d

    @classmethod
    def from_dict(cls, d):
        """A configuration from :meth:`as_dict` data, or from a checkpoint of an earlier
        version (whose corpus settings sit in ``meta``); other keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in _flat(d).items() if k in names})

    def resume_differences(self, saved):
        """``[(field, saved value, this value)]`` for the ``exact`` fields in which this
        configuration differs from ``saved`` (a checkpoint's configuration, as a dict; a
        field an earlier version did not record is not compared)."""
        saved = _flat(saved)
        out = []
        for f in dataclasses.fields(self):
            mine = getattr(self, f.name)
            if f.metadata.get("resume") == "exact" and f.name in saved \
                    and saved[f.name] != mine:
                out.append((f.name, saved[f.name], mine))
        return out


def _flat(d):
    # Version 1 of the checkpoint format kept the corpus settings in a "meta" dict.
    meta = {k: v for k, v in (d.get("meta") or {}).items()
            if k in ("corpus", "num_chars", "lower")}
    return dict(d, **meta)
