"""The resource directory's in-memory state: live registrations, expiry times, parsed bodies.

Kept small per device (slots, one heap entry, one deadline): the device rows themselves live in
the store only.
"""

from __future__ import annotations

import datetime as dt
import heapq
import sys
from typing import Any

from harness.cloud.records import Device
from harness.lwm2m.linkformat import Link, parse_links

LINK_CACHE = 256


class LiveRegistration:
    """Where a registered device can be reached: the remote of its last Register/Update."""

    __slots__ = ("account_id", "device_id", "location", "reads_max_age", "remote", "version")

    def __init__(self, device_id: str, account_id: str, location: tuple[str, ...], remote: Any,
                 version: str = "1.0", reads_max_age: bool = True) -> None:
        self.device_id = device_id
        self.account_id = account_id
        self.location = location
        self.remote = remote
        self.version = sys.intern(version)  # one "1.1" for all devices
        self.reads_max_age = reads_max_age


def resource_entries(links: list[Link]) -> list[dict[str, Any]]:
    """Links as directory resources: [{path, rt, ct, obs, if}], plus `v` where the device sent a
    value (`v="..."`, protocol facts 3: the real client sends the manufacturer, model and serial
    number so); the notification channel passes on the documented keys only."""
    out = []
    for link in links:
        attrs = link.attrs
        entry = {"path": link.path, "rt": str(attrs.get("rt", "")), "ct": str(attrs.get("ct", "")),
                 "obs": bool(attrs.get("obs", False)), "if": str(attrs.get("if", ""))}
        value = attrs.get("v")
        if isinstance(value, str):  # a bare `v` flag carries no value
            entry["v"] = value
        out.append(entry)
    return out


def merge_resources(current: list[dict[str, Any]], links: list[Link]) -> list[dict[str, Any]]:
    """Apply an Update body: changed links replace by path, links marked `d` are removed."""
    by_path = {r["path"]: r for r in current}
    for link, entry in zip(links, resource_entries(links), strict=True):
        if link.attrs.get("d"):
            by_path.pop(link.path, None)
        else:
            by_path[link.path] = entry
    return list(by_path.values())


class LinkCache:
    """Parsed link-format bodies by payload: devices of one product send the same body."""

    def __init__(self, size: int = LINK_CACHE) -> None:
        self._size = size
        self._parsed: dict[bytes, list[Link]] = {}

    def links(self, payload: bytes) -> list[Link]:
        """The links of a body (LinkFormatError when it is not link-format); never mutate them."""
        links = self._parsed.get(payload)
        if links is None:
            links = parse_links(payload)
            if len(self._parsed) >= self._size:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[payload] = links
        return links


class ExpirySchedule:
    """When each registration expires: a heap of (epoch seconds, device id) and the current
    deadline per device, so expiry never scans every device."""

    def __init__(self) -> None:
        self._due: list[tuple[float, str]] = []
        self._deadline: dict[str, float] = {}

    @staticmethod
    def expiry_of(device: Device) -> float | None:
        """Epoch seconds when the device's registration ends (None: no lifetime known)."""
        seen = device.last_seen or device.registered_at
        if seen is None or device.lifetime is None:
            return None
        return (seen + dt.timedelta(seconds=device.lifetime)).timestamp()

    def schedule(self, device: Device) -> None:
        """Remember when this registration expires (replacing an earlier deadline)."""
        due = self.expiry_of(device)
        if due is None:
            return
        self._deadline[device.id] = due
        heapq.heappush(self._due, (due, device.id))

    def forget(self, device_id: str) -> None:
        """The registration ended: no deadline any more."""
        self._deadline.pop(device_id, None)

    def pop_due(self, now: float) -> list[str]:
        """The devices whose current deadline is at or before `now` (each forgotten)."""
        out = []
        while self._due and self._due[0][0] <= now:
            due, device_id = heapq.heappop(self._due)
            if self._deadline.get(device_id) != due:
                continue  # refreshed since, or ended
            del self._deadline[device_id]
            out.append(device_id)
        return out
