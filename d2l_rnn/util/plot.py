"""Perplexity-against-epoch plots, for notebooks and for PNG files from the command line."""
import os

from .fileio import atomic_path


def plot_perplexity(histories, ax=None, title=None):
    """Plot perplexity against epoch, log scale, one line per run.

    histories: {label: History, or an (epochs, perplexities) pair}. Returns the matplotlib
    Axes.
    """
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, h in histories.items():
        epochs, values = h if isinstance(h, tuple) else (h.epochs, h.perplexity)
        ax.semilogy(epochs, values, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    if len(histories) > 1 or any(histories):
        ax.legend()
    return ax


def save_figure(fig, path):
    """Save a matplotlib figure to ``path`` atomically (an interrupted save never leaves a
    broken image behind); the format follows the extension (PNG by default)."""
    ext = os.path.splitext(path)[1] or ".png"
    with atomic_path(path, suffix=ext) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format=ext.lstrip("."))


def save_history_plot(history, path, title=None):
    """Write ``history``'s perplexity plot (training and validation) to ``path`` (a PNG,
    atomically), without touching pyplot's current figures; returns ``path``."""
    import warnings
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5, 3.2))
    ax = fig.subplots()
    history.plot(ax=ax)
    if title:
        ax.set_title(title)
    with warnings.catch_warnings():
        # Matplotlib's tick-label parser trips newer pyparsing's deprecation warnings.
        warnings.simplefilter("ignore", DeprecationWarning)
        save_figure(fig, path)
    return path
