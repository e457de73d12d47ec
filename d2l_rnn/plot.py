"""Perplexity-against-epoch plots, for notebooks and for PNG files from the command line."""
import os
import tempfile


def plot_perplexity(histories, ax=None, title=None):
    """Plot perplexity against epoch, log scale, one line per run.

    histories: {label: History}. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, h in histories.items():
        ax.semilogy(h.epochs, h.perplexity, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.grid(True, which="both", alpha=0.3)
    if title:
        ax.set_title(title)
    if len(histories) > 1 or any(histories):
        ax.legend()
    return ax


def save_figure(fig, path):
    """Save a matplotlib figure to ``path`` atomically (temp file in the same folder, then
    rename), so an interrupted save never leaves a broken image behind."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ext = os.path.splitext(path)[1] or ".png"
    fd, tmp = tempfile.mkstemp(suffix=ext, dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
