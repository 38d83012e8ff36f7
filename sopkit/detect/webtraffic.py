"""Web attacks visible in HTTP requests of captures, using :func:`sopkit.detect.web.classify_requests`.

Each request's URI (and user agent, for scanner tools) goes through the shared signature table;
matches are grouped per (client, server, category) into one finding. Injection-type categories
(SQLi, XSS, traversal, command injection, webshell, scanners) need ``web_min_requests`` matching
requests, probes for sensitive files ``web_sensitive_min_requests``. A finding is high from
``web_high_requests`` requests, or when any matching request got a 2xx answer.
"""

from __future__ import annotations

from sopkit.detect.common import finding, strength
from sopkit.detect.thresholds import Thresholds
from sopkit.detect.web import classify_requests
from sopkit.findings import Finding
from sopkit.report.i18n import number

#: category → (ATT&CK technique, Indonesian name, English name)
CATEGORIES = {
    "sqli": ("T1190", "injeksi SQL", "SQL injection"),
    "xss": ("T1189", "cross-site scripting (XSS)", "cross-site scripting (XSS)"),
    "path_traversal": ("T1083", "path traversal", "path traversal"),
    "command_injection": ("T1059,T1190", "injeksi perintah", "command injection"),
    "webshell": ("T1505.003", "akses webshell", "webshell access"),
    "scanner": ("T1595.002", "pemindai kerentanan web", "web vulnerability scanner"),
    "sensitive_file": ("T1595.003", "pencarian berkas sensitif", "sensitive file probing"),
}
HTTP_EVIDENCE = ["ts", "id.orig_h", "id.resp_h", "id.resp_p", "method", "host", "uri", "user_agent", "status_code",
                 "attack"]


def detect_web_attacks(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Requests matching web-attack signatures, per client, server and category."""
    h = tables.http
    h = h[h["uri"].notna()]
    found: list[Finding] = []
    if h.empty:
        return found
    c = classify_requests(h.assign(url=h["uri"]))
    c = c[c["attack"] != ""]
    ex = c.assign(category=c["attack"].str.split(",")).explode("category")
    for (src, dst, cat), rows in ex.groupby(["id.orig_h", "id.resp_h", "category"]):
        need = thresholds.web_sensitive_min_requests if cat == "sensitive_file" else thresholds.web_min_requests
        if len(rows) < need:
            continue
        technique, name_id, name_en = CATEGORIES.get(cat, ("T1190", cat, cat))
        ok = int(rows["status_code"].between(200, 299).fillna(False).sum())
        high = len(rows) >= thresholds.web_high_requests or (ok > 0 and cat != "sensitive_file")
        score = strength(len(rows), max(need, 1)) * (1.0 if high else 0.8)
        found.append(finding(
            f"web.{cat}", (f"Serangan web ({name_id}) dari {src} ke {dst} ({number(len(rows))} permintaan)",
                           f"Web attack ({name_en}) from {src} on {dst} ({len(rows)} requests)"), score, rows,
            severity="high" if high else "medium", attack=technique,
            entities={"src_ip": [src], "dst_ip": [dst], "host": sorted(set(rows["host"].dropna()))[:10]},
            counts={"requests": len(rows), "answered_2xx": ok, "urls": rows["uri"].nunique()},
            explanation=(f"{number(len(rows))} permintaan HTTP dari {src} ke {dst} cocok dengan pola {name_id} "
                         f"({number(ok)} dijawab "
                         "2xx): upaya serangan terhadap aplikasi web.",
                         f"{len(rows)} HTTP requests from {src} to {dst} match {name_en} patterns ({ok} answered "
                         "2xx): an attack attempt against the web application."),
            recommendation=("Periksa log aplikasi untuk respons yang berhasil, blokir sumber di WAF/firewall, dan "
                            "perbaiki kerentanan bila ada.", "Check the application log for successful responses, "
                            "block the source at the WAF/firewall and fix the vulnerability if present."),
            columns=HTTP_EVIDENCE, table="http", query=f"{cat} from {src}"))
    return found
