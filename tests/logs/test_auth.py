from __future__ import annotations

import pandas as pd

from sopkit.logs.auth import read_auth

LINES = [
    "Nov 24 02:13:45 web01 sshd[100]: Accepted publickey for budi from 10.20.1.5 port 50022 ssh2: ED25519 SHA256:x",
    "Nov 24 02:13:46 web01 sshd[101]: Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2",
    "Nov 24 02:13:47 web01 sshd[101]: Failed password for root from 2001:db8::9 port 4243 ssh2",
    "Nov 24 02:13:48 web01 sshd[101]: Invalid user oracle from 203.0.113.9 port 4244",
    "Nov 24 02:13:49 web01 sshd[101]: Connection closed by authenticating user root 203.0.113.9 port 4245 [preauth]",
    "Nov 24 02:13:50 web01 sshd[101]: Disconnected from user budi 10.20.1.5 port 50022",
    "Nov 24 02:13:51 web01 sudo:     budi : TTY=pts/0 ; PWD=/home/budi ; USER=root ; COMMAND=/usr/bin/systemctl reload apache2",
    "Nov 24 02:13:52 web01 sudo:  mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh",
    "Nov 24 02:13:53 web01 su[300]: (to root) webadmin on pts/1",
    "Nov 24 02:13:54 web01 su[301]: FAILED SU (to root) guest on pts/2",
    "Nov 24 02:13:55 web01 useradd[400]: new user: name=sysupd, UID=1003, GID=1003, home=/home/sysupd, shell=/bin/bash",
    "Nov 24 02:13:56 web01 groupadd[401]: group added to /etc/group: name=sysupd, GID=1003",
    "Nov 24 02:13:57 web01 usermod[402]: add 'sysupd' to group 'sudo'",
    "Nov 24 02:13:58 web01 gpasswd[403]: user eve added by root to group adm",
    "Nov 24 02:13:59 web01 passwd[404]: pam_unix(passwd:chauthtok): password changed for sysupd",
    "Nov 24 02:14:00 web01 sshd[101]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
    "ruser= rhost=scanner.example.net  user=root",
    "Nov 24 02:14:01 web01 sshd[100]: pam_unix(sshd:session): session opened for user budi(uid=1001) by budi(uid=0)",
    "Nov 24 02:14:02 web01 CRON[500]: pam_unix(cron:session): session closed for user root",
    "Nov 24 02:14:03 web01 systemd[1]: Started Session 4 of User budi.",
]
COLS = ["action", "outcome", "user", "src_ip", "src_port", "auth.by_user"]


def test_auth_semantics(tmp_path):
    path = tmp_path / "auth.log"
    path.write_text("\n".join(LINES) + "\n")
    result = read_auth(path, year=2026)
    ev = result.events
    assert result.rejections == [] and set(ev["source"]) == {"auth"}
    rows = [tuple(None if pd.isna(v) else v for v in r) for r in ev[COLS].itertuples(index=False)]
    assert rows == [
        ("login", "success", "budi", "10.20.1.5", 50022, None),
        ("login", "failure", "admin", "203.0.113.9", 4242, None),
        ("login", "failure", "root", "2001:db8::9", 4243, None),
        ("invalid_user", "failure", "oracle", "203.0.113.9", 4244, None),
        ("disconnect", None, "root", "203.0.113.9", 4245, None),
        ("logout", None, "budi", "10.20.1.5", 50022, None),
        ("sudo", "success", "root", None, None, "budi"),
        ("sudo", "failure", "root", None, None, "mallory"),
        ("su", "success", "root", None, None, "webadmin"),
        ("su", "failure", "root", None, None, "guest"),
        ("user_add", "success", "sysupd", None, None, None),
        ("group_add", "success", None, None, None, None),
        ("group_member_add", "success", "sysupd", None, None, None),
        ("group_member_add", "success", "eve", None, None, "root"),
        ("password_change", "success", "sysupd", None, None, None),
        ("auth", "failure", "root", None, None, None),
        ("session_open", "success", "budi", None, None, "budi"),
        ("session_close", "success", "root", None, None, None),
        (None, None, None, None, None, None),
    ]
    assert ev.loc[6, "process"] == "/usr/bin/systemctl reload apache2"
    assert (ev.loc[6, "auth.tty"], ev.loc[6, "auth.pwd"]) == ("pts/0", "/home/budi")
    assert ev.loc[7, "auth.error"] == "3 incorrect password attempts"
    assert ev.loc[12, "auth.group"] == "sudo" and ev.loc[11, "auth.group"] == "sysupd"
    assert ev.loc[15, "auth.rhost"] == "scanner.example.net" and ev.loc[15, "auth.service"] == "sshd"
    assert ev.loc[0, "auth.method"] == "publickey" and ev.loc[1, "auth.method"] == "password"


def test_demo_day_auth_log_reads_without_rejects(tmp_path):
    from sopkit.demo import generate_day

    day = generate_day(tmp_path, scale=0.05)
    result = read_auth(day.auth_log, year=day.date.year, tz=day.tz)
    ev = result.events
    assert result.rejections == [] and len(ev) == len(day.auth_log.read_text().splitlines())
    assert ev["ts"].dt.tz_convert(day.tz).dt.date.eq(day.date).all()
    fails = ev[(ev["action"] == "login") & (ev["outcome"] == "failure")]
    assert len(fails) > 100 and fails["src_ip"].nunique() == 1  # the planted brute force, one source
    assert set(ev.loc[ev["action"] == "user_add", "user"]) == {"sysupd"}
    assert ev["action"].notna().all()
