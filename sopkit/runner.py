"""Run a parameterized notebook with papermill into a self-describing run folder.

Layout: ``<outputs>/<YYYY-MM-DD>/<job>-<HHMMSS>/`` (UTC) holding ``parameters.yaml``, the executed
notebook, the HTML report and ``run.json`` (status, start/end UTC, sopkit version, parameters hash,
SHA-256 of every input file, error text). The folder is built under ``<job>-<HHMMSS>.incomplete`` and
renamed when the run ends, so a reader never mistakes a half-written run for a finished one; a run
killed outright leaves the ``.incomplete`` folder with ``status: running`` — visibly not a success.
A failed run keeps its partial notebook, gets ``status: failed`` and raises :class:`RunFailed`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sopkit import __version__
from sopkit.errors import RunFailed, SopkitError
from sopkit.params import input_files, notebook_parameters, sha256_file, validate
from sopkit.timezones import utc_now

INCOMPLETE_SUFFIX = ".incomplete"
INTERACTIVE_TAG = "interactive"


@dataclass(frozen=True)
class RunResult:
    """Where a finished run landed and what it produced."""

    run_dir: Path
    notebook: Path  #: the executed notebook
    html: Path | None  #: the rendered report (None when rendering was skipped)
    record: dict[str, Any]  #: the content of run.json


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and rename, so readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_record(run_dir: Path, record: dict[str, Any]) -> None:
    atomic_write_text(run_dir / "run.json", json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def _new_run_dir(outputs: Path, job: str, started: dt.datetime) -> tuple[Path, str]:
    day = outputs / started.strftime("%Y-%m-%d")
    day.mkdir(parents=True, exist_ok=True)
    base = f"{job}-{started.strftime('%H%M%S')}"
    for n in range(1, 1000):
        run_id = base if n == 1 else f"{base}-{n}"
        tmp = day / (run_id + INCOMPLETE_SUFFIX)
        if not (day / run_id).exists():
            try:
                tmp.mkdir()
            except FileExistsError:
                continue
            return tmp, run_id
    raise SopkitError(f"{day}: cannot allocate a run folder for {job!r}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale_runs(outputs: Path) -> list[Path]:
    """Mark runs whose process died mid-run (``.incomplete`` folders of dead pids) as failed.

    A run killed outright (power loss, SIGKILL, an OOM kill) cannot record its own end. The next run
    does it: status ``failed`` with the reason, and the folder renamed to its final name, so that
    nobody mistakes it for a run still going — and nothing mistakes it for a success.
    """
    reaped = []
    for tmp in sorted(Path(outputs).glob(f"*/*{INCOMPLETE_SUFFIX}")):
        try:
            record = json.loads((tmp / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {"status": "running", "pid": None}
        pid = record.get("pid")
        if record.get("status") != "running" or (isinstance(pid, int) and _pid_alive(pid)):
            continue
        record.update(status="failed", error=f"the run's process (pid {pid}) ended without finishing the run",
                      reaped_utc=utc_now().isoformat())
        _write_record(tmp, record)
        final = tmp.with_name(tmp.name[: -len(INCOMPLETE_SUFFIX)])
        if not final.exists():
            os.replace(tmp, final)
            reaped.append(final)
    return reaped


def params_hash(params: dict[str, Any]) -> str:
    """SHA-256 of the parameters in canonical JSON (sorted keys), to compare runs."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def run_notebook(
    notebook: Path,
    params: dict[str, Any] | None = None,
    *,
    params_source: str = "parameters",
    outputs: Path = Path("outputs"),
    job: str | None = None,
    timeout: float | None = 1800,
    render: bool = True,
    progress: bool = False,
) -> RunResult:
    """Validate ``params`` against ``notebook``, execute it with papermill and render the report.

    ``timeout`` bounds each cell's execution in seconds (None: no limit). Raises
    :class:`~sopkit.errors.ParameterError` / :class:`~sopkit.errors.NotebookError` before any kernel
    starts, and :class:`RunFailed` (with the finished folder) when execution or rendering fails.
    """
    notebook = Path(notebook)
    specs = notebook_parameters(notebook)
    params = validate(specs, dict(params or {}), source=params_source)
    job = job or notebook.stem
    reap_stale_runs(Path(outputs))
    started = utc_now()
    tmp_dir, run_id = _new_run_dir(Path(outputs), job, started)
    inputs = input_files(specs, params)
    record: dict[str, Any] = {
        "run_id": run_id,
        "job": job,
        "notebook": str(notebook),
        "status": "running",
        "started_utc": started.isoformat(),
        "ended_utc": None,
        "sopkit_version": __version__,
        "parameters": params,
        "parameters_sha256": params_hash(params),
        "inputs": {str(p): sha256_file(p) for p in inputs},
        "pid": os.getpid(),
        "error": None,
    }
    atomic_write_text(tmp_dir / "parameters.yaml", yaml.safe_dump(params, sort_keys=True, allow_unicode=True))
    _write_record(tmp_dir, record)
    executed = tmp_dir / f"{job}.ipynb"
    html: Path | None = None
    try:
        _execute(notebook, executed, params, run_id=run_id, cwd=tmp_dir, timeout=timeout, progress=progress)
        if render:
            from sopkit.report.render import render_html

            html = render_html(executed, tmp_dir / f"{job}.html")
        record["status"] = "success"
    except Exception as exc:  # anything that stops the run must end as a visible failure
        record["status"] = "failed"
        record["error"] = _describe(exc)
    record["ended_utc"] = utc_now().isoformat()
    if executed.exists():
        record["executed_notebook_sha256"] = sha256_file(executed)
    _write_record(tmp_dir, record)
    final = tmp_dir.with_name(run_id)
    os.replace(tmp_dir, final)
    result = RunResult(final, final / executed.name, final / html.name if html else None, record)
    if record["status"] != "success":
        raise RunFailed(f"{notebook}: run {run_id} failed: {record['error']} (see {final})", run_dir=final)
    return result


def _describe(exc: BaseException) -> str:
    """One readable error text: papermill's cell errors carry the notebook traceback's last line."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
    if isinstance(exc, SopkitError):
        return str(exc)
    text = f"{type(exc).__name__}: {exc}"
    if "kernel" in text.lower() and "died" in text.lower():
        return f"the notebook kernel died: {text}"
    return text


def _execute(
    notebook: Path, executed: Path, params: dict[str, Any], *, run_id: str, cwd: Path, timeout: float | None,
    progress: bool,
) -> None:
    import nbformat
    import papermill

    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata.setdefault("sopkit", {})
    nb.metadata["sopkit"].update({"run_id": run_id, "version": __version__})
    # Cells tagged "interactive" (widgets, drill-downs) need a person at the screen: an unattended
    # run skips them, and they come back unexecuted in the executed notebook for the analyst.
    interactive = [(i, c) for i, c in enumerate(nb.cells) if INTERACTIVE_TAG in c.get("metadata", {}).get("tags", [])]
    nb.cells = [c for c in nb.cells if INTERACTIVE_TAG not in c.get("metadata", {}).get("tags", [])]
    staged = cwd / f".{notebook.stem}.source.ipynb"
    nbformat.write(nb, str(staged))
    saved = {k: os.environ.get(k) for k in ("SOPKIT_RUN_ID", "SOPKIT_RUN_DIR")}
    os.environ.update(SOPKIT_RUN_ID=run_id, SOPKIT_RUN_DIR=str(cwd))  # the kernel inherits them
    try:
        papermill.execute_notebook(
            str(staged),
            str(executed),
            parameters=params,
            kernel_name="python3",
            cwd=str(cwd),
            execution_timeout=timeout,
            progress_bar=progress,
            log_output=False,
            report_mode=False,
            # the kernel runs on this machine's loopback only; its start-up warning about unencrypted
            # TCP would print once per report in every scheduled run (errors still show)
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
    finally:
        staged.unlink(missing_ok=True)
        if interactive and executed.exists():
            _reinsert(executed, interactive)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _reinsert(executed: Path, cells: list[tuple[int, Any]]) -> None:
    """Put the skipped interactive cells back, unexecuted, at their places in the executed notebook."""
    import nbformat

    out = nbformat.read(str(executed), as_version=4)
    offset = 1 if any("injected-parameters" in c.get("metadata", {}).get("tags", []) for c in out.cells) else 0
    for index, cell in cells:  # ascending: each insert lands where it stood in the source
        out.cells.insert(min(index + offset, len(out.cells)), cell)
    nbformat.write(out, str(executed))


def current_run() -> tuple[str, Path | None]:
    """Inside a notebook run by :func:`run_notebook`: ``(run id, run folder)``; outside: ``("interactive", None)``.

    Notebooks use it to label what they record (history) without being told.
    """
    run_dir = os.environ.get("SOPKIT_RUN_DIR")
    return os.environ.get("SOPKIT_RUN_ID", "interactive"), Path(run_dir) if run_dir else None
