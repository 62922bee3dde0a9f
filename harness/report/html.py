"""`hil report html`: one self-contained HTML file from one or more JUnit files (runs, e.g. nights).

It shows a summary per board and per scenario of the latest run, every failed test opened at its
timeline (console, CoAP wire, service events and phases on one time axis) with the failing step
highlighted, phase-duration plots per board and, over several runs, a trend per scenario with
flaky scenarios flagged. Templating is Jinja2, plots are matplotlib SVG embedded as data: URIs;
the file loads nothing from the network.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from harness.report.plots import DURATION_COLOR, PASS_COLOR, phase_plot, run_trend_plot, sparkline
from harness.report.runs import CaseView, Run, load_runs
from harness.report.summary import Counts
from harness.report.timeline import SOURCES
from harness.report.trends import scenario_trends
from harness.report.xmlfile import ReportError

TEMPLATES = Path(__file__).with_name("templates")
ERROR_KINDS = ("error", "tls-refused", "bootstrap-error", "registration-error", "rate-limited", "failure")
"""Timeline entry kinds shown in red (a refusal on the wire, a service error event, a failure)."""
LANES = {"test": "test", "console": "board console", "wire": "CoAP wire", "service": "service"}


def _environment() -> Environment:
    """The Jinja2 environment of the report templates (HTML autoescaped)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["secs"] = lambda v: "" if v is None else f"{v:.2f}"
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f} %"
    return env


def _counts(cases: Sequence[CaseView], key: str) -> dict[str, Counts]:
    """Outcome counts of cases grouped by an attribute (board or scenario), sorted by name."""
    groups: dict[str, Counts] = {}
    for case in cases:
        groups.setdefault(getattr(case, key), Counts()).add(case.outcome, case.time_s)
    return dict(sorted(groups.items()))


def _boards(cases: Sequence[CaseView]) -> list[tuple[str, str | None]]:
    """(board, phase plot) of every board of these cases."""
    by_board: dict[str, list[CaseView]] = {}
    for case in cases:
        by_board.setdefault(case.board, []).append(case)
    return [(board, phase_plot(board, group)) for board, group in sorted(by_board.items())]


def report_context(runs: list[Run]) -> dict[str, Any]:
    """Everything the template shows, computed from the runs."""
    latest = runs[-1]
    all_cases = [case for run in runs for case in run.cases]
    trends = scenario_trends(runs)
    rows = []
    for trend in trends:
        rows.append({"trend": trend,
                     "rate_plot": sparkline(trend.pass_rates, color=PASS_COLOR, low=-0.05, high=1.05),
                     "time_plot": sparkline(trend.durations, color=DURATION_COLOR, low=0)})
    failed = [case for run in reversed(runs) for case in run.cases if case.bad]
    return {
        "runs": runs,
        "latest": latest,
        "totals": _counts(latest.cases, "run").get(latest.index, Counts()),
        "by_board": _counts(latest.cases, "board"),
        "by_scenario": _counts(latest.cases, "scenario"),
        "boards": _boards(all_cases),
        "trends": rows if len(runs) > 1 else [],
        "run_plot": run_trend_plot(runs) if len(runs) > 1 else None,
        "flaky": [t for t in trends if t.flaky],
        "failed": failed,
        "passed_latest": [c for c in latest.cases if not c.bad],
        "lanes": [(src, LANES[src]) for src in SOURCES],
        "error_kinds": ERROR_KINDS,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def render_html(paths: Sequence[Path | str]) -> str:
    """The report of the JUnit files in `paths` as one HTML document."""
    if not paths:
        raise ReportError("No JUnit files were given; pass at least one XML file written by `hil run`.")
    runs = load_runs(paths)
    return _environment().get_template("report.html.j2").render(**report_context(runs))


def write_html_report(paths: Sequence[Path | str], output: Path | str) -> Path:
    """Write the report of `paths` to `output` through a temporary file; return its path."""
    output = Path(output)
    html = render_html(paths)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.chmod(tmp, 0o644)  # a report to publish, not a secret (mkstemp makes it 0600)
        os.replace(tmp, output)
    except OSError as exc:
        raise ReportError(f"Report {output} cannot be written ({exc.strerror}); "
                          "choose a writable path.") from None
    return output
