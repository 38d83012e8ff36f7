"""Demo day: a whole monitoring day of a small Indonesian regional-government office network.

:func:`generate_day` writes, deterministically for a seed, into one folder:

* ``traffic.pcap`` — Ethernet/IPv4 capture in UTC of LAN 10.20.0.0/16: 40 workstations in
  10.20.10.0/24; servers in 10.20.1.0/24 (resolver .53, domain controller .10, file server .20,
  NTP .123, public web server .80 with SSH); external sites in 198.18.0.0/15; internet visitors
  from Indonesian access-network prefixes; attackers in the TEST-NET ranges
  (full plan: :mod:`sopkit.demo.network`);
* ``auth.log`` (web01 syslog), ``access.log`` (Apache combined), ``eve.json`` (Suricata);
* ``labels.json`` — ground truth of the planted attacks, for scoring only.

``python -m sopkit.demo OUT_DIR`` does the same from the command line.
"""

from sopkit.demo.day import DemoDataset, generate_day

__all__ = ["DemoDataset", "generate_day"]
