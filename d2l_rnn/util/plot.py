"""Plots: perplexity against epoch (notebooks, and PNG files from the command line), and the
book's plotting helpers ``use_svg_display``, ``set_figsize`` and ``semilogy``, which work in
notebooks and headless (Agg) alike."""
import os

from .fileio import OutputPathError, atomic_path, check_file


def check_figure_path(path, what="the plot"):
    """Make sure a figure can be saved to ``path``: a format matplotlib writes (by the
    extension; none means PNG) and a writable place; OutputPathError otherwise."""
    from matplotlib.figure import Figure
    ext = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    formats = Figure().canvas.get_supported_filetypes()
    if ext not in formats:
        raise OutputPathError("%s %s: matplotlib cannot write .%s files; use one of %s"
                              % (what, path, ext, ", ".join("." + f for f in sorted(formats))))
    check_file(path, what)


def use_svg_display():
    """Show the notebook's figures as SVG, as the book does (nothing to do outside one)."""
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # no IPython here: there is nothing to display
        return
    set_matplotlib_formats("svg")


def set_figsize(figsize=(3.5, 2.5)):
    """Use SVG in notebooks and make new figures ``figsize`` inches (width, height)."""
    import matplotlib.pyplot as plt
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def semilogy(x_vals, y_vals, x_label, y_label, x2_vals=None, y2_vals=None, legend=None,
             figsize=(3.5, 2.5)):
    """The book's plot of y (log scale) against x, with an optional second, dotted curve and
    a legend; shown in a notebook, drawn without a window headless."""
    import matplotlib
    import matplotlib.pyplot as plt
    set_figsize(figsize)
    plt.xlabel(x_label)
    plt.ylabel(y_label)
    plt.semilogy(x_vals, y_vals)
    if x2_vals is not None and y2_vals is not None:
        plt.semilogy(x2_vals, y2_vals, linestyle=":")
        plt.legend(legend)
    if matplotlib.get_backend().lower() != "agg":  # Agg has no window: show() would warn
        plt.show()


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
