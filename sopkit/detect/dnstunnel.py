"""DNS tunnelling and exfiltration, from the DNS table.

Method, per registered domain (the name's last two labels, three under two-letter country
second-level domains such as ``go.id``; tools that use a fixed first label with no real domain,
like dnscat2's ``dnscat.<hex>``, are grouped by that label): the number of distinct names queried
under it, the mean length and the mean Shannon entropy (bits per character) of the part before
the domain, the share of record types tunnels use (TXT, NULL, CNAME, MX, ANY, private types) and
the bytes carried in names. A tunnel encodes data in the names, so it needs many distinct, long,
random-looking names; ordinary sites reuse a few names. A domain is reported when it has at least
``dns_min_unique_subdomains`` distinct names and at least one of: long names, high entropy, or a
majority of tunnel record types (two or more make it high). mDNS/LLMNR and reverse lookups are
ignored.
"""

from __future__ import annotations

import re

import pandas as pd

from sopkit.detect.common import finding, strength, text_entropy
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number

TUNNEL_TYPES = {"TXT", "NULL", "CNAME", "MX", "*", "KEY", "SRV"}
_TLD = re.compile(r"^(?:[a-z]{2,18}|xn--[a-z0-9-]{2,30})$")
_SECOND_LEVEL = {"ac", "co", "com", "edu", "go", "gov", "mil", "my", "ne", "net", "or", "org", "sch", "web"}
DNS_EVIDENCE = ["ts", "id.orig_h", "id.resp_h", "query", "qtype_name", "rcode_name", "answers", "query_len"]


def split_domain(name: str) -> tuple[str, str]:
    """(registered domain, the part before it) of a query name (see module docstring)."""
    labels = name.rstrip(".").split(".")
    if len(labels) < 2:
        return name, ""
    if not _TLD.match(labels[-1]):
        return labels[0] + ".*", ".".join(labels[1:])
    k = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-k:]), ".".join(labels[:-k])


def domain_stats(dns: pd.DataFrame, ignore_suffixes: list[str]) -> pd.DataFrame:
    """Per registered domain: queries, distinct names, mean length/entropy, tunnel-type share, bytes."""
    q = dns[dns["query"].notna() & dns["service"].eq("dns")]
    if q.empty:
        return pd.DataFrame()
    names = q["query"].astype(str).str.lower()
    keep = ~names.apply(lambda n: any(n == s or n.endswith("." + s) for s in ignore_suffixes))
    q, names = q[keep], names[keep]
    parts = names.map(split_domain)
    q = q.assign(domain=parts.str[0], sub=parts.str[1])
    uniq = q.drop_duplicates(["domain", "sub"])
    uniq = uniq.assign(sub_len=uniq["sub"].str.len(), sub_entropy=uniq["sub"].map(text_entropy))
    names_stats = uniq[uniq["sub"] != ""].groupby("domain").agg(
        unique=("sub", "size"), mean_len=("sub_len", "mean"), entropy=("sub_entropy", "mean"),
        max_label=("max_label_len", "max"))
    per = q.groupby("domain").agg(queries=("query", "size"), clients=("id.orig_h", "nunique"),
                                  name_bytes=("query_len", "sum"),
                                  tunnel_types=("qtype_name", lambda s: float(s.isin(TUNNEL_TYPES).mean())))
    return per.join(names_stats, how="inner")


def detect_dns_tunnel(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Domains whose query names carry data (see module docstring)."""
    dns = tables.dns
    stats = domain_stats(dns, thresholds.dns_ignore_suffixes)
    found: list[Finding] = []
    if stats.empty:
        return found
    stats = stats[stats["unique"] >= thresholds.dns_min_unique_subdomains]
    for domain, s in stats.iterrows():
        signals = {"long": s["mean_len"] >= thresholds.dns_min_mean_label,
                   "entropy": s["entropy"] >= thresholds.dns_min_entropy,
                   "types": s["tunnel_types"] >= 0.5}
        hits = [k for k, v in signals.items() if v]
        if not hits:
            continue
        names = dns["query"].astype(str).str.lower()
        rows = dns[names.map(lambda n: split_domain(n)[0]) == domain] if domain.endswith(".*") else \
            dns[(names == domain) | names.str.endswith("." + domain)]
        score = (strength(s["unique"], thresholds.dns_min_unique_subdomains)
                 + strength(s["mean_len"], thresholds.dns_min_mean_label)
                 + strength(s["entropy"], thresholds.dns_min_entropy) + float(s["tunnel_types"])) / 4
        clients = list(rows["id.orig_h"].value_counts().index[:20])
        desc_id = {"long": f"nama rata-rata {number(s['mean_len'], decimals=0)} karakter", "entropy":
                   f"entropi {number(s['entropy'], decimals=1)} "
                   f"bit/karakter", "types": f"{s['tunnel_types']:.0%} TXT/NULL/CNAME/MX"}
        desc_en = {"long": f"names average {s['mean_len']:.0f} characters", "entropy":
                   f"entropy {s['entropy']:.1f} bits/char", "types": f"{s['tunnel_types']:.0%} TXT/NULL/CNAME/MX"}
        found.append(finding(
            "dnstunnel", (f"Tunnel DNS / eksfiltrasi data melalui {domain} ({number(int(s['unique']))} nama berbeda)",
                          f"DNS tunnel / exfiltration via {domain} ({int(s['unique'])} distinct names)"), score, rows,
            severity="high" if len(hits) >= 2 else "medium", attack="T1071.004,T1048.003",
            entities={"domain": [domain], "src_ip": clients},
            counts={"queries": int(s["queries"]), "distinct_names": int(s["unique"]), "mean_length": s["mean_len"],
                    "mean_entropy": s["entropy"], "tunnel_type_share": s["tunnel_types"],
                    "name_bytes": int(s["name_bytes"] or 0), "clients": int(s["clients"])},
            explanation=(f"{number(len(rows))} kueri DNS ke domain {domain} memakai {number(int(s['unique']))} "
                         f"nama berbeda ("
                         + ", ".join(desc_id[h] for h in hits) + "): data disisipkan dalam nama DNS — tunneling "
                         "atau eksfiltrasi data lewat DNS (misalnya iodine, dnscat2).",
                         f"{len(rows)} DNS queries for {domain} used {int(s['unique'])} distinct names ("
                         + ", ".join(desc_en[h] for h in hits) + "): data encoded in DNS names — DNS tunnelling or "
                         "exfiltration (e.g. iodine, dnscat2)."),
            recommendation=("Periksa proses pada host klien, blokir domain di resolver, dan batasi klien agar hanya "
                            "memakai resolver kantor.", "Inspect the processes on the client hosts, block the domain "
                            "at the resolver, and allow clients to use only the office resolver."),
            columns=DNS_EVIDENCE, table="dns", query=f"query under {domain}"))
    return found
