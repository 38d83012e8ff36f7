"""Small helpers for tests that need throw-away notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def make_notebook(path: Path, parameters: str, *cells: str, tags: dict[int, list[str]] | None = None) -> Path:
    """Write a notebook with a ``parameters`` cell and the given code cells (``tags`` by cell index)."""
    nb = new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                   "sopkit": {"title": "Test report", "sop_key": "sop_traffic"}}
    param_cell = new_code_cell(parameters)
    param_cell.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# Test"), param_cell]
    for i, source in enumerate(cells):
        cell = new_code_cell(source)
        if tags and i in tags:
            cell.metadata["tags"] = tags[i]
        nb.cells.append(cell)
    nbformat.write(nb, str(path))
    return path
