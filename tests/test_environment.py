"""environment.yml (for conda users) must name the same packages as pyproject.toml."""

from __future__ import annotations

import re

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
CONDA_NAMES = {"pyyaml": "pyyaml"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section, "the pip section installs sopkit itself"
    from_pypi = {_name(d) for d in pip_section if d != "-e ."}  # packages conda-forge lacks
    assert not conda & from_pypi, f"named twice: {conda & from_pypi}"
    pypi = {CONDA_NAMES.get(_name(d), _name(d)) for d in project["dependencies"]}
    named = conda | from_pypi
    assert named == pypi, f"only in pyproject: {pypi - named}; only in environment.yml: {named - pypi}"
    assert "conda-forge" in env["channels"]
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace(" ", "") == "python" + project["requires-python"].replace(" ", "")


def test_notebook_extra_keeps_jupyterlab_out_of_core():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(_name(d) == "jupyterlab" for d in project["dependencies"])
    assert any(_name(d) == "jupyterlab" for d in project["optional-dependencies"]["notebook"])
