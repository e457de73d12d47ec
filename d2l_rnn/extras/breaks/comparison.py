"""The experiment: a unidirectional and a bidirectional tagger trained with identical
settings, scored beside the majority baseline, with a held-out line restored by both."""
from dataclasses import dataclass

import numpy as np

from .defaults import DEFAULTS
from .labels import insert_breaks, load_break_data
from .train import METRICS, BreakTaggerResult, train_break_tagger


@dataclass
class BreakComparison:
    """Unidirectional vs bidirectional tagger trained with identical settings.

    ``uni``, ``bi``: :class:`BreakTaggerResult`; ``baseline``: majority-class metrics;
    ``example``: a held-out stretch as ``{"start", "end", "truth", "uni", "bi"}`` (the
    strings with their breaks restored).
    """
    uni: BreakTaggerResult
    bi: BreakTaggerResult
    baseline: dict
    example: dict

    def rows(self):
        """Table rows: dicts with model, accuracy, precision, recall, f1, seconds."""
        out = [dict(model="majority (never a break)", seconds=None,
                    **{k: self.baseline[k] for k in METRICS})]
        for r in (self.uni, self.bi):
            out.append(dict(model=r.name, seconds=r.train_seconds,
                            **{k: r.metrics[k] for k in METRICS}))
        return out

    def table(self):
        """The rows as aligned text."""
        lines = ["%-26s %9s %10s %7s %7s %8s"
                 % ("model", "accuracy", "precision", "recall", "F1", "seconds")]
        for r in self.rows():
            lines.append("%-26s %9.4f %10.3f %7.3f %7.3f %8s"
                         % (r["model"], r["accuracy"], r["precision"], r["recall"], r["f1"],
                            "-" if r["seconds"] is None else "%.1f" % r["seconds"]))
        return "\n".join(lines)

    def as_dict(self):
        """JSON-ready: settings, rows, per-epoch histories, example."""
        return {"settings": {k: v for k, v in self.uni.settings.items()
                             if k != "bidirectional"},
                "rows": self.rows(), "baseline": self.baseline,
                "unidirectional": self.uni.as_dict(), "bidirectional": self.bi.as_dict(),
                "example": self.example}


def example_span(labels, near, max_chars=40):
    """A stretch of whole phrases around position ``near`` of a labelled stream (n,): returns
    ``(start, end)``, starting just after a break and ending at one, at most ``max_chars``
    long (a longer first phrase is cut at ``max_chars``)."""
    labels = np.asarray(labels)
    n = len(labels)
    breaks = np.flatnonzero(labels)
    before = breaks[breaks < near]
    start = int(before[-1]) + 1 if len(before) else 0
    ends = breaks[(breaks >= start) & (breaks < start + max_chars)]
    end = int(ends[-1]) + 1 if len(ends) else min(n, start + max_chars)
    return start, end


def compare_break_taggers(kind="gru", impl="scratch", num_epochs=DEFAULTS["num_epochs"],
                          num_hiddens=DEFAULTS["num_hiddens"], seed=0, data=None,
                          progress=None, quiet=False, say=print, **kwargs):
    """Train the unidirectional and the bidirectional tagger with identical settings (same
    data, seed, hyperparameters) and compare them on the held-out part.

    ``kwargs`` go to :func:`train_break_tagger` (num_layers, num_steps, batch_size, lr ...).
    Unless ``quiet``, prints the table and an example held-out line (truth, uni, bi).

    Returns
    -------
    BreakComparison
    """
    data = load_break_data() if data is None else data
    common = dict(kind=kind, impl=impl, num_epochs=num_epochs, num_hiddens=num_hiddens,
                  seed=seed, data=data, progress=progress, quiet=quiet, say=say, **kwargs)
    uni = train_break_tagger(bidirectional=False, **common)
    bi = train_break_tagger(bidirectional=True, **common)
    start, end = example_span(data.val_labels, len(data.val_labels) // 2)
    chars = data.val_text[start:end]
    example = {"start": start, "end": end,
               "truth": insert_breaks(chars, data.val_labels[start:end]),
               "uni": insert_breaks(chars, uni.val_predicted[start:end]),
               "bi": insert_breaks(chars, bi.val_predicted[start:end])}
    result = BreakComparison(uni, bi, uni.baseline, example)
    if not quiet and say is not None:
        say(result.table())
        say("held-out characters %d-%d (scored as in the table):" % (start, end))
        for k in ("truth", "uni", "bi"):
            say("  %-6s %s" % (k + ":", example[k]))
    return result
