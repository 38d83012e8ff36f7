"""Approvals: who must initial (*paraf*) and sign (*tanda tangan*) a report, and the block that shows it."""
