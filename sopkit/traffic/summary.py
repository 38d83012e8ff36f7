"""Traffic statistics from the flow table: who talks most, which protocols, how much, when.

Inputs are sopkit flow tables (Zeek conn.log columns: ``ts_ns``, ``id.orig_h``, ``id.resp_h``,
``id.resp_p``, ``proto``, ``duration``, ``orig_ip_bytes``, ``resp_ip_bytes``, ``orig_pkts``,
``resp_pkts``). Internal vs external is decided by the office's local networks, not by
``local_orig``/``local_resp`` of a particular run, so the same flows can be re-judged with other
networks. All functions are vectorized with pandas/numpy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import numpy as np
import pandas as pd

DEFAULT_LOCAL_NETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
DIRECTIONS = ("internal", "outbound", "inbound", "external")


def is_local(addresses: pd.Series, local_nets: Sequence[str] = DEFAULT_LOCAL_NETS) -> pd.Series:
    """Boolean Series: is each address inside one of ``local_nets``? (Each distinct address is tested once.)"""
    nets = [ipaddress.ip_network(n, strict=False) for n in local_nets]
    uniques = pd.unique(addresses.astype("string").fillna(""))
    verdict = {}
    for text in uniques:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            verdict[text] = False
            continue
        verdict[text] = any(addr.version == n.version and addr in n for n in nets)
    return addresses.astype("string").fillna("").map(verdict).astype(bool)


def with_direction(flows: pd.DataFrame, local_nets: Sequence[str] = DEFAULT_LOCAL_NETS) -> pd.DataFrame:
    """Add ``bytes`` (both directions, IP bytes), ``packets`` and ``direction`` (internal/outbound/inbound/external)."""
    lo = is_local(flows["id.orig_h"], local_nets)
    lr = is_local(flows["id.resp_h"], local_nets)
    direction = np.select([lo & lr, lo & ~lr, ~lo & lr], DIRECTIONS[:3], default=DIRECTIONS[3])
    return flows.assign(
        bytes=flows["orig_ip_bytes"].fillna(0).astype("int64") + flows["resp_ip_bytes"].fillna(0).astype("int64"),
        packets=flows["orig_pkts"].fillna(0).astype("int64") + flows["resp_pkts"].fillna(0).astype("int64"),
        direction=direction, orig_local=lo.to_numpy(), resp_local=lr.to_numpy(),
    )


def _sides(flows: pd.DataFrame, local_nets: Sequence[str]) -> pd.DataFrame:
    """Each connection twice, once from each end: host, peer, bytes sent/received, role, time."""
    f = with_direction(flows, local_nets)
    sent_o = f["orig_ip_bytes"].fillna(0).astype("int64")
    sent_r = f["resp_ip_bytes"].fillna(0).astype("int64")
    return pd.concat([
        pd.DataFrame({"host": f["id.orig_h"], "peer": f["id.resp_h"], "sent": sent_o, "received": sent_r,
                      "packets": f["packets"], "local": f["orig_local"], "peer_local": f["resp_local"],
                      "originated": True, "port": f["id.resp_p"], "ts_ns": f["ts_ns"]}),
        pd.DataFrame({"host": f["id.resp_h"], "peer": f["id.orig_h"], "sent": sent_r, "received": sent_o,
                      "packets": f["packets"], "local": f["resp_local"], "peer_local": f["orig_local"],
                      "originated": False, "port": f["id.resp_p"], "ts_ns": f["ts_ns"]}),
    ], ignore_index=True)


def top_talkers(flows: pd.DataFrame, by: str = "bytes", n: int = 10,
                local_nets: Sequence[str] = DEFAULT_LOCAL_NETS) -> pd.DataFrame:
    """Hosts ranked by ``bytes``, ``packets`` or ``flows``, counting both directions of their connections.

    Columns: host, local, bytes, bytes_sent, bytes_received, packets, flows, peers.
    """
    if by not in ("bytes", "packets", "flows"):
        raise ValueError(f"by must be bytes, packets or flows, not {by!r}")
    sides = _sides(flows, local_nets)
    g = sides.groupby("host", sort=False)
    out = pd.DataFrame({
        "local": g["local"].first(),
        "bytes_sent": g["sent"].sum(),
        "bytes_received": g["received"].sum(),
        "packets": g["packets"].sum(),
        "flows": g.size(),
        "peers": g["peer"].nunique(),
    })
    out.insert(1, "bytes", out["bytes_sent"] + out["bytes_received"])
    return out.sort_values(by, ascending=False, kind="stable").head(n).reset_index()


def service_mix(flows: pd.DataFrame, n: int = 15) -> pd.DataFrame:
    """Traffic per (protocol, responder port) — the port mix — with flows, bytes and share of bytes."""
    f = flows.assign(bytes=flows["orig_ip_bytes"].fillna(0) + flows["resp_ip_bytes"].fillna(0))
    g = f.groupby(["proto", "id.resp_p"], sort=False)
    out = pd.DataFrame({"flows": g.size(), "bytes": g["bytes"].sum().astype("int64"),
                        "hosts": g["id.orig_h"].nunique()}).reset_index()
    total = out["bytes"].sum()
    out["share"] = out["bytes"] / total if total else 0.0
    out = out.rename(columns={"id.resp_p": "port"})
    return out.sort_values("bytes", ascending=False, kind="stable").head(n).reset_index(drop=True)


def direction_mix(flows: pd.DataFrame, local_nets: Sequence[str] = DEFAULT_LOCAL_NETS) -> pd.DataFrame:
    """Flows, bytes and packets per direction (internal, outbound, inbound, external)."""
    f = with_direction(flows, local_nets)
    g = f.groupby("direction")
    out = pd.DataFrame({"flows": g.size(), "bytes": g["bytes"].sum(), "packets": g["packets"].sum()})
    return out.reindex(list(DIRECTIONS), fill_value=0).reset_index()


def bandwidth(flows: pd.DataFrame, freq: str = "10min") -> pd.Series:
    """Bytes per interval (UTC index), each flow's bytes spread evenly over its duration.

    A flow summary has no per-packet times, so a long transfer is assumed steady: that is what makes
    a one-hour upload show as a plateau rather than a spike at its start.
    """
    if flows.empty:
        return pd.Series(dtype="float64", name="bytes")
    step = pd.Timedelta(freq).value
    start = flows["ts_ns"].to_numpy(dtype="int64")
    dur = (flows["duration"].astype("float64").fillna(0.0).to_numpy() * 1e9).astype("int64")
    end = start + dur
    size = (flows["orig_ip_bytes"].fillna(0) + flows["resp_ip_bytes"].fillna(0)).to_numpy(dtype="float64")
    origin = start.min() // step * step
    first_bin = (start - origin) // step
    last_bin = (end - origin) // step
    nbins = int(last_bin.max()) + 1
    totals = np.zeros(nbins)
    single = first_bin == last_bin
    np.add.at(totals, first_bin[single], size[single])
    for i in np.flatnonzero(~single):  # long flows: few, spread over the bins they overlap
        edges = origin + np.arange(first_bin[i], last_bin[i] + 2) * step
        overlap = np.minimum(edges[1:], end[i]) - np.maximum(edges[:-1], start[i])
        totals[first_bin[i]:last_bin[i] + 1] += size[i] * overlap / max(end[i] - start[i], 1)
    index = pd.to_datetime(origin + np.arange(nbins) * step, unit="ns", utc=True)
    return pd.Series(totals, index=index, name="bytes")


def host_summary(flows: pd.DataFrame, local_nets: Sequence[str] = DEFAULT_LOCAL_NETS) -> pd.DataFrame:
    """Per local host: connections it opened and received, bytes sent and received (both roles),
    distinct external peers, distinct destination ports it connected to, first and last seen."""
    sides = _sides(flows, local_nets)
    sides = sides[sides["local"]]
    opened = sides[sides["originated"]]
    g = sides.groupby("host")
    summary = pd.DataFrame({
        "flows_opened": opened.groupby("host").size(),
        "flows_received": sides[~sides["originated"]].groupby("host").size(),
        "bytes_sent": g["sent"].sum(),
        "bytes_received": g["received"].sum(),
        "external_peers": sides[~sides["peer_local"]].groupby("host")["peer"].nunique(),
        "dst_ports": opened.groupby("host")["port"].nunique(),
    }).fillna(0).astype("int64")
    summary["first_seen"] = pd.to_datetime(g["ts_ns"].min(), unit="ns", utc=True)
    summary["last_seen"] = pd.to_datetime(g["ts_ns"].max(), unit="ns", utc=True)
    summary.index.name = "host"
    return summary.sort_values("bytes_sent", ascending=False, kind="stable").reset_index()
