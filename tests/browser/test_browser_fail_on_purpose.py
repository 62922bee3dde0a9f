"""`hil run --fail-on-purpose > log` on a private lab: plain progress lines in the log, and a
reports/report.html that tells the deliberately failed scenario's story (board console, CoAP wire,
service decision on one time axis) by itself, checked in headless Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from browser_chromium import check_report_in_browser, open_page

from harness.report.runs import CaseView, load_runs

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 240


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Run `hil run --fail-on-purpose -- -k fails_on_purpose` with output to a file; (reports, log)."""
    base = tmp_path_factory.mktemp("fail-on-purpose")
    board_id = f"fop-{base.name[-10:]}".replace("_", "-")
    lab = base / "lab.yaml"
    lab.write_text(
        "service: {host: 127.0.0.1, transports: [tls-record]}\n"
        f"boards:\n  - {{id: {board_id}, kind: sim, target: dmhil_vboard, firmware: factory}}\n"
        f"firmware_manifest: {REPO_ROOT / 'firmware' / 'manifest.yaml'}\n"
        f"reports_dir: {base / 'reports'}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HIL_SIM_DIR": str(base / "sim"),
           "HIL_LOCK_DIR": str(base / "locks"), "COLUMNS": "60"}
    env.pop("HIL_LAB_CONFIG", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    log = base / "run.log"
    with log.open("w") as out:
        done = subprocess.run([sys.executable, "-m", "harness.cli", "--lab-config", str(lab), "run",
                               "-n", "0", "--fail-on-purpose", "--", "-k",
                               "fails_on_purpose or own_ca_bootstraps_into_the_account",
                               "-p", "no:cacheprovider"],
                              cwd=base, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=env, timeout=RUN_TIMEOUT)
    text = log.read_text()
    assert done.returncode == 1, f"the scenario must fail on purpose (exit 1):\n{text[-3000:]}"
    return base / "reports", text


def test_a_run_to_a_log_prints_plain_lines_and_names_the_html_report(failed_run) -> None:
    """No cursor movement, carriage return or colour in the log; one line per test; report path."""
    reports, log = failed_run
    assert "\r" not in log and "\x1b[" not in log, "the log holds a redrawn bar or colours"
    assert re.search(r"^tests/e2e/test_e2e_fail_on_purpose\.py::\S+ FAILED", log, re.M), log[-2000:]
    assert re.search(r"^tests/e2e/test_e2e_onboarding\.py::\S+ PASSED", log, re.M), log[-2000:]
    assert f"HTML report: {reports / 'report.html'}" in log
    assert (reports / "junit.xml").is_file()


def _failed_case(reports: Path) -> CaseView:
    """The one failed test case of the run."""
    (run,) = load_runs([reports / "junit.xml"])
    (case,) = [c for c in run.cases if c.bad]
    return case


def test_the_failed_timeline_holds_console_wire_and_service_on_one_axis(failed_run) -> None:
    """The board's error, the 4.03 on the wire and the service's bootstrap-error come after the TLS
    session and before the failing wait, in that order, on one clock."""
    reports, _ = failed_run
    case = _failed_case(reports)
    assert case.timeline is not None
    entries = case.timeline.sorted_entries()
    failure = next(e for e in entries if e.kind == "failure")
    assert "waiting for the device to register" in failure.text
    first: dict[str, float] = {}
    for entry in entries:
        story = {"board error": entry.src == "console" and "ConnectNotAllowed" in entry.text,
                 "wire 4.03": entry.src == "wire" and "4.03 /bs" in entry.text,
                 "service decision": entry.src == "service" and entry.kind == "bootstrap-error",
                 "tls session": entry.src == "wire" and entry.kind == "tls",
                 "provision phase": entry.src == "test" and entry.text == "provision"}
        for name, hit in story.items():
            if hit:
                first.setdefault(name, entry.t)
    assert set(first) == {"board error", "wire 4.03", "service decision", "tls session",
                          "provision phase"}, first
    assert first["provision phase"] < first["tls session"] <= first["service decision"] <= \
        first["wire 4.03"] <= first["board error"] < failure.t


def test_a_passing_onboarding_timeline_shows_block_wise_bootstrap_writes(failed_run) -> None:
    """The passed scenario's wire lane has the Bootstrap-Request, block-wise writes and the
    registration, with sizes and block numbers and no payload."""
    reports, _ = failed_run
    (run,) = load_runs([reports / "junit.xml"])
    (case,) = [c for c in run.cases if c.outcome == "passed"]
    assert case.timeline is not None
    wire = [e.text for e in case.timeline.sorted_entries() if e.src == "wire"]
    assert any("CON POST /bs" in t for t in wire), wire
    assert any(re.search(r"PUT /0/\d+ \d+ B Block1 0/1/\d+", t) for t in wire), wire
    assert any("POST /rd" in t for t in wire) and any("2.01 /rd" in t for t in wire), wire
    assert not any("BEGIN" in t or "PRIVATE" in t for t in wire)


def test_the_report_alone_tells_the_story_in_chromium(browser, failed_run, screenshot_dir: Path) -> None:
    """In the browser: the failed test is open at its timeline with console, wire and service."""
    reports, _ = failed_run
    report = reports / "report.html"
    case = _failed_case(reports)
    check_report_in_browser(browser, report, case.anchor, screenshot_dir / "fail-on-purpose.png")
    page, _ = open_page(browser, report)
    try:
        box = page.locator(f"#{case.anchor} .timeline")
        for text in ("Corresponding trusted certificate not in account", "bootstrap-error",
                     "MbedCloudClient::ConnectNotAllowed"):
            assert box.get_by_text(text).count() > 0, f"{text!r} is not in the timeline"
        assert "fails on purpose" in page.locator(f"#{case.anchor} > summary").inner_text()
    finally:
        page.context.close()
