"""Cleartext credentials and protocols: FTP/POP3 USER+PASS, IMAP LOGIN, SMTP AUTH, Telnet, HTTP Basic.

Reads the cleartext-login table built by :mod:`sopkit.capture.analyze` and the ``username`` /
``password_present`` columns of the HTTP table. Passwords are never stored anywhere: findings
name the protocol, the client, the server and the user names seen. One finding per (protocol,
server), high when the login crossed the network boundary (one end internal, the other external),
medium otherwise.
"""

from __future__ import annotations

import pandas as pd

from sopkit.capture.analyze import local_mask
from sopkit.detect.common import finding
from sopkit.detect.thresholds import Thresholds
from sopkit.findings import Finding
from sopkit.report.i18n import number

CLEAR_EVIDENCE = ["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "protocol", "command", "username",
                  "password_present"]


def logins(tables) -> pd.DataFrame:
    """Cleartext login rows, including HTTP Basic authorisations (no passwords)."""
    h = tables.http
    basic = h[h["username"].notna()].assign(protocol="http-basic", command=lambda d: d["method"])
    parts = [p for p in (tables.cleartext, basic[CLEAR_EVIDENCE]) if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=CLEAR_EVIDENCE)


def detect_cleartext(tables, thresholds: Thresholds, history=None) -> list[Finding]:
    """Logins and sessions that expose credentials in clear text (see module docstring)."""
    rows_all = logins(tables)
    found: list[Finding] = []
    if rows_all.empty:
        return found
    lo = local_mask(rows_all["id.orig_h"], thresholds.local_nets)
    lr = local_mask(rows_all["id.resp_h"], thresholds.local_nets)
    rows_all = rows_all.assign(crosses=(lo != lr).to_numpy())
    for (proto, server), rows in rows_all.groupby(["protocol", "id.resp_h"]):
        users = sorted({u for u in rows["username"].dropna().astype(str) if u})
        clients = sorted(set(rows["id.orig_h"]))
        with_pw = int(rows["password_present"].fillna(False).astype(bool).sum())
        crosses = bool(rows["crosses"].any())
        what_id = "sesi Telnet (semua ketikan termasuk kata sandi terbaca)" if proto == "telnet" else \
            f"{number(len(rows))} login {proto} ({number(with_pw)} dengan kata sandi)"
        what_en = "Telnet sessions (every keystroke, passwords included, is readable)" if proto == "telnet" else \
            f"{len(rows)} {proto} logins ({with_pw} with a password)"
        found.append(finding(
            "cleartext", (f"Kredensial {proto} tanpa enkripsi ke {server}", f"Cleartext {proto} credentials to {server}"),
            0.9 if crosses else 0.6, rows,
            severity="high" if crosses else "medium", attack="T1040,T1552.001",
            entities={"server_ip": [server], "src_ip": clients[:50], "user": users[:50], "protocol": [proto]},
            counts={"logins": len(rows), "with_password": with_pw, "clients": len(clients), "users": len(users)},
            explanation=(f"Terlihat {what_id} ke {server} tanpa enkripsi"
                         f"{' melewati batas jaringan' if crosses else ''}: siapa pun yang menyadap jalur dapat "
                         "membaca nama pengguna dan kata sandinya (kata sandi tidak disimpan oleh sopkit).",
                         f"Seen: {what_en} to {server} without encryption"
                         f"{' across the network boundary' if crosses else ''}: anyone on the path can read the "
                         "user names and passwords (sopkit does not store the passwords)."),
            recommendation=("Ganti kata sandi akun yang terlihat; pindahkan layanan ke versi terenkripsi (SFTP/FTPS, "
                            "SSH, IMAPS/POP3S, HTTPS).", "Change the exposed accounts' passwords; move the service to "
                            "its encrypted form (SFTP/FTPS, SSH, IMAPS/POP3S, HTTPS)."),
            columns=CLEAR_EVIDENCE, table="cleartext", query=f"{proto} to {server}"))
    return found
