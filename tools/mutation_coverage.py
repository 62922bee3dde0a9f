"""Which tests execute which line: one coverage run of the test suite, every line labelled with
the tests that ran it, the virtual boards' child processes included.

coverage.py measures every Python process of the run (its own `.pth` hook starts it where
COVERAGE_PROCESS_START is set, so the board processes `python -m harness.sim` that a pytest
worker starts are measured too). A board outlives a test (one per xdist worker per session), so
the test's name cannot come from the process: the pytest plugin below writes the running test's
node id to a file per worker, and every measured process follows that file (a thread polling it
every 20 ms calls `Coverage.switch_context`). A line's contexts are then the tests during which
it ran; lines run only between tests (imports, collection) carry the empty context.

The map also keeps a fingerprint of what it depends on: a sha256 of each measured module and of
every `*.py` file under the test paths the test command names (e.g. tests/e2e), under fixtures/,
and of the conftest.py files above those paths. `coverage_map` reuses a map only while that
fingerprint matches the sources; otherwise (other line numbers, other tests) it says so and
records the map again.
"""

from __future__ import annotations

import ast
import hashlib
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
FINGERPRINTED_DIRS = ("fixtures",)  # the tests' fixtures: a change there can change what runs

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
    sources = fingerprint(root, modules, tests)  # before the run: an edit during it voids the map
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
    out.write_text(json.dumps({"tests": tests, "seconds": seconds, "fingerprint": sources,
                               "lines": lines}, indent=0))
    return result, seconds


def coverage_map(root: Path, modules: list[str], tests: str, path: Path,
                 timeout: float) -> tuple[str, float]:
    """Reuse the map in `path` while its fingerprint matches the sources, else record it (again).

    Returns the result of the recorded run ('passed' for a reused map) and its seconds."""
    if path.exists():
        stale = stale_map(path, root, modules, tests)
        if stale is None:
            print(f"tests per line from {path}", flush=True)
            return "passed", float(json.loads(path.read_text()).get("seconds", 600.0))
        print(stale, flush=True)
    result, seconds = collect(root, modules, tests, path, timeout)
    print(f"coverage run ({result}, {seconds:.0f} s) wrote {path}", flush=True)
    return result, seconds


def named_test_paths(root: Path, tests: str) -> list[str]:
    """The files and folders below `root` that the test command names, relative to `root`."""
    base = root.resolve()
    paths = [(base / arg.split("::", 1)[0]).resolve() for arg in shlex.split(tests)
             if not arg.startswith("-") and arg.split("::", 1)[0]]
    return [p.relative_to(base).as_posix() for p in paths if p.exists() and p.is_relative_to(base)]


def fingerprint(root: Path, modules: list[str], tests: str) -> dict[str, dict[str, str]]:
    """sha256 of each module and of every *.py file of the tests: what a coverage map depends on."""
    root = root.resolve()
    files: set[Path] = set()
    for name in [*named_test_paths(root, tests), *FINGERPRINTED_DIRS]:
        path = root / name
        files.update(path.rglob("*.py") if path.is_dir() else [path] if path.is_file() else [])
        files.update(c for c in (root / p / "conftest.py" for p in Path(name).parents) if c.is_file())
    return {"modules": {m: _sha256(root / m) for m in modules},
            "tests": {f.relative_to(root).as_posix(): _sha256(f) for f in sorted(files)}}


def stale_map(path: Path, root: Path, modules: list[str], tests: str) -> str | None:
    """Why the map in `path` does not fit the current sources, as one line; None when it does."""
    try:
        recorded = json.loads(path.read_text()).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        return f"{path} is not a coverage map this tool can read; recording it again"
    if not isinstance(recorded, dict):
        return f"{path} has no fingerprint of the sources it was recorded for; recording it again"
    now = fingerprint(root, modules, tests)
    before = recorded.get("modules") or {}
    changed = [m for m in modules if before.get(m) != now["modules"][m]]
    if changed:
        return (f"{path} was recorded for other sources (the module {changed[0]} "
                f"{'changed' if changed[0] in before else 'was not measured'}"
                f"{_more(changed)}); recording it again")
    before, after = recorded.get("tests") or {}, now["tests"]
    differ = [f"{name} {'is new' if name not in before else 'is gone' if name not in after else 'changed'}"
              for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
    if differ:
        return (f"{path} was recorded for other sources (the tests changed: {', '.join(differ[:3])}"
                f"{_more(differ, 3)}); recording it again")
    return None


def _more(names: list[str], shown: int = 1) -> str:
    return f" and {len(names) - shown} more" if len(names) > shown else ""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
