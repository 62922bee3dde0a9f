"""The HTML report in a real browser: it renders without errors, offline, with a failed test's
timeline visible at its failing step (headless Debian Chromium over the DevTools protocol)."""

from __future__ import annotations

import sys
from pathlib import Path

REPORT_TESTS = Path(__file__).resolve().parents[1] / "unit" / "report"
sys.path.insert(0, str(REPORT_TESTS))

from browser_chromium import check_report_in_browser, open_page  # noqa: E402
from synthetic_nights import BROKEN, FLAKY, seven_nights  # noqa: E402

from harness.report.html import write_html_report  # noqa: E402
from harness.report.runs import load_runs  # noqa: E402


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
