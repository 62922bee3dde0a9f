"""Several JUnit files as runs (one file = one run, e.g. one night) of test cases the HTML report shows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import TestCase

from harness.report.junit import BOARD, FIRMWARE
from harness.report.summary import NO_BOARD, _case_time, _phase_times, outcome_of, scenario_of
from harness.report.timeline import TIMELINE_PROPERTY, Timeline, parse_timeline
from harness.report.xmlfile import case_properties, load_junit

NO_FIRMWARE = "(unknown firmware)"
MESSAGE_CHARS = 4000


@dataclass
class CaseView:
    """One test case of one run, as the HTML report shows it."""

    run: int
    anchor: str
    test: str
    scenario: str
    board: str
    firmware: str
    outcome: str
    time_s: float
    message: str
    phases: dict[str, float]
    properties: dict[str, str]
    timeline: Timeline | None

    @property
    def bad(self) -> bool:
        """True when the test failed or errored."""
        return self.outcome in ("failed", "errors")


@dataclass
class Run:
    """The cases of one JUnit file, with its label and earliest suite timestamp."""

    index: int
    source: Path
    timestamp: str
    cases: list[CaseView] = field(default_factory=list)

    @property
    def label(self) -> str:
        """File name and start time, e.g. `night-3.xml 2026-11-29T02:00:01`."""
        return f"{self.source.name} {self.timestamp}".strip()


def _message(case: TestCase) -> str:
    """The failure/error message and the start of its text (redacted already in the file)."""
    parts = []
    for result in case.result:
        for text in (result.message, result.text):
            if text and text not in parts:
                parts.append(text)
    return "\n".join(parts)[:MESSAGE_CHARS]


def _anchor(text: str) -> str:
    """An HTML id made of the test name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:120]


def load_runs(paths: Sequence[Path | str]) -> list[Run]:
    """Read each JUnit file as one run, oldest first (by earliest suite timestamp, else given order)."""
    runs: list[Run] = []
    for path in map(Path, paths):
        xml = load_junit(path)
        stamps = sorted(s.timestamp for s in xml if s.timestamp)
        run = Run(len(runs), path, stamps[0] if stamps else "")
        for suite in xml:
            for case in suite:
                props = case_properties(case)
                test = f"{case.classname}::{case.name}" if case.classname else str(case.name)
                run.cases.append(CaseView(
                    run=run.index, anchor="", test=test, scenario=scenario_of(case, props),
                    board=props.get(BOARD) or NO_BOARD, firmware=props.get(FIRMWARE) or NO_FIRMWARE,
                    outcome=outcome_of(case), time_s=_case_time(case), message=_message(case),
                    phases=_phase_times(props), properties=props,
                    timeline=parse_timeline(props.get(TIMELINE_PROPERTY))))
        runs.append(run)
    if all(run.timestamp for run in runs):
        runs.sort(key=lambda r: r.timestamp)
    for index, run in enumerate(runs):
        run.index = index
        for number, case in enumerate(run.cases):
            case.run = index
            case.anchor = f"r{index}-{number}-{_anchor(case.test)}"
    return runs
