"""Console dialects: the regexes (from the firmware manifest) that read a board's output."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.boards.manifest import FirmwareManifest, load_manifest


@dataclass(frozen=True)
class Dialect:
    """Named, compiled console regexes of one firmware's console."""

    name: str
    patterns: dict[str, re.Pattern[str]]

    def __getitem__(self, key: str) -> re.Pattern[str]:
        """The regex for an event name (e.g. 'registered', 'device_id')."""
        try:
            return self.patterns[key]
        except KeyError:
            raise KeyError(f"dialect {self.name!r} has no regex {key!r}") from None

    def match(self, key: str, line: str) -> re.Match[str] | None:
        """Match one line against the regex `key`."""
        return self[key].search(line)


def dialect_named(name: str, manifest: FirmwareManifest | None = None) -> Dialect:
    """The dialect `name` from the manifest."""
    manifest = manifest or load_manifest()
    raw = manifest.dialect(name)
    return Dialect(name, {k: re.compile(v) for k, v in raw.items() if k != "error_numbering"})


def dialect_for_image(image: str, manifest: FirmwareManifest | None = None) -> Dialect:
    """The dialect of firmware image `image`."""
    manifest = manifest or load_manifest()
    return dialect_named(manifest.image(image).dialect, manifest)
