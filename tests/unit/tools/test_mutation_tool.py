"""tools/mutation.py on a tiny module: mutants are run, killed or surviving, and the file is restored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mutmut", reason="tools/mutation.py needs mutmut 2.x: pip install -e '.[mutation]'")

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "mutation.py"

MODULE = '''def admit(count: int, limit: int) -> bool:
    """True while count stays within limit."""
    return count <= limit


def label() -> str:
    """A name nobody tests."""
    return "tiny"
'''
TESTS = '''from tiny import admit


def test_limit_is_admitted():
    assert admit(2, 2)
'''


def test_mutation_tool_scores_a_tiny_module_and_restores_it(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(MODULE)
    (tmp_path / "test_tiny.py").write_text(TESTS)
    result = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(tmp_path), "--module", "tiny.py",
         "--tests", "test_tiny.py -q -p no:cacheprovider", "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tiny.py").read_text() == MODULE, "the module is restored"
    assert not list(tmp_path.glob("*.mutation-original"))
    # `<=` -> `<` is killed by test_limit_is_admitted; the untested label() mutant survives
    assert "TOTAL: 1 of 2 mutants killed (50.0 %)" in result.stdout
    assert "Survivors:" in result.stdout and "tiny.py:8" in result.stdout
    mutants = [m for module in json.loads((tmp_path / "out.json").read_text())
               for m in module["mutants"]]
    killed = [m for m in mutants if m["outcome"] == "killed"]
    assert [m["killed_by"].split(" | ")[0].split(" - ")[0] for m in killed] == \
        ["FAILED test_tiny.py::test_limit_is_admitted"], "the kill names the test that failed"
    assert "assert False" in killed[0]["killed_by"], "and the line that failed"


def test_mutation_tool_names_a_missing_module(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(TOOL), "--root", str(tmp_path), "--module", "nope.py"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "no such module: nope.py" in result.stderr


def test_mutation_tool_lists_one_named_mutant(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(MODULE)
    result = subprocess.run([sys.executable, str(TOOL), "--root", str(tmp_path), "--list",
                             "--mutant", "tiny.py:3#0"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tiny.py:3#0: return count <= limit  ->  return count < limit"


COVERED_MODULE = '''from __future__ import annotations

NAME: str | None = None


def admit(count: int, limit: int) -> bool:
    """True while count stays within limit."""
    return count <= limit


def label() -> str:
    """A name nobody tests."""
    return "tiny"
'''


def test_mutation_tool_by_coverage_runs_only_the_tests_of_the_line(tmp_path: Path) -> None:
    """--by-coverage: the line's tests run; module-level code runs them all; a line no test
    executes survives unrun; an annotation-only mutant is equivalent."""
    (tmp_path / "tiny.py").write_text(COVERED_MODULE)
    (tmp_path / "test_tiny.py").write_text(TESTS + "\n\ndef test_other():\n    assert True\n")
    result = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(tmp_path), "--module", "tiny.py",
         "--tests", "test_tiny.py -q -p no:cacheprovider", "--by-coverage", str(tmp_path / "cov.json"),
         "--select-options", "-q -p no:cacheprovider", "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tiny.py").read_text() == COVERED_MODULE, "the module is restored"
    mutants = {(m["line_number"], m["index"]): m
               for s in json.loads((tmp_path / "out.json").read_text()) for m in s["mutants"]}
    assert mutants[(3, 0)]["outcome"] == "equivalent", "`str | None` -> `str & None` is never read"
    assert mutants[(3, 1)]["tests"] == "all", "a module-level value runs every test"
    assert mutants[(8, 0)]["tests"] == "1" and mutants[(8, 0)]["outcome"] == "killed"
    assert mutants[(13, 0)]["tests"] == "none" and mutants[(13, 0)]["outcome"] == "survived"
    assert mutants[(13, 0)]["seconds"] == 0.0, "a line no test executes is not run"
    assert "TOTAL: 1 of 3 mutants killed (33.3 %); 1 equivalent" in result.stdout


def _sample(root: Path, *modules: str) -> list[str]:
    args = [a for m in modules for a in ("--module", m)]
    result = subprocess.run([sys.executable, str(TOOL), "--root", str(root), "--list", "--max", "2",
                             *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("other.py")]


def test_an_edit_of_one_module_keeps_the_sample_of_another(tmp_path: Path) -> None:
    """Each module's sample has its own generator: growing tiny.py (listed first) leaves the
    mutants drawn from other.py as they were."""
    other = "def pick(a: int, b: int) -> int:\n    return a + b if a > b else a - b * 2\n"
    (tmp_path / "other.py").write_text(other)
    (tmp_path / "tiny.py").write_text(MODULE)
    before = _sample(tmp_path, "tiny.py", "other.py")
    (tmp_path / "tiny.py").write_text(MODULE + "\n\ndef more(x: int) -> int:\n    return x * 3 + 1\n")
    assert _sample(tmp_path, "tiny.py", "other.py") == before and len(before) == 2


def test_recheck_and_reviewed_equivalents_leave_nothing_to_run(tmp_path: Path) -> None:
    """--recheck keeps the earlier kill of `<=` -> `<`; --equivalent takes the label() mutant out of
    the score (its entry names another line: only the module and the mutated text match)."""
    (tmp_path / "tiny.py").write_text(MODULE)
    (tmp_path / "test_tiny.py").write_text(TESTS)
    earlier = [{"module": "tiny.py", "total_mutants": 2, "skipped_logging": 0, "score": 100.0,
                "mutants": [{"module": "tiny.py", "line_number": 3, "index": 0,
                             "original": "return count <= limit", "mutated": "return count < limit",
                             "outcome": "killed", "seconds": 3.0, "tests": "all"}]}]
    (tmp_path / "earlier.json").write_text(json.dumps(earlier))
    (tmp_path / "eq.txt").write_text('# reviewed\ntiny.py:99#0 | return "XXtinyXX" | a name nobody reads\n')
    result = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(tmp_path), "--module", "tiny.py",
         "--tests", "test_tiny.py -q -p no:cacheprovider", "--recheck", str(tmp_path / "earlier.json"),
         "--equivalent", str(tmp_path / "eq.txt"), "--json", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "killed (earlier run)" in result.stdout and "equivalent (reviewed)" in result.stdout
    assert ("TOTAL: 1 of 1 mutants killed (100.0 %); 1 of these outcomes from the earlier run; "
            "1 equivalent (reviewed) left out") in result.stdout
    assert "Equivalent (reviewed):\n  tiny.py:8#0" in result.stdout
    assert "why: a name nobody reads" in result.stdout
    outcomes = {m["line_number"]: (m["outcome"], m["seconds"], m["from_earlier"])
                for s in json.loads((tmp_path / "out.json").read_text()) for m in s["mutants"]}
    assert outcomes == {3: ("killed", 0.0, True), 8: ("equivalent", 0.0, False)}


def test_a_malformed_equivalent_list_stops_the_tool_with_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "tiny.py").write_text(MODULE)
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "mutation-equivalent.txt").write_text("# reviewed\n\ntiny.py:8#0 return 'x'\n")
    result = subprocess.run([sys.executable, str(TOOL), "--root", str(tmp_path), "--module", "tiny.py"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"{tmp_path / 'tools' / 'mutation-equivalent.txt'} line 3 is not 'MODULE:LINE#INDEX | mutated line "
        "text | why it is equivalent' (e.g. 'harness/x.py:12#0 | return a < b | why'): fix or remove it"]


def test_a_mutant_that_is_not_valid_python_is_not_run(tmp_path: Path) -> None:
    """mutmut turns `(*xs)` into `(/xs)`: a syntax error, not a program; it is left out of the
    score (it once stopped a whole run)."""
    (tmp_path / "tiny.py").write_text("BASE = (1,)\nALL = (0, *BASE)\n")
    (tmp_path / "test_tiny.py").write_text("from tiny import ALL\n\n\ndef test_all():\n"
                                           "    assert ALL == (0, 1)\n")
    result = subprocess.run(
        [sys.executable, str(TOOL), "--root", str(tmp_path), "--module", "tiny.py",
         "--tests", "test_tiny.py -q -p no:cacheprovider"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "not run" in result.stdout and "SyntaxError" not in result.stderr
