"""The `hil report merge` and `hil report summary` commands as plain functions the CLI calls."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from harness.report.merge import merge
from harness.report.render import print_summary, summary_markdown
from harness.report.summary import Summary, summarize


def report_merge(inputs: Sequence[Path | str], output: Path | str, console: Console | None = None) -> Path:
    """Merge JUnit files into output and print one line saying what was merged; return output."""
    console = console or Console()
    out = merge(inputs, output)
    t = summarize(out).totals
    console.print(
        f"Merged {len(inputs)} files into {out}: {t.total} tests, {t.passed} passed, "
        f"{t.failed} failed, {t.skipped} skipped, {t.errors} errors",
        highlight=False,
    )
    return out


def report_summary(path: Path | str, markdown: bool = False, console: Console | None = None) -> Summary:
    """Print the per-board and per-scenario summary of a JUnit file (Markdown when asked); return it."""
    summary = summarize(path)
    if markdown:
        text = summary_markdown(summary)
        if console is None:
            print(text, end="")
        else:
            console.out(text, end="", highlight=False)
    else:
        print_summary(summary, console)
    return summary
