"""The `hil report merge` and `hil report summary` commands as functions returning the exit code.

Errors a user can cause raise ReportError (a HilError); the CLI prints it and exits 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from harness.report.merge import merge
from harness.report.render import print_summary, summary_markdown
from harness.report.summary import summarize


def report_merge(inputs: Sequence[Path | str], output: Path | str, console: Console | None = None) -> int:
    """Merge JUnit files into output and print one line saying what was merged; return exit code 0."""
    console = console or Console()
    out = merge(inputs, output)
    t = summarize(out).totals
    console.print(
        f"Merged {len(inputs)} files into {out}: {t.total} tests, {t.passed} passed, "
        f"{t.failed} failed, {t.skipped} skipped, {t.errors} errors",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def report_summary(path: Path | str, markdown: bool = False, console: Console | None = None) -> int:
    """Print the per-board and per-scenario summary of a JUnit file (Markdown when asked); return 0.

    The exit code does not reflect test failures, so a nightly job can always publish the summary;
    use summarize(path).ok to gate on them.
    """
    summary = summarize(path)
    if markdown:
        text = summary_markdown(summary)
        if console is None:
            print(text, end="")
        else:
            console.out(text, end="", highlight=False)
    else:
        print_summary(summary, console)
    return 0
