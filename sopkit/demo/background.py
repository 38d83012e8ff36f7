"""Benign background traffic of the office day.

* staff browsing: DNS lookup at the resolver (which forwards cache misses to 8.8.8.8/1.1.1.1),
  then an HTTPS (or, for a few internal-portal sites, HTTP) connection to the site;
* Windows domain chatter at logon and during the day: Kerberos (88), LDAP (389), SMB (445) to
  the domain controller and file server;
* NTP polls of the office time server, which itself polls two upstream servers;
* internet visitors browsing the public website on 10.20.1.80 over HTTP and HTTPS (every request
  is also an access.log line);
* an administrator's SSH sessions to the web server and cron jobs (auth.log).

Event counts scale linearly with ``scale``; the times follow :func:`network.office_activity`.
"""

from __future__ import annotations

import struct

import numpy as np

from sopkit.demo import network as net
from sopkit.demo import winproto
from sopkit.demo.packets import TcpConversation, udp_datagram
from sopkit.demo.sessions import Ctx, WebRequest, dns_exchange, http_session, tls_session

BROWSE_EVENTS = 1000
VISITOR_SESSIONS = 240
SMB_SESSIONS = 160
NS = net.NS_PER_S

BROWSER_UAS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:144.0) Gecko/20100101 Firefox/144.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0",
)
MOBILE_UAS = (
    "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 12; vivo 1904) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Mobile Safari/537.36",
)
BOT_UAS = ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
           "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)")
PAGES = ("/", "/berita", "/berita/2026/11/rapat-koordinasi-smart-city", "/ppid", "/ppid/informasi-berkala",
         "/layanan/pengaduan", "/pengumuman/seleksi-pppk-2026", "/profil/struktur-organisasi", "/galeri",
         "/download/renstra-2025-2029.pdf", "/kontak", "/agenda", "/berita/2026/11/sosialisasi-keamanan-siber")
ASSETS = (("/assets/css/main.min.css", "text/css", 48_000), ("/assets/js/app.min.js", "application/javascript", 96_000),
          ("/assets/img/logo-kab.png", "image/png", 18_000), ("/favicon.ico", "image/x-icon", 4_286),
          ("/assets/img/banner-hut-ri.jpg", "image/jpeg", 210_000))
REFERERS = ("https://www.google.com/", "https://www.google.co.id/", "https://www.facebook.com/",
            "https://l.instagram.com/", "")


def _profile_for(rng: np.random.Generator, host_index: int) -> tuple[str, str]:
    ua_i = host_index % 7
    return ("firefox", BROWSER_UAS[1]) if ua_i == 3 else ("chrome", BROWSER_UAS[2 if ua_i in (1, 5) else 0])


def browsing(ctx: Ctx, scale: float) -> None:
    """Staff DNS + web sessions, processed in time order so the resolver cache behaves."""
    rng = ctx.rng
    hosts = net.workstations()
    addrs = net.site_addresses()
    weights = np.array([w for _, w, _ in net.SITES])
    n = max(1, int(BROWSE_EVENTS * scale))
    times = net.sample_times(rng, ctx.day, n)
    who = rng.integers(0, len(hosts), n)
    site = rng.choice(len(net.SITES), n, p=weights / weights.sum())
    cache: dict[str, int] = {}
    for t, h, s in zip(times.tolist(), who.tolist(), site.tolist(), strict=True):
        host = hosts[h]
        dom, _, https = net.SITES[s]
        ip = addrs[dom]
        delay = 600_000
        if cache.get(dom, 0) < t:  # resolver cache miss → forward upstream
            up = net.UPSTREAM_DNS[int(rng.integers(0, 2))]
            dns_exchange(ctx, t + 150_000, net.RESOLVER, up, dom, "A", [ip], delay_ns=int(rng.uniform(8e6, 35e6)),
                         sport=int(rng.integers(1024, 65536)), client_ttl=64)
            cache[dom] = t + 300 * NS
            delay = 40_000_000
        t_ans = dns_exchange(ctx, t, host.ip, net.RESOLVER, dom, "A", [ip], delay_ns=delay)
        t0 = t_ans + int(rng.uniform(1e6, 5e6))
        n_tx = 1 + int(rng.poisson(1.5))
        downs = np.minimum(rng.lognormal(9.1, 1.1, n_tx), 1_500_000).astype(int).tolist()
        ups = rng.integers(400, 2500, n_tx).tolist()
        profile, ua = _profile_for(rng, h)
        if dom.startswith("ctldl"):
            profile = "schannel"
        if https:
            tls_session(ctx, t0, host.ip, ip, dom, profile, list(zip(ups, downs, strict=True)),
                        rtt_ns=int(rng.uniform(8e6, 60e6)), rst=bool(rng.random() < 0.08))
        else:
            reqs = [WebRequest("GET", p, ua, 200, d, host=dom) for p, d in
                    zip(("/", "/index.php", "/dashboard", "/api/notifikasi")[:n_tx] or ["/"], downs, strict=False)]
            http_session(ctx, t0, host.ip, ip, reqs, rtt_ns=int(rng.uniform(5e6, 30e6)), client_ttl=128,
                         think_ns=4e9, rst=bool(rng.random() < 0.05))


REALM = net.AD_DOMAIN.upper()
KRB_TILL = "20370913024805Z"  # what Windows clients ask for


def _kerberos(ctx: Ctx, t: int, client: str, req: bytes, rep: bytes) -> int:
    conv = TcpConversation(ctx.sink, ctx.rng, client, ctx.sink.port(client, ctx.rng), net.DC, 88, t, rtt_ns=400_000)
    conv.handshake()
    conv.exchange(req, rep, server_ns=2e6)
    conv.close()
    return conv.t


def domain_chatter(ctx: Ctx, scale: float) -> None:
    """Kerberos/LDAP/SMB at each workstation's logon, and file-server SMB sessions during the day."""
    rng = ctx.rng
    for i, host in enumerate(net.workstations()):
        user = f"pegawai{i + 1:02d}"
        t = ctx.day.local_ns(float(rng.normal(7.6, 0.25)))
        t = _kerberos(ctx, t, host.ip, *winproto.kerberos_as(rng, user, REALM, KRB_TILL)) + 5_000_000
        for svc in (("ldap", "dc01.contohkab.local"), ("cifs", "dc01.contohkab.local"), ("cifs", "fs01.contohkab.local")):
            t = _kerberos(ctx, t, host.ip, *winproto.kerberos_tgs(rng, user, REALM, svc, KRB_TILL)) + 3_000_000
        conv = TcpConversation(ctx.sink, rng, host.ip, ctx.sink.port(host.ip, rng), net.DC, 389, t, rtt_ns=400_000)
        conv.handshake()
        attrs = list(winproto.ROOTDSE_ATTRS)
        for msg_id in range(1, int(rng.integers(2, 5))):
            want = [attrs[j] for j in sorted(rng.choice(len(attrs), int(rng.integers(2, 6)), replace=False).tolist())]
            conv.exchange(*winproto.ldap_rootdse(msg_id, want), server_ns=1e6, think_ns=20e6)
        conv.send(host.ip, winproto.ldap_unbind(msg_id + 1), think_ns=5e6)
        conv.close()
        _smb(ctx, conv.t + 10_000_000, host.ip, net.DC, int(rng.integers(4, 10)))
    n = max(1, int(SMB_SESSIONS * scale))
    hosts = net.workstations()
    for t, h in zip(net.sample_times(rng, ctx.day, n).tolist(), rng.integers(0, len(hosts), n).tolist(), strict=True):
        _smb(ctx, t, hosts[h].ip, net.FILESERVER, int(rng.integers(3, 12)))


def _smb(ctx: Ctx, t: int, client: str, server: str, n_ops: int) -> None:
    """SMB 3 session: negotiate, session setup, then encrypted requests and (document-sized) replies."""
    rng = ctx.rng
    conv = TcpConversation(ctx.sink, rng, client, ctx.sink.port(client, rng), server, 445, t, rtt_ns=350_000)
    conv.handshake()
    session = int(rng.integers(1, 2**44))
    conv.exchange(*winproto.smb_negotiate(rng), server_ns=800_000)
    conv.exchange(*winproto.smb_session_setup(1, session), server_ns=1_500_000, think_ns=300_000)
    for _ in range(n_ops + 2):  # tree connect, create/read/close; some reads are documents of tens of KB
        down = int(min(rng.lognormal(8.5, 1.3), 400_000))
        conv.exchange(winproto.smb_encrypted(rng, int(rng.integers(100, 220)), session),
                      winproto.smb_encrypted(rng, down, session), server_ns=1_500_000,
                      think_ns=float(rng.exponential(2e9)))
    conv.close()


def ntp(ctx: Ctx) -> None:
    """Workstations poll the office NTP server every 1024 s; it polls upstream every 1024 s all day."""
    rng = ctx.rng

    def pkt(mode: int, t: int) -> bytes:
        ntp_secs = t // NS + 2_208_988_800
        return struct.pack("!BBBb11I", (4 << 3) | mode, 2 if mode == 4 else 0, 10, -23, 0, 0, 0, 0, 0, 0, 0,
                           0, 0, ntp_secs & 0xFFFFFFFF, int(rng.integers(0, 2**32)))

    def poll(client: str, server: str, t: int, cttl: int, delay: int) -> None:
        ctx.sink.add(t, udp_datagram(client, server, 123, 123, pkt(3, t), ttl=cttl, ip_id=ctx.sink.next_ip_id(client)))
        ctx.sink.add(t + delay, udp_datagram(server, client, 123, 123, pkt(4, t + delay), ttl=64,
                                             ip_id=ctx.sink.next_ip_id(server)))

    for up in net.UPSTREAM_NTP:
        for t in range(ctx.day.start_ns + int(rng.integers(0, 1024)) * NS, ctx.day.end_ns, 1024 * NS):
            poll(net.NTP, up, t + int(rng.integers(0, 10**9)), 64, int(rng.uniform(15e6, 40e6)))
    for host in net.workstations():
        start, end = ctx.day.local_ns(float(rng.normal(7.5, 0.2))), ctx.day.local_ns(float(rng.normal(16.4, 0.3)))
        for t in range(start, end, 1024 * NS):
            poll(host.ip, net.NTP, t + int(rng.integers(0, 10**8)), 128, 400_000)


def visitors(ctx: Ctx, scale: float) -> None:
    """Internet visitors reading the public website (HTTPS mostly, some plain HTTP)."""
    rng = ctx.rng
    n = max(1, int(VISITOR_SESSIONS * scale))
    times = net.sample_times(rng, ctx.day, n, shape=lambda h: 0.25 + net.office_activity(h))
    ips = net.random_public_ips(rng, n)
    for t, ip in zip(times.tolist(), ips, strict=True):
        bot = rng.random() < 0.06
        ua = BOT_UAS[int(rng.integers(0, 2))] if bot else (MOBILE_UAS + BROWSER_UAS)[int(rng.integers(0, 7))]
        reqs = []
        ref = REFERERS[int(rng.integers(0, len(REFERERS)))]
        for k in range(1 + int(rng.poisson(1.2))):
            page = PAGES[int(rng.integers(0, len(PAGES)))]
            status = 200 if rng.random() > 0.04 else int(rng.choice([301, 304, 404]))
            size = int(rng.integers(9_000, 60_000)) if status == 200 else (0 if status == 304 else 520)
            ctype = "application/pdf" if page.endswith(".pdf") else "text/html; charset=UTF-8"
            if page.endswith(".pdf") and status == 200:
                size = 350_000
            reqs.append(WebRequest("GET", page, ua, status, size, referer=ref, content_type=ctype))
            ref = "https://" + net.WEB_HOSTNAME + page
            if not bot and k == 0:
                for path, ctype, size in ASSETS[: int(rng.integers(1, len(ASSETS) + 1))]:
                    cached = rng.random() < 0.3
                    reqs.append(WebRequest("GET", path, ua, 304 if cached else 200, 0 if cached else size,
                                           referer=ref, content_type=ctype))
        tls = rng.random() < 0.75
        http_session(ctx, t, ip, net.WEB, reqs, tls=tls, rtt_ns=int(rng.uniform(15e6, 90e6)),
                     client_ttl=int(rng.choice([50, 52, 113, 116])), think_ns=6e9)


def admin_ssh(ctx: Ctx) -> None:
    """The IT admin's interactive SSH sessions to the web server, plus cron entries (auth.log)."""
    rng = ctx.rng
    admin = net.workstations()[2]
    for hour in (8.4, 10.9, 14.2):
        t = ctx.day.local_ns(hour + float(rng.uniform(0, 0.3)))
        conv = TcpConversation(ctx.sink, rng, admin.ip, ctx.sink.port(admin.ip, rng), net.WEB, 22, t, rtt_ns=500_000)
        conv.handshake()
        conv.exchange(b"SSH-2.0-OpenSSH_for_Windows_9.5\r\n", b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n")
        conv.exchange(rng.bytes(1500), rng.bytes(1100), server_ns=2e6)
        conv.exchange(rng.bytes(48), rng.bytes(540), server_ns=3e6)
        pid = int(rng.integers(20000, 60000))
        port = conv.sport
        ctx.auth.append((conv.t, "web01", "sshd", pid, f"Accepted publickey for budi from {admin.ip} port {port} ssh2: ED25519 SHA256:q3Yf1bVvO8n2mXq1oH0b7kQx4wz3pXb6c0W1Zr8sT2E"))
        ctx.auth.append((conv.t + 30_000_000, "web01", "sshd", pid, "pam_unix(sshd:session): session opened for user budi(uid=1001) by budi(uid=0)"))
        for _ in range(int(rng.integers(60, 160))):  # keystrokes and screen updates
            conv.exchange(rng.bytes(36), rng.bytes(int(rng.integers(36, 900))), server_ns=1e6,
                          think_ns=float(rng.exponential(1.2e9)))
        ctx.auth.append((conv.t, "web01", "sudo", 0, "    budi : TTY=pts/0 ; PWD=/home/budi ; USER=root ; "
                         "COMMAND=/usr/bin/systemctl reload apache2"))
        spid = int(rng.integers(20000, 60000))
        ctx.auth.append((conv.t + 100_000, "web01", "sudo", spid,
                         "pam_unix(sudo:session): session opened for user root(uid=0) by budi(uid=1001)"))
        ctx.auth.append((conv.t + 900_000_000, "web01", "sudo", spid, "pam_unix(sudo:session): session closed for user root"))
        conv.close()
        ctx.auth.append((conv.t, "web01", "sshd", pid, "pam_unix(sshd:session): session closed for user budi"))
    for minute in range(17, 24 * 60, 60):
        t = ctx.day.local_ns(minute / 60)
        pid = int(rng.integers(20000, 60000))
        ctx.auth.append((t, "web01", "CRON", pid, "pam_unix(cron:session): session opened for user root(uid=0) by root(uid=0)"))
        ctx.auth.append((t + 400_000_000, "web01", "CRON", pid, "pam_unix(cron:session): session closed for user root"))


def generate(ctx: Ctx, scale: float) -> None:
    """All benign background of the day into ``ctx``."""
    browsing(ctx, scale)
    domain_chatter(ctx, scale)
    ntp(ctx)
    visitors(ctx, scale)
    admin_ssh(ctx)
