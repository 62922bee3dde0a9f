"""Summarize a JUnit file: outcome counts and time per board and per scenario, plus phase timings."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from junitparser import Error, Failure, Skipped, TestCase, TestSuite

from harness.report.junit import BOARD, PHASE_PREFIX, PHASE_SUFFIX, SCENARIO
from harness.report.seeds import seeds_of
from harness.report.xmlfile import case_properties, load_junit

NO_BOARD = "(no board)"
OUTCOMES = ("passed", "failed", "skipped", "errors")
_TEST_MODULE = re.compile(r"^test_|_test$")


@dataclass
class Counts:
    """Outcome counts and summed test time of a group of test cases."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    time_s: float = 0.0

    @property
    def total(self) -> int:
        """Number of test cases counted."""
        return self.passed + self.failed + self.skipped + self.errors

    def add(self, outcome: str, time_s: float) -> None:
        """Count one test case with the given outcome (one of OUTCOMES)."""
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.time_s += time_s


@dataclass(frozen=True)
class CaseResult:
    """One test case as the summary sees it."""

    scenario: str
    board: str
    outcome: str
    time_s: float
    properties: dict[str, str]


@dataclass(frozen=True)
class SuiteInfo:
    """Where a suite came from (name, host, timestamp, its properties) and its size."""

    name: str
    hostname: str
    timestamp: str
    tests: int
    properties: dict[str, str]


@dataclass
class Summary:
    """Totals, per-board and per-scenario counts and per-board median phase timings of one JUnit file."""

    source: Path
    suites: list[SuiteInfo] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    totals: Counts = field(default_factory=Counts)
    by_board: dict[str, Counts] = field(default_factory=dict)
    by_scenario: dict[str, Counts] = field(default_factory=dict)
    by_seed: dict[str, dict[str, Counts]] = field(default_factory=dict)
    """Seed document title -> scenario -> counts, for the tests that name a seed statement."""
    phase_medians: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing failed or errored."""
        return self.totals.failed == 0 and self.totals.errors == 0

    @property
    def phases(self) -> list[str]:
        """Phase names seen in any board, in first-seen order."""
        seen: dict[str, None] = {}
        for medians in self.phase_medians.values():
            seen.update(dict.fromkeys(medians))
        return list(seen)


def outcome_of(case: TestCase) -> str:
    """Classify a test case: an error beats a failure, which beats a skip."""
    results = case.result
    if any(isinstance(r, Error) for r in results):
        return "errors"
    if any(isinstance(r, Failure) for r in results):
        return "failed"
    if any(isinstance(r, Skipped) for r in results):
        return "skipped"
    return "passed"


def scenario_of(case: TestCase, properties: dict[str, str]) -> str:
    """Name the scenario: the `scenario` property, else test module (+ class) and function without params."""
    if properties.get(SCENARIO):
        return properties[SCENARIO]
    name = re.sub(r"\[.*\]$", "", case.name or "", flags=re.DOTALL)
    parts = [part for part in (case.classname or "").split(".") if part]
    # The test module is the first test_*/*_test part after the package path; a class may follow it.
    first = next((i for i, part in enumerate(parts) if _TEST_MODULE.search(part)), len(parts) - 1)
    owner = "::".join(parts[first:])
    return f"{owner}::{name}" if owner else name


def _case_time(case: TestCase) -> float:
    """A case's time in seconds (0 when absent or unreadable)."""
    try:
        return case.time or 0.0
    except ValueError:
        return 0.0


def _suite_info(suite: TestSuite) -> SuiteInfo:
    """Describe one suite for the sources table."""
    return SuiteInfo(
        name=suite.name or "",
        hostname=suite.hostname or "",
        timestamp=suite.timestamp or "",
        tests=len(suite),
        properties={p.name: p.value or "" for p in suite.properties() if p.name},
    )


def _phase_times(properties: dict[str, str]) -> dict[str, float]:
    """Extract phase.<name>_s properties as {name: seconds}, skipping unreadable values."""
    phases: dict[str, float] = {}
    for name, value in properties.items():
        if name.startswith(PHASE_PREFIX) and name.endswith(PHASE_SUFFIX):
            try:
                phases[name[len(PHASE_PREFIX) : -len(PHASE_SUFFIX)]] = float(value)
            except ValueError:
                continue
    return phases


def summarize(path: Path | str) -> Summary:
    """Read a JUnit file (pytest's or a merged one) and count outcomes per board and per scenario."""
    path = Path(path)
    summary = Summary(source=path)
    phase_samples: dict[str, dict[str, list[float]]] = {}
    for suite in load_junit(path):
        summary.suites.append(_suite_info(suite))
        for case in suite:
            props = case_properties(case)
            result = CaseResult(
                scenario=scenario_of(case, props),
                board=props.get(BOARD) or NO_BOARD,
                outcome=outcome_of(case),
                time_s=_case_time(case),
                properties=props,
            )
            summary.cases.append(result)
            summary.totals.add(result.outcome, result.time_s)
            summary.by_board.setdefault(result.board, Counts()).add(result.outcome, result.time_s)
            summary.by_scenario.setdefault(result.scenario, Counts()).add(result.outcome, result.time_s)
            for seed in seeds_of(props):
                summary.by_seed.setdefault(seed, {}).setdefault(result.scenario, Counts()).add(
                    result.outcome, result.time_s)
            for phase, seconds in _phase_times(props).items():
                phase_samples.setdefault(result.board, {}).setdefault(phase, []).append(seconds)
    summary.by_board = dict(sorted(summary.by_board.items()))
    summary.by_scenario = dict(sorted(summary.by_scenario.items()))
    summary.by_seed = {seed: dict(sorted(scenarios.items()))
                       for seed, scenarios in sorted(summary.by_seed.items())}
    summary.phase_medians = {
        board: {phase: statistics.median(values) for phase, values in phases.items()}
        for board, phases in sorted(phase_samples.items())
    }
    return summary
