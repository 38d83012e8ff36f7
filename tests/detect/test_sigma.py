"""Sigma evaluation: our shipped rules on generated Linux auth and web events, the rule account."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.detect.sigma import evaluate, load_rules, shipped_rules
from sopkit.errors import SopkitError
from sopkit.logs.schema import conform

AUTH = [  # (program, message, user, src_ip) → rule expected to fire (None: benign)
    ("sshd", "Failed password for root from 203.0.113.9 port 4242 ssh2", "root", "203.0.113.9", "SSH Failed Password or Key"),
    ("sshd", "Invalid user oracle from 203.0.113.9 port 4243", "oracle", "203.0.113.9", "SSH Login Attempt for Unknown User"),
    ("sshd", "Accepted publickey for budi from 10.0.0.5 port 5000 ssh2", "budi", "10.0.0.5", None),
    ("sudo", "budi : TTY=pts/0 ; PWD=/home/budi ; USER=root ; COMMAND=/bin/bash", "root", None, "Sudo to an Interactive Root Shell"),
    ("sudo", "budi : TTY=pts/0 ; PWD=/home/budi ; USER=root ; COMMAND=/usr/bin/apt update", "root", None, None),
    ("usermod", "add 'eve' to group 'sudo'", "eve", None, "Account Added to sudo/wheel/admin Group"),
    ("usermod", "add 'eve' to group 'audio'", "eve", None, None),
    ("useradd", "new user: name=eve, UID=1001, GID=1001, home=/home/eve, shell=/bin/bash", "eve", None, "New Local User Account"),
]
WEB = [  # (url, user agent, status) → rule expected
    ("/index.php?id=1%27%20or%20%271%27=%271", "Mozilla/5.0", 200, "SQL Injection Attempt in Request URL"),
    ("/search?q=<script>alert(1)</script>", "Mozilla/5.0", 200, "Cross-Site Scripting Attempt in Request URL"),
    ("/download?file=../../../../etc/passwd", "Mozilla/5.0", 404, "Path Traversal Attempt in Request URL"),
    ("/", "sqlmap/1.7.2#stable (https://sqlmap.org)", 200, "Vulnerability Scanner User Agent"),
    ("/uploads/shell.php?cmd=id", "Mozilla/5.0", 200, "Web Shell Access"),
    ("/berita/2026/pengumuman.html", "Mozilla/5.0", 200, None),
]


def _events() -> pd.DataFrame:
    ts = pd.Timestamp("2026-03-02 01:00:00", tz="UTC")
    rows = []
    for i, (program, message, user, ip, _) in enumerate(AUTH):
        rows.append(dict(ts=ts + pd.Timedelta(seconds=i), source="auth", file="auth.log", line=i + 1, host="srv1",
                         program=program, message=message, user=user, src_ip=ip, raw=f"Mar  2 08:00:0{i} srv1 {program}: {message}"))
    for i, (url, ua, status, _) in enumerate(WEB):
        rows.append(dict(ts=ts + pd.Timedelta(seconds=60 + i), source="access", file="access.log", line=i + 1, host="web1",
                         src_ip="198.51.100.7", url=url, http_method="GET", http_status=status, user_agent=ua,
                         raw=f'198.51.100.7 - - [02/Mar/2026:08:01:0{i} +0700] "GET {url} HTTP/1.1" {status} 10 "-" "{ua}"'))
    return conform(pd.DataFrame(rows))


def test_shipped_rules_fire_exactly_on_planted_events():
    rules = load_rules([shipped_rules()])
    assert len(rules) == 10 and all(not r.error for r in rules)
    run = evaluate(rules, _events())
    assert run.summary == {"loaded": 10, "skipped": 0, "evaluated": 10, "fired": 10, "alerts": 10}
    fired = sorted(zip(run.alerts["file"], run.alerts["line"], run.alerts["rule_title"], strict=True))
    expected = sorted([("auth.log", i + 1, a[-1]) for i, a in enumerate(AUTH) if a[-1]] +
                      [("access.log", i + 1, w[-1]) for i, w in enumerate(WEB) if w[-1]])
    assert fired == expected
    sqli = run.alerts[run.alerts["rule_title"].str.startswith("SQL")].iloc[0]
    assert sqli["level"] == "high" and "attack.t1190" in sqli["tags"] and sqli["details"] == "url: /index.php?id=1%27%20or%20%271%27=%271"


def test_skips_are_counted_with_reasons(tmp_path):
    (tmp_path / "bad.yml").write_text("title: broken\nlogsource: [\n")
    (tmp_path / "mac.yml").write_text(
        "title: mac thing\nid: 11111111-2222-3333-4444-555555555555\nlogsource:\n  product: macos\n"
        "  category: process_creation\ndetection:\n  sel:\n    Image: /bin/x\n  condition: sel\n")
    (tmp_path / "corr.yml").write_text(
        "title: base\nname: base_rule\nid: 11111111-2222-3333-4444-555555555556\nlogsource:\n  product: linux\n"
        "  service: auth\ndetection:\n  sel:\n    program: sshd\n  condition: sel\n---\n"
        "title: many\nid: 11111111-2222-3333-4444-555555555557\ncorrelation:\n  type: event_count\n"
        "  rules: [base_rule]\n  group-by: [src_ip]\n  timespan: 5m\n  condition:\n    gte: 3\n")
    run = evaluate(load_rules([tmp_path]), _events())
    reasons = {r.title or r.file: r.reason.split(":")[0] for r in run.rules if r.status == "skipped"}
    assert reasons["mac thing"] == "unsupported logsource"
    assert reasons["many"] == "correlation rule"
    assert any(v == "invalid rule" for v in reasons.values())
    assert reasons["base"] == "no query"  # only feeds the correlation (generate: false)


def test_absent_field_evaluates_without_matching(tmp_path):
    (tmp_path / "r.yml").write_text(
        "title: odd field\nid: 11111111-2222-3333-4444-555555555558\nlogsource:\n  category: webserver\n"
        "detection:\n  sel:\n    cs-cookie|contains: evil\n  condition: sel\n")
    run = evaluate(load_rules([tmp_path]), _events())
    assert run.rules[0].status == "evaluated" and run.rules[0].matches == 0
    assert run.rules[0].missing_fields == ["cs-cookie"]


def test_missing_rule_path_is_an_error(tmp_path):
    with pytest.raises(SopkitError, match="not found"):
        load_rules([tmp_path / "nope"])


def test_high_alerts_become_findings_per_rule_and_host():
    from sopkit.detect.sigma import sigma_findings

    run = evaluate(load_rules([shipped_rules()]), _events())
    levels = run.alerts.groupby("rule_title")["level"].first()
    findings = sigma_findings(run)
    high = {t for t, lv in levels.items() if lv in ("high", "critical")}
    assert {f.entities["rule"][0] for f in findings} == high and high
    for f in findings:
        rows = run.alerts[run.alerts["rule_title"] == f.entities["rule"][0]]
        assert f.counts["events"] == len(rows) == len(f.evidence)
        assert f.severity == {"high": "high", "critical": "critical"}[rows["level"].iloc[0]]
        assert f.entities["host"] == [rows["host"].iloc[0]]
        assert f.first_seen == rows["timestamp"].min().to_pydatetime()
    sqli = next(f for f in findings if f.entities["rule"][0].startswith("SQL"))
    assert sqli.attack == "T1190" and "Sigma rule" in sqli.explanation_en
    assert len(sigma_findings(run, "low")) == run.alerts.groupby(["rule_id", "host"]).ngroups
