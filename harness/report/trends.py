"""Across runs: per scenario pass rate and duration per run, and flaky scenarios.

A scenario is flaky when it both passed and failed (or errored) on the same firmware image: its
result changed while the firmware did not. A scenario that fails every time, or that turned from
pass to fail when the firmware changed, is not flaky (it is broken, or a regression).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from harness.report.runs import Run
from harness.report.summary import Counts


@dataclass
class ScenarioTrend:
    """One scenario over the runs: counts per run, durations per run, flaky firmware images."""

    scenario: str
    per_run: list[Counts] = field(default_factory=list)
    flaky_firmware: list[str] = field(default_factory=list)

    @property
    def flaky(self) -> bool:
        """True when the scenario passed and failed on one firmware image."""
        return bool(self.flaky_firmware)

    @property
    def pass_rates(self) -> list[float | None]:
        """Passed / (passed + failed + errors) per run (None when it did not run there)."""
        rates: list[float | None] = []
        for counts in self.per_run:
            ran = counts.passed + counts.failed + counts.errors
            rates.append(counts.passed / ran if ran else None)
        return rates

    @property
    def durations(self) -> list[float | None]:
        """Mean test time per run (None when it did not run there)."""
        return [c.time_s / c.total if c.total else None for c in self.per_run]

    @property
    def overall_pass_rate(self) -> float | None:
        """Pass rate over every run."""
        passed = sum(c.passed for c in self.per_run)
        ran = sum(c.passed + c.failed + c.errors for c in self.per_run)
        return passed / ran if ran else None

    @property
    def median_duration(self) -> float | None:
        """Median of the per-run durations."""
        known = [d for d in self.durations if d is not None]
        return statistics.median(known) if known else None


def scenario_trends(runs: list[Run]) -> list[ScenarioTrend]:
    """Every scenario's trend over `runs`, sorted by name, with flaky firmware images named."""
    trends: dict[str, ScenarioTrend] = {}
    outcomes: dict[tuple[str, str], set[str]] = {}
    for run in runs:
        for case in run.cases:
            trend = trends.setdefault(case.scenario, ScenarioTrend(case.scenario,
                                                                   [Counts() for _ in runs]))
            trend.per_run[run.index].add(case.outcome, case.time_s)
            if case.outcome != "skipped":
                outcomes.setdefault((case.scenario, case.firmware), set()).add(
                    "passed" if case.outcome == "passed" else "failed")
    for (scenario, firmware), seen in sorted(outcomes.items()):
        if seen == {"passed", "failed"}:
            trends[scenario].flaky_firmware.append(firmware)
    return [trends[name] for name in sorted(trends)]
