"""sopkit — security-monitoring SOPs of Indonesian regional governments as auditable software.

The public surface is small on purpose: the exception root and the version. Domain functions
live in their packages (``sopkit.capture``, ``sopkit.report``, ``sopkit.demo`` …).
"""

from sopkit.errors import SopkitError

__version__ = "0.1.0"

__all__ = ["SopkitError", "__version__"]
