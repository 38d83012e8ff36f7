"""Small generated traffic tables for the detector unit tests (columns as analyze_captures makes them)."""

from __future__ import annotations

import pandas as pd

from sopkit.capture.analyze import CLEARTEXT_COLUMNS, ICMP_COLUMNS, TrafficTables
from sopkit.capture.dns import COLUMNS as DNS_COLUMNS
from sopkit.capture.flows import COLUMNS as FLOW_COLUMNS
from sopkit.capture.http import COLUMNS as HTTP_COLUMNS
from sopkit.capture.tls import COLUMNS as TLS_COLUMNS

T0 = 1_795_000_000.0


def flow(ts: float, src: str, sport: int, dst: str, dport: int, *, proto: str = "tcp", state: str = "SF",
         history: str = "ShADadFf", ob: int | None = 100, rb: int | None = 1000, op: int = 5, rp: int = 5,
         duration: float = 1.0) -> dict:
    return {"ts": ts, "ts_ns": int(ts * 1e9), "uid": f"C{ts}{src}{sport}{dport}", "id.orig_h": src, "id.orig_p": sport,
            "id.resp_h": dst, "id.resp_p": dport, "proto": proto, "conn_state": state, "history": history,
            "orig_bytes": ob, "resp_bytes": rb, "orig_pkts": op, "resp_pkts": rp, "orig_ip_bytes": (ob or 0) + 40 * op,
            "resp_ip_bytes": (rb or 0) + 40 * rp, "duration": duration}


def tables(flows: list[dict] = (), dns: list[dict] = (), http: list[dict] = (), icmp: list[dict] = (),
           cleartext: list[dict] = (), tls: list[dict] = (), stats: dict | None = None) -> TrafficTables:
    def frame(rows, cols):
        df = pd.DataFrame(list(rows), columns=cols)
        for c in ("orig_bytes", "resp_bytes"):
            if c in df:
                df[c] = df[c].astype("Int64")
        return df
    return TrafficTables(flows=frame(flows, FLOW_COLUMNS), dns=frame(dns, DNS_COLUMNS), http=frame(http, HTTP_COLUMNS),
                         tls=frame(tls, TLS_COLUMNS), icmp=frame(icmp, ICMP_COLUMNS),
                         cleartext=frame(cleartext, CLEARTEXT_COLUMNS), stats=stats or {})


def dns(ts: float, client: str, query: str, qtype: str = "A") -> dict:
    return {"ts": ts, "ts_ns": int(ts * 1e9), "id.orig_h": client, "id.orig_p": 5000, "id.resp_h": "10.0.0.53",
            "id.resp_p": 53, "proto": "udp", "service": "dns", "query": query, "qtype_name": qtype,
            "query_len": len(query), "max_label_len": max(len(x) for x in query.split("."))}


def http(ts: float, client: str, uri: str, agent: str = "Mozilla/5.0", status: int = 404) -> dict:
    return {"ts": ts, "ts_ns": int(ts * 1e9), "id.orig_h": client, "id.orig_p": 40000, "id.resp_h": "10.0.0.80",
            "id.resp_p": 80, "method": "GET", "host": "www.example.go.id", "uri": uri, "user_agent": agent,
            "status_code": status, "username": None, "password_present": False}
