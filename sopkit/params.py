"""Notebook parameters: read the ``parameters`` cell, load YAML files and ``-p`` overrides, validate.

Validation happens before any kernel starts, so a typo in a scheduled job fails in milliseconds with
one message naming the file and the key, not minutes later inside a notebook. The notebook's own
``parameters`` cell is the schema: each assignment's name, its annotation (or, failing that, the type
of its default) and a trailing comment. A comment starting with ``input`` marks the value as input
file(s): a path, a glob, a directory, or a list of those, which must exist and are hashed into the
run record.
"""

from __future__ import annotations

import ast
import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sopkit.errors import NotebookError, ParameterError

_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


@dataclass(frozen=True)
class ParamSpec:
    """One parameter declared in a notebook's ``parameters`` cell."""

    name: str
    type_name: str  #: "str", "int", "float", "bool", "list", "dict" or "any" (default None / untyped)
    default: Any
    help: str

    @property
    def is_input(self) -> bool:
        """True when the parameter names input file(s) (its comment starts with ``input``)."""
        return self.help.lower().startswith("input")


def notebook_parameters(notebook: Path) -> dict[str, ParamSpec]:
    """Parse the ``parameters`` cell of ``notebook`` into specs, without starting a kernel."""
    import papermill

    notebook = Path(notebook)
    if not notebook.is_file():
        raise NotebookError(f"{notebook}: notebook not found")
    try:
        raw = papermill.inspect_notebook(str(notebook))
    except Exception as exc:  # papermill raises bare ValueErrors/JSON errors for unreadable notebooks
        raise NotebookError(f"{notebook}: cannot read notebook ({exc})") from exc
    if not raw and not _has_parameters_cell(notebook):
        raise NotebookError(f"{notebook}: no cell tagged 'parameters'")
    specs: dict[str, ParamSpec] = {}
    for name, info in raw.items():
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            default = info["default"]
        declared = info.get("inferred_type_name") or "None"
        if declared in _TYPES:
            type_name = declared
        elif default is None:
            type_name = "any"
        else:
            type_name = next((k for k, v in _TYPES.items() if type(default) is v[-1]), "any")
        specs[name] = ParamSpec(name, type_name, default, info.get("help") or "")
    return specs


def _has_parameters_cell(notebook: Path) -> bool:
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    return any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells)


def load_parameters_file(path: Path) -> dict[str, Any]:
    """Load a parameters YAML file: a mapping of parameter names to values."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: parameters file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ParameterError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ParameterError(f"{path}: malformed YAML{where}: {problem}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of parameter names to values, got {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise ParameterError(f"{path}: parameter names must be text, got {bad[0]!r}")
    return data


def parse_override(key: str, value: str) -> tuple[str, Any]:
    """Turn a ``-p KEY VALUE`` pair into a typed value (YAML scalar rules: ``5`` is an int, ``true`` a bool)."""
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError:
        return key, value


def validate(
    specs: dict[str, ParamSpec], params: dict[str, Any], *, source: str, base_dir: Path | None = None
) -> dict[str, Any]:
    """Check ``params`` against ``specs``; return them with input paths made absolute.

    ``source`` names where the values came from (the YAML file or ``-p``) for the error message.
    Raises :class:`ParameterError` on the first unknown key, wrong type or missing input file.
    """
    base_dir = Path(base_dir or Path.cwd())
    out: dict[str, Any] = {}
    for key, value in params.items():
        spec = specs.get(key)
        if spec is None:
            known = ", ".join(sorted(specs)) or "(none)"
            raise ParameterError(f"{source}: unknown parameter {key!r}; the notebook declares: {known}")
        if spec.type_name == "list" and isinstance(value, str):
            value = [value]  # one file where a list of files is declared
        if spec.type_name != "any" and value is not None:
            allowed = _TYPES[spec.type_name]
            if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
                raise ParameterError(
                    f"{source}: parameter {key!r} must be {spec.type_name}, got {type(value).__name__} {value!r}"
                )
        if spec.is_input and value not in (None, "", []):
            value = _resolve_inputs(value, key=key, source=source, base_dir=base_dir)
        out[key] = value
    return out


def _resolve_inputs(value: Any, *, key: str, source: str, base_dir: Path) -> Any:
    items = value if isinstance(value, list) else [value]
    resolved = []
    for item in items:
        if not isinstance(item, str):
            raise ParameterError(f"{source}: parameter {key!r} must name files, got {item!r}")
        path = Path(item).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if glob.has_magic(str(path)):
            if not glob.glob(str(path), recursive=True):
                raise ParameterError(f"{source}: parameter {key!r}: no file matches {item!r}")
        elif not path.exists():
            raise ParameterError(f"{source}: parameter {key!r}: input file not found: {item}")
        resolved.append(str(path))
    return resolved if isinstance(value, list) else resolved[0]


def input_files(specs: dict[str, ParamSpec], params: dict[str, Any]) -> list[Path]:
    """Every concrete file the input parameters name (globs expanded, directories walked), sorted."""
    files: set[Path] = set()
    for name, spec in specs.items():
        value = params.get(name, spec.default)
        if not spec.is_input or value in (None, "", []):
            continue
        for item in value if isinstance(value, list) else [value]:
            for match in glob.glob(str(item), recursive=True) or [str(item)]:
                p = Path(match)
                if p.is_dir():
                    files.update(f for f in p.rglob("*") if f.is_file())
                elif p.is_file():
                    files.add(p)
    return sorted(files)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (captures can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
