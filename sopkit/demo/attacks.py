"""Planted network attacks: scans, SSH brute force, SYN flood, DNS tunnel, C2 beacon, bulk upload.

Each function writes its packets (and, where the real thing leaves any, auth.log lines and
Suricata alerts) into the :class:`~sopkit.demo.sessions.Ctx` and returns its ground-truth label.
Nothing in the generated data marks an attack: detectors must recognise the behaviour itself
(nmap's window-1024 SYNs, S0/REJ fan-out, failed-password bursts, spoofed-source SYN storms,
high-entropy TXT names, periodic small TLS sessions, an outsized outbound flow).
"""

from __future__ import annotations

import base64

import numpy as np

from sopkit.capture.packet import TH_ACK, TH_RST, TH_SYN
from sopkit.demo import appproto
from sopkit.demo import network as net
from sopkit.demo.packets import TcpConversation, syn_options, tcp_segment
from sopkit.demo.sessions import Ctx, dns_exchange, tls_session

NS = net.NS_PER_S
SCANNER = "203.0.113.45"
COMPROMISED = "10.20.10.37"
BRUTE = "198.51.100.77"
TUNNEL_HOST = "10.20.10.23"
TUNNEL_DOMAIN = "t.cdn-sync-update.xyz"
BEACON_HOST = "10.20.10.29"
C2_IP, C2_SNI = "203.0.113.66", "cdn-metrics-static.com"
UPLOAD_HOST, UPLOAD_IP, UPLOAD_SNI = "10.20.10.15", "198.51.100.200", "upload.filebox-share.net"
UPLOAD_BYTES = 40_000_000
OPEN_WEB_PORTS = (22, 80, 443)
SCAN_ALERT_PORTS = {1433: (2010935, "ET SCAN Suspicious inbound to MSSQL port 1433"),
                    1521: (2010936, "ET SCAN Suspicious inbound to Oracle SQL port 1521"),
                    3306: (2010937, "ET SCAN Suspicious inbound to mySQL port 3306"),
                    5432: (2010939, "ET SCAN Suspicious inbound to PostgreSQL port 5432"),
                    5900: (2002911, "ET SCAN Potential VNC Scan 5900-5920")}


def _label(id_: str, kind: str, technique: str, source: str, targets: list[str], start: int, end: int,
           evidence: list[str], **detail) -> dict:
    return {"id": id_, "kind": kind, "attack": technique, "source": source, "targets": targets,
            "start": net.iso_utc(start), "end": net.iso_utc(end), "evidence": evidence, **detail}


def _seg(ctx: Ctx, t: int, src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, *,
         win: int, ttl: int, opts: bytes = b"") -> None:
    ctx.sink.add(t, tcp_segment(src, dst, sport, dport, seq, ack, flags, win=win, opts=opts, ttl=ttl,
                                ip_id=ctx.sink.next_ip_id(src)))


def vertical_scan(ctx: Ctx) -> dict:
    """nmap -sS -T4 style: 1 source port, window 1024, MSS-only option, ~1200 ports in a few seconds."""
    rng = ctx.rng
    ports = np.unique(np.concatenate([np.arange(1, 1025), [1433, 1521, 3306, 3389, 5432, 5900, 6379, 8000,
                                                           8080, 8443, 8888, 9000, 9200, 27017]]))
    ports = rng.permutation(ports)
    t = ctx.day.local_ns(3.2 + float(rng.uniform(0, 0.2)))
    start, sport = t, int(rng.integers(40000, 65000))
    for p in ports.tolist():
        seq = int(rng.integers(0, 2**32))
        _seg(ctx, t, SCANNER, net.WEB, sport, p, seq, 0, TH_SYN, win=1024, ttl=int(rng.integers(38, 59)),
             opts=b"\x02\x04\x05\xb4")
        rt = t + int(rng.uniform(30e6, 45e6))
        if p in OPEN_WEB_PORTS:
            _seg(ctx, rt, net.WEB, SCANNER, p, sport, int(rng.integers(0, 2**32)), seq + 1, TH_SYN | TH_ACK,
                 win=64240, ttl=64, opts=syn_options(wscale=7)[:4])
            _seg(ctx, rt + int(rng.uniform(30e6, 45e6)), SCANNER, net.WEB, sport, p, seq + 1, 0, TH_RST, win=0, ttl=50)
        else:
            _seg(ctx, rt, net.WEB, SCANNER, p, sport, 0, seq + 1, TH_RST | TH_ACK, win=0, ttl=64)
        if p in SCAN_ALERT_PORTS:
            sid, sig = SCAN_ALERT_PORTS[p]
            ctx.alert(t, SCANNER, sport, net.WEB, p, "TCP", sid, 3, sig, "Potentially Bad Traffic", 2)
        t += int(rng.exponential(2.5e6))
    ctx.alert(start + 5_000_000, SCANNER, sport, net.WEB, int(ports[0]), "TCP", 2009582, 3,
              "ET SCAN NMAP -sS window 1024", "Attempted Information Leak", 2)
    return _label("scan-vertical-1", "port_scan_vertical", "T1046", SCANNER, [net.WEB], start, t,
                  ["capture", "eve_json"], ports=len(ports), open_ports=list(OPEN_WEB_PORTS))


def horizontal_scan(ctx: Ctx) -> dict:
    """A compromised workstation connect-scans 445 and 3389 across both /24s (S0 and REJ mostly)."""
    rng = ctx.rng
    t = ctx.day.local_ns(9.75 + float(rng.uniform(0, 0.15)))
    start = t
    live_ws = {h.ip for h in net.workstations()}
    servers = {h.ip: role for role, h in net.servers().items()}
    targets = [f"10.20.{n}.{h}" for n in (10, 1) for h in range(1, 255) if f"10.20.{n}.{h}" != COMPROMISED]
    for ip in targets:
        for port in (445, 3389):
            sport = ctx.sink.port(COMPROMISED, rng)
            seq = int(rng.integers(0, 2**32))
            _seg(ctx, t, COMPROMISED, ip, sport, port, seq, 0, TH_SYN, win=64240, ttl=128, opts=syn_options())
            rt = t + int(rng.uniform(2e5, 8e5))
            role = servers.get(ip)
            if (role in ("dc", "fileserver") and port == 445) or (role == "dc" and port == 3389):
                conv = TcpConversation(ctx.sink, rng, COMPROMISED, sport, ip, port, t, rtt_ns=400_000)
                conv.seq[COMPROMISED] = seq + 1
                _seg(ctx, rt, ip, COMPROMISED, port, sport, conv.seq[ip], seq + 1, TH_SYN | TH_ACK, win=65535,
                     ttl=128, opts=syn_options())
                conv.seq[ip] += 1
                conv.t = rt + 100_000
                conv._emit(COMPROMISED, TH_ACK)
                conv.reset()
            elif role is not None or (ip in live_ws and rng.random() < 0.3):
                _seg(ctx, rt, ip, COMPROMISED, port, sport, 0, seq + 1, TH_RST | TH_ACK, win=0,
                     ttl=64 if role else 128)
            else:  # firewalled or absent: silence, one retransmission after 1 s (Windows connect())
                _seg(ctx, t + 1_000_000_000, COMPROMISED, ip, sport, port, seq, 0, TH_SYN, win=64240, ttl=128,
                     opts=syn_options())
            if port == 445 and rng.random() < 0.05:
                ctx.alert(t, COMPROMISED, sport, ip, port, "TCP", 2001569, 14,
                          "ET SCAN Behavioral Unusual Port 445 traffic Potential Scan or Infection", "Misc activity", 3)
            t += int(rng.exponential(90e6))
    return _label("scan-horizontal-1", "port_scan_horizontal", "T1046", COMPROMISED,
                  ["10.20.10.0/24", "10.20.1.0/24"], start, t + NS, ["capture"], ports=[445, 3389],
                  hosts_probed=len(targets))


BRUTE_USERS = ("admin", "test", "oracle", "ubuntu", "user", "guest", "postgres", "ftpuser", "git", "deploy",
               "pi", "support", "operator", "www", "mysql", "dev", "jenkins", "administrator", "sysadmin", "backup")
BRUTE_SESSIONS = 320


def _ssh_preamble(ctx: Ctx, conv: TcpConversation, client_banner: bytes) -> None:
    rng = ctx.rng
    conv.handshake()
    conv.exchange(client_banner, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n", server_ns=3e6)
    conv.exchange(rng.bytes(1400), rng.bytes(1080), server_ns=1e6)  # KEXINIT both ways
    conv.exchange(rng.bytes(48), rng.bytes(564), server_ns=4e6)  # ECDH init/reply + NEWKEYS
    conv.exchange(rng.bytes(44), rng.bytes(44), server_ns=5e5)  # service request ssh-userauth


def ssh_bruteforce(ctx: Ctx) -> dict:
    """Hydra-like password guessing against web01, a hit on ``webadmin``, then sudo su and useradd."""
    rng = ctx.rng
    t = ctx.day.local_ns(1.65 + float(rng.uniform(0, 0.1)))
    start, failed = t, 0
    for i in range(BRUTE_SESSIONS):
        conv = TcpConversation(ctx.sink, rng, BRUTE, ctx.sink.port(BRUTE, rng, windows=False), net.WEB, 22, t,
                               rtt_ns=int(rng.uniform(80e6, 110e6)), client_ttl=47)
        _ssh_preamble(ctx, conv, b"SSH-2.0-libssh_0.9.6\r\n")
        pid = int(rng.integers(3000, 60000))
        user = "root" if rng.random() < 0.35 else BRUTE_USERS[int(rng.integers(0, len(BRUTE_USERS)))]
        invalid = user != "root"
        port = conv.sport
        if invalid:
            ctx.auth.append((conv.t, "web01", "sshd", pid, f"Invalid user {user} from {BRUTE} port {port}"))
        for _ in range(int(rng.integers(1, 4))):
            conv.exchange(rng.bytes(96), rng.bytes(28), server_ns=float(rng.uniform(1.8e9, 2.6e9)))
            who = f"invalid user {user}" if invalid else user
            ctx.auth.append((conv.t, "web01", "sshd", pid, f"Failed password for {who} from {BRUTE} port {port} ssh2"))
            failed += 1
        conv.close()
        who = f"invalid user {user}" if invalid else f"authenticating user {user}"
        ctx.auth.append((conv.t, "web01", "sshd", pid, f"Connection closed by {who} {BRUTE} port {port} [preauth]"))
        if i % 40 == 0:
            ctx.alert(conv.stats.start_ns, BRUTE, port, net.WEB, 22, "TCP", 2001219, 20, "ET SCAN Potential SSH Scan",
                      "Attempted Information Leak", 2)
        t = conv.t + int(rng.exponential(2.5e8))
    # the successful guess and an interactive session
    conv = TcpConversation(ctx.sink, rng, BRUTE, ctx.sink.port(BRUTE, rng, windows=False), net.WEB, 22, t + NS,
                           rtt_ns=95_000_000, client_ttl=47)
    _ssh_preamble(ctx, conv, b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10\r\n")
    conv.exchange(rng.bytes(96), rng.bytes(28), server_ns=6e7)
    pid, port = int(rng.integers(3000, 60000)), conv.sport
    ctx.auth.append((conv.t, "web01", "sshd", pid, f"Accepted password for webadmin from {BRUTE} port {port} ssh2"))
    ctx.auth.append((conv.t + 5_000_000, "web01", "sshd", pid,
                     "pam_unix(sshd:session): session opened for user webadmin(uid=1002) by webadmin(uid=0)"))
    success_t = conv.t
    for k in range(260):
        conv.exchange(rng.bytes(36), rng.bytes(int(rng.integers(36, 1400))), server_ns=1e6,
                      think_ns=float(rng.exponential(3e9)))
        if k == 40:
            ctx.auth.append((conv.t, "web01", "sudo", 0,
                             "webadmin : TTY=pts/1 ; PWD=/home/webadmin ; USER=root ; COMMAND=/usr/bin/su -"))
            ctx.auth.append((conv.t + 100_000, "web01", "sudo", int(rng.integers(3000, 60000)),
                             "pam_unix(sudo:session): session opened for user root(uid=0) by webadmin(uid=1002)"))
            spid = int(rng.integers(3000, 60000))
            ctx.auth.append((conv.t + 300_000, "web01", "su", spid, "(to root) root on pts/1"))
            ctx.auth.append((conv.t + 400_000, "web01", "su", spid,
                             "pam_unix(su-l:session): session opened for user root(uid=0) by webadmin(uid=0)"))
        if k == 90:
            upid = int(rng.integers(3000, 60000))
            ctx.auth.append((conv.t, "web01", "groupadd", upid, "group added to /etc/group: name=sysupd, GID=1003"))
            ctx.auth.append((conv.t + 1_000_000, "web01", "useradd", upid, "new group: name=sysupd, GID=1003"))
            ctx.auth.append((conv.t + 2_000_000, "web01", "useradd", upid,
                             "new user: name=sysupd, UID=1003, GID=1003, home=/home/sysupd, shell=/bin/bash, from=/dev/pts/1"))
            ctx.auth.append((conv.t + 9 * NS, "web01", "usermod", int(rng.integers(3000, 60000)),
                             "add 'sysupd' to group 'sudo'"))
    conv.close()
    ctx.auth.append((conv.t, "web01", "sshd", pid, "pam_unix(sshd:session): session closed for user webadmin"))
    return _label("ssh-bruteforce-1", "ssh_bruteforce", "T1110.001", BRUTE, [net.WEB], start, conv.t,
                  ["capture", "auth_log", "eve_json"], port=22, failed_attempts=failed, compromised_user="webadmin",
                  success_time=net.iso_utc(success_t), backdoor_user="sysupd")


def syn_flood(ctx: Ctx, n_syn: int = 26_000) -> dict:
    """Spoofed-source SYNs to web01:80 over ~2 minutes; syncookie SYN-ACKs for part of them."""
    rng = ctx.rng
    start = ctx.day.local_ns(13.5 + float(rng.uniform(0, 0.2)))
    times = np.sort(start + rng.uniform(0, 120e9, n_syn).astype(np.int64))
    srcs = rng.integers(0x0B000000, 0xDF000000, n_syn)  # 11.0.0.0 – 222.255.255.255, random like hping --rand-source
    sports, seqs = rng.integers(1024, 65536, n_syn), rng.integers(0, 2**32, n_syn)
    ttls, wins = rng.integers(40, 250, n_syn), rng.integers(512, 65535, n_syn)
    answered = rng.random(n_syn) < 0.6
    for t, s, sp, sq, ttl, w, ans in zip(times.tolist(), srcs.tolist(), sports.tolist(), seqs.tolist(),
                                         ttls.tolist(), wins.tolist(), answered.tolist(), strict=True):
        src = f"{s >> 24}.{(s >> 16) & 255}.{(s >> 8) & 255}.{s & 255}"
        ctx.sink.add(t, tcp_segment(src, net.WEB, sp, 80, sq, 0, TH_SYN, win=w, ttl=ttl, ip_id=int(sq & 0xFFFF)))
        if ans:
            ctx.sink.add(t + 40_000, tcp_segment(net.WEB, src, 80, sp, int(rng.integers(0, 2**32)), sq + 1,
                                                 TH_SYN | TH_ACK, win=64240, ttl=64, opts=b"\x02\x04\x05\xb4",
                                                 ip_id=0))
    return _label("synflood-1", "syn_flood", "T1498.001", "spoofed", [net.WEB], int(times[0]), int(times[-1]),
                  ["capture"], port=80, syn_count=n_syn, distinct_sources=int(np.unique(srcs).size))


def dns_tunnel(ctx: Ctx, n_queries: int = 1400) -> dict:
    """Base32-encoded chunks as TXT queries under one domain, through the office resolver."""
    rng = ctx.rng
    t = ctx.day.local_ns(11.1 + float(rng.uniform(0, 0.2)))
    start = t
    for i in range(n_queries):
        chunk = base64.b32encode(rng.bytes(int(rng.integers(50, 72)))).decode().rstrip("=").lower()
        labels = [chunk[k:k + 60] for k in range(0, len(chunk), 60)]
        name = ".".join([*labels, f"{i:04x}", TUNNEL_DOMAIN])
        answer = [[base64.b64encode(rng.bytes(int(rng.integers(90, 180))))]]
        up = net.UPSTREAM_DNS[i % 2]
        upstream_ns = int(rng.uniform(60e6, 140e6))  # the tunnel server answers every name itself
        dns_exchange(ctx, t + 200_000, net.RESOLVER, up, name, "TXT", answer, ttl=0, client_ttl=64,
                     sport=int(rng.integers(1024, 65536)), delay_ns=upstream_ns)
        dns_exchange(ctx, t, TUNNEL_HOST, net.RESOLVER, name, "TXT", answer, ttl=0,
                     delay_ns=upstream_ns + int(rng.uniform(3e5, 9e5)))
        t += int(rng.exponential(1.6e9))
    return _label("dns-tunnel-1", "dns_tunnel", "T1071.004", TUNNEL_HOST, [net.RESOLVER], start, t,
                  ["capture", "eve_json"], domain=TUNNEL_DOMAIN, qtype="TXT", queries=n_queries,
                  path="via office resolver 10.20.1.53, forwarded to 8.8.8.8/1.1.1.1")


def c2_beacon(ctx: Ctx) -> dict:
    """A new small TLS session to the C2 every 60 s ± 10 % for the whole day (implant never sleeps)."""
    rng = ctx.rng
    t = ctx.day.start_ns + int(rng.uniform(5, 60) * NS)
    start, n, next_dns = t, 0, 0
    while t < ctx.day.end_ns - 70 * NS:
        if t >= next_dns:
            dns_exchange(ctx, t - 30_000_000, BEACON_HOST, net.RESOLVER, C2_SNI, "A", [C2_IP], ttl=300,
                         delay_ns=25_000_000)
            next_dns = t + 300 * NS
        conv = tls_session(ctx, t, BEACON_HOST, C2_IP, C2_SNI, "goclient",
                           [(int(rng.integers(290, 330)), int(rng.integers(180, 230)))], rtt_ns=int(rng.uniform(55e6, 70e6)))
        last = conv.t
        n += 1
        t += int(60 * NS * float(rng.uniform(0.9, 1.1)))
    return _label("c2-beacon-1", "c2_beacon", "T1071.001", BEACON_HOST, [C2_IP], start, last,
                  ["capture", "eve_json"], port=443, sni=C2_SNI, interval_s=60, jitter=0.1, sessions=n,
                  ja3=appproto.ja3_hash(appproto.client_hello(np.random.default_rng(0), C2_SNI, "goclient")[1]))


def large_upload(ctx: Ctx) -> dict:
    """One ~40 MB TLS upload to a file-sharing host (the workstation normally sends a few MB a day)."""
    rng = ctx.rng
    t = ctx.day.local_ns(14.6 + float(rng.uniform(0, 0.2)))
    dns_exchange(ctx, t - 40_000_000, UPLOAD_HOST, net.RESOLVER, UPLOAD_SNI, "A", [UPLOAD_IP], delay_ns=30_000_000)
    conv = tls_session(ctx, t, UPLOAD_HOST, UPLOAD_IP, UPLOAD_SNI, "chrome", [(UPLOAD_BYTES, 380)],
                       rtt_ns=180_000_000, gap_ns=600_000)
    return _label("upload-1", "large_upload", "T1048", UPLOAD_HOST, [UPLOAD_IP], t, conv.t, ["capture"],
                  port=443, sni=UPLOAD_SNI, bytes=UPLOAD_BYTES)


def generate(ctx: Ctx) -> list[dict]:
    """All planted network attacks; returns their labels."""
    return [vertical_scan(ctx), horizontal_scan(ctx), ssh_bruteforce(ctx), syn_flood(ctx), dns_tunnel(ctx),
            c2_beacon(ctx), large_upload(ctx)]
