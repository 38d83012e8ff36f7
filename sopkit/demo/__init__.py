"""Demo day: a whole monitoring day of a small Indonesian regional-government office network.

:func:`generate_day` writes ``traffic.pcap``, ``auth.log``, ``access.log``, ``eve.json`` and the
ground truth ``labels.json``; see :mod:`sopkit.demo.network` for the address plan.
"""

from sopkit.demo.day import DemoDataset, generate_day

__all__ = ["DemoDataset", "generate_day"]
