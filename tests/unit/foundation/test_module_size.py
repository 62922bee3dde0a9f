"""No module of the library is over 400 lines (small modules with one job each)."""

from __future__ import annotations

from pathlib import Path

from harness.config import REPO_ROOT

MAX_LINES = 400


def line_counts(root: Path) -> dict[str, int]:
    """Lines of every .py file below `root`, by repository-relative path (as `wc -l` counts)."""
    return {path.relative_to(REPO_ROOT).as_posix(): path.read_bytes().count(b"\n")
            for path in sorted(root.rglob("*.py"))}


def too_long(counts: dict[str, int]) -> list[str]:
    """Modules over MAX_LINES."""
    return [f"{name}: {lines} lines" for name, lines in counts.items() if lines > MAX_LINES]


def test_no_library_module_is_over_400_lines() -> None:
    problems = too_long(line_counts(REPO_ROOT / "harness"))
    assert not problems, ("split these modules into smaller ones with one job each: "
                          + "; ".join(problems))


def test_the_check_catches_a_long_module() -> None:
    counts = {"harness/a.py": 401, "harness/b.py": 400}
    assert too_long(counts) == ["harness/a.py: 401 lines"]
