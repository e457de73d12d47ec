"""The record of a training run, epoch by epoch: one class for every trainer of the package."""
from collections import OrderedDict

import numpy as np


class History(object):
    """What a training run produced, epoch by epoch.

    ``epochs``: the epoch numbers (1-based). Each metric is a list with one value per epoch,
    read as an attribute: the language model records ``perplexity``, ``seconds`` and, with a
    validation split, ``val_perplexity``; the extras record theirs (``loss``, ``test_acc``,
    ``f1``, ...). Iterating gives one dict per epoch (``{"epoch": 1, "loss": ...}``).

    The language model's trainer also sets ``samples`` ({epoch: {prefix: text}}),
    ``memorisation`` ((epoch, training, validation perplexity) when the memorisation warning
    was given), ``steps`` (minibatches trained), ``checkpoint`` (the last checkpoint
    directory written), and ``params`` (scratch: the trained parameter list) or ``model``
    (the Gluon model).
    """

    def __init__(self, *metrics):
        self.epochs = []
        self.metrics = OrderedDict((m, []) for m in metrics or ("perplexity", "seconds",
                                                                "val_perplexity"))
        self.samples, self.memorisation, self.steps = {}, None, 0
        self.checkpoint = self.params = self.model = None

    def __getattr__(self, name):
        metrics = self.__dict__.get("metrics")
        if metrics is not None and name in metrics:
            return metrics[name]
        raise AttributeError("History has no attribute or metric %r (metrics: %s)"
                             % (name, ", ".join(metrics or ())))

    def record(self, epoch, **values):
        """Append one epoch: its number and a value for each metric given."""
        self.epochs.append(epoch)
        for name, value in values.items():
            self.metrics.setdefault(name, []).append(value)

    def __iter__(self):
        for i, epoch in enumerate(self.epochs):
            row = {"epoch": epoch}
            row.update((m, v[i]) for m, v in self.metrics.items() if i < len(v))
            yield row

    def __len__(self):
        return len(self.epochs)

    def best(self, metric, mode="min"):
        """The epoch with the lowest (``mode='max'``: highest) value of ``metric``, or None
        when it has no values."""
        values = self.metrics.get(metric) or []
        if not values:
            return None
        i = int(np.argmin(values) if mode == "min" else np.argmax(values))
        return self.epochs[i]

    @property
    def best_epoch(self):
        """The epoch with the lowest validation perplexity (None without validation)."""
        return self.best("val_perplexity")

    @property
    def best_val_perplexity(self):
        """The lowest validation perplexity (None without validation)."""
        values = self.metrics.get("val_perplexity") or []
        return min(values) if values else None

    def as_dict(self):
        """The history as plain JSON-ready data."""
        d = OrderedDict(epochs=list(self.epochs))
        d.update((m, list(v)) for m, v in self.metrics.items())
        if "val_perplexity" in self.metrics:
            d.update(best_epoch=self.best_epoch, best_val_perplexity=self.best_val_perplexity)
        d.update(memorisation=list(self.memorisation) if self.memorisation else None,
                 steps=self.steps, samples={str(k): v for k, v in self.samples.items()})
        return dict(d)

    @classmethod
    def from_dict(cls, d):
        """A History from :meth:`as_dict` data (parameters and model are not part of it)."""
        skip = {"epochs", "best_epoch", "best_val_perplexity", "memorisation", "steps",
                "samples"}
        h = cls(*[k for k in d if k not in skip])
        h.epochs = list(d["epochs"])
        for k in h.metrics:
            h.metrics[k] = list(d[k] or [])
        h.metrics.setdefault("val_perplexity", [])
        h.memorisation = tuple(d["memorisation"]) if d.get("memorisation") else None
        h.steps = int(d.get("steps", 0))
        h.samples = {int(k): v for k, v in d.get("samples", {}).items()}
        return h

    def plot(self, ax=None, label=None):
        """Plot training (and validation) perplexity against epoch, log scale; returns the
        matplotlib Axes."""
        from ..util.plot import plot_perplexity
        curves = {label or "training": self}
        if self.metrics.get("val_perplexity"):
            curves["validation"] = (self.epochs, self.val_perplexity)
        return plot_perplexity(curves, ax=ax)

    def __repr__(self):
        if not self.epochs:
            return "History(no epochs)"
        if "perplexity" not in self.metrics or not self.metrics["perplexity"]:
            last = ", ".join("%s %.4g" % (m, v[-1]) for m, v in self.metrics.items() if v)
            return "History(%d epochs; last: %s)" % (len(self.epochs), last)
        val = ("" if not self.metrics.get("val_perplexity") else
               ", best validation perplexity %.3f at epoch %d"
               % (self.best_val_perplexity, self.best_epoch))
        return ("History(%d epochs, final perplexity %.3f%s, median %.3f s/epoch)"
                % (len(self.epochs), self.perplexity[-1], val,
                   float(np.median(self.seconds))))
