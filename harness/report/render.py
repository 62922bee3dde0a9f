"""Render a Summary as rich tables (console), plain text, or Markdown (nightly publishing)."""

from __future__ import annotations

import io
from collections.abc import Iterator

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.report.merge import SOURCE_PROPERTY
from harness.report.summary import Counts, Summary

_LOG_WIDTH = 200
_COUNT_COLUMNS = ("tests", "passed", "failed", "skipped", "errors", "time (s)")


def _count_cells(counts: Counts) -> list[str]:
    """The numeric cells of one table row."""
    return [
        str(counts.total),
        str(counts.passed),
        str(counts.failed),
        str(counts.skipped),
        str(counts.errors),
        f"{counts.time_s:.1f}",
    ]


def _rows(summary: Summary) -> Iterator[tuple[str, int, list[str], list[list[str]]]]:
    """Each table as (title, number of leading text columns, header, rows); the rest are numbers."""
    yield (
        f"Sources of {summary.source.name}",
        4,
        ["file", "suite", "host", "timestamp", "tests"],
        [
            [s.properties.get(SOURCE_PROPERTY, summary.source.name), s.name, s.hostname, s.timestamp,
             str(s.tests)]
            for s in summary.suites
        ],
    )
    yield (
        "Per board",
        1,
        ["board", *_COUNT_COLUMNS],
        [[board, *_count_cells(c)] for board, c in summary.by_board.items()]
        + [["TOTAL", *_count_cells(summary.totals)]],
    )
    yield (
        "Per scenario",
        1,
        ["scenario", *_COUNT_COLUMNS],
        [[scenario, *_count_cells(c)] for scenario, c in summary.by_scenario.items()],
    )
    if summary.by_seed:
        yield (
            "Scenarios per seed",
            2,
            ["seed", "scenario", *_COUNT_COLUMNS],
            [[seed, scenario, *_count_cells(c)]
             for seed, scenarios in summary.by_seed.items() for scenario, c in scenarios.items()],
        )
    phases = summary.phases
    if phases:
        yield (
            "Onboarding phases, median seconds per board",
            1,
            ["board", *phases],
            [
                [board, *(f"{medians[p]:.2f}" if p in medians else "-" for p in phases)]
                for board, medians in summary.phase_medians.items()
            ],
        )


def summary_tables(summary: Summary) -> list[Table]:
    """The summary as rich Tables, ready for Console.print."""
    tables = []
    for title, text_columns, header, rows in _rows(summary):
        table = Table(title=title, title_justify="left")
        for i, name in enumerate(header):
            if i < text_columns:  # names wrap rather than being cut short with an ellipsis
                table.add_column(name, justify="left", overflow="fold")
            else:
                table.add_column(name, justify="right", no_wrap=True)
        for row in rows:
            style = "bold" if row[0] == "TOTAL" else None
            table.add_row(*(Text(cell) for cell in row), style=style)
        tables.append(table)
    return tables


def print_summary(summary: Summary, console: Console | None = None) -> None:
    """Print the summary tables and a one-line verdict to a rich console (wide when not a terminal)."""
    if console is None:
        console = Console()
        if not console.is_terminal:  # CI logs have no width limit: don't fold scenario names at 80
            console = Console(width=_LOG_WIDTH)
    for table in summary_tables(summary):
        console.print(table)
    verdict = "[green]OK[/green]" if summary.ok else "[red]FAILED[/red]"
    t = summary.totals
    console.print(
        f"{verdict}: {t.total} tests, {t.passed} passed, {t.failed} failed, "
        f"{t.skipped} skipped, {t.errors} errors",
        soft_wrap=True,
    )


def summary_text(summary: Summary, width: int = 120) -> str:
    """The summary as plain text (rich tables without colour), e.g. for a log file or e-mail."""
    buffer = io.StringIO()
    print_summary(summary, Console(file=buffer, width=width, color_system=None, force_terminal=False))
    return buffer.getvalue()


def _md_cell(text: str) -> str:
    """Escape a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def summary_markdown(summary: Summary) -> str:
    """The summary as GitHub-flavoured Markdown tables, for publishing the nightly run."""
    t = summary.totals
    verdict = "OK" if summary.ok else "FAILED"
    lines = [
        f"# Test summary: {summary.source.name}",
        "",
        f"**{verdict}**: {t.total} tests, {t.passed} passed, {t.failed} failed, "
        f"{t.skipped} skipped, {t.errors} errors",
    ]
    for title, text_columns, header, rows in _rows(summary):
        lines += ["", f"## {title}", ""]
        lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
        lines.append("|" + "|".join(["---"] * text_columns + ["---:"] * (len(header) - text_columns)) + "|")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
