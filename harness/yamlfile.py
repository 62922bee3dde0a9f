"""Reading the YAML files a user edits (lab config, firmware manifest) with one-sentence errors:
a size limit, UTF-8 only (UTF-16 named as such), and a nesting limit checked before PyYAML's
recursive composer could exhaust the stack."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HilError

MAX_BYTES = 1024 * 1024
"""The largest YAML file read (a lab of hundreds of boards is a few tens of KiB)."""
MAX_DEPTH = 50
"""The deepest nesting of mappings and sequences accepted."""


class YamlFileError(HilError):
    """The file cannot be read as YAML; the message says why and what to do (no path prefix)."""


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """The file's text: at most `limit` bytes, UTF-8 (a UTF-8 BOM is fine)."""
    if path.is_dir():
        raise YamlFileError("is a directory; give the YAML file inside it")
    with path.open("rb") as fh:  # OSError (missing, unreadable) is the caller's to word
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise YamlFileError(f"is larger than {limit // (1024 * 1024)} MiB; a YAML file this big "
                            "is not a lab config or a manifest, check the path")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:64]:
        raise YamlFileError("is UTF-16 or UTF-32 text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise YamlFileError(f"is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                            "save it as UTF-8") from None


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise YamlFileError if mappings/sequences nest deeper than `limit` (streaming parse)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > limit:
                    line = event.start_mark.line + 1 if event.start_mark else 0
                    raise YamlFileError(f"nests mappings or lists more than {limit} levels deep "
                                        f"(line {line}); flatten it")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the loader reports syntax errors with their line


def load(text: str, loader: type = yaml.SafeLoader) -> Any:
    """yaml.load after check_depth (the loader must be a SafeLoader subclass)."""
    check_depth(text)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader or a subclass
    except RecursionError:
        raise YamlFileError(f"nests too deeply to read; flatten it below {MAX_DEPTH} levels"
                            ) from None
