"""Notebook hygiene: stored clean, python3 kernel, a parameters cell, and runnable with defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sopkit.runner import run_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "stored with outputs"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_with_defaults(path, demo_outputs, tmp_path):
    result = run_notebook(path, {}, outputs=tmp_path / "out")
    assert result.record["status"] == "success"
    assert result.html is not None and result.html.stat().st_size > 10_000


PARAMETER_FILES = sorted((Path(__file__).resolve().parent.parent / "parameters").glob("*.yaml"))


@pytest.mark.parametrize("path", [p for p in PARAMETER_FILES if (p.parent.parent / "notebooks" / f"{p.stem}.ipynb").exists()],
                         ids=lambda p: p.stem)
def test_shipped_parameter_files_validate(path):
    from sopkit.params import load_parameters_file, notebook_parameters, validate

    specs = notebook_parameters(path.parent.parent / "notebooks" / f"{path.stem}.ipynb")
    params = validate(specs, load_parameters_file(path), source=str(path), base_dir=path.parent.parent)
    assert set(params) <= set(specs) and params
