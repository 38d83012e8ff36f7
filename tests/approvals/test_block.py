from __future__ import annotations

import datetime as dt

from sopkit.approvals.block import TRAFFIC_ROLES, Approval, ApprovalBlock


def test_pending_block_never_looks_approved():
    block = ApprovalBlock(TRAFFIC_ROLES, lang="id", prepared_by="Analis <b>Satu</b>")
    rows = block.rows()
    assert [r[0] for r in rows] == ["Pelaksana", "Kepala Seksi Keamanan Informasi", "Kepala Bidang TIK"]
    assert [r[1] for r in rows] == ["Disusun oleh", "Paraf", "Tanda tangan"]
    assert [r[3] for r in rows] == ["Disusun", "Menunggu persetujuan", "Menunggu persetujuan"]
    html = block._repr_html_()
    assert "Analis &lt;b&gt;Satu&lt;/b&gt;" in html and "<b>Satu" not in html
    assert html.count("Menunggu persetujuan") == 2


def test_recorded_approval_shows_time_in_office_zone():
    at = dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.timezone.utc)
    block = ApprovalBlock(TRAFFIC_ROLES, [Approval("kasi_keamanan_informasi", "Budi", at, "ed25519:ab12")],
                          lang="en", zone="WIT")
    rows = dict((r[0], r) for r in block.rows())
    assert rows["Head of Information Security Section"][2:] == ("Budi", "Approved 24-11-2026 18:30 WIT · ed25519:ab12")
    assert rows["Head of IT Division"][3] == "Pending approval"
    assert "Pending approval" in str(block)
