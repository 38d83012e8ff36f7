"""Turn an executed notebook into the report people read: self-contained HTML, and PDF via Chromium.

The HTML makes zero network requests and runs no script: the template (``templates/sopkit``) carries
a Content-Security-Policy of ``default-src 'none'``, inline CSS only and images as data URIs, and the
outputs that would need a script (JavaScript, widget views) are removed before rendering. Cells tagged
``interactive``, ``remove-cell`` or ``remove_cell`` are analyst tools (widgets, drill-downs) and never
reach the report. Code is hidden unless asked for.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sopkit import __version__
from sopkit.errors import RenderError
from sopkit.report.i18n import LANGUAGES, t
from sopkit.timezones import format_local, resolve_zone

TEMPLATES = Path(__file__).parent / "templates"
REMOVE_TAGS = {"interactive", "remove-cell", "remove_cell"}
_SCRIPT_MIMES = {"application/javascript", "application/vnd.jupyter.widget-view+json", "text/javascript"}


def _clean(nb: Any, *, with_code: bool) -> Any:
    """A copy of ``nb`` without interactive cells, script outputs, stderr noise and widget state."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & REMOVE_TAGS:
            continue
        if cell.cell_type == "code":
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue
                data = out.get("data")
                if data is not None:
                    if set(data) & {"application/vnd.jupyter.widget-view+json"}:
                        continue  # a widget's text/plain fallback ("HBox(...)") means nothing on paper
                    for mime in _SCRIPT_MIMES & set(data):
                        del data[mime]
                    if not data:
                        continue
                outputs.append(out)
            cell.outputs = outputs
            if not with_code and not outputs:
                continue
            if not with_code or "remove-input" in tags:
                cell.metadata.setdefault("transient", {})["remove_source"] = True
        cells.append(cell)
    nb.cells = cells
    return nb


def _effective_parameters(nb: Any) -> dict[str, Any]:
    """The values the run used: the ``parameters`` cell's defaults overlaid with papermill's injected ones."""
    import ast

    params: dict[str, Any] = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                break
            for node in tree.body:
                target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
                value = getattr(node, "value", None)
                if isinstance(target, ast.Name) and value is not None:
                    try:
                        params[target.id] = ast.literal_eval(value)
                    except ValueError:
                        pass
            break
    params.update(nb.metadata.get("papermill", {}).get("parameters", {}))
    return params


def report_context(nb: Any, *, notebook_sha256: str) -> dict[str, Any]:
    """Header and footer fields of the report, from the run's parameters and notebook metadata."""
    params = _effective_parameters(nb)
    meta = dict(nb.metadata.get("sopkit", {}))
    lang = params.get("lang") or meta.get("lang") or "id"
    if lang not in LANGUAGES:
        lang = "id"
    zone = params.get("timezone") or "WIB"
    abbrev, _ = resolve_zone(zone)
    title_key = meta.get("title_key")
    title = t(title_key, lang) if title_key else (meta.get("title") or "sopkit")
    sop_key = meta.get("sop_key")
    period = " – ".join(str(p) for p in (params.get("period_start"), params.get("period_end")) if p)
    run_id = meta.get("run_id") or "-"
    rendered = format_local(dt.datetime.now(dt.timezone.utc), zone)
    header = [
        (t("office", lang), params.get("office") or "-"),
        (t("sop", lang), t(sop_key, lang) if sop_key else "-"),
        (t("report_number", lang), params.get("report_number") or run_id),
        (t("period", lang), period or "-"),
        (t("timezone", lang), f"{abbrev} ({resolve_zone(zone)[1].key})"),
        (t("generated", lang), rendered),
    ]
    footer = [
        (t("run_id", lang), run_id),
        (t("version", lang), meta.get("version") or __version__),
        (t("notebook_sha256", lang), notebook_sha256),
    ]
    css = (TEMPLATES / "sopkit" / "report.css").read_text(encoding="utf-8")
    return {"lang": lang, "title": title, "header": header, "footer": footer, "version": __version__, "css": css}


def render_html(executed: Path, out: Path | None = None, *, with_code: bool = False) -> Path:
    """Render ``executed`` (a notebook run by the runner) to a self-contained HTML report at ``out``."""
    import nbformat
    from nbconvert import HTMLExporter

    executed = Path(executed)
    out = Path(out) if out else executed.with_suffix(".html")
    try:
        raw = executed.read_bytes()
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except FileNotFoundError as exc:
        raise RenderError(f"{executed}: executed notebook not found") from exc
    except Exception as exc:
        raise RenderError(f"{executed}: not a readable notebook ({exc})") from exc
    context = report_context(nb, notebook_sha256=hashlib.sha256(raw).hexdigest())
    if with_code:
        from pygments.formatters import HtmlFormatter

        context["css"] += "\n" + HtmlFormatter(style="default").get_style_defs(".highlight")
    exporter = HTMLExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name="sopkit",
        exclude_input=not with_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    try:
        body, _ = exporter.from_notebook_node(_clean(nb, with_code=with_code), resources={"sopkit": context})
    except Exception as exc:
        raise RenderError(f"{executed}: rendering failed ({type(exc).__name__}: {exc})") from exc
    _atomic_write(out, body.encode("utf-8"))
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable (``SOPKIT_CHROMIUM`` overrides), or None."""
    override = os.environ.get("SOPKIT_CHROMIUM")
    if override:
        return override if Path(override).is_file() else None
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


def render_pdf(html: Path, out: Path | None = None, *, timeout: float = 120) -> Path:
    """Print ``html`` to an A4 PDF with headless Chromium (the page's own print CSS applies)."""
    html = Path(html).resolve()
    out = Path(out) if out else html.with_suffix(".pdf")
    chromium = find_chromium()
    if chromium is None:
        raise RenderError(f"{html}: PDF needs Chromium; none found (install Debian's 'chromium' or set SOPKIT_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="sopkit-chromium-") as profile:
        tmp_pdf = Path(profile) / "out.pdf"
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={tmp_pdf}", html.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"{html}: Chromium did not finish printing within {timeout:.0f} s") from exc
        if proc.returncode != 0 or not tmp_pdf.is_file() or tmp_pdf.stat().st_size == 0:
            tail = (proc.stderr or "").strip().splitlines()[-3:]
            raise RenderError(f"{html}: Chromium failed to print a PDF (exit {proc.returncode}): {' | '.join(tail)}")
        _atomic_write(out, tmp_pdf.read_bytes())
    return out
