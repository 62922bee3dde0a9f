"""Plots of the HTML report, drawn by matplotlib as SVG and embedded as data: URIs (no network).

Figures are built with matplotlib.figure.Figure (no pyplot global state), so reports can be
drawn from any thread.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

from matplotlib import rc_context
from matplotlib.figure import Figure

from harness.report.runs import CaseView, Run

_STYLE = {"svg.hashsalt": "dm-hil", "font.size": 8, "axes.spines.top": False,
          "axes.spines.right": False}
PASS_COLOR = "#2e7d32"
DURATION_COLOR = "#1565c0"


def _data_uri(fig: Figure) -> str:
    """The figure as an SVG data: URI for an <img> (each image keeps its own ids)."""
    buffer = io.BytesIO()
    with rc_context(_STYLE):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def phase_plot(board: str, cases: Sequence[CaseView]) -> str | None:
    """Box plot of each phase's duration on one board (None when no test recorded a phase)."""
    samples: dict[str, list[float]] = {}
    for case in cases:
        for phase, seconds in case.phases.items():
            samples.setdefault(phase, []).append(seconds)
    if not samples:
        return None
    names = list(reversed(samples))  # the first phase on top
    with rc_context(_STYLE):
        fig = Figure(figsize=(6.0, 0.45 * len(names) + 0.9))
        ax = fig.add_subplot()
        ax.boxplot([samples[n] for n in names], orientation="horizontal", tick_labels=names,
                   showmeans=True)
        ax.set_xlabel("seconds")
        ax.set_title(f"phase durations on {board} ({len(cases)} tests)")
        ax.grid(axis="x", alpha=0.3)
        return _data_uri(fig)


def run_trend_plot(runs: Sequence[Run]) -> str:
    """Pass rate and summed test time per run (all scenarios), on two axes."""
    labels = [str(run.index + 1) for run in runs]
    rates, totals = [], []
    for run in runs:
        ran = [c for c in run.cases if c.outcome != "skipped"]
        rates.append(100.0 * sum(c.outcome == "passed" for c in ran) / len(ran) if ran else 0.0)
        totals.append(sum(c.time_s for c in run.cases))
    with rc_context(_STYLE):
        fig = Figure(figsize=(7.0, 2.4))
        ax = fig.add_subplot()
        ax.plot(labels, rates, marker="o", color=PASS_COLOR, label="pass rate (%)")
        ax.set_ylim(0, 105)
        ax.set_ylabel("pass rate (%)", color=PASS_COLOR)
        ax.set_xlabel("run")
        other = ax.twinx()
        other.plot(labels, totals, marker="s", color=DURATION_COLOR, label="test time (s)")
        other.set_ylabel("test time (s)", color=DURATION_COLOR)
        other.set_ylim(bottom=0)
        ax.set_title("all scenarios per run")
        return _data_uri(fig)


def sparkline(values: Sequence[float | None], *, color: str, low: float | None = None,
              high: float | None = None) -> str:
    """A small line of values per run (gaps where a run lacks the scenario)."""
    xs = [i for i, v in enumerate(values) if v is not None]
    ys = [v for v in values if v is not None]
    with rc_context(_STYLE):
        fig = Figure(figsize=(1.6, 0.35))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.plot(xs, ys, color=color, marker="o", markersize=2.5, linewidth=1.2)
        ax.set_xlim(-0.3, max(len(values) - 0.7, 0.3))
        if low is not None or high is not None:
            ax.set_ylim(low, high)
        ax.set_axis_off()
        return _data_uri(fig)
