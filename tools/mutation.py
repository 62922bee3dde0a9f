"""Mutation testing of the service's policy, the LwM2M server and the virtual board's client.

    python3 tools/mutation.py [--module PATH ...] [--max N] [--seed S] [--tests PYTEST ARGS]
                              [--by-coverage FILE] [--recheck EARLIER.json] [--equivalent FILE]

mutmut's mutation operators (mutmut 2.x, used as a library) make one change at a time in a source
file; the file is mutated in place, the test command runs (default: the e2e suite, stopping at
the first failure), and the file is restored. A mutant whose tests fail is killed; one whose tests
pass survived. Prints the score per module and every survivor (line, original, mutant); `--json`
writes the same. Slow: one test run per mutant. Sample with `--max`, run in the background under
`timeout`, and never in CI. Mutants of logging lines are skipped (a log text is not behaviour).

`--by-coverage FILE` makes it fast: one coverage run of the test command records which tests
execute each line (tools/mutation_coverage.py; the virtual boards' processes included) and is
kept in FILE for later runs, with a fingerprint (sha256) of the modules and of the tests' files
(the test paths of the command, fixtures/): a FILE recorded for other sources is never reused,
the tool says so and records it again. Each mutant then runs only the tests that execute its line
(`--select-options`, stopping at the first failure). A mutant on a line no test executes
survives without a run; one on module-level code (a constant, a default, a class body) runs the
whole test command.

`--recheck EARLIER.json` re-runs only what an earlier run (its `--json`) did not kill: tests are
only ever added between the two runs, so a mutant it killed (or timed out on) keeps that outcome
when this run chose it with the same mutated text; one whose line or text changed (a re-drawn
sample) runs again. `--equivalent FILE` (default tools/mutation-equivalent.txt under --root)
lists reviewed equivalent mutants, matched by module and mutated text, left out of the score
unrun. See tools/mutation_results.py.
"""

from __future__ import annotations

import argparse
import ast
import fcntl
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutation_coverage import LineTests, coverage_map  # noqa: E402  (siblings, when run as a script)
from mutation_results import (  # noqa: E402
    EQUIVALENT_DEFAULT,
    ModuleScore,
    Mutant,
    ResultsError,
    load_earlier,
    outcome_label,
    parse_equivalents,
    report,
    settle_without_run,
    write_json,
)

try:
    from mutmut import Context, RelativeMutationID, list_mutations, mutate
except ImportError:  # mutmut 3 has no such API; without mutmut there is nothing to mutate with
    sys.exit("tools/mutation.py needs mutmut 2.x (its operators as a library): "
             "pip install -e '.[mutation]'")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODULES = (
    "harness/cloud/bootstrap_policy.py",
    "harness/cloud/lwm2m_server.py",
    "harness/sim/client/device_client.py",
    "harness/sim/client/credentials.py",
    "harness/sim/client/security_object.py",
    "harness/sim/client/bootstrap_site.py",
    "harness/sim/client/device_object.py",
    "harness/sim/client/settings.py",
)
KILLED_BY_SHOWN = 300
"""How much of the killing test's summary line a result keeps."""
DEFAULT_TESTS = "tests/e2e -x -q -p no:cacheprovider -p no:randomly"
DEFAULT_SELECT = "-x -q -p no:cacheprovider -p no:randomly"
BACKUP_SUFFIX = ".mutation-original"
SKIPPED_LINE = re.compile(r"^\s*(log|logger|_log)\.\w+\(|^\s*(\"\"\"|''')|#\s*pragma: no mutate")


def mutants_of(root: Path, module: str) -> tuple[list[Mutant], int]:
    """All mutants of a module (line, original line, mutated line) and how many were skipped."""
    source = (root / module).read_text()
    lines = source.splitlines()
    found: list[Mutant] = []
    skipped = 0
    for mid in list_mutations(Context(source=source, filename=module, dict_synonyms=[])):
        original = lines[mid.line_number]
        if SKIPPED_LINE.search(original):
            skipped += 1
            continue
        found.append(Mutant(module, mid.line_number + 1, mid.index, original.strip(), ""))
    return found, skipped


def describe(root: Path, mutant: Mutant) -> None:
    """Fill in the mutated line of a mutant (parsing is slow: only for the mutants chosen)."""
    source = (root / mutant.module).read_text()
    mid = RelativeMutationID(line=source.splitlines()[mutant.line_number - 1], index=mutant.index,
                             line_number=mutant.line_number - 1, filename=mutant.module)
    new_lines = _mutated_source(source, mutant.module, mid).splitlines()
    mutant.mutated = new_lines[mid.line_number].strip() if mid.line_number < len(new_lines) else ""


def _mutated_source(source: str, module: str, mid: RelativeMutationID) -> str:
    new_source, applied = mutate(Context(source=source, filename=module, dict_synonyms=[],
                                         mutation_id=mid))
    if applied != 1:
        raise RuntimeError(f"mutmut applied {applied} mutations for {mid}; expected 1")
    return new_source


def _without_annotations(source: str) -> str:
    """The module's AST without annotations (dumped), to compare two versions of it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
        elif isinstance(node, ast.AnnAssign):
            node.annotation = ast.Constant("")
    return ast.dump(tree)


def parses(source: str) -> bool:
    """True when `source` is valid Python (some mutmut operators make a syntax error)."""
    try:
        ast.parse(source)
    except SyntaxError:
        return False
    return True


def annotation_only(source: str, mutated: str) -> bool:
    """True when the mutant only changes annotations of a module that never evaluates them
    (`from __future__ import annotations`): an equivalent mutant, nothing to run."""
    if "from __future__ import annotations" not in source:
        return False
    return _without_annotations(source) == _without_annotations(mutated)


def _drop_bytecode(path: Path) -> None:
    """Remove cached bytecode of `path` (a same-size mutant could otherwise reuse a stale .pyc)."""
    cache = path.parent / "__pycache__"
    for pyc in cache.glob(f"{path.stem}.*.pyc"):
        pyc.unlink(missing_ok=True)


def restore_backups(root: Path, modules: list[str]) -> None:
    """Put back any original left behind by an interrupted run."""
    for module in modules:
        backup = root / (module + BACKUP_SUFFIX)
        if backup.exists():
            (root / module).write_text(backup.read_text())
            backup.unlink()
            _drop_bytecode(root / module)
            print(f"restored {module} from an interrupted run", flush=True)


def first_failure(output: str) -> str:
    """The first `FAILED <test>` (or `ERROR`) line of pytest's short summary and the first `E `
    line of the failures (the assertion or exception that failed), or ''."""
    lines = output.splitlines()
    failed = next((line for line in lines if line.startswith(("FAILED ", "ERROR "))), "")
    reason = next((line[1:].strip() for line in lines if line.startswith("E ")), "")
    return " | ".join(part for part in (failed, reason) if part)[:KILLED_BY_SHOWN]


def run_tests(root: Path, tests: str | list[str], timeout: float) -> tuple[str, float, str]:
    """Run the test command: 'passed', 'failed' or 'timeout', the seconds it took and the first
    failing test's summary line (which test killed the mutant, and how)."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    argv = shlex.split(tests) if isinstance(tests, str) else tests
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *argv], cwd=root, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "timeout", time.monotonic() - start, ""
        except BaseException:  # stopped (SIGTERM, Ctrl-C): the tests must not outlive the mutant
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        out.seek(0)
        failure = first_failure(out.read()) if code else ""
    return ("passed" if code == 0 else "failed"), time.monotonic() - start, failure


def tests_of(root: Path, mutant: Mutant, args: argparse.Namespace,
             lines: LineTests | None) -> str | list[str] | None:
    """The pytest arguments that should kill this mutant; None when no test runs its line."""
    if lines is None:
        return args.tests
    chosen = lines.tests_for(root, mutant.module, mutant.line_number)
    if chosen is None:
        return args.tests
    mutant.tests = str(len(chosen)) if chosen else "none"
    return [*chosen, *shlex.split(args.select_options)] if chosen else None


def try_mutant(root: Path, mutant: Mutant, tests: str | list[str] | None, timeout: float) -> None:
    """Apply one mutant in place, run the tests, restore the module (always)."""
    path = root / mutant.module
    source = path.read_text()
    backup = root / (mutant.module + BACKUP_SUFFIX)
    mids = [m for m in list_mutations(Context(source=source, filename=mutant.module, dict_synonyms=[]))
            if m.line_number + 1 == mutant.line_number and m.index == mutant.index]
    if not mids:
        mutant.outcome = "not run"
        return
    mutated = _mutated_source(source, mutant.module, mids[0])
    if not parses(mutated):
        mutant.outcome = "not run"  # mutmut made invalid code (`*xs` -> `/xs`): not a program
        return
    if annotation_only(source, mutated):
        mutant.outcome = "equivalent"  # e.g. `str | None` -> `str & None`: a string never read
        return
    if tests is None:
        mutant.outcome = "survived"  # no test executes the line: nothing can kill it
        return
    backup.write_text(source)
    try:
        path.write_text(mutated)
        _drop_bytecode(path)
        result, mutant.seconds, mutant.killed_by = run_tests(root, tests, timeout)
        mutant.outcome = {"failed": "killed", "passed": "survived"}.get(result, result)
    finally:
        path.write_text(source)
        _drop_bytecode(path)
        backup.unlink(missing_ok=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", default=None, metavar="PATH",
                        help="a source file to mutate, relative to --root (repeatable; default: "
                             "the bootstrap policy, the LwM2M server and the virtual client)")
    parser.add_argument("--mutant", action="append", default=None, metavar="MODULE:LINE#INDEX",
                        help="run only this mutant, as --list names it (repeatable), e.g. to "
                             "re-check a survivor after adding a test")
    parser.add_argument("--max", type=int, default=None, metavar="N",
                        help="run at most N mutants per module, a random sample (see --seed)")
    parser.add_argument("--seed", type=int, default=13, help="seed of the sample (default 13)")
    parser.add_argument("--tests", default=DEFAULT_TESTS, metavar="ARGS",
                        help=f"pytest arguments that should kill the mutants (default: {DEFAULT_TESTS!r})")
    parser.add_argument("--by-coverage", type=Path, default=None, metavar="FILE",
                        help="run per mutant only the tests that execute its line, as recorded in "
                             "FILE (one coverage run of --tests writes it when it is missing or was "
                             "recorded for other sources: its fingerprint of the modules and tests)")
    parser.add_argument("--select-options", default=DEFAULT_SELECT, metavar="ARGS",
                        help="pytest options for the selected tests of --by-coverage "
                             f"(default: {DEFAULT_SELECT!r})")
    parser.add_argument("--recheck", type=Path, default=None, metavar="EARLIER.json",
                        help="keep the outcome of each mutant the earlier run (its --json) killed or "
                             "timed out on, if this run chose it with the same mutated text; run the "
                             "rest (tests are only added between runs: a killed mutant stays killed)")
    parser.add_argument("--equivalent", type=Path, default=None, metavar="FILE",
                        help="reviewed equivalent mutants, one a line: 'MODULE:LINE#INDEX | mutated "
                             "line text | why'; a match (module and text) is left out of the score "
                             f"unrun (default: {EQUIVALENT_DEFAULT} under --root, when it exists)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SEC",
                        help="seconds one test run may take (default: 3 x the clean run + 30)")
    parser.add_argument("--root", type=Path, default=ROOT, help="project root (default: this checkout)")
    parser.add_argument("--list", action="store_true", help="only list the mutants, run nothing")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write results here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the mutants and print the score; exit 0 (a score is a measurement), 2 on a bad setup."""
    args = parse_args(argv)
    root = args.root.resolve()
    wanted = set(args.mutant or [])
    modules = args.module or sorted({w.split(":", 1)[0] for w in wanted}) or list(DEFAULT_MODULES)
    missing = [m for m in modules if not (root / m).is_file()]
    if missing:
        print(f"no such module: {', '.join(missing)}; give paths relative to {root}", file=sys.stderr)
        return 2
    listed = args.equivalent or root / EQUIVALENT_DEFAULT
    try:
        equivalents = parse_equivalents(listed) if args.equivalent or listed.exists() else []
        earlier = load_earlier(args.recheck) if args.recheck else {}
    except ResultsError as exc:
        print(exc, file=sys.stderr)
        return 2
    lock = (root / ".mutation.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another tools/mutation.py is running in {root} (it holds .mutation.lock); wait for "
              "it or use another checkout", file=sys.stderr)
        return 2
    restore_backups(root, modules)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` ends us: restore first
    scores = []
    for module in modules:
        # one sample per module, seeded by the module's path: an edit of one module re-draws
        # only that module's sample (with one generator for all, every later module's changed)
        rng = random.Random(f"{args.seed}:{module}")
        mutants, skipped = mutants_of(root, module)
        score = ModuleScore(module, len(mutants), skipped)
        if wanted:
            chosen = [m for m in mutants if f"{m.module}:{m.line_number}#{m.index}" in wanted]
        elif args.max is None or args.max >= len(mutants):
            chosen = mutants
        else:
            chosen = sorted(rng.sample(mutants, args.max), key=lambda m: (m.line_number, m.index))
        for mutant in chosen:
            describe(root, mutant)
        score.mutants = chosen
        scores.append(score)
    if args.list:
        for s in scores:
            for m in s.mutants:
                print(f"{m.module}:{m.line_number}#{m.index}: {m.original}  ->  {m.mutated}")
        return 0
    lines = None
    if args.by_coverage is not None:  # reused only while its fingerprint matches the sources
        clean, seconds = coverage_map(root, modules, args.tests, args.by_coverage, args.timeout or 3600)
    else:
        clean, seconds, _ = run_tests(root, args.tests, args.timeout or 1800)
    if clean == "passed" and args.by_coverage is not None:
        lines = LineTests(args.by_coverage)
    if clean != "passed":
        if args.by_coverage is not None:
            args.by_coverage.unlink(missing_ok=True)
        seen = f" (its output: {args.by_coverage.with_suffix('.log')})" if args.by_coverage else ""
        print(f"the tests do not pass on the unmutated code ({clean}){seen}; fix them first: "
              f"python3 -m pytest {args.tests}", file=sys.stderr)
        return 2
    timeout = args.timeout or 3 * seconds + 30
    print(f"clean run: {seconds:.1f} s; per-mutant timeout {timeout:.0f} s", flush=True)
    for s in scores:
        for i, m in enumerate(s.mutants, 1):
            if not settle_without_run(m, equivalents, earlier):
                try_mutant(root, m, tests_of(root, m, args, lines), timeout)
            print(f"[{s.module} {i}/{len(s.mutants)}] {outcome_label(m):8} {m.seconds:6.1f}s "
                  f"tests={m.tests:4} line {m.line_number}: {m.mutated[:90]}", flush=True)
            if m.killed_by:
                print(f"    killed by {m.killed_by}", flush=True)
            if args.json:
                write_json(args.json, scores)
    print(report(scores), flush=True)
    if args.json:
        write_json(args.json, scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
