"""What tools/mutation.py takes without a run: a coverage map (only while its fingerprint matches the
sources), an earlier run's kills (--recheck) and the reviewed equivalent mutants (--equivalent)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tools.mutation_coverage import coverage_map, fingerprint, named_test_paths, stale_map
from tools.mutation_results import (
    EQUIVALENT_FORMAT,
    Equivalent,
    ModuleScore,
    Mutant,
    ResultsError,
    load_earlier,
    outcome_label,
    parse_equivalents,
    report,
    reviewed_equivalent,
    settle_without_run,
    write_json,
)

E2E = "tests/e2e -x -q -p no:cacheprovider -n 2 --hil-timeout-scale 2"


def _tree(root: Path) -> Path:
    """A small project: a module, e2e tests (one in a subfolder), unit tests, fixtures, conftest."""
    files = {"mod.py": "def f(a, b):\n    return a < b\n", "conftest.py": "pytest_plugins = []\n",
             "tests/e2e/test_a.py": "def test_a():\n    pass\n", "tests/e2e/helpers/h.py": "X = 1\n",
             "tests/unit/test_u.py": "def test_u():\n    pass\n", "fixtures/board.py": "Y = 2\n",
             "fixtures/notes.txt": "not python\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _record(root: Path, path: Path, tests: str = E2E) -> None:
    """A map as `collect` writes it, for the current sources."""
    path.write_text(json.dumps({"tests": tests, "seconds": 42.0, "lines": {"mod.py": {}},
                                "fingerprint": fingerprint(root, ["mod.py"], tests)}))


def test_the_fingerprint_covers_the_modules_the_named_tests_and_the_fixtures(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    print_ = fingerprint(root, ["mod.py"], E2E)
    assert print_["modules"] == {"mod.py": hashlib.sha256((root / "mod.py").read_bytes()).hexdigest()}
    assert sorted(print_["tests"]) == ["conftest.py", "fixtures/board.py", "tests/e2e/helpers/h.py",
                                       "tests/e2e/test_a.py"], "not tests/unit (not named), not .txt"
    assert named_test_paths(root, "tests/e2e/test_a.py::test_a -k 'a or b' -n 2") == ["tests/e2e/test_a.py"]


def test_a_map_recorded_for_these_sources_is_reused_without_a_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tree(tmp_path)
    (root / "tests/e2e/test_a.py").write_text("def test_a():\n    assert False\n")  # a run would fail
    _record(root, tmp_path / "map.json")
    assert stale_map(tmp_path / "map.json", root, ["mod.py"], E2E) is None
    assert coverage_map(root, ["mod.py"], E2E, tmp_path / "map.json", 60) == ("passed", 42.0)
    assert capsys.readouterr().out == f"tests per line from {tmp_path / 'map.json'}\n"


def test_a_map_recorded_for_other_sources_names_what_changed(tmp_path: Path) -> None:
    root, path = _tree(tmp_path), tmp_path / "map.json"
    _record(root, path)
    (root / "mod.py").write_text("def f(a, b):\n    return a <= b\n")
    assert stale_map(path, root, ["mod.py"], E2E) == (
        f"{path} was recorded for other sources (the module mod.py changed); recording it again")
    _record(root, path)
    (root / "tests/e2e/test_new.py").write_text("def test_new():\n    pass\n")
    (root / "fixtures/board.py").write_text("Y = 3\n")
    assert stale_map(path, root, ["mod.py"], E2E) == (
        f"{path} was recorded for other sources (the tests changed: fixtures/board.py changed, "
        "tests/e2e/test_new.py is new); recording it again")
    _record(root, path)
    (root / "tests/e2e/helpers/h.py").unlink()
    assert "(the tests changed: tests/e2e/helpers/h.py is gone)" in stale_map(path, root, ["mod.py"], E2E)
    (root / "other.py").write_text("Z = 1\n")
    assert "(the module other.py was not measured)" in stale_map(path, root, ["other.py"], E2E)
    path.write_text(json.dumps({"tests": E2E, "seconds": 1.0, "lines": {"mod.py": {}}}))
    assert stale_map(path, root, ["mod.py"], E2E) == (
        f"{path} has no fingerprint of the sources it was recorded for; recording it again")


def test_a_stale_map_is_recorded_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tiny.py").write_text("def admit(count, limit):\n    return count <= limit\n")
    (tmp_path / "test_tiny.py").write_text("from tiny import admit\n\n\ndef test_admit():\n"
                                           "    assert admit(2, 2)\n")
    path, tests = tmp_path / "map.json", "test_tiny.py -q -p no:cacheprovider"
    path.write_text(json.dumps({"tests": tests, "seconds": 1.0, "lines": {"tiny.py": {"9": ["gone"]}},
                                "fingerprint": {"modules": {"tiny.py": "0" * 64}, "tests": {}}}))
    result, _ = coverage_map(tmp_path, ["tiny.py"], tests, path, 120)
    assert result == "passed"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path} was recorded for other sources (the module tiny.py changed); recording it again"
    assert out[1].startswith("coverage run (passed")
    assert stale_map(path, tmp_path, ["tiny.py"], tests) is None, "recorded with the new fingerprint"
    assert json.loads(path.read_text())["lines"]["tiny.py"]["2"] == ["test_tiny.py::test_admit"]


EQUIVALENTS = """# reviewed
harness/a.py:12#0 | return a < b | the caller never passes a == b

harness/b.py:7#1 | flags = READ & WRITE | EXEC | the three flags never share a bit
"""


def test_the_equivalent_list_is_parsed_with_pipes_inside_the_mutated_text(tmp_path: Path) -> None:
    (tmp_path / "eq.txt").write_text(EQUIVALENTS)
    assert parse_equivalents(tmp_path / "eq.txt") == [
        Equivalent("harness/a.py", 12, 0, "return a < b", "the caller never passes a == b"),
        Equivalent("harness/b.py", 7, 1, "flags = READ & WRITE | EXEC", "the three flags never share a bit")]


@pytest.mark.parametrize("bad", ["harness/a.py:12#0 | return a < b", "harness/a.py:12 | x = 1 | why",
                                 "harness/a.py:12#0 |  | why", "harness/a.py:12#0 | x = 1 |  "])
def test_a_malformed_equivalent_line_names_the_file_the_line_and_the_format(tmp_path: Path, bad: str) -> None:
    (tmp_path / "eq.txt").write_text(f"# reviewed\n\n{bad}\n")
    with pytest.raises(ResultsError) as caught:
        parse_equivalents(tmp_path / "eq.txt")
    assert str(caught.value).startswith(f"{tmp_path / 'eq.txt'} line 3 is not '{EQUIVALENT_FORMAT}'")
    assert "\n" not in str(caught.value)


def test_a_missing_equivalent_list_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"cannot read the equivalent list .*nope.txt"):
        parse_equivalents(tmp_path / "nope.txt")


def test_a_reviewed_equivalent_matches_by_module_and_mutated_text_not_by_line() -> None:
    entries = [Equivalent("harness/a.py", 12, 0, "return a < b", "never equal")]
    moved = Mutant("harness/a.py", 20, 3, "return a <= b", "return a < b")
    assert reviewed_equivalent(moved, entries) == entries[0], "line numbers drift"
    other_module = Mutant("harness/b.py", 12, 0, "return a <= b", "return a < b")
    other_text = Mutant("harness/a.py", 12, 0, "return a <= b", "return a > b")
    assert reviewed_equivalent(other_module, entries) is None
    assert reviewed_equivalent(other_text, entries) is None
    assert settle_without_run(moved, entries, {})
    assert (moved.outcome, moved.why, outcome_label(moved)) == ("equivalent", "never equal",
                                                                 "equivalent (reviewed)")


def _earlier(tmp_path: Path) -> Path:
    mutants = [Mutant("m.py", 3, 0, "a <= b", "a < b", "killed", 30.0, "2"),
               Mutant("m.py", 5, 0, "x = 1", "x = 2", "survived", 30.0, "2"),
               Mutant("m.py", 7, 1, "wait()", "None", "timeout", 90.0, "all"),
               Mutant("m.py", 9, 0, "y = 1", "y = 2", "killed", 30.0, "1")]
    write_json(tmp_path / "earlier.json", [ModuleScore("m.py", 40, 0, mutants)])
    return tmp_path / "earlier.json"


def test_recheck_keeps_the_earlier_kills_of_the_same_mutated_text_and_runs_the_rest(tmp_path: Path) -> None:
    earlier = load_earlier(_earlier(tmp_path))
    same = Mutant("m.py", 3, 0, "a <= b", "a < b")
    survivor = Mutant("m.py", 5, 0, "x = 1", "x = 2")
    hang = Mutant("m.py", 7, 1, "wait()", "None")
    redrawn = Mutant("m.py", 9, 0, "y = 1", "y = 3")  # same line and index, another mutated text
    new = Mutant("m.py", 11, 0, "z = 1", "z = 2")
    assert [settle_without_run(m, [], earlier) for m in (same, survivor, hang, redrawn, new)] == [
        True, False, True, False, False]
    assert (same.outcome, same.tests, same.from_earlier, outcome_label(same)) == (
        "killed", "2", True, "killed (earlier run)")
    assert hang.outcome == "timeout" and redrawn.outcome == "not run" and not redrawn.from_earlier
    survivor.outcome, redrawn.outcome, new.outcome = "killed", "survived", "equivalent"
    text = report([ModuleScore("m.py", 40, 0, [same, survivor, hang, redrawn, new])])
    assert "TOTAL: 3 of 4 mutants killed (75.0 %); 2 of these outcomes from the earlier run; " \
           "1 equivalent (annotation only) left out" in text


def test_the_report_lists_the_reviewed_equivalents_with_their_reason() -> None:
    reviewed = Mutant("m.py", 3, 0, "a <= b", "a < b", "equivalent", why="never equal")
    annotation = Mutant("m.py", 4, 0, "x: int | None", "x: int & None", "equivalent")
    killed = Mutant("m.py", 5, 0, "x = 1", "x = 2", "killed")
    text = report([ModuleScore("m.py", 10, 0, [reviewed, annotation, killed])])
    assert ("TOTAL: 1 of 1 mutants killed (100.0 %); 2 equivalent (1 annotation only, 1 reviewed) "
            "left out") in text
    assert text.endswith("Equivalent (reviewed):\n  m.py:3#0: a <= b\n      -> a < b\n      why: never equal")


def test_recheck_refuses_a_file_that_is_no_earlier_run(tmp_path: Path) -> None:
    (tmp_path / "map.json").write_text(json.dumps({"tests": E2E, "seconds": 1.0, "lines": {}}))
    with pytest.raises(ResultsError, match=r"map.json is not the --json output of tools/mutation.py"):
        load_earlier(tmp_path / "map.json")
