"""Execute a notebook top to bottom with nbclient, optionally in fast mode.

Fast mode inserts, right after the cell tagged ``parameters``, a cell holding the notebook's
own ``metadata["d2l_rnn"]["fast_parameters"]`` (for example ``num_epochs = 2``), the way
papermill injects parameters. Used by the tests (fast) and by ``make notebooks`` (full).
"""
import os
import sys

import nbformat
from nbclient import NotebookClient

from d2l_rnn.util.fileio import atomic_path


def parameters_index(nb):
    """Index of the cell tagged ``parameters``; ValueError if there is none."""
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    raise ValueError("notebook has no cell tagged 'parameters'")


def execute(path, fast=False, save_to=None, timeout=1800):
    """Run notebook ``path`` in its own folder; return the executed notebook.

    fast: inject the notebook's fast parameters. save_to: write the executed notebook there
    (atomically). Raises nbclient's CellExecutionError naming the failing cell.
    """
    nb = nbformat.read(path, as_version=4)
    if fast:
        code = nb.metadata["d2l_rnn"]["fast_parameters"]
        cell = nbformat.v4.new_code_cell("# Injected by tools/nbexec.py (fast mode)\n" + code)
        cell.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(parameters_index(nb) + 1, cell)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    client.execute()
    if save_to:
        with atomic_path(save_to, suffix=".ipynb") as tmp:
            nbformat.write(nb, tmp)
    return nb


if __name__ == "__main__":
    # A full run trains for many minutes in one cell: no per-cell time limit.
    for p in sys.argv[1:]:
        print("executing", p, flush=True)
        execute(p, save_to=p, timeout=None)
