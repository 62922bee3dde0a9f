"""`hil run`: the onboarding suite in-process with a progress display, JUnit and a summary."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.boards.manifest import load_manifest
from harness.config import REPO_ROOT, check_firmware, load_lab_config
from harness.errors import HilError
from harness.terminal import output_console

E2E_DIR = REPO_ROOT / "tests" / "e2e"


class OutcomeTracker:
    """A pytest plugin that counts tests as they finish (works under xdist); subclasses show progress."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}
        self.total: int | None = None

    def set_total(self, total: int) -> None:
        """Remember how many tests will run (the first count wins)."""
        if self.total is None:
            self.total = total
            self.started(total)

    def pytest_collection_finish(self, session: Any) -> None:
        """Without xdist: the total is what the session collected."""
        if session.items:
            self.set_total(len(session.items))

    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        """With xdist: the total is what a worker collected (every worker collects all)."""
        self.set_total(len(ids))

    def pytest_runtest_logreport(self, report: Any) -> None:
        """Record a test's outcome: at a failed/skipped setup, its call, or a failed teardown."""
        if report.when == "call" or (report.when == "setup" and not report.passed):
            outcome = report.outcome
        elif report.when == "teardown" and report.failed:
            outcome = "failed"
        else:
            return
        first = report.nodeid not in self.outcomes
        if first or outcome == "failed":
            self.outcomes[report.nodeid] = outcome
        self.finished(report, outcome, first)

    def counts(self) -> dict[str, int]:
        """How many tests passed, failed and were skipped so far."""
        counts = {"passed": 0, "failed": 0, "skipped": 0}
        for outcome in self.outcomes.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        return counts

    def started(self, total: int) -> None:
        """Called once when the number of tests is known."""

    def finished(self, report: Any, outcome: str, first: bool) -> None:
        """Called for each outcome-deciding report (`first`: the test's first one)."""


class ProgressPlugin(OutcomeTracker):
    """Advances a rich Progress bar as tests finish (an interactive terminal)."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress
        self.task = progress.add_task("collecting", total=None)

    def started(self, total: int) -> None:
        """Give the bar its total."""
        self.progress.update(self.task, total=total, description=self._description())

    def finished(self, report: Any, outcome: str, first: bool) -> None:
        """Advance the bar and show the counts and the test's name."""
        self.progress.update(self.task, advance=1 if first else 0,
                             description=self._description(report.nodeid))

    def _description(self, nodeid: str = "") -> str:
        c = self.counts()
        name = nodeid.rsplit("::", 1)[-1][:40] if nodeid else ""
        return (f"[green]{c['passed']} passed[/] [red]{c['failed']} failed[/] "
                f"[yellow]{c['skipped']} skipped[/] {name}")


def pytest_arguments(lab_path: Path, workers: str | int | None, extra: Sequence[str],
                     junit: Path, tests: Sequence[str | os.PathLike[str]] = (E2E_DIR,)) -> list[str]:
    """The pytest command line `hil run` uses."""
    args = [*map(str, tests), f"--rootdir={REPO_ROOT}", "-c", str(REPO_ROOT / "pyproject.toml"),
            "-p", "fixtures.plugin", f"--junitxml={junit}",
            f"--lab-config={lab_path}", "-q"]
    if workers not in (None, "", "0", 0):
        args += ["-n", str(workers)]
    rest = list(extra)
    if rest and rest[0] == "--":
        rest = rest[1:]
    return args + rest


def plain_progress(args: Sequence[str]) -> list[str]:
    """The pytest arguments with -q turned into -v: one `nodeid PASSED [ 10%]` line per test."""
    return ["-v" if arg == "-q" else arg for arg in args]


def _dup_terminal() -> IO[str]:
    """A handle on the real terminal that pytest's output capture cannot take over."""
    try:
        return os.fdopen(os.dup(sys.__stdout__.fileno()), "w", buffering=1)
    except (AttributeError, OSError, ValueError):
        return sys.stdout


def run_suite(lab_config: str | os.PathLike[str] | None = None, workers: str | int | None = None,
              extra: Sequence[str] = (), junit: str | os.PathLike[str] | None = None,
              *, tests: Sequence[str | os.PathLike[str]] = (E2E_DIR,)) -> int:
    """Run tests/e2e on the lab in-process; write JUnit and report.html; print the summary.

    Progress is a bar on a terminal and one plain line per test when output goes to a log or pipe.

    `workers` None: one pytest-xdist worker per lab board (each worker leases one board).
    """
    import pytest

    lab = load_lab_config(lab_config)
    check_firmware(lab, load_manifest(lab.manifest_path()))  # fail before pytest starts
    if workers is None:
        workers = len(lab.boards) if len(lab.boards) > 1 else 0
    if lab.source is None:
        raise HilError("the lab config has no file; pass --lab-config FILE.")
    junit_path = Path(junit) if junit else lab.resolve(lab.reports_dir) / "junit.xml"
    junit_path.parent.mkdir(parents=True, exist_ok=True)
    args = pytest_arguments(lab.source, workers, extra, junit_path, tests)
    if lab.every_board and workers not in (None, "", "0", 0):
        args[args.index("-n") + 2:args.index("-n") + 2] = ["--dist", "each"]
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # fixtures/ is loaded from the checkout, not installed
    terminal = _dup_terminal()
    cwd = Path.cwd()
    try:
        console = output_console(terminal)
        os.chdir(REPO_ROOT)
        plugin: OutcomeTracker
        if console.is_terminal:
            progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=console, redirect_stdout=True,
                                redirect_stderr=True)
            plugin = ProgressPlugin(progress)
            with progress:
                code = int(pytest.main(args, plugins=[plugin]))
        else:  # a log or a pipe: pytest's plain line per test (-v), never a redrawn bar
            plugin = OutcomeTracker()
            code = int(pytest.main(plain_progress(args), plugins=[plugin]))
        os.chdir(cwd)
        print_summary(junit_path, console)
        write_report(junit_path, console)
        if code == pytest.ExitCode.INTERRUPTED:
            console.print(f"INTERRUPTED after {sum(plugin.counts().values())} tests: the summary "
                          "above covers only those.")
    finally:
        os.chdir(cwd)
        if terminal is not sys.stdout:
            terminal.close()
    return code


def write_report(junit_path: Path, console: Console) -> Path | None:
    """Write report.html next to the JUnit file and print its path (None when there is no JUnit)."""
    if not junit_path.exists():
        return None
    from harness.report.html import write_html_report

    try:
        out = write_html_report([junit_path], junit_path.with_name("report.html"))
    except HilError as exc:
        console.print(f"HTML report not written: {exc}", highlight=False, soft_wrap=True)
        return None
    console.print(f"HTML report: {out}", highlight=False, soft_wrap=True)
    return out


def print_summary(junit_path: Path, console: Console) -> None:
    """Print the per-board / per-scenario summary of the JUnit file (if it was written)."""
    if not junit_path.exists():
        console.print(f"no JUnit file was written at {junit_path}")
        return
    from harness.report import report_summary

    console.file.flush()
    report_summary(junit_path)
    console.print(f"JUnit: {junit_path}", highlight=False, soft_wrap=True)
