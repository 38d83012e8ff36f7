"""Web-attack signatures for HTTP requests (access logs, or HTTP requests seen in captures).

A declarative table of categories, each a case-insensitive regular expression over the URL (after
percent-decoding, twice — attackers double-encode) or over the user agent. Matching is vectorized
with pandas; a request can match several categories. This is a first-line triage filter of the
kind OWASP CRS and Nikto signatures describe, not a WAF: it says which requests an analyst should
read, and the detectors built on it decide what is a finding.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

import pandas as pd

#: category → (field, pattern). ``url`` patterns see the decoded URL; ``user_agent`` the raw header.
SIGNATURES: dict[str, tuple[str, str]] = {
    "sqli": ("url", r"(?:'|\")\s*(?:or|and)\s+(?:'|\"|\d)|union(?:\s+all)?\s+select|\bselect\s+.+?\s+from\s+\w"
                    r"|\b(?:sleep|benchmark|pg_sleep)\s*\(|information_schema|\bor\s+1\s*=\s*1|'\s*--|;\s*drop\s+table"
                    r"|waitfor\s+delay|extractvalue\s*\(|updatexml\s*\("),
    "xss": ("url", r"<\s*script|javascript:|on(?:error|load|mouseover|focus)\s*=|<\s*(?:img|svg|iframe|body)\b"
                   r"|document\.cookie|alert\s*\("),
    "path_traversal": ("url", r"(?:\.\.[/\\]){2,}|/etc/(?:passwd|shadow|hosts)|(?:boot|win)\.ini|/proc/self/"),
    "command_injection": ("url", r"[;|`]\s*(?:cat|id|whoami|uname|wget|curl|nc|bash|sh|ping)\b|\$\(\s*\w+"
                                 r"|\b(?:cmd|exec|system|passthru)=|/bin/(?:sh|bash)"),
    "webshell": ("url", r"/(?:c99|r57|wso|b374k|shell|cmd|up|alfa)\w*\.(?:php|asp|aspx|jsp)\b"
                        r"|\.(?:php|aspx?|jsp)\?(?:cmd|exec|c)=|eval\(|base64_decode\("),
    "scanner": ("user_agent", r"nikto|sqlmap|nuclei|nmap|masscan|zgrab|wpscan|dirbuster|gobuster|ffuf|acunetix"
                              r"|nessus|openvas|w3af|havij|burp"),
    "sensitive_file": ("url", r"/\.(?:env|git/|svn/|htaccess|htpasswd|DS_Store)|wp-config\.php|/phpinfo\.php"
                              r"|/server-status|\.(?:bak|old|sql|swp)(?:$|\?)"),
}
_COMPILED = {name: (field, re.compile(pattern, re.IGNORECASE)) for name, (field, pattern) in SIGNATURES.items()}


def decode_url(url: str) -> str:
    """Percent-decode a URL twice (``%253C`` → ``%3C`` → ``<``), as attack payloads are often double-encoded."""
    return unquote_plus(unquote_plus(url)) if "%" in url or "+" in url else url


def classify_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """Add an ``attack`` column: the comma-joined categories each request matches ('' for none).

    ``requests`` needs ``url`` and, for scanner detection, ``user_agent`` columns.
    """
    decoded = requests["url"].fillna("").astype(str).map(decode_url)
    agents = requests["user_agent"].fillna("").astype(str) if "user_agent" in requests else None
    hits = pd.DataFrame(index=requests.index)
    for name, (field, regex) in _COMPILED.items():
        column = decoded if field == "url" else agents
        hits[name] = column.str.contains(regex) if column is not None else False
    labels = hits.apply(lambda row: ",".join(name for name, hit in row.items() if hit), axis=1) if len(hits) else []
    return requests.assign(attack=labels)


def attack_summary(classified: pd.DataFrame) -> pd.DataFrame:
    """Requests per (category, client): first/last time, count, distinct URLs and statuses seen."""
    rows = classified.loc[classified["attack"] != ""].assign(category=lambda d: d["attack"].str.split(","))
    rows = rows.explode("category")
    if rows.empty:
        return pd.DataFrame(columns=["category", "src_ip", "requests", "urls", "first", "last", "statuses"])
    grouped = rows.groupby(["category", "src_ip"])
    return (grouped.agg(requests=("url", "size"), urls=("url", "nunique"), first=("ts", "min"), last=("ts", "max"),
                        statuses=("status", lambda s: ",".join(map(str, sorted(set(s))))))
            .reset_index().sort_values(["requests"], ascending=False, kind="stable").reset_index(drop=True))
