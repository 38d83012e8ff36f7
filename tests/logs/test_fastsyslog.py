"""The compiled RFC 3164 header scanner gives exactly the regex reader's tables; auth hints are exact."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from test_auth import LINES as AUTH_LINES
from test_syslog import LINES as SYSLOG_LINES

from sopkit.errors import ParameterError
from sopkit.logs import auth, source
from sopkit.logs.auth import read_auth
from sopkit.logs.fastsyslog import scan_block
from sopkit.logs.schema import LogResult
from sopkit.logs.syslog import read_syslog

H = "Nov 24 02:13:45 web01"
EDGE = [
    f"{H} sshd[1]: plain",
    f"<13>{H} sshd[1]: with pri",
    f"<1234>{H} sshd[1]: four-digit pri",
    f"<>{H} sshd[1]: empty pri",
    f"<7{H} sshd[1]: open pri",
    "Nov  4 02:13:45   web01    sshd[1]:    spaces everywhere   ",
    "Nov 4 02:13:45 web01 app: one-digit day",
    "Nov 123 02:13:45 web01 app: three-digit day",
    "Nov 24 2:13:45 web01 app: one-digit hour",
    "Nov 24 02:13:45\tweb01 app: tab before host",
    "Nov 24 02:13:45 web01\tapp: tab after host",
    "Nov 24 02:13:45 web01",
    "Nov 24 02:13:45 web01 ",
    "nov 24 02:13:45 web01 app: lower-case month",
    "Nov 24 02:13:45 web01 \tapp: tab before tag",
    f"{H} syslogd 1.4.1: program with spaces",
    f"{H} sshd(pam_unix)[42]: parenthesis",
    f"{H} {'p' * 48}: 48 characters",
    f"{H} {'p' * 49}: 49 characters",
    f"{H} {'é' * 48}: 48 two-byte characters",
    f"{H} {'é' * 49}: 49 two-byte characters",
    f"{H} app[12: unclosed pid",
    f"{H} app[]: empty pid",
    f"{H} app[x1]: letters in pid",
    f"{H} app[12]:no space",
    f"{H} app[12]:",
    f"{H} app:",
    f"{H} app:no space",
    f"{H} app [12]: space before pid",
    f"{H} :starts with colon",
    f"{H} [starts with bracket]: x",
    f"{H} app: trailing unicode space\u3000",
    f"{H} app: trailing nbsp\xa0",
    f"{H} app\u3000: unicode space in tag",
    f"{H} app: tab inside\tmessage\t",
    f"{H} app: 日本語 message",
    "Feb 29 10:00:00 web01 app: not in 2026",
    "Nov 24 24:00:00 web01 app: hour 24",
    "Nov 24 23:59:60 web01 app: leap second",
    "Dec 31 23:59:59 web01 app: last of the year",
    "Jan  1 00:00:00 web01 app: first of the next",
]


def _same(path, reader=read_auth, **kwargs) -> LogResult:
    fast = reader(path, engine="compiled", **kwargs)
    slow = reader(path, engine="regex", **kwargs)
    pd.testing.assert_frame_equal(fast.events, slow.events)
    assert [r.__dict__ for r in fast.rejections] == [r.__dict__ for r in slow.rejections]
    assert fast.assumptions == slow.assumptions
    return fast


def test_edge_headers_same_table(tmp_path):
    path = tmp_path / "messages"
    path.write_bytes(("\n".join(EDGE + SYSLOG_LINES) + "\n").encode())
    result = _same(path, read_syslog, year=2026, tz="UTC")
    ev = result.events.set_index("line")
    assert ev.loc[2, "syslog.facility"] == 1 and ev.loc[2, "syslog.severity"] == 5
    assert ev.loc[6, "host"] == "web01" and ev.loc[6, "message"] == "   spaces everywhere"
    assert ev.loc[16, "program"] == "syslogd 1.4.1" and ev.loc[17, "pid"] == 42
    assert ev.loc[18, "program"] == "p" * 48 and pd.isna(ev.loc[19, "program"])
    assert ev.loc[20, "program"] == "é" * 48 and pd.isna(ev.loc[21, "program"])
    assert ev.loc[26, "program"] == "app" and ev.loc[26, "message"] == "" and pd.isna(ev.loc[28, "program"])
    assert ev.loc[32, "message"] == "trailing unicode space"
    assert ev.loc[41, "ts"] == pd.Timestamp("2027-01-01", tz="UTC")
    reasons = {r.line: r.reason.split(" (")[0] for r in result.rejections}
    assert reasons[3] == reasons[8] == reasons[10] == "not a syslog line" and reasons[37] == "invalid date or time"
    taken = set((scan_block(path.read_bytes())[0] + 1).tolist())
    # the scanner itself refuses exactly the lines RFC3164 does not match (bad <pri>, day, hour, tabs, no message)
    assert set(range(1, len(EDGE) + 1)) - taken == {3, 4, 5, 8, 9, 10, 11, 12, 14}


def test_auth_lines_demo_day_and_blocks(tmp_path, monkeypatch):
    from sopkit.demo import generate_day

    day = generate_day(tmp_path / "demo", scale=0.05)
    result = _same(day.auth_log, year=2026)
    assert not result.rejections and len(result.events) == len(day.auth_log.read_text().splitlines())
    lines = day.auth_log.read_text().splitlines() + AUTH_LINES * 2 + SYSLOG_LINES + EDGE
    random.Random(3).shuffle(lines)
    mixed = tmp_path / "mixed.log"
    mixed.write_bytes("\n".join(lines).encode() + b"\n\xffbad\n")
    whole = _same(mixed, year=2026)
    monkeypatch.setattr(source, "BLOCK_BYTES", 2000)
    monkeypatch.setattr(source, "READ_BYTES", 700)
    pd.testing.assert_frame_equal(_same(mixed, year=2026).events, whole.events)


def test_rule_hints_are_exact(tmp_path, monkeypatch):
    path = tmp_path / "auth.log"
    path.write_text("\n".join(AUTH_LINES + EDGE) + "\n")
    hinted = read_auth(path, year=2026)
    assert hinted.events["action"].notna().sum() >= len(AUTH_LINES) - 1
    monkeypatch.setattr(auth.Rule, "prefix", lambda self: ("", True))
    pd.testing.assert_frame_equal(read_auth(path, year=2026).events, hinted.events)
    assert auth.RULES[1].prefix() == ("", True)
    monkeypatch.undo()
    assert auth.RULES[1].prefix() == ("Accepted ", True) and auth.RULES[15].prefix() == ("PAM ", True)


def test_loghub_samples_same(conformance):
    for name in ("OpenSSH_2k.log", "Linux_2k.log"):
        result = _same(conformance / "logs/loghub" / name, year=2005, tz="UTC")
        assert len(result.events) == 2000


def test_bad_engine(tmp_path):
    path = tmp_path / "auth.log"
    path.write_text(EDGE[0] + "\n")
    with pytest.raises(ParameterError, match="engine"):
        read_auth(path, engine="fast")


def test_random_edits_same_table(tmp_path):
    rng = random.Random(13)
    alphabet = [" ", "\t", ":", "[", "]", "<", ">", "1", "0", "a", "é", "\u3000", "\x0c"]
    out = []
    for _ in range(3000):
        line = list(rng.choice(EDGE[:36] + AUTH_LINES))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(min(len(line) + 1, 40))  # the header is where the scanner decides
            if rng.random() < 0.5:
                line.insert(pos, rng.choice(alphabet))
            elif pos < len(line):
                line[pos] = rng.choice(alphabet)
        out.append("".join(line))
    path = tmp_path / "mutants.log"
    path.write_text("\n".join(out) + "\n")
    result = _same(path, year=2026, tz="UTC")
    assert len(result.events) > 500 and len(result.rejections) > 500
    assert len(scan_block(path.read_bytes())[0]) > 400  # most events came through the compiled scanner


def test_rfc5424_procid_that_is_not_a_number(tmp_path):
    path = tmp_path / "messages"
    path.write_text("<34>1 2026-11-24T02:13:45Z web01 app 7[7 - - token procid\n"
                    "<34>1 2026-11-24T02:13:46Z web01 app 4242 - - numeric procid\n"
                    f"{H} app[1234567890123456789]: pid beyond int64\n")
    ev = _same(path, read_syslog, year=2026, tz="UTC").events
    assert ev["pid"].isna().tolist() == [True, False, True] and ev.loc[1, "pid"] == 4242
    assert ev.loc[2, "program"] == "app"
