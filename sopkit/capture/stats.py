"""Per-file reading statistics shared by the pcap and pcapng readers.

Every reader reports what it read and what it skipped, so nothing is lost silently: damaged
records, cut files and unknown blocks end up as counted entries or warning strings (with the
byte offset) that the notebooks show next to the results.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CaptureStats:
    """What a capture reader saw in one file."""

    path: str = ""
    format: str = ""  #: "pcap", "pcap-ns", "pcapng" (with "+gzip" when compressed)
    records: int = 0  #: packet records yielded
    bytes: int = 0  #: captured bytes yielded (sum of caplen)
    truncated_records: int = 0  #: records with caplen < wirelen (snaplen cut)
    warnings: list[str] = field(default_factory=list)  #: damage, each naming the byte offset
    linktypes: set[int] = field(default_factory=set)  #: link types of the file's interfaces
    skipped: Counter = field(default_factory=Counter)  #: skipped blocks/records by reason

    def merge(self, other: CaptureStats) -> None:
        """Add ``other``'s counts into this one (for multi-file totals)."""
        self.records += other.records
        self.bytes += other.bytes
        self.truncated_records += other.truncated_records
        self.warnings.extend(other.warnings)
        self.linktypes |= other.linktypes
        self.skipped.update(other.skipped)
