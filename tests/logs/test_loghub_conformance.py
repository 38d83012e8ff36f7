"""loghub OpenSSH_2k / Linux_2k: our syslog fields equal the corpus' structured CSV on all 2000 lines.

Deliberate difference: in OpenSSH_2k_structured.csv the column named ``Component`` holds the host
name (``LabSZ``; loghub's format for that file has no host field and no program), so it is compared
with our ``host`` and our ``program`` must be ``sshd`` on every line. loghub strips the content;
we strip trailing blanks only and keep leading ones (the kernel indents, e.g. ``kernel:  BIOS-e820``:
8 lines of Linux_2k), so content is compared with leading blanks removed.
"""

from __future__ import annotations

import pandas as pd

from sopkit.logs.auth import read_auth


def _ours(path):
    result = read_auth(path, year=2005, tz="UTC")
    assert result.rejections == []
    ev = result.events
    local = ev["ts"].dt.tz_convert("UTC")
    return result, pd.DataFrame({"month": local.dt.strftime("%b"), "day": local.dt.day.astype(str),
                                 "time": local.dt.strftime("%H:%M:%S"), "host": ev["host"], "program": ev["program"],
                                 "pid": ev["pid"].astype("string").fillna(""), "content": ev["message"]})


def _csv(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_openssh_fields_and_bruteforce_truth(conformance):
    base = conformance / "logs/loghub/OpenSSH_2k.log"
    result, ours = _ours(base)
    ref = _csv(f"{base}_structured.csv")
    assert len(ours) == len(ref) == 2000
    assert (ours["month"] == ref["Date"]).all() and (ours["day"] == ref["Day"]).all()
    assert (ours["time"] == ref["Time"]).all() and (ours["host"] == ref["Component"]).all()
    assert (ours["program"] == "sshd").all() and (ours["pid"] == ref["Pid"]).all()
    assert (ours["content"].str.lstrip() == ref["Content"].str.strip()).all()
    ev = result.events
    fails = ev[(ev["action"] == "login") & (ev["outcome"] == "failure")]
    per_ip = fails["src_ip"].value_counts()
    assert (len(fails), len(per_ip), int((per_ip >= 10).sum())) == (518, 23, 6)
    assert fails["src_ip"].notna().all() and fails["src_port"].notna().all()
    assert int((ev["action"] == "invalid_user").sum()) == 113 and int((ev["action"] == "login_probe").sum()) == 4


def test_linux_fields(conformance):
    base = conformance / "logs/loghub/Linux_2k.log"
    result, ours = _ours(base)
    ref = _csv(f"{base}_structured.csv")
    assert len(ours) == len(ref) == 2000
    assert (ours["month"] == ref["Month"]).all() and (ours["day"] == ref["Date"]).all()
    assert (ours["time"] == ref["Time"]).all() and (ours["host"] == ref["Level"]).all()
    assert (ours["program"] == ref["Component"]).all() and (ours["pid"] == ref["PID"]).all()
    assert (ours["content"].str.lstrip() == ref["Content"].str.strip()).all()
    ev = result.events
    su = ev[ev["program"] == "su(pam_unix)"]
    assert set(su["action"]) == {"session_open", "session_close"} and su["user"].notna().all()
    assert int(((ev["action"] == "auth") & (ev["outcome"] == "failure")).sum()) == 607
