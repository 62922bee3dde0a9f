"""YAML with line numbers: a loader that remembers each key's line, and the lookups on it."""

from __future__ import annotations

from typing import Any

import yaml


class LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of each mapping key."""


def construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    """Build a mapping that records the line of each of its keys."""
    mapping = loader.construct_mapping(node, deep=True)
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return LineMapping(mapping, lines)


class LineMapping(dict):
    """A dict that knows the YAML line of each key."""

    def __init__(self, data: dict[str, Any], lines: dict[str, int]) -> None:
        super().__init__(data)
        self.lines = lines


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)


def line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    """The YAML line of the key at `loc` (or of its nearest parent that has one)."""
    line = None
    node = data
    for part in loc:
        if isinstance(node, LineMapping) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, LineMapping) and node.lines:
                line = min(node.lines.values())
        else:
            break
    return line


def key_path(data: Any, loc: tuple[int | str, ...]) -> str:
    """`loc` as a reader writes it: `boards[0] (id b1).target`."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                board_id = node[part].get("id")
                label = f"[{part}] (id {board_id})" if board_id else label
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
        if isinstance(node, dict | list):
            try:
                node = node[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                node = None
    return "".join(parts) or "(top level)"

