from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from nbutil import make_notebook

from sopkit import __version__
from sopkit.cli import main

PARAMS = 'name = "world"  # who\nrepeat = 1\n'


def sopkit(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sopkit.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_version_and_help():
    out = sopkit("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"sopkit {__version__}"
    for command in ("run", "render", "demo"):
        res = sopkit(command, "--help")
        assert res.returncode == 0, res.stderr
        assert f"usage: sopkit {command}" in res.stdout


def test_run_and_render_from_the_command_line(tmp_path, capsys):
    nb = make_notebook(tmp_path / "greet.ipynb", PARAMS, "print('halo', name)")
    params = tmp_path / "p.yaml"
    params.write_text("name: Makassar\n")
    assert main(["run", str(nb), "-f", str(params), "-p", "repeat", "3", "-o", str(tmp_path / "out"), "-q"]) == 0
    run_dir, html = capsys.readouterr().out.split()
    record = json.loads((Path(run_dir) / "run.json").read_text())
    assert html == f"{run_dir}/greet.html"
    assert record["parameters"] == {"name": "Makassar", "repeat": 3}
    assert main(["render", f"{run_dir}/greet.ipynb", "-o", str(tmp_path / "code.html"), "--with-code"]) == 0
    code_html = (tmp_path / "code.html").read_text()
    assert "print" in code_html and "halo Makassar" in code_html
    plain = Path(html).read_text()
    assert "halo Makassar" in plain and "print(" not in plain


@pytest.mark.parametrize(
    ("setup", "args", "message", "status"),
    [
        (None, ["run", "{tmp}/absent.ipynb"], "absent.ipynb: notebook not found", 2),
        ("nb", ["run", "{tmp}/greet.ipynb", "-f", "{tmp}/absent.yaml"], "absent.yaml: parameters file not found", 2),
        ("nb+badyaml", ["run", "{tmp}/greet.ipynb", "-f", "{tmp}/bad.yaml"], "bad.yaml: malformed YAML at line", 2),
        ("nb", ["run", "{tmp}/greet.ipynb", "-p", "nmae", "x"], "-p nmae: unknown parameter 'nmae'", 2),
        ("nb", ["run", "{tmp}/greet.ipynb", "-p", "repeat", "many"], "parameter 'repeat' must be int", 2),
        ("crash", ["run", "{tmp}/crash.ipynb", "-o", "{tmp}/out", "-q"], "failed", 1),
        (None, ["render", "{tmp}/absent.ipynb"], "absent.ipynb: executed notebook not found", 2),
    ],
)
def test_bad_input_messages(tmp_path, setup, args, message, status):
    if setup and setup.startswith("nb"):
        make_notebook(tmp_path / "greet.ipynb", PARAMS, "print(name)")
    if setup == "nb+badyaml":
        (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    if setup == "crash":
        make_notebook(tmp_path / "crash.ipynb", PARAMS, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    res = sopkit(*[a.format(tmp=tmp_path) for a in args])
    assert res.returncode == status, res.stderr
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    if setup == "crash":
        runs = [p for p in (tmp_path / "out").glob("*/*") if p.is_dir()]
        assert len(runs) == 1 and json.loads((runs[0] / "run.json").read_text())["status"] == "failed"
