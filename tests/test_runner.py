from __future__ import annotations

import json
import os

import pytest
import yaml
from nbutil import make_notebook

from sopkit.errors import ParameterError, RunFailed
from sopkit.runner import INCOMPLETE_SUFFIX, reap_stale_runs, run_notebook

PARAMS = 'name = "world"  # who to greet\nrepeat = 2\ndata = ""  # input: a data file\n'


def test_successful_run_folder(tmp_path):
    nb = make_notebook(tmp_path / "hello.ipynb", PARAMS,
                       "import pandas as pd\npd.DataFrame({'greeting': [f'hello {name}'] * repeat})",
                       "from sopkit.runner import current_run\nprint('run:', *current_run())")
    data = tmp_path / "data.txt"
    data.write_text("abc")
    result = run_notebook(nb, {"name": "Jayapura", "data": str(data)}, outputs=tmp_path / "out")
    run_dir = result.run_dir
    assert run_dir.parent.parent == tmp_path / "out"
    assert run_dir.name.startswith("hello-") and not run_dir.name.endswith(INCOMPLETE_SUFFIX)
    assert sorted(p.name for p in run_dir.iterdir()) == ["hello.html", "hello.ipynb", "parameters.yaml", "run.json"]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "success" and record["error"] is None
    assert record["inputs"] == {str(data): "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
    assert record["started_utc"] <= record["ended_utc"]
    assert len(record["parameters_sha256"]) == 64
    assert yaml.safe_load((run_dir / "parameters.yaml").read_text()) == {"name": "Jayapura", "data": str(data)}
    assert "hello Jayapura" in (run_dir / "hello.html").read_text()
    assert f"run: {run_dir.name} {run_dir}.incomplete" in (run_dir / "hello.html").read_text()


def test_failing_cell_keeps_partial_notebook(tmp_path):
    nb = make_notebook(tmp_path / "boom.ipynb", PARAMS, "print('before')", "raise ValueError('no data today')",
                       "print('never')")
    with pytest.raises(RunFailed, match="ValueError: no data today") as info:
        run_notebook(nb, {}, outputs=tmp_path / "out")
    run_dir = info.value.run_dir
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "failed"
    assert "no data today" in record["error"]
    executed = json.loads((run_dir / "boom.ipynb").read_text())
    texts = ["".join(o.get("text", "")) for c in executed["cells"] if c["cell_type"] == "code"
             for o in c.get("outputs", [])]
    assert "before\n" in texts
    assert not any("never" in t for t in texts)


def test_kernel_crash_is_a_failed_run(tmp_path):
    nb = make_notebook(tmp_path / "crash.ipynb", PARAMS, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(RunFailed) as info:
        run_notebook(nb, {}, outputs=tmp_path / "out", timeout=60)
    record = json.loads((info.value.run_dir / "run.json").read_text())
    assert record["status"] == "failed"
    assert "died" in record["error"].lower() or "dead" in record["error"].lower()


def test_timeout_fails_the_run(tmp_path):
    nb = make_notebook(tmp_path / "slow.ipynb", PARAMS, "import time\ntime.sleep(30)")
    with pytest.raises(RunFailed) as info:
        run_notebook(nb, {}, outputs=tmp_path / "out", timeout=2)
    record = json.loads((info.value.run_dir / "run.json").read_text())
    assert record["status"] == "failed" and "timed out" in record["error"].lower()


def test_bad_parameters_fail_before_any_folder(tmp_path):
    nb = make_notebook(tmp_path / "hello.ipynb", PARAMS, "print(name)")
    with pytest.raises(ParameterError, match="unknown parameter 'nmae'"):
        run_notebook(nb, {"nmae": "x"}, outputs=tmp_path / "out")
    with pytest.raises(ParameterError, match="input file not found"):
        run_notebook(nb, {"data": "absent.csv"}, outputs=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_same_second_runs_get_distinct_folders(tmp_path):
    nb = make_notebook(tmp_path / "quick.ipynb", PARAMS, "1 + 1")
    a = run_notebook(nb, {}, outputs=tmp_path / "out", render=False)
    b = run_notebook(nb, {}, outputs=tmp_path / "out", render=False)
    assert a.run_dir != b.run_dir and a.run_dir.is_dir() and b.run_dir.is_dir()


def test_killed_run_is_reaped_as_failed(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / "out" / "2026-11-24" / ("traffic-080000" + INCOMPLETE_SUFFIX)
    stale.mkdir(parents=True)
    (stale / "run.json").write_text(json.dumps({"status": "running", "pid": pid, "run_id": "traffic-080000"}))
    alive = tmp_path / "out" / "2026-11-24" / ("traffic-090000" + INCOMPLETE_SUFFIX)
    alive.mkdir()
    (alive / "run.json").write_text(json.dumps({"status": "running", "pid": os.getpid()}))
    assert reap_stale_runs(tmp_path / "out") == [stale.with_name("traffic-080000")]
    record = json.loads((stale.with_name("traffic-080000") / "run.json").read_text())
    assert record["status"] == "failed" and f"pid {pid}" in record["error"]
    assert alive.is_dir(), "a run whose process still lives is left alone"


def test_interactive_cells_are_skipped_and_kept_for_the_analyst(tmp_path):
    nb = make_notebook(tmp_path / "drill.ipynb", PARAMS, "print('report part')",
                       "import time\ntime.sleep(3600)  # a widget waiting for a person",
                       "print('after')", tags={1: ["interactive"]})
    result = run_notebook(nb, {"name": "x"}, outputs=tmp_path / "out", timeout=30)
    executed = json.loads(result.notebook.read_text())
    sources = ["".join(c["source"]) for c in executed["cells"]]
    drill = next(c for c in executed["cells"] if "time.sleep(3600)" in "".join(c["source"]))
    assert drill["metadata"]["tags"] == ["interactive"] and not drill.get("outputs")
    assert sources.index("".join(drill["source"])) == sources.index("print('report part')") + 1
    html = result.html.read_text()
    assert "report part" in html and "after" in html and "sleep" not in html
