"""Linux ``auth.log`` / ``secure``: syslog lines plus what they mean for account security.

The syslog layer (:mod:`sopkit.logs.syslog`) gives host/program/pid/message; this module adds
``action``, ``outcome``, ``user``, ``src_ip``, ``src_port``, ``process`` and ``auth.*`` columns from
a declarative rule table (:data:`RULES`): program, one RE2 pattern, action, outcome. The first rule
that matches a line wins; each rule runs once per chunk over the lines not yet claimed, so the
table costs a few vectorized passes rather than a Python loop per line.

Conventions (so detectors can count without re-reading messages):

* ``user`` is the account the event is about (the *target*: the login name, sudo's ``USER=``,
  su's target, the created account); who acted is ``auth.by_user``.
* ``action == "login"`` with ``outcome == "failure"`` is one failed credential check reported by
  sshd (``Failed password|publickey|keyboard-interactive …``): one line, one attempt. ``Failed none``
  is ``login_probe`` (the ``none`` method carries no credential), PAM's own ``authentication
  failure`` lines are ``auth`` (they duplicate sshd's line for the same attempt), and rsyslog's
  ``message repeated N times: [ … ]`` is ``repeated`` with ``auth.repeat = N`` (not multiplied out).
* ``src_ip`` only holds addresses; a host name in ``rhost=``/``from`` goes to ``auth.rhost``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sopkit.logs.schema import LogResult
from sopkit.logs.source import CHUNK_LINES, extract, take
from sopkit.logs.syslog import read_syslog

#: regex group name → output column
FIELD_COLUMNS = {"user": "user", "user2": "user", "src_ip": "src_ip", "src_port": "src_port",
                 "command": "process", "by": "auth.by_user", "tty": "auth.tty", "pwd": "auth.pwd",
                 "method": "auth.method", "group": "auth.group", "service": "auth.service",
                 "error": "auth.error", "uid": "auth.uid", "repeat": "auth.repeat"}
INT_COLUMNS = {"src_port", "auth.uid", "auth.repeat"}
_PAM = r"^(?:pam_\w+\((?P<service>[^:)]+):\w+\): )?"
_WHO = r"(?:(?:invalid |authenticating )?user (?P<user>\S*) )?"
_FROM = r"(?P<src_ip>\S+)(?: port (?P<src_port>\d+))?"
SSHD = ("sshd", "sshd-session", "sshd-auth")
ACCOUNTS = ("useradd", "usermod", "groupadd", "groupmod", "gpasswd", "userdel", "groupdel", "passwd",
            "chpasswd", "chage", "chsh", "chfn", "newusers")


@dataclass(frozen=True)
class Rule:
    """Lines of ``programs`` (None: any) whose message matches ``pattern`` are ``action``/``outcome``.

    ``outcome="error?"`` means failure when the ``error`` group matched, else success. ``hint`` is a
    literal every match contains; a pattern that starts with a literal needs none (its prefix is the
    hint). Only messages with the hint are handed to the regex — a cheap exact pre-filter, since one
    RE2 pass over every candidate line per rule was most of the reading time.
    """

    programs: tuple[str, ...] | None
    pattern: str
    action: str
    outcome: str | None
    hint: str | None = None

    def prefix(self) -> tuple[str, bool]:
        """``(literal, at start)``: the hint (anywhere) or the pattern's literal prefix (``""``: none)."""
        if self.hint is not None:
            return self.hint, False
        out = ""
        for ch in self.pattern[1:]:
            if ch in _META:
                if ch in "?*{" and out:
                    out = out[:-1]
                break
            out += ch
        return out, True


RULES: tuple[Rule, ...] = (
    Rule(None, r"^message repeated (?P<repeat>\d+) times: \[", "repeated", None),
    Rule(SSHD, r"^Accepted (?P<method>\S+) for (?P<user>\S+) from " + _FROM, "login", "success"),
    Rule(SSHD, r"^Failed none for (?:invalid user )?(?P<user>.*?) from " + _FROM, "login_probe", "failure"),
    Rule(SSHD, r"^Failed (?P<method>\S+) for (?:invalid user )?(?P<user>.*?) from " + _FROM, "login", "failure"),
    Rule(SSHD, r"^Invalid user (?P<user>.*?) from " + _FROM + r"\s*$", "invalid_user", "failure"),
    Rule(SSHD, r"^input_userauth_request: invalid user (?P<user>.*?) \[preauth\]", "auth_request", "failure"),
    Rule(SSHD, r"^(?:error: )?maximum authentication attempts exceeded for (?:invalid user )?(?P<user>\S+) from "
         + _FROM, "max_attempts", "failure",
         "maximum authentication attempts exceeded for "),
    Rule(SSHD, r"^Disconnecting(?: (?:invalid |authenticating )?user (?P<user>\S+) " + _FROM + r")?: "
         r"Too many authentication failures(?: for (?:invalid user )?(?P<user2>\S+))?", "disconnect", "failure"),
    Rule(SSHD, r"^Connection closed by " + _WHO + _FROM + r"(?: \[preauth\])?\s*$", "disconnect", None),
    Rule(SSHD, r"^Connection reset by " + _WHO + _FROM + r"(?: \[preauth\])?\s*$", "disconnect", None),
    Rule(SSHD, r"^Disconnected from " + _WHO + _FROM + r"(?: \[preauth\])?\s*$", "logout", None),
    Rule(SSHD, r"^(?:error: )?Received disconnect from (?P<src_ip>\S+?)(?: port (?P<src_port>\d+))?:\s*\d+:", "disconnect", None,
         "Received disconnect from "),
    Rule(SSHD, r"^Did not receive identification string from " + _FROM, "connection", "failure"),
    Rule(SSHD, r"^Connection from " + _FROM + r" on ", "connection", None),
    Rule(SSHD, r"^reverse mapping checking getaddrinfo for \S+ \[(?P<src_ip>[^\]]+)\] failed", "dns_mismatch", None),
    Rule(SSHD, r"^PAM \d+ more authentication failures?; .*?rhost=(?P<src_ip>\S*)(?:\s+user=(?P<user>\S+))?",
         "auth", "failure"),
    Rule(("sudo",), r"^\s*(?P<by>\S+) : (?:(?P<error>[^;]*?) ; )?TTY=(?P<tty>\S+) ; PWD=(?P<pwd>.*?) ; "
         r"USER=(?P<user>\S+) ;(?: GROUP=(?P<group>\S+) ;)?(?: TSID=\S+ ;)?(?: ENV=.*? ;)? COMMAND=(?P<command>.*)$",
         "sudo", "error?", "TTY="),
    Rule(("su",), r"^Successful su for (?P<user>\S+) by (?P<by>\S+)", "su", "success"),
    Rule(("su",), r"^FAILED su for (?P<user>\S+) by (?P<by>\S+)", "su", "failure"),
    Rule(("su",), r"^FAILED SU \(to (?P<user>\S+)\) (?P<by>\S+) on (?P<tty>\S+)", "su", "failure"),
    Rule(("su",), r"^\+?\s*\(to (?P<user>\S+)\) (?P<by>\S+) on (?P<tty>\S+)", "su", "success", "(to "),
    Rule(ACCOUNTS, r"^new user: name=(?P<user>[^,]+), UID=(?P<uid>\d+)", "user_add", "success"),
    Rule(ACCOUNTS, r"^(?:new group: name=|group added to \S+: name=)(?P<group>[^,]+)", "group_add", "success",
         "name="),
    Rule(ACCOUNTS, r"^add '(?P<user>[^']+)' to (?:shadow )?group '(?P<group>[^']+)'", "group_member_add", "success"),
    Rule(ACCOUNTS, r"^user (?P<user>\S+) added by (?P<by>\S+) to group (?P<group>\S+)", "group_member_add", "success"),
    Rule(ACCOUNTS, r"^user (?P<user>\S+) removed by (?P<by>\S+) from group (?P<group>\S+)", "group_member_remove",
         "success"),
    Rule(ACCOUNTS, r"^(?:delete '(?P<user2>[^']+)' from (?:shadow )?group '(?P<group>[^']+)')", "group_member_remove",
         "success", "delete '"),
    Rule(ACCOUNTS, r"^(?:delete user|removed user) '(?P<user>[^']+)'", "user_delete", "success", "user '"),
    Rule(ACCOUNTS, r"^(?:group '(?P<group>[^']+)' removed|removed group '(?P<user2>[^']+)')", "group_delete", "success", "group '"),
    Rule(ACCOUNTS, r"^(?:change user '(?P<user>[^']+)'|lock user '(?P<user2>[^']+)'|unlock user '[^']+')",
         "user_modify", "success", "user '"),
    Rule(None, _PAM + r"password changed for (?P<user>\S+)", "password_change", "success", "password changed for "),
    Rule(ACCOUNTS, r"^password for '(?P<user>[^']+)' changed by '(?P<by>[^']+)'", "password_change", "success"),
    Rule(None, _PAM + r"authentication failure; logname=(?P<by>\S*) uid=(?P<uid>\d*) euid=\d* tty=(?P<tty>\S*) "
         r"ruser=\S* rhost=(?P<src_ip>\S*)(?:\s+user=(?P<user>\S+))?", "auth", "failure",
         "authentication failure; logname="),
    Rule(None, _PAM + r"check pass; user unknown", "auth", "failure", "check pass; user unknown"),
    Rule(None, _PAM + r"session opened for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?(?: by (?P<by>[^\s(]*)"
         r"(?:\(uid=(?P<uid>\d+)\))?)?", "session_open", "success",
         "session opened for user "),
    Rule(None, _PAM + r"session closed for user (?P<user>\S+)", "session_close", "success",
         "session closed for user "),
)
_META = set("\\.^$*+?()[]{}|")
IP_LIKE = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]*)$"


def _mask(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


class _Column:
    """One output column built without Python objects: value pieces plus, per row, an index into them."""

    def __init__(self, n: int) -> None:
        self.pieces: list[pa.Array] = []
        self.size = 0
        self.pos = np.full(n, -1, dtype=np.int64)

    def put(self, rows: np.ndarray, values: pa.Array) -> None:
        """Row ``rows[k]`` gets ``values[k]``; a later put for the same row wins."""
        self.pieces.append(values)
        self.pos[rows] = self.size + np.arange(len(rows))
        self.size += len(rows)

    def array(self) -> pa.Array:
        values = pa.concat_arrays([*self.pieces, pa.nulls(1, pa.string())]) if self.pieces else pa.nulls(1, pa.string())
        return values.take(pa.array(np.where(self.pos < 0, len(values) - 1, self.pos)))


def enrich_auth(cols: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Add the auth columns to one chunk's parsed syslog columns (see :data:`RULES`)."""
    n = len(cols["message"])
    base = pc.utf8_lower(pc.replace_substring_regex(pc.fill_null(cols["program"], ""), r"\(.*$", ""))
    free = np.ones(n, dtype=bool)
    rule_of = np.full(n, -1, dtype=np.int64)
    out = {c: _Column(n) for c in dict.fromkeys(FIELD_COLUMNS.values())}
    message = pc.fill_null(cols["message"], "")
    programs: dict[tuple[str, ...], np.ndarray] = {}
    prefixes: dict[str, np.ndarray] = {}
    for k, rule in enumerate(RULES):
        cand = free
        if rule.programs is not None:
            if rule.programs not in programs:
                programs[rule.programs] = _mask(pc.is_in(base, value_set=pa.array(rule.programs)))
            cand = cand & programs[rule.programs]
        literal, at_start = rule.prefix()
        if literal and at_start:  # one cheap pass over the chunk per distinct prefix
            if literal not in prefixes:
                prefixes[literal] = _mask(pc.starts_with(message, literal))
            cand = cand & prefixes[literal]
        idx = np.flatnonzero(cand)
        if not len(idx):
            continue
        sub = message.take(pa.array(idx))
        if literal and not at_start:  # substring search is slower: only over this rule's candidates
            inside = _mask(pc.match_substring(sub, literal))
            idx, sub = idx[inside], sub.filter(pa.array(inside))
            if not len(idx):
                continue
        groups, hit = extract(sub, rule.pattern)
        rows = idx[hit]
        if not len(rows):
            continue
        free[rows] = False
        rule_of[rows] = k
        for name, arr in groups.items():
            values = take(arr, hit)
            keep = _mask(pc.not_equal(values, ""))
            out[FIELD_COLUMNS[name]].put(rows[keep], values.filter(pa.array(keep)))
    matched = rule_of >= 0
    rule_idx = pa.array(rule_of, mask=~matched)
    outcome = pa.array([r.outcome if r.outcome != "error?" else None for r in RULES], pa.string()).take(rule_idx)
    errors = out["auth.error"].pos >= 0
    checked = np.isin(rule_of, [k for k, r in enumerate(RULES) if r.outcome == "error?"])
    if checked.any():
        outcome = pc.if_else(pa.array(checked), pa.array(np.where(errors, "failure", "success")), outcome)
    ip = out["src_ip"].array()
    is_ip = pc.fill_null(pc.match_substring_regex(ip, IP_LIKE), True)
    result = dict(cols)
    result["action"] = pa.array([r.action for r in RULES], pa.string()).take(rule_idx)
    result["outcome"] = outcome
    for name, column in out.items():
        if name == "src_ip":
            result["src_ip"] = pc.if_else(is_ip, ip, None)
            result["auth.rhost"] = pc.if_else(is_ip, None, ip)
        elif name in INT_COLUMNS:
            result[name] = pc.cast(column.array(), pa.int64())
        else:
            result[name] = column.array()
    return result


def read_auth(path: Path, *, year: int | None = None, tz: str = "Asia/Jakarta", progress: bool = False,
              chunk_lines: int = CHUNK_LINES, engine: str = "auto") -> LogResult:
    """Read a Linux ``auth.log``/``secure`` file (any syslog layout, plain or gzip) with auth semantics.

    ``engine`` is :func:`~sopkit.logs.syslog.read_syslog`'s (``auto``, ``compiled`` or ``regex``).
    """
    return read_syslog(path, year=year, tz=tz, progress=progress, chunk_lines=chunk_lines, source="auth",
                       enrich=enrich_auth, engine=engine)
