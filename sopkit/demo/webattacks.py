"""Planted attacks against the public website: SQL injection, XSS, path traversal, a Nikto scan.

All travel as cleartext HTTP to 10.20.1.80:80, so they are visible in the capture (request line,
User-Agent) and in access.log with the same times, client addresses, status codes and sizes.
Suricata alerts use the Emerging Threats / GPL signatures that fire on such requests.
"""

from __future__ import annotations

from sopkit.demo import network as net
from sopkit.demo.attacks import _label
from sopkit.demo.sessions import Ctx, WebRequest, http_session

SQLI_IP, XSS_IP, TRAVERSAL_IP, NIKTO_IP = "192.0.2.66", "192.0.2.99", "192.0.2.120", "203.0.113.200"
SQLMAP_UA = "sqlmap/1.8.4#stable (https://sqlmap.org)"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
NIKTO_UA = "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:{:06d})"
NS = net.NS_PER_S

SQLI_PAYLOADS = (
    "1'", "1%27%20AND%201=1--%20-", "1'%20OR%201=1--", "1'%20OR%20'1'='1", "1%20AND%20SLEEP(5)",
    "1'%20AND%20(SELECT%201%20FROM%20(SELECT(SLEEP(5)))a)--%20-", "1%20ORDER%20BY%2010--%20-",
    "-1'%20UNION%20SELECT%20NULL,NULL,NULL--%20-", "-1'%20UNION%20ALL%20SELECT%20NULL,CONCAT(0x7171,user(),0x7171),NULL--%20-",
    "-1'%20UNION%20SELECT%201,table_name,3%20FROM%20information_schema.tables--%20-",
    "-1'%20UNION%20SELECT%201,CONCAT(username,0x3a,password),3%20FROM%20users--%20-",
    "1);DROP%20TABLE%20users--", "1'%20AND%20EXTRACTVALUE(1,CONCAT(0x5c,version()))--%20-",
)
XSS_TARGETS = (
    "/cari?q=<script>alert(1)</script>", "/cari?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
    "/berita?id=1\"><svg/onload=alert(document.domain)>", "/kontak?nama=<img%20src=x%20onerror=alert(1)>",
    "/cari?q=javascript:alert(1)", "/agenda?bulan=11'\"><script>alert(String.fromCharCode(88,83,83))</script>",
)
TRAVERSAL_TARGETS = (
    "/download?file=../../../../etc/passwd", "/download?file=..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/index.php?page=../../../../../../etc/passwd%00", "/assets/..%252f..%252f..%252fetc/passwd",
    "/download?file=....//....//....//etc/shadow", "/static/../../../../windows/win.ini",
)
NIKTO_PATHS = ("/admin/", "/phpmyadmin/", "/wp-login.php", "/.git/config", "/.env", "/backup.zip", "/config.php.bak",
               "/server-status", "/cgi-bin/test.cgi", "/xmlrpc.php", "/test.php", "/info.php", "/db.sql", "/.svn/entries",
               "/manager/html", "/WEB-INF/web.xml", "/shell.php", "/uploads/", "/install.php", "/admin.php")


def sqli(ctx: Ctx) -> dict:
    """sqlmap against ``/berita.php?id=`` in a few keep-alive connections."""
    rng = ctx.rng
    t = ctx.day.local_ns(10.35 + float(rng.uniform(0, 0.1)))
    start, n = t, 0
    for _ in range(8):
        reqs = []
        for _ in range(20):
            p = SQLI_PAYLOADS[int(rng.integers(0, len(SQLI_PAYLOADS)))]
            status = int(rng.choice([200, 200, 500, 302]))
            reqs.append(WebRequest("GET", f"/berita.php?id={p}", SQLMAP_UA, status,
                                   int(rng.integers(3_000, 30_000)) if status == 200 else 610))
        conv = http_session(ctx, t, SQLI_IP, net.WEB, reqs, rtt_ns=int(rng.uniform(150e6, 200e6)), client_ttl=49,
                            think_ns=2e8)
        for i, req in enumerate(reqs[::5]):
            union = "UNION" in req.target
            ctx.alert(conv.stats.start_ns + i * NS, SQLI_IP, conv.sport, net.WEB, 80, "TCP",
                      2006446 if union else 2008538, 13 if union else 8,
                      "ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT" if union
                      else "ET SCAN Sqlmap SQL Injection Scan",
                      "Web Application Attack" if union else "Attempted Information Leak", 1 if union else 2,
                      app={"http": {"hostname": net.WEB_HOSTNAME, "url": req.target, "http_user_agent": SQLMAP_UA,
                                    "http_method": "GET", "protocol": "HTTP/1.1"}})
        n += len(reqs)
        t = conv.t + int(rng.uniform(1e9, 5e9))
    return _label("web-sqli-1", "web_sqli", "T1190", SQLI_IP, [net.WEB], start, t,
                  ["capture", "access_log", "eve_json"], port=80, requests=n, user_agent=SQLMAP_UA)


def _simple(ctx: Ctx, ip: str, targets: tuple[str, ...], hour: float, statuses: tuple[int, ...], sid: int,
            rev: int, sig: str, cat: str, sev: int) -> tuple[int, int, int]:
    rng = ctx.rng
    t = ctx.day.local_ns(hour + float(rng.uniform(0, 0.05)))
    start = t
    reqs = [WebRequest("GET", tg, FIREFOX_LINUX, int(rng.choice(statuses)), int(rng.integers(400, 9000)))
            for tg in targets for _ in range(2)]
    conv = http_session(ctx, t, ip, net.WEB, reqs, rtt_ns=int(rng.uniform(120e6, 200e6)), client_ttl=51, think_ns=4e9)
    for k, req in enumerate(reqs[::2]):
        ctx.alert(conv.stats.start_ns + k * 4 * NS, ip, conv.sport, net.WEB, 80, "TCP", sid, rev, sig, cat, sev,
                  app={"http": {"hostname": net.WEB_HOSTNAME, "url": req.target, "http_method": "GET"}})
    return start, conv.t, len(reqs)


def xss(ctx: Ctx) -> dict:
    """Reflected-XSS probes, one of them exactly ``<script>alert(1)</script>`` unencoded."""
    s, e, n = _simple(ctx, XSS_IP, XSS_TARGETS, 9.25, (200, 200, 403), 2009714, 8,
                      "ET WEB_SERVER Script tag in URI Possible Cross Site Scripting Attempt", "Web Application Attack", 1)
    return _label("web-xss-1", "web_xss", "T1189", XSS_IP, [net.WEB], s, e, ["capture", "access_log", "eve_json"],
                  port=80, requests=n)


def traversal(ctx: Ctx) -> dict:
    """``../../etc/passwd``-style requests (plain, encoded, double-encoded)."""
    s, e, n = _simple(ctx, TRAVERSAL_IP, TRAVERSAL_TARGETS, 9.4, (400, 404, 403, 200), 2101122, 8,
                      "GPL WEB_SERVER /etc/passwd", "Attempted Information Leak", 2)
    return _label("web-traversal-1", "web_traversal", "T1083", TRAVERSAL_IP, [net.WEB], s, e,
                  ["capture", "access_log", "eve_json"], port=80, requests=n)


def nikto(ctx: Ctx, n_requests: int = 900) -> dict:
    """A Nikto run in the evening: hundreds of requests in minutes, nearly all 404."""
    rng = ctx.rng
    t = ctx.day.local_ns(20.1 + float(rng.uniform(0, 0.2)))
    start, test_id, done = t, 0, 0
    while done < n_requests:
        reqs = []
        for _ in range(min(50, n_requests - done)):
            test_id += int(rng.integers(1, 9))
            base = NIKTO_PATHS[int(rng.integers(0, len(NIKTO_PATHS)))]
            path = base if rng.random() < 0.3 else f"/{rng.bytes(4).hex()}{base}"
            status = 404 if rng.random() < 0.93 else int(rng.choice([200, 301, 403]))
            reqs.append(WebRequest("GET", path, NIKTO_UA.format(test_id), status,
                                   0 if status == 301 else int(rng.integers(270, 520)) if status == 404
                                   else int(rng.integers(500, 4000))))
        conv = http_session(ctx, t, NIKTO_IP, net.WEB, reqs, rtt_ns=int(rng.uniform(60e6, 90e6)), client_ttl=53,
                            think_ns=2e7, sport=None)
        if done == 0:
            ctx.alert(conv.stats.start_ns + NS, NIKTO_IP, conv.sport, net.WEB, 80, "TCP", 2002677, 14,
                      "ET SCAN Nikto Web App Scan in Progress", "Web Application Attack", 1)
        done += len(reqs)
        t = conv.t + int(rng.uniform(5e7, 3e8))
    return _label("web-scanner-1", "web_scanner", "T1595.002", NIKTO_IP, [net.WEB], start, t,
                  ["capture", "access_log", "eve_json"], port=80, requests=n_requests, tool="Nikto/2.5.0")


def generate(ctx: Ctx) -> list[dict]:
    """All planted web attacks; returns their labels."""
    return [sqli(ctx), xss(ctx), traversal(ctx), nikto(ctx)]

