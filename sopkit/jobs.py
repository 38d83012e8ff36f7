"""Jobs that run several notebooks: the demo monitoring day.

``run_demo`` generates a day of office traffic and logs (``sopkit.demo``), then runs every notebook in
``notebooks/`` through the runner with the generated files as inputs, in each report language the
notebook supports, and returns the report paths. Notebooks pick their inputs by parameter name:
``captures``, ``access_logs``, ``auth_logs``, ``eve_logs``, ``logs`` (every log file) — whichever
they declare.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from sopkit.errors import RunFailed, SopkitError

REPO_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
DEMO_SEED = 7
DEMO_DATE = dt.date(2026, 11, 24)  #: the generator's default day
DEMO_LOCAL_NETS = ("10.20.0.0/16",)  #: the demo office's network (see sopkit.demo.network)


def notebooks_dir() -> Path:
    """The notebooks folder of this checkout (``SOPKIT_NOTEBOOKS`` overrides)."""
    override = os.environ.get("SOPKIT_NOTEBOOKS")
    folder = Path(override) if override else REPO_NOTEBOOKS
    if not folder.is_dir():
        raise SopkitError(f"{folder}: notebooks folder not found (set SOPKIT_NOTEBOOKS)")
    return folder


def demo_inputs(root: Path | None = None, *, seed: int = DEMO_SEED, scale: float = 1.0) -> dict[str, list[str]]:
    """Inputs of the demo day, generated into ``root`` once and reused (keyed by seed and scale).

    Without ``root`` the day goes to ``$SOPKIT_CACHE`` or ``~/.cache/sopkit``: a notebook run with
    its default (empty) inputs analyses the demo day.
    """
    from sopkit.demo import generate_day

    if root is None:
        cache = Path(os.environ.get("SOPKIT_CACHE", Path.home() / ".cache" / "sopkit"))
        root = cache / f"demo-seed{seed}-x{scale:g}"
    layout = {"captures": "traffic.pcap", "access_logs": "access.log", "auth_logs": "auth.log",
              "eve_logs": "eve.json"}
    if not all((root / name).is_file() for name in [*layout.values(), "labels.json"]):
        generate_day(root, date=DEMO_DATE, seed=seed, scale=scale)
    return {key: [str(root / name)] for key, name in layout.items()}


def run_demo(*, outputs: Path = Path("outputs"), seed: int = DEMO_SEED, scale: float = 1.0,
             pdf: bool = False) -> list[Path]:
    """Generate the demo day under ``outputs/demo-data`` and run every notebook on it; return reports."""
    from sopkit.params import notebook_parameters
    from sopkit.runner import run_notebook

    outputs = Path(outputs)
    inputs: dict = demo_inputs(outputs / "demo-data" / f"demo-seed{seed}-x{scale:g}", seed=seed, scale=scale)
    day = DEMO_DATE.strftime("%d-%m-%Y")
    inputs.update(period_start=f"{day} 00:00", period_end=f"{day} 24:00", local_nets=list(DEMO_LOCAL_NETS),
                  logs=inputs["auth_logs"] + inputs["access_logs"] + inputs["eve_logs"])
    reports: list[Path] = []
    failures: list[str] = []
    for notebook in sorted(notebooks_dir().glob("*.ipynb")):
        specs = notebook_parameters(notebook)
        params = {k: v for k, v in inputs.items() if k in specs}
        if "report_number" in specs:
            params["report_number"] = f"DEMO/{notebook.stem}/{DEMO_DATE:%Y%m%d}"
        languages = ("id", "en") if "lang" in specs else (None,)
        for lang in languages:
            run_params = dict(params, **({"lang": lang} if lang else {}))
            job = notebook.stem + (f"-{lang}" if lang else "")
            try:
                result = run_notebook(notebook, run_params, params_source="demo", outputs=outputs, job=job)
            except RunFailed as exc:
                failures.append(str(exc))
                continue
            if result.html:
                reports.append(result.html)
                if pdf:
                    from sopkit.report.render import render_pdf

                    reports.append(render_pdf(result.html))
    if failures:
        raise RunFailed("demo: " + "; ".join(failures))
    return reports
