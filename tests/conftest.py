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
