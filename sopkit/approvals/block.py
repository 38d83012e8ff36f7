"""The approval block at the end of a report: each role, its kind of approval, and its status.

SOP "Monitoring Traffic Data" has the executor (*pelaksana*) prepare the report, the head of the
information-security section initial it (*paraf*) and the head of the IT division sign it (*tanda
tangan*). Until someone approves, the block says so (*menunggu*): a printed report never looks
approved when it is not. Approvals recorded later (signed, in a ledger) are passed in as
:class:`Approval` records and shown with their time and key fingerprint.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass

from sopkit.report.i18n import t
from sopkit.timezones import format_local


@dataclass(frozen=True)
class Role:
    """A position that takes part in approving a report."""

    key: str  #: stable id, e.g. "kasi_keamanan_informasi"
    title_id: str
    title_en: str
    kind: str  #: "prepared" (pelaksana), "paraf" or "tanda_tangan"


@dataclass(frozen=True)
class Approval:
    """One recorded approval of a report by a role."""

    role: str  #: Role.key
    name: str
    at: dt.datetime  #: when, UTC
    key_fingerprint: str = ""


#: Roles of the traffic-monitoring report, in signing order.
TRAFFIC_ROLES: tuple[Role, ...] = (
    Role("pelaksana", "Pelaksana", "Executor", "prepared"),
    Role("kasi_keamanan_informasi", "Kepala Seksi Keamanan Informasi", "Head of Information Security Section",
         "paraf"),
    Role("kabid_tik", "Kepala Bidang TIK", "Head of IT Division", "tanda_tangan"),
)


class ApprovalBlock:
    """Displayable (HTML, escaped) approval table; ``str()`` gives a plain-text version."""

    def __init__(self, roles: Sequence[Role], approvals: Sequence[Approval] = (), *, lang: str = "id",
                 zone: str = "WIB", prepared_by: str = "") -> None:
        self.roles, self.lang, self.zone, self.prepared_by = list(roles), lang, zone, prepared_by
        self.approvals = {a.role: a for a in approvals}

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(role title, kind, name, status) per role."""
        out = []
        for role in self.roles:
            title = role.title_id if self.lang == "id" else role.title_en
            kind = t(f"approval_{role.kind}", self.lang)
            done = self.approvals.get(role.key)
            if done is not None:
                status = f"{t('approved_at', self.lang)} {format_local(done.at, self.zone)}"
                if done.key_fingerprint:
                    status += f" · {done.key_fingerprint}"
                name = done.name
            elif role.kind == "prepared" and self.prepared_by:
                status, name = t("prepared", self.lang), self.prepared_by
            else:
                status, name = t("pending", self.lang), ""
            out.append((title, kind, name, status))
        return out

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(t(k, self.lang))}</th>" for k in ("role", "approval_kind", "name", "status"))
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + '<td class="sop-sign"></td></tr>'
            for row in self.rows()
        )
        return (f'<table class="dataframe sop-approvals"><thead><tr>{head}'
                f"<th>{html.escape(t('signature_box', self.lang))}</th></tr></thead><tbody>{body}</tbody></table>")

    def __str__(self) -> str:
        return "\n".join(" | ".join(row) for row in self.rows())
