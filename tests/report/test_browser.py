"""The demo's reports opened in headless Chromium with networking off, as a reader would open them."""

from __future__ import annotations

import pytest

from sopkit.report.render import CHROMIUM_FLAGS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(chromium_path):
    chromium = chromium_path
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')")
    with playwright.sync_playwright() as pw:
        args = [a for a in CHROMIUM_FLAGS if a != "--headless"]
        b = pw.chromium.launch(executable_path=chromium, args=args, headless=True)
        yield b
        b.close()


def open_offline(browser, path):
    """Load ``path`` with the network off; return (page, requests, dialogs, console errors)."""
    context = browser.new_context(offline=True, java_script_enabled=True)
    page = context.new_page()
    requests, dialogs, errors = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    return page, requests, dialogs, errors


def test_demo_reports_open_offline(browser, demo_outputs):
    _, reports = demo_outputs
    html_reports = [r for r in reports if r.suffix == ".html"]
    assert html_reports, "the demo rendered no report"
    for report in html_reports:
        page, requests, dialogs, errors = open_offline(browser, report)
        assert [u for u in requests if not u.startswith("file://")] == [], report
        assert dialogs == [] and errors == [], (report, dialogs, errors)
        header = page.inner_text("header.sop-header")
        lang = page.get_attribute("html", "lang")
        labels = (("Instansi", "SOP", "Nomor laporan", "Periode", "Zona waktu") if lang == "id"
                  else ("Office", "SOP", "Report number", "Period", "Time zone"))
        for label in labels:
            assert label in header, (report, label)
        assert "WIB" in header
        assert page.locator("main table.dataframe").count() >= 1, report
        images = page.locator("main img")
        assert images.count() >= 1, report
        assert images.first.evaluate("img => img.naturalWidth > 0 && img.src.startsWith('data:image/')")
        footer = page.inner_text("footer.sop-footer")
        assert len([w for w in footer.split() if len(w) == 64]) == 1, "executed-notebook SHA-256 in the footer"
        page.context.close()


def test_planted_script_in_web_log_is_shown_not_run(browser, demo_outputs):
    outputs, reports = demo_outputs
    access_log = next((outputs / "demo-data").rglob("access.log"))
    assert "<script>alert(1)</script>" in access_log.read_text(encoding="utf-8", errors="replace")
    shown = 0
    for report in (r for r in reports if r.suffix == ".html"):
        page, _, dialogs, errors = open_offline(browser, report)
        assert dialogs == [], f"{report}: a dialog fired: {dialogs}"
        assert errors == []
        if "<script>alert(1)</script>" in page.inner_text("main"):
            shown += 1
        assert page.locator("main script").count() == 0
        page.context.close()
    assert shown >= 1, "the planted URL should appear (escaped, as text) in at least one report"
