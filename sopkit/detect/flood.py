"""SYN floods and reflection/amplification attacks, from the flow table.

*SYN flood*: per target host:port, connection attempts (the originator sent a SYN) that never
completed a handshake (the originator never acknowledged: no ``A``/``D`` in Zeek's history, i.e.
states S0, S1 ``Sh``, REJ, RSTOS0, SH — a spoofed source never answers the SYN-ACK), at a high rate:
the attack is the set of 10-second bins with at least ``flood_min_rate`` such attempts per second,
so the rest of a day's legitimate traffic to the same service does not dilute it. Many distinct sources that each sent a single attempt are reported as
spoofed-looking (random source addresses, as in ``hping3 --rand-source``).

*Reflection*: a victim receives responses it never asked for — SYN-ACKs or RSTs with no SYN from
it (SYN-ACK reflection / backscatter), or UDP answers from amplifier services (DNS, NTP, SNMP…)
with no request; Zeek's flow table shows these as connections whose originator sent nothing
(``orig_pkts == 0``, flipped history ``^h``/``^r``/``^d``). IP fragments that never completed a
datagram (large DNS answers are fragmented) are counted by the decoder and reported alongside.

*Amplification* (the amplifier's side): clients of a UDP amplifier service that receive many
times the bytes they sent — what a spoofed victim's address looks like from an abused server.
"""

from __future__ import annotations

import pandas as pd

from sopkit.detect.common import FLOW_EVIDENCE, finding, strength
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number

BIN_S = 10.0  #: time bins (s) in which the SYN rate is measured


def detect_syn_flood(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """High-rate unanswered SYNs to one host:port (see module docstring)."""
    f = tables.flows
    f = f[(f["proto"] == "tcp") & f["history"].str.startswith("S")]
    found: list[Finding] = []
    counts = f.groupby(["id.resp_h", "id.resp_p"]).size()
    for (dst, port) in counts[counts >= thresholds.flood_min_syn].index:
        target = f[(f["id.resp_h"] == dst) & (f["id.resp_p"] == port)]
        unanswered = ~target["history"].str.contains("[AD]", regex=True)  # the originator never acknowledged
        # the attack is the set of 10-second bins where unanswered attempts come at the flood rate;
        # legitimate traffic to the same service in the rest of the day does not dilute it
        bins = (target["ts"] // BIN_S).astype("int64")
        per_bin = bins[unanswered].value_counts()
        hot = per_bin[per_bin >= thresholds.flood_min_rate * BIN_S].index
        in_attack = bins.isin(hot)
        rows = target[in_attack & unanswered]
        if len(rows) < thresholds.flood_min_syn:
            continue
        share = len(rows) / int(in_attack.sum())
        if share < thresholds.flood_min_unanswered:
            continue
        span = max(float(rows["ts"].max() - rows["ts"].min()), 1.0)
        rate = len(rows) / (len(hot) * BIN_S)
        per_src = rows.groupby("id.orig_h").size()
        sources = len(per_src)
        single = float((per_src == 1).mean())
        spoofed = sources >= thresholds.flood_spoofed_sources and single >= 0.5
        score = strength(len(rows), thresholds.flood_min_syn) * 0.5 + strength(rate, thresholds.flood_min_rate) * 0.5
        note_id = (f" dari {number(sources)} alamat sumber berbeda ({single:.0%} hanya sekali) — sumber tampak "
                   "dipalsukan"
                   if spoofed else f" dari {number(sources)} alamat sumber")
        note_en = (f" from {sources} distinct sources ({single:.0%} seen once) — the sources look spoofed"
                   if spoofed else f" from {sources} sources")
        found.append(finding(
            "flood.syn", (f"Serangan SYN flood ke {dst}:{port} ({number(len(rows))} percobaan, "
                          f"{number(rate, decimals=0)}/detik)",
                          f"SYN flood on {dst}:{port} ({len(rows)} attempts, {rate:.0f}/s)"), score,
            rows, severity="high", attack="T1498.001,T1499.002",
            entities={"dst_ip": [dst], "dst_port": [int(port)], **({} if spoofed else {"src_ip": list(per_src.index[:20])})},
            counts={"attempts": len(rows), "unanswered_share": share, "rate_per_s": rate, "sources": sources,
                    "single_attempt_sources": single},
            explanation=(f"{number(len(rows))} percobaan koneksi TCP (SYN) ke {dst}:{port} dalam "
                         f"{number(span, decimals=0)} detik "
                         f"({number(rate, decimals=0)}/detik), {share:.0%} tidak pernah menyelesaikan jabat "
                         f"tangan,{note_id}: "
                         "serangan banjir SYN (DoS/DDoS) yang menghabiskan antrean koneksi server.",
                         f"{len(rows)} TCP connection attempts (SYN) to {dst}:{port} in {span:.0f} s ({rate:.0f}/s), "
                         f"{share:.0%} never completed the handshake,{note_en}: a SYN flood (DoS/DDoS) exhausting "
                         "the server's connection backlog."),
            recommendation=("Aktifkan SYN cookies dan pembatasan laju di firewall/penyedia layanan; koordinasikan "
                            "mitigasi DDoS dengan ISP bila berlanjut.", "Enable SYN cookies and rate limiting at the "
                            "firewall/provider; coordinate DDoS mitigation with the ISP if it continues."),
            columns=FLOW_EVIDENCE, query=f"SYN to {dst}:{port}"))
    return found


def unsolicited(flows: pd.DataFrame, udp_ports: list[int]) -> pd.DataFrame:
    """Flows whose originator (after Zeek's flip, the victim) sent nothing but received responses."""
    f = flows[flows["orig_pkts"].eq(0) & flows["resp_pkts"].gt(0)]
    hist = f["history"].fillna("").str.replace("^", "", regex=False)
    tcp = (f["proto"] == "tcp") & hist.str.fullmatch(r"[hrHR]+") & f["resp_bytes"].fillna(0).eq(0)
    udp = (f["proto"] == "udp") & f["id.resp_p"].isin(udp_ports)
    return f[tcp | udp]


def detect_reflection(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Unsolicited responses to one victim from many reflectors, and amplified UDP answers."""
    found: list[Finding] = []
    u = unsolicited(tables.flows, thresholds.reflection_udp_ports)
    incomplete = int(tables.stats.get("decoder_skipped", {}).get("incomplete fragmented datagram at end of input", 0))
    for victim, rows in u.groupby("id.orig_h"):
        packets, reflectors = int(rows["resp_pkts"].sum()), rows["id.resp_h"].nunique()
        if packets < thresholds.reflection_min_packets or reflectors < thresholds.reflection_min_sources:
            continue
        kinds = ", ".join(f"{p}/{port}" for (p, port), _ in rows.groupby(["proto", "id.resp_p"]).size()
                          .sort_values(ascending=False).head(4).items())
        udp = rows["proto"].eq("udp").any()
        frag_id = (f"; selain itu {number(incomplete)} datagram terfragmentasi tidak "
                   f"lengkap" if udp and incomplete else "")
        frag_en = (f"; also {incomplete} fragmented datagrams never completed" if udp and incomplete else "")
        score = strength(packets, thresholds.reflection_min_packets)
        found.append(finding(
            "flood.reflection", (f"Serangan refleksi terhadap {victim} ({number(packets)} respons tanpa permintaan)",
                                 f"Reflection attack on {victim} ({packets} unsolicited responses)"), score, rows,
            severity="high", attack="T1498.002", entities={"dst_ip": [victim], "reflector_ip": list(
                rows["id.resp_h"].value_counts().index[:20])},
            counts={"packets": packets, "reflectors": reflectors, "flows": len(rows),
                    "incomplete_fragmented_datagrams": incomplete if udp else 0},
            explanation=(f"{victim} menerima {number(packets)} paket jawaban ({kinds}) dari "
                         f"{number(reflectors)} server berbeda tanpa "
                         f"pernah mengirim permintaan{frag_id}: serangan refleksi/amplifikasi, di mana penyerang "
                         "memalsukan alamat korban agar server pihak ketiga membanjirinya.",
                         f"{victim} received {packets} response packets ({kinds}) from {reflectors} distinct servers "
                         f"without ever sending a request{frag_en}: a reflection/amplification attack, where the "
                         "attacker spoofs the victim's address so third-party servers flood it."),
            recommendation=("Minta ISP memfilter lalu lintas dari port sumber tersebut; pastikan tidak ada layanan "
                            "internal yang ikut menjadi reflektor.", "Ask the ISP to filter traffic from those source "
                            "ports; make sure no internal service is acting as a reflector."),
            columns=FLOW_EVIDENCE, query=f"unsolicited responses to {victim}"))
    f = tables.flows
    f = f[(f["proto"] == "udp") & f["id.resp_p"].isin(thresholds.reflection_udp_ports) & f["orig_pkts"].gt(0)]
    if f.empty:
        return found
    g = f.groupby("id.orig_h").agg(sent=("orig_ip_bytes", "sum"), got=("resp_ip_bytes", "sum"),
                                   servers=("id.resp_h", "nunique"), flows=("uid", "size"))
    g = g[(g["got"] >= thresholds.amplification_min_bytes)
          & (g["got"] >= thresholds.amplification_min_ratio * g["sent"].clip(lower=1))]
    for client, r in g.iterrows():
        rows = f[f["id.orig_h"] == client]
        ratio = float(r["got"]) / max(float(r["sent"]), 1.0)
        score = strength(ratio, thresholds.amplification_min_ratio)
        found.append(finding(
            "flood.amplification", (f"Jawaban UDP teramplifikasi ke {client} ({number(ratio, decimals=0)}× byte "
                                    f"permintaan)",
                                    f"Amplified UDP answers to {client} ({ratio:.0f}× the request bytes)"), score,
            rows, severity="medium" if score < 0.85 else "high", attack="T1498.002",
            entities={"dst_ip": [client], "amplifier_ip": list(rows["id.resp_h"].value_counts().index[:20])},
            counts={"request_bytes": int(r["sent"]), "response_bytes": int(r["got"]), "ratio": ratio,
                    "servers": int(r["servers"]), "flows": int(r["flows"])},
            explanation=(f"{client} menerima {number(int(r['got']))} byte jawaban UDP untuk "
                         f"{number(int(r['sent']))} byte permintaan "
                         f"({number(ratio, decimals=0)}×) dari {number(int(r['servers']))} server: tanda "
                         f"amplifikasi — layanan ini dapat "
                         "disalahgunakan untuk menyerang alamat yang dipalsukan.",
                         f"{client} received {int(r['got'])} bytes of UDP answers for {int(r['sent'])} request bytes "
                         f"({ratio:.0f}×) from {int(r['servers'])} servers: amplification — the service can be abused "
                         "to flood a spoofed address."),
            recommendation=("Batasi layanan UDP (DNS rekursif, NTP monlist, SNMP) hanya untuk klien internal dan "
                            "terapkan rate limiting.", "Restrict the UDP services (recursive DNS, NTP monlist, SNMP) "
                            "to internal clients and apply rate limiting."),
            columns=FLOW_EVIDENCE, query=f"UDP answers to {client}"))
    return found
