"""Which tests execute which line: one coverage run of the test suite, every line labelled with
the tests that ran it, the virtual boards' child processes included.

coverage.py measures every Python process of the run (its own `.pth` hook starts it where
COVERAGE_PROCESS_START is set, so the board processes `python -m harness.sim` that a pytest
worker starts are measured too). A board outlives a test (one per xdist worker per session), so
the test's name cannot come from the process: the pytest plugin below writes the running test's
node id to a file per worker, and every measured process follows that file (a thread polling it
every 20 ms calls `Coverage.switch_context`). A line's contexts are then the tests during which
it ran; lines run only between tests (imports, collection) carry the empty context.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTEXT_DIR_ENV = "HIL_MUTATION_CONTEXT_DIR"
CONTEXT_FILE_ENV = "HIL_MUTATION_CONTEXT_FILE"
PLUGIN_NAME = "hil_mutation_contexts"

# Imported by every measured process (it is first on PYTHONPATH): follow the context file.
SITECUSTOMIZE = f'''
import os
import threading
import time


def _follow_test_context():
    import coverage
    cov = coverage.Coverage.current()
    if cov is None:
        return
    last = None
    while True:
        path = os.environ.get("{CONTEXT_FILE_ENV}")
        try:
            with open(path) as f:
                label = f.read()
        except (OSError, TypeError):
            label = ""
        if label != last:
            cov.switch_context(label)
            last = label
        time.sleep(0.02)


if os.environ.get("COVERAGE_PROCESS_START"):
    threading.Thread(target=_follow_test_context, name="coverage-test-context", daemon=True).start()
'''

# A pytest plugin (-p {PLUGIN_NAME}): each pytest process names the running test in its own file.
PLUGIN = f'''
import os

import pytest


def pytest_configure(config):
    folder = os.environ.get("{CONTEXT_DIR_ENV}")
    if folder:
        os.environ["{CONTEXT_FILE_ENV}"] = os.path.join(folder, "test-" + str(os.getpid()))
        _name("")


def _name(nodeid):
    path = os.environ.get("{CONTEXT_FILE_ENV}")
    if path:
        with open(path + ".new", "w") as f:
            f.write(nodeid)
        os.replace(path + ".new", path)
    import coverage
    cov = coverage.Coverage.current()
    if cov is not None:
        cov.switch_context(nodeid)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _name(item.nodeid)
    yield
    _name("")
'''


def collect(root: Path, modules: list[str], tests: str, out: Path, timeout: float) -> tuple[str, float]:
    """Run the tests once under coverage; write {module: {line: [test ids]}} to `out` (and the
    run's output beside it, `out` with the suffix .log).

    Returns the run's result ('passed', 'failed' or 'timeout') and its seconds."""
    with tempfile.TemporaryDirectory(prefix="hil-mutation-coverage-") as tmp:
        folder = Path(tmp)
        (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
        (folder / f"{PLUGIN_NAME}.py").write_text(PLUGIN)
        rc = folder / "coveragerc"
        include = ",\n    ".join(str(root / m) for m in modules)
        rc.write_text(f"[run]\nparallel = True\ndata_file = {folder / 'data' / '.coverage'}\n"
                      f"include =\n    {include}\n")
        (folder / "data").mkdir()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([tmp, str(root)]),
               "PYTHONDONTWRITEBYTECODE": "1", "COVERAGE_PROCESS_START": str(rc),
               CONTEXT_DIR_ENV: tmp}
        env.pop(CONTEXT_FILE_ENV, None)
        start = time.monotonic()
        log = out.with_suffix(".log").open("w")  # the measured run's output, for when it fails
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", PLUGIN_NAME, *shlex.split(tests)],
                                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        try:
            result = "passed" if proc.wait(timeout=timeout) == 0 else "failed"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            result = "timeout"
        except BaseException:  # stopped: the measured run must not outlive the tool
            os.killpg(proc.pid, 9)
            proc.wait()
            raise
        seconds = time.monotonic() - start
        import coverage

        cov = coverage.Coverage(config_file=str(rc), data_file=str(folder / "data" / ".coverage"))
        cov.combine([str(folder / "data")])
        data = cov.get_data()
        lines: dict[str, dict[str, list[str]]] = {}
        for module in modules:
            by_line = data.contexts_by_lineno(str(root / module))
            lines[module] = {str(n): sorted(set(c)) for n, c in sorted(by_line.items())}
    out.write_text(json.dumps({"tests": tests, "seconds": seconds, "lines": lines}, indent=0))
    return result, seconds


class LineTests:
    """The tests that ran each line, read from a file `collect` wrote."""

    def __init__(self, path: Path) -> None:
        """Load the map."""
        self.lines: dict[str, dict[str, list[str]]] = json.loads(path.read_text())["lines"]

    def tests_for(self, root: Path, module: str, line: int) -> list[str] | None:
        """Test ids that ran the statement holding `line`; None when only module-level code
        (a constant, a default, a class body: run once at import, used by every caller) holds it,
        so that every test must run. [] when no test ran it."""
        source = (root / module).read_text()
        if not _inside_function_body(source, line):
            return None
        first = _statement_first_line(source, line)
        contexts = set(self.lines.get(module, {}).get(str(first), []))
        contexts |= set(self.lines.get(module, {}).get(str(line), []))
        if contexts == {""}:
            return None  # ran, but only between tests (at import or collection): run them all
        return sorted(c for c in contexts if c)


def _statement_first_line(source: str, line: int) -> int:
    from coverage.parser import PythonParser

    parser = PythonParser(text=source)
    parser.parse_source()
    return parser.first_line(line)


def _inside_function_body(source: str, line: int) -> bool:
    """True when `line` is in the body of a function (not its decorators, signature or defaults)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            body_start = node.body[0].lineno
            if body_start <= line <= (node.end_lineno or body_start):
                return True
    return False
