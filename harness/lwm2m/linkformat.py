"""RFC 6690 link-format (ct 40) for LwM2M, tolerant of the Izuma extensions (v, aobs, obs, d)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aiocoap.util import linkformat as _lf
from aiocoap.util.vendored.link_header import ParseException

from harness.errors import HilError

_TOKEN_ATTRS = frozenset({"ct", "ver", "pmin", "pmax", "gt", "lt", "st", "sz"})


class LinkFormatError(HilError):
    """A link-format payload that cannot be parsed or produced."""


@dataclass
class Link:
    """One link: its target path and attributes (a bare flag like `obs` has the value True)."""

    path: str
    attrs: dict[str, str | bool] = field(default_factory=dict)


def parse_links(payload: str | bytes) -> list[Link]:
    """Parse a link-format payload (e.g. a Register body) into links."""
    if isinstance(payload, bytes | bytearray):
        try:
            payload = bytes(payload).decode("utf-8")
        except UnicodeDecodeError:
            raise LinkFormatError(
                "Link-format payload is not UTF-8; send text like '</3/0>,</1/0>'."
            ) from None
    text = payload.strip()
    if not text:
        return []
    try:
        parsed = _lf.parse(text)
    except (ParseException, ValueError) as exc:
        near = exc.args[1] if len(exc.args) > 1 else text[:40]
        raise LinkFormatError(
            f"Link-format payload is malformed near {str(near)[:40]}; "
            "send links like '</3/0/0>;rt=\"x\",</1/0>'."
        ) from None
    links = []
    for item in parsed.links:
        attrs: dict[str, str | bool] = {}
        for key, value in item.attr_pairs:
            attrs[key] = True if value is None else value
        links.append(Link(item.href, attrs))
    return links


def _format_attr(key: str, value: str | bool | int) -> str:
    if value is True:
        return key
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{key}={value}"
    text = str(value)
    if key in _TOKEN_ATTRS and text.isascii() and text.isdigit():
        return f"{key}={text}"
    return '{}="{}"'.format(key, text.replace("\\", "\\\\").replace('"', '\\"'))


def format_links(links: Iterable[Link]) -> str:
    """Format links as one link-format string (`</3/0/0>;rt="x";obs,</1/0>`)."""
    parts = []
    for link in links:
        if not link.path or any(c in link.path for c in "<>,;\""):
            raise LinkFormatError(
                f"Link path {link.path!r} is empty or holds <>,;\" characters; use a plain path."
            )
        attrs = [_format_attr(k, v) for k, v in link.attrs.items() if v is not False]
        parts.append(";".join([f"<{link.path}>", *attrs]))
    return ",".join(parts)


def resource_paths(links: Iterable[Link]) -> list[tuple[int, ...]]:
    """Numeric LwM2M paths of the links (object, instance, resource), skipping non-numeric ones."""
    out: list[tuple[int, ...]] = []
    for link in links:
        segments = [s for s in link.path.split("/") if s]
        if not segments or not all(s.isascii() and s.isdigit() for s in segments):
            continue
        out.append(tuple(int(s) for s in segments))
    return out
