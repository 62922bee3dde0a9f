"""A test's timeline: console lines, CoAP messages, TLS sessions, service events and phases on one clock.

Every time is a time.time() reading taken in the test process (console reader thread, service
thread, test thread), so entries from all sources sort on one axis. The timeline travels in the
JUnit file as the test case property `hil.timeline`: compact JSON, times as seconds after `t0`.
A property survives pytest-xdist, `hil report merge` and every JUnit consumer (unknown properties
are ignored), and keeps the report readable without any other file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.redact import redact

TIMELINE_PROPERTY = "hil.timeline"
VERSION = 1
MAX_ENTRIES = 3000
"""At most this many entries per test (the first and last are kept; phases and failures always)."""
MAX_TEXT = 300
SOURCES = ("test", "console", "wire", "service")
"""The timeline's lanes: the test's phases and verdict, the board, the CoAP wire, the service."""


@dataclass
class Entry:
    """One thing that happened: when (s after t0), which lane, what kind, a one-line text."""

    t: float
    src: str
    kind: str
    text: str
    end: float | None = None
    fail: bool = False

    def to_json(self) -> dict[str, Any]:
        """The compact JSON form (end and fail only when set)."""
        out: dict[str, Any] = {"t": round(self.t, 3), "src": self.src, "kind": self.kind, "text": self.text}
        if self.end is not None:
            out["end"] = round(self.end, 3)
        if self.fail:
            out["fail"] = True
        return out


@dataclass
class Timeline:
    """Entries of one test on one clock; t0 is the test's start (time.time())."""

    t0: float
    entries: list[Entry] = field(default_factory=list)
    omitted: int = 0

    def add(self, when: float, src: str, kind: str, text: str, *, end: float | None = None,
            fail: bool = False) -> Entry:
        """Add an entry at absolute time `when` (time.time()); text is redacted and cut to one line."""
        line = redact(" ".join(str(text).split()))
        if len(line) > MAX_TEXT:
            line = line[: MAX_TEXT - 1] + "…"
        entry = Entry(when - self.t0, src, kind, line, None if end is None else end - self.t0, fail)
        self.entries.append(entry)
        return entry

    def sorted_entries(self) -> list[Entry]:
        """Entries in time order (a span sorts by its start)."""
        return sorted(self.entries, key=lambda e: (e.t, SOURCES.index(e.src) if e.src in SOURCES else 9))

    def mark_failure(self, when: float, text: str) -> None:
        """Add the failure and mark the phases open at `when` as the failing step."""
        for entry in self.entries:
            if entry.src == "test" and entry.end is not None and entry.t <= when - self.t0 <= entry.end \
                    and entry.kind == "phase":
                entry.fail = True
        self.add(when, "test", "failure", text, fail=True)

    def to_property(self, max_entries: int = MAX_ENTRIES) -> str:
        """The JSON text of the `hil.timeline` property (bounded to max_entries)."""
        entries = self.sorted_entries()
        omitted = self.omitted
        if len(entries) > max_entries:
            keep = [e for e in entries if e.src == "test"]
            others = [e for e in entries if e.src != "test"]
            room = max(0, max_entries - len(keep))
            head, tail = others[: room // 3], others[len(others) - (room - room // 3):] if room else []
            omitted += len(others) - len(head) - len(tail)
            entries = sorted([*keep, *head, *tail], key=lambda e: e.t)
        doc = {"v": VERSION, "clock": "time.time", "t0": round(self.t0, 3), "omitted": omitted,
               "entries": [e.to_json() for e in entries]}
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def parse_timeline(text: str | None) -> Timeline | None:
    """Read a `hil.timeline` property value (None when absent or unreadable)."""
    if not text:
        return None
    try:
        doc = json.loads(text)
        timeline = Timeline(float(doc["t0"]), omitted=int(doc.get("omitted", 0)))
        for raw in doc["entries"]:
            timeline.entries.append(Entry(float(raw["t"]), str(raw["src"]), str(raw["kind"]),
                                          str(raw["text"]), None if raw.get("end") is None
                                          else float(raw["end"]), bool(raw.get("fail", False))))
    except (ValueError, KeyError, TypeError):
        return None
    return timeline


def redact_property(text: str) -> str:
    """Redact a stored `hil.timeline` value entry by entry, so it stays valid JSON (plain redaction
    of the whole value could eat JSON escapes); a value that is not a timeline is redacted as text."""
    timeline = parse_timeline(text)
    if timeline is None:
        return redact(text)
    for entry in timeline.entries:
        entry.text = redact(entry.text)
        entry.kind = redact(entry.kind)
    return timeline.to_property(max_entries=max(MAX_ENTRIES, len(timeline.entries)))


def wire_text(record: Any) -> str:
    """One line for a CoAP message: direction, server, type, code, path?query, size, blocks, diagnostic."""
    if record.kind == "tls":
        return f"{record.server} {record.peer}: {record.detail}"
    arrow = "device → service" if record.direction == "in" else "service → device"
    parts = [f"{arrow} {record.server}", record.kind, record.code]
    query = getattr(record, "query", "")  # records stored before queries were traced have none
    if record.path or query:
        parts.append(f"{record.path}?{query}" if query else record.path)
    parts.append(f"{record.size} B")
    if record.block1:
        parts.append(f"Block1 {record.block1}")
    if record.block2:
        parts.append(f"Block2 {record.block2}")
    text = " ".join(parts)
    return f"{text} “{record.detail}”" if record.detail else text


def build_timeline(
    t0: float,
    *,
    spans: Iterable[tuple[str, str, float, float]] = (),
    consoles: Iterable[tuple[str, Sequence[tuple[float, str]]]] = (),
    wire: Iterable[Any] = (),
    events: Iterable[Any] = (),
    failure: tuple[float, str] | None = None,
    since: float | None = None,
) -> Timeline:
    """Assemble a test's timeline from its phase spans (kind, name, start, end), consoles
    (label, [(t, line)]), wire records and service events (harness.cloud.wiretap) and failure."""
    timeline = Timeline(t0)
    for kind, name, start, end in spans:
        timeline.add(start, "test", kind, name, end=end)
    for label, lines in consoles:
        for when, line in lines:
            if since is None or when >= since:
                timeline.add(when, "console", label, line)
    for record in wire:
        if record.kind == "tls":
            kind = "tls-refused" if record.code == "refused" else "tls"
        else:
            kind = "error" if record.detail else "coap"
        timeline.add(record.t, "wire", kind, wire_text(record))
    for event in events:
        tls = "'code': 'tls'" in event.data
        timeline.add(event.t, "service", "tls-refused" if tls else event.type,
                     f"{event.type} device={event.device_id or '-'} {event.data}")
    if failure is not None:
        timeline.mark_failure(*failure)
    return timeline
