"""Shared pytest fixtures: where the conformance corpus lives, and skips when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SOPKIT_SHARED", REPO.parent / "shared")).resolve()
CONFORMANCE = SHARED / "conformance"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """Path of ``shared/conformance``; skips the test with the reason when it is not there."""
    if not (CONFORMANCE / "README.md").is_file():
        pytest.skip(f"conformance corpus not found at {CONFORMANCE} (set SOPKIT_SHARED to its parent)")
    return CONFORMANCE


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory) -> tuple[Path, list[Path]]:
    """Run ``sopkit demo`` once per test session: (outputs folder, report paths).

    Notebooks run with default (empty) inputs find the same generated day through ``SOPKIT_CACHE``.
    """
    from sopkit.jobs import run_demo

    outputs = tmp_path_factory.mktemp("demo") / "outputs"
    os.environ["SOPKIT_CACHE"] = str(outputs / "demo-data")
    reports = run_demo(outputs=outputs)
    return outputs, reports


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """A Chromium executable; skips (or fails, when SOPKIT_REQUIRE_BROWSER is set, as in CI) without one."""
    from sopkit.report.render import find_chromium

    path = find_chromium()
    if path is None:
        reason = "no Chromium found (apt-get install chromium, or set SOPKIT_CHROMIUM)"
        if os.environ.get("SOPKIT_REQUIRE_BROWSER"):
            pytest.fail(reason + ", but SOPKIT_REQUIRE_BROWSER is set")
        pytest.skip(reason)
    return path
