"""The HTML report in a real browser: it renders without errors, offline, with a failed test's
timeline visible at its failing step (headless Debian Chromium over the DevTools protocol)."""

from __future__ import annotations

import sys
from pathlib import Path

REPORT_TESTS = Path(__file__).resolve().parents[1] / "unit" / "report"
sys.path.insert(0, str(REPORT_TESTS))

from browser_chromium import open_page  # noqa: E402
from synthetic_nights import BROKEN, FLAKY, seven_nights  # noqa: E402

from harness.report.html import write_html_report  # noqa: E402
from harness.report.runs import load_runs  # noqa: E402


def check_report_in_browser(browser, report: Path, failed_anchor: str, screenshot: Path) -> None:
    """Open `report`: no console or page errors, no request beyond the file, the failed test's
    failing timeline row visible; keep a full-page screenshot at `screenshot`."""
    page, log = open_page(browser, report)
    try:
        assert log.console_errors == [], log.console_errors
        assert log.page_errors == [], log.page_errors
        assert log.external_requests == [], f"the report loads from the network: {log.external_requests}"
        case = page.locator(f"#{failed_anchor}")
        assert case.evaluate("el => el.open") is True, "a failed test is opened"
        failing = page.locator(f"#{failed_anchor}-fail")
        failing.scroll_into_view_if_needed()
        assert failing.is_visible(), "the failing step of the timeline is visible"
        assert "failure" in failing.inner_text()
        lanes = page.locator(f"#{failed_anchor} table.tl th").all_inner_texts()
        assert lanes == ["time", "test", "board console", "CoAP wire", "service"]
        box = page.locator(f"#{failed_anchor} .timeline")
        assert box.bounding_box()["height"] > 50, "the timeline is laid out, not collapsed"
        images = page.locator("img")
        for index in range(images.count()):
            assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0"), \
                f"image {index} did not render"
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        page.context.close()
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


def test_seven_night_report_renders_in_chromium_with_the_failed_timeline_visible(
        browser, tmp_path: Path, screenshot_dir: Path) -> None:
    """Seven synthetic nights: the always-failing scenario's latest failure opens at its timeline."""
    nights = seven_nights(tmp_path)
    report = write_html_report(nights, tmp_path / "report.html")
    latest = load_runs(nights)[-1]
    failed = next(c for c in latest.cases if c.scenario == BROKEN)
    check_report_in_browser(browser, report, failed.anchor, screenshot_dir / "seven-nights.png")
    page, _ = open_page(browser, report)
    try:
        flagged = page.locator("#trends tr.is-flaky").all()
        assert [row.get_attribute("data-scenario") for row in flagged] == [FLAKY]
        assert page.locator("#trends tr.is-flaky .flaky").is_visible()
    finally:
        page.context.close()
