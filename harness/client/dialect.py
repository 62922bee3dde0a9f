"""Console dialects: named regexes (one per console event) that read a board's console.

One format for every board: the firmware manifest names a dialect per image and lists its
regexes under `dialects:`; each regex matches one line and its first group (if any) is the value
(`device_id: 'Device ID: (\\S+)'`). The virtual board's lines (harness.client.console) must match
the dialect of its images; real boards are read with the same regexes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from harness.errors import HilError


@dataclass(frozen=True)
class Dialect:
    """Named, compiled console regexes of one firmware's console."""

    name: str
    patterns: dict[str, re.Pattern[str]]

    @classmethod
    def from_regexes(cls, name: str, regexes: Mapping[str, str]) -> Dialect:
        """Compile the regexes of dialect `name`; a bad regex is one clear error."""
        patterns = {}
        for key, regex in regexes.items():
            try:
                patterns[key] = re.compile(regex)
            except re.error as exc:
                raise HilError(f"console dialect {name!r}: regex {key}: {regex!r} does not compile "
                               f"({exc}); fix it in the firmware manifest.") from None
        return cls(name, patterns)

    def __getitem__(self, key: str) -> re.Pattern[str]:
        """The regex for an event name (e.g. 'registered', 'device_id')."""
        try:
            return self.patterns[key]
        except KeyError:
            raise KeyError(f"dialect {self.name!r} has no regex {key!r}") from None

    def match(self, key: str, line: str) -> re.Match[str] | None:
        """Match one line against the regex `key`."""
        return self[key].search(line)
