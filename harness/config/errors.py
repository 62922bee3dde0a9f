"""The one error a lab config raises: every mistake found, one message each."""

from __future__ import annotations

from pathlib import Path

from harness.errors import HilError


class ConfigError(HilError):
    """The lab config has mistakes; one message per mistake."""

    def __init__(self, problems: list[str], source: Path | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__("\n".join(where + p for p in problems))
