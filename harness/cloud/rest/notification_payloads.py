"""Turn service events into v2 notification payload fragments (registrations, reg-updates, ...)."""

from __future__ import annotations

from typing import Any

from harness.cloud import events as ev

_RESOURCE_KEYS = ("path", "rt", "ct", "obs", "if")


def _resource(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"path": str(item)}
    path = item.get("path") or item.get("uri") or item.get("href") or ""
    out: dict[str, Any] = {"path": path if str(path).startswith("/") else f"/{path}"}
    for key in _RESOURCE_KEYS[1:]:
        if item.get(key) is not None:
            out[key] = item[key]
    out["obs"] = bool(item.get("obs", False))
    return out


def endpoint_data(event: ev.Event, *, original_ep: bool) -> dict[str, Any]:
    """EndpointData {ep, original-ep, ept, q, resources} from a registration-like event."""
    data = event.data
    entry: dict[str, Any] = {"ep": data.get("ep") or event.device_id}
    if original_ep:
        entry["original-ep"] = data.get("original-ep") or data.get("endpoint_name") or entry["ep"]
    entry["ept"] = data.get("ept") or data.get("endpoint_type") or "default"
    entry["q"] = bool(data.get("q", False))
    entry["resources"] = [_resource(r) for r in data.get("resources") or []]
    return entry


def payload_fragment(event: ev.Event) -> dict[str, list[Any]] | None:
    """The notification fragment for one event, or None for events the channel does not carry."""
    device = event.data.get("ep") or event.device_id
    if event.type == ev.REGISTRATION:
        return {"registrations": [endpoint_data(event, original_ep=True)]}
    if event.type == ev.REG_UPDATE:
        return {"reg-updates": [endpoint_data(event, original_ep=False)]}
    if event.type == ev.DE_REGISTRATION:
        return {"de-registrations": [device]}
    if event.type == ev.REGISTRATION_EXPIRED:
        return {"registrations-expired": [device]}
    return None


def merge(fragments: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """Merge fragments into one payload, keeping their order within each list."""
    payload: dict[str, list[Any]] = {}
    for fragment in fragments:
        for key, items in fragment.items():
            payload.setdefault(key, []).extend(items)
    return payload
