"""`hil report html`: one self-contained file; summaries, failed timelines, trends, flaky scenarios."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from synthetic_nights import BROKEN, FLAKY, REGRESSED, STEADY, Case, seven_nights, story_timeline, write_night

from harness.cli import main
from harness.report.runs import load_runs
from harness.report.trends import scenario_trends


class Elements(HTMLParser):
    """Collects (tag, attributes) of every start tag of a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Parse an HTML document into its start tags."""
    parser = Elements()
    parser.feed(html)
    return parser.tags


def test_seven_nights_with_one_flaky_scenario_flag_exactly_that_scenario(tmp_path: Path, capsys) -> None:
    """Pass and fail on one firmware = flaky; always failing or failing after a firmware change is not."""
    nights = seven_nights(tmp_path)
    out = tmp_path / "report.html"
    assert main(["report", "html", *map(str, nights), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert [t.scenario for t in scenario_trends(load_runs(nights)) if t.flaky] == [FLAKY]
    tags = elements(out.read_text())
    flagged = [a["data-scenario"] for t, a in tags if t == "tr" and "is-flaky" in (a.get("class") or "")]
    assert flagged == [FLAKY]
    trended = {a["data-scenario"] for t, a in tags if t == "tr" and "trend" in (a.get("class") or "")}
    assert {FLAKY, BROKEN, REGRESSED, STEADY} <= trended


def test_trend_counts_pass_rate_and_duration_per_night(tmp_path: Path) -> None:
    """The flaky scenario passed 5 of 7 nights; the steady one got slower night after night."""
    trends = {t.scenario: t for t in scenario_trends(load_runs(seven_nights(tmp_path)))}
    assert trends[FLAKY].overall_pass_rate == pytest.approx(5 / 7)
    assert trends[FLAKY].pass_rates == [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    assert trends[STEADY].durations == pytest.approx([2.0 + n * 0.1 for n in range(7)])
    assert trends[REGRESSED].flaky_firmware == []
    assert trends[FLAKY].flaky_firmware == ["factory-4.13.4"]


def test_runs_are_ordered_by_timestamp_not_by_argument_order(tmp_path: Path) -> None:
    """Nights given newest first still trend oldest first; the latest run is the newest night."""
    nights = seven_nights(tmp_path)
    runs = load_runs(list(reversed(nights)))
    assert [r.source.name for r in runs] == [p.name for p in nights]


def test_report_is_self_contained_and_opens_failed_tests_at_the_failing_step(tmp_path: Path) -> None:
    """No external script, style or image; the failed test is open with its failing row marked."""
    night = write_night(tmp_path / "run.xml", [
        Case("test_ok", STEADY),
        Case("test_refused", BROKEN, "failed", timeline=story_timeline()),
    ], timestamp="2026-11-29T02:00:00")
    out = tmp_path / "report.html"
    assert main(["report", "html", str(night), "-o", str(out)]) == 0
    html = out.read_text()
    tags = elements(html)
    for tag, attrs in tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"(?i)(https?:)?//", value), f"<{tag} {name}={value}> loads from the network"
        assert tag != "link", "the report must not link a stylesheet"
    opened = [a for t, a in tags if t == "details" and "bad" in (a.get("class") or "")]
    assert len(opened) == 1 and "open" in opened[0]
    anchor = opened[0]["id"]
    assert ("tr", f"{anchor}-fail") in {(t, a.get("id")) for t, a in tags}
    failing = [a for t, a in tags if t == "tr" and " fail" in (a.get("class") or "")]
    assert len(failing) == 2, "the failure row and the register phase it happened in are marked"
    # the 3 a.m. story on one axis: board, wire and service decision of one test
    for text in ("Error occurred : MbedCloudClient::ConnectNotAllowed", "POST /bs",
                 "4.03 /bs", "Corresponding trusted certificate not in account", "bootstrap-error"):
        assert text in html
    assert html.count("data:image/svg+xml;base64,") >= 1, "the phase plot is embedded"


def test_a_single_run_has_no_trend_section(tmp_path: Path) -> None:
    """With one night there is nothing to trend or call flaky."""
    night = write_night(tmp_path / "run.xml", [Case("test_ok", STEADY)], timestamp="2026-11-29T02:00:00")
    out = tmp_path / "r.html"
    assert main(["report", "html", str(night), "-o", str(out)]) == 0
    ids = {a.get("id") for _, a in elements(out.read_text())}
    assert "trends" not in ids and "by-board" in ids


def test_a_missing_junit_file_is_one_clear_error(tmp_path: Path, capsys) -> None:
    """A wrong path ends in one sentence naming the file, exit code 2, no HTML written."""
    out = tmp_path / "r.html"
    assert main(["report", "html", str(tmp_path / "nope.xml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nope.xml does not exist" in err and "Traceback" not in err
    assert not out.exists()


def test_timelines_survive_hil_report_merge(tmp_path: Path) -> None:
    """A merged file (two labs of one night) keeps each failed test's timeline for the report."""
    a = write_night(tmp_path / "lab-a.xml", [Case("test_refused", BROKEN, "failed",
                                                   timeline=story_timeline())],
                    timestamp="2026-11-29T02:00:00", suite="lab-a")
    b = write_night(tmp_path / "lab-b.xml", [Case("test_ok", STEADY, board="k64f-1")],
                    timestamp="2026-11-29T02:05:00", suite="lab-b")
    merged = tmp_path / "nightly.xml"
    assert main(["report", "merge", str(a), str(b), "-o", str(merged)]) == 0
    (run,) = load_runs([merged])
    failed = [c for c in run.cases if c.bad]
    assert len(failed) == 1 and failed[0].timeline is not None
    assert any(e.kind == "failure" for e in failed[0].timeline.entries)
    assert {c.board for c in run.cases} == {"vboard-1", "k64f-1"}
