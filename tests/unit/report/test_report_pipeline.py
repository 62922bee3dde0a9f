"""Two real pytest --junitxml runs, enriched by the helpers, merged and summarized."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from junitparser import JUnitXml
from rich.console import Console

from harness.report import (
    merge,
    report_merge,
    report_summary,
    summarize,
    summary_markdown,
    summary_text,
)
from harness.report.merge import SOURCE_PROPERTY, WALL_TIME_PROPERTY
from harness.report.xmlfile import case_properties

pytestmark = pytest.mark.slow  # the session fixture runs pytest twice (~3 s, once)

DEV = "test_onboarding::test_developer_certificate"
UNTRUSTED = "test_onboarding::test_untrusted_ca"
RATE = "test_onboarding::test_rate_limit"
TRANSFER = "test_onboarding::TestOwnership::test_transfer"


def _suite_props(suite) -> dict[str, str]:
    """A suite's properties as a dict."""
    return {p.name: p.value for p in suite.properties()}


def _counts(c) -> tuple[int, int, int, int, int]:
    """(total, passed, failed, skipped, errors) of a Counts."""
    return c.total, c.passed, c.failed, c.skipped, c.errors


def test_each_run_has_properties_and_redacted_console(junit_runs) -> None:
    xml = JUnitXml.fromfile(str(junit_runs.lab_a))
    cases = {case.name: case for suite in xml for case in suite}
    props = case_properties(cases["test_developer_certificate[vb1]"])
    assert props["board"] == "vb1"
    assert props["target"] == "K64F"
    assert props["probe_id"] == "vprobe-vb1"
    assert props["firmware"] == "factory-4.13.4"
    assert props["endpoint_name"] == "ep-vb1"
    assert props["device_id"] == "0176aa"
    assert (props["phase.provision_s"], props["phase.bootstrap_s"], props["phase.register_s"]) == (
        "2.000",
        "4.000",
        "6.000",
    )
    # Every case that had a board got its console log, including the failed and errored ones.
    assert all("Client registered" in (case.system_out or "") for case in cases.values())


@pytest.mark.parametrize("lab", ["lab_a", "lab_b"])
def test_no_secret_reaches_the_junit_file(junit_runs, lab: str) -> None:
    text = getattr(junit_runs, lab).read_text()
    key_lines = [line for line in junit_runs.key_pem.splitlines() if not line.startswith("-----")]
    assert key_lines and all(line not in text for line in key_lines)
    assert "ak_0123456789abcdef" not in text
    assert "hunter2" not in text  # pytest's own failure message and traceback are redacted too
    assert text.count("Bearer [REDACTED]") == 7
    # Control bytes from the serial line are escaped, so the file stays valid XML.
    assert "#x1B[0m#x00 end" in text


def test_merge_keeps_cases_suites_and_their_properties(junit_runs, tmp_path: Path) -> None:
    out = merge([junit_runs.lab_a, junit_runs.lab_b], tmp_path / "nightly" / "merged.xml")
    xml = JUnitXml.fromfile(str(out))
    suites = list(xml)
    assert len(suites) == 2
    assert [_suite_props(s)["lab"] for s in suites] == ["lab-a", "lab-b"]
    assert [_suite_props(s)[SOURCE_PROPERTY] for s in suites] == ["lab-a.xml", "lab-b.xml"]
    assert all(WALL_TIME_PROPERTY in {p.name for p in s.properties()} for s in suites)
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (14, 1, 2, 4)
    assert sum(1 for s in suites for c in s if "Client registered" in (c.system_out or "")) == 14
    assert sum(1 for s in suites for c in s if case_properties(c).get("board") == "vb0") == 8


def test_merging_a_merged_file_keeps_the_original_sources(junit_runs, tmp_path: Path) -> None:
    first = merge([junit_runs.lab_a], tmp_path / "a.xml")
    again = merge([first, junit_runs.lab_b], tmp_path / "again.xml")
    sources = [_suite_props(s)[SOURCE_PROPERTY] for s in JUnitXml.fromfile(str(again))]
    assert sources == ["lab-a.xml", "lab-b.xml"]


def test_summary_per_board_and_scenario(junit_runs, tmp_path: Path) -> None:
    summary = summarize(merge([junit_runs.lab_a, junit_runs.lab_b], tmp_path / "m.xml"))
    assert _counts(summary.totals) == (14, 7, 1, 4, 2)
    assert not summary.ok
    assert list(summary.by_board) == ["vb0", "vb1"]
    assert _counts(summary.by_board["vb0"]) == (8, 4, 0, 2, 2)
    assert _counts(summary.by_board["vb1"]) == (6, 3, 1, 2, 0)
    assert set(summary.by_scenario) == {DEV, UNTRUSTED, RATE, TRANSFER}
    assert _counts(summary.by_scenario[DEV]) == (4, 4, 0, 0, 0)
    assert _counts(summary.by_scenario[UNTRUSTED]) == (4, 3, 1, 0, 0)
    assert _counts(summary.by_scenario[RATE]) == (4, 0, 0, 4, 0)
    assert _counts(summary.by_scenario[TRANSFER]) == (2, 0, 0, 0, 2)
    assert summary.totals.time_s == pytest.approx(sum(c.time_s for c in summary.cases))
    # lab-a ran the phases at 1x, lab-b at 3x: the median of two samples is their mean.
    assert summary.phase_medians["vb0"] == {"provision": 2.0, "bootstrap": 4.0, "register": 6.0}
    assert summary.phase_medians["vb1"] == {"provision": 4.0, "bootstrap": 8.0, "register": 12.0}
    assert [s.properties["lab"] for s in summary.suites] == ["lab-a", "lab-b"]


def test_summary_of_a_single_pytest_file(junit_runs) -> None:
    summary = summarize(junit_runs.lab_b)
    assert _counts(summary.totals) == (7, 4, 0, 2, 1)
    assert _counts(summary.by_board["vb1"]) == (3, 2, 0, 1, 0)


def test_markdown_and_text_render_the_numbers(junit_runs, tmp_path: Path) -> None:
    summary = summarize(merge([junit_runs.lab_a, junit_runs.lab_b], tmp_path / "m.xml"))
    md = summary_markdown(summary)
    assert "**FAILED**: 14 tests, 7 passed, 1 failed, 4 skipped, 2 errors" in md
    assert "| vb1 | 6 | 3 | 1 | 2 | 0 |" in md
    assert f"| {UNTRUSTED} | 4 | 3 | 1 | 0 | 0 |" in md
    assert "| vb0 | 2.00 | 4.00 | 6.00 |" in md
    text = summary_text(summary)
    assert "Per board" in text and "Per scenario" in text
    assert "\x1b[" not in text
    vb1_row = next(line for line in text.splitlines() if " vb1 " in line)
    assert [cell.strip() for cell in vb1_row.split("│")[2:7]] == ["6", "3", "1", "2", "0"]


def test_cli_functions_print_what_they_did(junit_runs, tmp_path: Path) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, color_system=None)
    out = tmp_path / "nightly.xml"
    assert report_merge([str(junit_runs.lab_a), str(junit_runs.lab_b)], str(out), console) == 0
    assert out.is_file()
    expected = f"Merged 2 files into {out}: 14 tests, 7 passed, 1 failed, 4 skipped, 2 errors"
    assert expected in buffer.getvalue()

    buffer.seek(0), buffer.truncate()
    assert report_summary(out, console=console) == 0
    assert "FAILED: 14 tests" in buffer.getvalue() and "TestOwnership" in buffer.getvalue()

    buffer.seek(0), buffer.truncate()
    assert report_summary(out, markdown=True, console=console) == 0
    assert buffer.getvalue().startswith("# Test summary: nightly.xml\n")
