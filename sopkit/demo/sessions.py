"""Generation context and whole-session helpers (DNS exchange, TLS session, HTTP session).

A :class:`Ctx` carries everything one generated day accumulates — frames for the pcap, auth.log
records, access.log records and Suricata eve events — so the background and attack generators
only describe *what* happens and these helpers make the packets and the matching log lines
agree (same addresses, ports, times, sizes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sopkit.demo import appproto
from sopkit.demo.network import WEB, WEB_HOSTNAME, Day
from sopkit.demo.packets import FrameSink, TcpConversation, ephemeral_port, udp_datagram


@dataclass
class WebRequest:
    """One HTTP request/response pair as the web server (and its access.log) sees it."""

    method: str
    target: str
    ua: str
    status: int = 200
    size: int = 0
    referer: str = ""
    content_type: str = "text/html; charset=UTF-8"
    body: bytes = b""
    host: str = WEB_HOSTNAME


@dataclass
class Ctx:
    """Accumulators of one generated day."""

    day: Day
    rng: np.random.Generator
    sink: FrameSink = field(default_factory=FrameSink)
    auth: list[tuple[int, str, str, int, str]] = field(default_factory=list)
    access: list[tuple[int, str, WebRequest]] = field(default_factory=list)
    eve: list[tuple[int, dict]] = field(default_factory=list)
    eve_sample: float = 0.2

    def flow_id(self) -> int:
        return int(self.rng.integers(10**14, 2**51))

    def sampled(self) -> bool:
        return bool(self.rng.random() < self.eve_sample)

    def eve_event(self, ts_ns: int, event_type: str, src: str, sport: int, dst: str, dport: int, proto: str,
                  flow_id: int, body: dict) -> None:
        ev = {"event_type": event_type, "flow_id": flow_id, "in_iface": "ens192", "src_ip": src,
              "src_port": sport, "dest_ip": dst, "dest_port": dport, "proto": proto}
        ev.update(body)
        self.eve.append((int(ts_ns), ev))

    def alert(self, ts_ns: int, src: str, sport: int, dst: str, dport: int, proto: str, sid: int, rev: int,
              signature: str, category: str, severity: int, *, flow_id: int | None = None,
              app: dict | None = None) -> None:
        """A Suricata ``alert`` event for signature ``sid`` (always logged, never sampled)."""
        body = {"alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": rev, "signature": signature,
                          "category": category, "severity": severity}}
        body.update(app or {})
        self.eve_event(ts_ns, "alert", src, sport, dst, dport, proto, flow_id or self.flow_id(), body)

    def flow_event(self, conv: TcpConversation, flow_id: int, app_proto: str = "failed") -> None:
        """Suricata ``flow`` record for a finished TCP conversation."""
        st = conv.stats
        fl = st.flags_orig | st.flags_resp
        body = {"app_proto": app_proto, "flow": {
            "pkts_toserver": st.orig_pkts, "pkts_toclient": st.resp_pkts, "bytes_toserver": st.orig_bytes,
            "bytes_toclient": st.resp_bytes, "start": self.day.suricata_time(st.start_ns),
            "end": self.day.suricata_time(st.end_ns), "age": int((st.end_ns - st.start_ns) // 10**9),
            "state": st.state, "reason": "timeout", "alerted": False},
            "tcp": {"tcp_flags": f"{fl:02x}", "tcp_flags_ts": f"{st.flags_orig:02x}",
                    "tcp_flags_tc": f"{st.flags_resp:02x}", "syn": bool(fl & 2), "fin": bool(fl & 1),
                    "rst": bool(fl & 4), "psh": bool(fl & 8), "ack": bool(fl & 16), "state": st.state}}
        self.eve_event(st.end_ns + 60 * 10**9, "flow", conv.c, conv.sport, conv.s, conv.dport, "TCP",
                       flow_id, body)


def dns_exchange(ctx: Ctx, t_ns: int, client: str, server: str, name: str, qtype: str, answers: list,
                 *, sport: int | None = None, delay_ns: int = 800_000, ttl: int = 300, rcode: int = 0,
                 client_ttl: int = 128) -> int:
    """Query from ``client`` to ``server``:53 and its answer after ``delay_ns``; returns the answer time."""
    rng = ctx.rng
    qid = int(rng.integers(0, 65536))
    sport = sport or ephemeral_port(rng)
    q = appproto.dns_query(qid, name, qtype)
    r = appproto.dns_response(qid, name, qtype, answers, ttl=ttl, rcode=rcode)
    sink = ctx.sink
    sink.add(t_ns, udp_datagram(client, server, sport, 53, q, ttl=client_ttl, ip_id=sink.next_ip_id(client)))
    t_ans = t_ns + delay_ns
    sink.add(t_ans, udp_datagram(server, client, 53, sport, r, ttl=64, ip_id=sink.next_ip_id(server)))
    if ctx.sampled():
        fid = ctx.flow_id()
        ctx.eve_event(t_ns, "dns", client, sport, server, 53, "UDP", fid,
                      {"dns": {"version": 2, "type": "query", "id": qid, "rrname": name, "rrtype": qtype,
                               "tx_id": 0, "opcode": 0}})
        ans = {"version": 2, "type": "answer", "id": qid, "flags": "8180", "qr": True, "rd": True, "ra": True,
               "opcode": 0, "rrname": name, "rrtype": qtype, "rcode": "NOERROR" if rcode == 0 else "NXDOMAIN"}
        if answers:
            ans["answers"] = [{"rrname": name, "rrtype": qtype, "ttl": ttl,
                               "rdata": a if isinstance(a, str) else b"".join(a).decode("latin-1")} for a in answers]
        ctx.eve_event(t_ans, "dns", server, 53, client, sport, "UDP", fid, {"dns": ans})
    return t_ans


def tls_session(ctx: Ctx, t_ns: int, client: str, server: str, sni: str, profile: str,
                transfers: list[tuple[int, int]], *, dport: int = 443, rtt_ns: int = 25_000_000,
                sport: int | None = None, think_ns: float = 500_000_000, gap_ns: float = 80_000,
                rst: bool = False, client_ttl: int = 128, server_ttl: int = 52) -> TcpConversation:
    """Full TLS connection: handshake, hellos, then ``(bytes_up, bytes_down)`` application exchanges."""
    rng = ctx.rng
    conv = TcpConversation(ctx.sink, rng, client, sport or ctx.sink.port(client, rng), server, dport, t_ns,
                           rtt_ns=rtt_ns, client_ttl=client_ttl, server_ttl=server_ttl)
    conv.handshake()
    ch, ja3 = appproto.client_hello(rng, sni, profile)
    sh, ja3s, version = appproto.server_hello(rng, profile, cert_len=int(rng.integers(1800, 4200)))
    conv.exchange(ch, sh, server_ns=1_500_000, gap_ns=gap_ns)
    conv.send(client, appproto.client_finish(rng, profile), think_ns=300_000)
    for i, (up, down) in enumerate(transfers):
        conv.exchange(appproto.app_data(rng, up), appproto.app_data(rng, down),
                      think_ns=think_ns * float(rng.exponential(1.0)) if i else 1_000_000, gap_ns=gap_ns,
                      server_ns=float(rng.uniform(3e6, 40e6)))
    conv.reset() if rst else conv.close()
    if ctx.sampled():
        fid = ctx.flow_id()
        ctx.eve_event(conv.stats.start_ns + 2 * rtt_ns, "tls", client, conv.sport, server, dport, "TCP", fid,
                      {"tls": {"sni": sni, "version": version,
                               "ja3": {"hash": appproto.ja3_hash(ja3), "string": ja3},
                               "ja3s": {"hash": appproto.ja3_hash(ja3s), "string": ja3s}}})
        ctx.flow_event(conv, fid, "tls")
    return conv


def http_session(ctx: Ctx, t_ns: int, client: str, server: str, requests: list[WebRequest], *,
                 tls: bool = False, rtt_ns: int = 40_000_000, sport: int | None = None,
                 think_ns: float = 3_000_000_000, client_ttl: int = 116, profile: str = "chrome",
                 log_access: bool = True, rst: bool = False) -> TcpConversation:
    """Keep-alive HTTP (cleartext, or inside TLS when ``tls``) carrying ``requests``; logs to access.log."""
    rng = ctx.rng
    dport = 443 if tls else 80
    conv = TcpConversation(ctx.sink, rng, client, sport or ctx.sink.port(client, rng), server, dport, t_ns,
                           rtt_ns=rtt_ns, client_ttl=client_ttl, server_ttl=64)
    conv.handshake()
    if tls:
        ch, _ = appproto.client_hello(rng, requests[0].host, profile)
        sh, _, _ = appproto.server_hello(rng, profile, cert_len=2900)
        conv.exchange(ch, sh, server_ns=1_200_000)
        conv.send(client, appproto.client_finish(rng, profile), think_ns=200_000)
    fid = ctx.flow_id()
    sampled = ctx.sampled()
    for i, req in enumerate(requests):
        raw = appproto.http_request(req.method, req.host, req.target, req.ua, referer=req.referer, body=req.body)
        t_req = conv.t + (int(think_ns * float(rng.exponential(1.0))) if i else 1_000_000)
        resp = appproto.http_response(rng, req.status, req.size, req.content_type, when_ns=t_req)
        if tls:
            raw, resp = appproto.app_data(rng, len(raw)), appproto.app_data(rng, len(resp))
        conv.exchange(raw, resp, think_ns=t_req - conv.t, server_ns=float(rng.uniform(2e6, 60e6)))
        if log_access and server == WEB:
            ctx.access.append((t_req, client, req))
        if sampled and not tls:
            ctx.eve_event(conv.t, "http", client, conv.sport, server, dport, "TCP", fid, {
                "tx_id": i, "http": {"hostname": req.host, "url": req.target, "http_user_agent": req.ua,
                                     "http_content_type": req.content_type.split(";")[0],
                                     "http_refer": req.referer or None, "http_method": req.method,
                                     "protocol": "HTTP/1.1", "status": req.status, "length": req.size}})
    conv.reset() if rst else conv.close(initiator=server if not tls and rng.random() < 0.5 else client)
    if sampled:
        ctx.flow_event(conv, fid, "tls" if tls else "http")
    return conv
