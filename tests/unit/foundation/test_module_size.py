"""No module of the library is over 400 lines (small modules with one job each).

The allowlist names the modules still being split; it only shrinks: an entry whose module is
back under the limit (or gone) fails too, so the list is kept exact.
"""

from __future__ import annotations

from pathlib import Path

from harness.config import REPO_ROOT

MAX_LINES = 400
STILL_TOO_LONG = frozenset({
    "harness/cloud/lwm2m_server.py",
    "harness/cloud/service.py",
    "harness/sim/client/device_client.py",
})
"""Modules over the limit whose split is under way; remove an entry once its module is split."""


def line_counts(root: Path) -> dict[str, int]:
    """Lines of every .py file below `root`, by repository-relative path (as `wc -l` counts)."""
    return {path.relative_to(REPO_ROOT).as_posix(): path.read_bytes().count(b"\n")
            for path in sorted(root.rglob("*.py"))}


def too_long(counts: dict[str, int], allowed: frozenset[str]) -> list[str]:
    """Modules over MAX_LINES that are not allowed to be."""
    return [f"{name}: {lines} lines" for name, lines in counts.items()
            if lines > MAX_LINES and name not in allowed]


def stale(counts: dict[str, int], allowed: frozenset[str]) -> list[str]:
    """Allowlist entries whose module is gone or no longer over MAX_LINES."""
    return sorted(name for name in allowed if counts.get(name, 0) <= MAX_LINES)


def test_no_library_module_is_over_400_lines() -> None:
    problems = too_long(line_counts(REPO_ROOT / "harness"), STILL_TOO_LONG)
    assert not problems, ("split these modules into smaller ones with one job each: "
                          + "; ".join(problems))


def test_the_allowlist_names_only_modules_still_over_the_limit() -> None:
    leftover = stale(line_counts(REPO_ROOT / "harness"), STILL_TOO_LONG)
    assert not leftover, f"remove from STILL_TOO_LONG (now split or gone): {', '.join(leftover)}"


def test_the_check_catches_a_long_module_and_a_stale_entry() -> None:
    counts = {"harness/a.py": 401, "harness/b.py": 400, "harness/c.py": 900}
    assert too_long(counts, frozenset({"harness/c.py"})) == ["harness/a.py: 401 lines"]
    assert stale(counts, frozenset({"harness/b.py", "harness/c.py", "harness/gone.py"})) == [
        "harness/b.py", "harness/gone.py"]
