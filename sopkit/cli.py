"""The ``sopkit`` command line.

Subcommands of the core live here (``run``, ``render``, ``demo``); each domain package adds its own
through a ``register(subparsers)`` function in a ``commands`` module listed in ``COMMAND_MODULES``.
Heavy imports (pandas, papermill, numba) happen inside the handlers, so ``sopkit --help`` stays fast.
Every :class:`~sopkit.errors.SopkitError` is printed as one line on stderr with exit status 2
(1 for a run that started and failed), never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from sopkit import __version__
from sopkit.errors import ParameterError, RunFailed, SopkitError

#: Domain modules that add subcommands; a module missing from an installation is skipped.
COMMAND_MODULES = ("sopkit.capture.commands", "sopkit.capture.meta_commands", "sopkit.logs.commands")


def _cmd_run(args: argparse.Namespace) -> int:
    from sopkit.params import load_parameters_file, parse_override
    from sopkit.runner import run_notebook

    params: dict = {}
    sources = []
    if args.parameters:
        params.update(load_parameters_file(Path(args.parameters)))
        sources.append(str(args.parameters))
    for key, value in args.param or []:
        params.update([parse_override(key, value)])
        sources.append(f"-p {key}")
    result = run_notebook(
        Path(args.notebook),
        params,
        params_source=" + ".join(sources) or "parameters",
        outputs=Path(args.outputs),
        job=args.job,
        timeout=None if args.timeout <= 0 else args.timeout,
        render=not args.no_render,
        progress=not args.quiet,
    )
    if args.pdf and result.html:
        from sopkit.report.render import render_pdf

        render_pdf(result.html)
    print(result.run_dir)
    if result.html:
        print(result.html)
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from sopkit.report.render import render_html, render_pdf

    html = render_html(Path(args.notebook), Path(args.output) if args.output else None, with_code=args.with_code)
    print(html)
    if args.pdf:
        print(render_pdf(html))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from sopkit.jobs import run_demo

    reports = run_demo(outputs=Path(args.outputs), seed=args.seed, scale=args.scale, pdf=args.pdf)
    print("Reports:")
    for path in reports:
        print(f"  {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (core subcommands plus those the domain packages register)."""
    parser = argparse.ArgumentParser(
        prog="sopkit", description="Security-monitoring SOPs as notebooks and reports (traffic data, electronic systems)."
    )
    parser.add_argument("--version", action="version", version=f"sopkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run a notebook with parameters into outputs/<date>/<job>-<time>/",
                         description="Validate parameters, execute NOTEBOOK with papermill, render its HTML report.")
    run.add_argument("notebook", help="the .ipynb to run (it must have a cell tagged 'parameters')")
    run.add_argument("-f", "--parameters", metavar="PARAMS.yaml", help="YAML file of parameter values")
    run.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"),
                     help="set one parameter (YAML scalar: 5 is a number, true a boolean); repeatable")
    run.add_argument("-o", "--outputs", default="outputs", help="root folder of run folders (default: outputs)")
    run.add_argument("--job", help="job name used in the run folder (default: the notebook's name)")
    run.add_argument("--timeout", type=float, default=1800, help="per-cell execution timeout in seconds (0: none)")
    run.add_argument("--no-render", action="store_true", help="execute only, no HTML report")
    run.add_argument("--pdf", action="store_true", help="also print the report to PDF with headless Chromium")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    render = sub.add_parser("render", help="render an executed notebook to an HTML (and PDF) report",
                            description="Render EXECUTED.ipynb to a self-contained, script-free HTML report.")
    render.add_argument("notebook", metavar="EXECUTED.ipynb")
    render.add_argument("-o", "--output", help="HTML path (default: beside the notebook)")
    render.add_argument("--pdf", action="store_true", help="also print to PDF with headless Chromium")
    render.add_argument("--with-code", action="store_true", help="show the code cells (hidden by default)")
    render.set_defaults(func=_cmd_render)

    demo = sub.add_parser("demo", help="generate a monitoring day and run every notebook on it",
                          description="Generate a realistic office-network day (captures and logs with planted "
                                      "attacks), run every notebook on it and render the reports.")
    demo.add_argument("-o", "--outputs", default="outputs", help="root folder (default: outputs)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the generated day (default: 7)")
    demo.add_argument("--scale", type=float, default=1.0, help="background traffic volume factor (default: 1)")
    demo.add_argument("--pdf", action="store_true", help="also print PDFs (needs Chromium)")
    demo.set_defaults(func=_cmd_demo)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sopkit`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RunFailed as exc:
        print(f"sopkit: error: {exc}", file=sys.stderr)
        return 1
    except ParameterError as exc:
        print(f"sopkit: parameter error: {exc}", file=sys.stderr)
        return 2
    except SopkitError as exc:
        print(f"sopkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sopkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
