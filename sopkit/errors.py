"""Exception hierarchy: one root, :class:`SopkitError`, with a subclass per kind of failure.

Every message names the file (and key, line or byte offset) at fault, so the CLI can print it
as-is and exit non-zero without a traceback.
"""

from __future__ import annotations


class SopkitError(Exception):
    """Root of every error sopkit raises on purpose."""


class ParameterError(SopkitError):
    """A parameters file or ``-p`` override is invalid (bad YAML, unknown key, wrong type, missing file)."""


class NotebookError(SopkitError):
    """A notebook is missing, unreadable or lacks a ``parameters`` cell."""


class RunFailed(SopkitError):
    """A notebook run started but did not complete; the run folder records why."""

    def __init__(self, message: str, run_dir: object | None = None) -> None:
        super().__init__(message)
        self.run_dir = run_dir


class RenderError(SopkitError):
    """An executed notebook could not be turned into a report (HTML or PDF)."""


class CaptureError(SopkitError):
    """A file is not a readable packet capture (wrong magic, unreadable header)."""


class LogFormatError(SopkitError):
    """A log file could not be read in the requested or sniffed format."""
