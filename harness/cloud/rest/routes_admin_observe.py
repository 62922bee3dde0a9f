"""The admin API, part 2: watching and poking the service (the operator key only).

GET  /admin/v1/devices[?account_id&state&endpoint_name], /admin/v1/devices/{id}   the directory
POST /admin/v1/devices/{id}/requests      a CoAP request to a registered device (GET/PUT/POST)
GET  /admin/v1/denials[?account_id]       refused bootstraps and handshakes, oldest first
GET  /admin/v1/events?after=N&wait=S      the live event stream (long poll: waits up to S s)
POST /admin/v1/faults/bootstrap-errors    answer the next Bootstrap-Requests with an error
POST /admin/v1/faults/store-failures      the store fails while serving the next Bootstrap-Requests
POST /admin/v1/faults/directory-entries   put a device record straight into the directory
POST /admin/v1/faults/lwm2m-handshake-failures  the LwM2M server refuses the next TLS handshakes
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from typing import Annotated, Any, Literal

from aiocoap.numbers.codes import Code
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from harness.cloud.records import DeviceState
from harness.cloud.rest.auth import Ctx, require_operator
from harness.cloud.rest.errors import ApiProblem, bad_request
from harness.cloud.rest.routes_admin import as_json, store_errors

router = APIRouter(prefix="/admin/v1", tags=["admin"], dependencies=[Depends(require_operator)])
MAX_EVENTS = 500
"""Events per answer of the event stream (the rest follows in the next call)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceRequest(_Body):
    """POST /admin/v1/devices/{id}/requests."""

    method: Literal["GET", "PUT", "POST"]
    uri: str = Field(pattern=r"^/\d+(/\d+){0,3}$")  # object[/instance[/resource[/instance]]]
    payload_b64: str = ""
    content_format: int | None = None
    timeout: float = Field(30.0, gt=0, le=120)


class BootstrapErrors(_Body):
    """POST /admin/v1/faults/bootstrap-errors."""

    code: str = Field("5.00", pattern=r"^[45]\.\d\d$")
    text: str = Field("Internal error #1", max_length=200)
    count: int = Field(1, ge=1, le=1000)
    endpoint_name: str | None = None
    """Only the Bootstrap-Requests of this endpoint (a service shared by several test workers)."""


class StoreFailures(_Body):
    """POST /admin/v1/faults/store-failures."""

    stage: Literal["directory", "credentials"] = "directory"
    count: int = Field(1, ge=1, le=1000)
    endpoint_name: str | None = None


class HandshakeFailures(_Body):
    """POST /admin/v1/faults/lwm2m-handshake-failures."""

    count: int = Field(1, ge=1, le=1000)


class DirectoryEntry(_Body):
    """POST /admin/v1/faults/directory-entries."""

    account_id: str
    endpoint_name: str = Field(min_length=1)
    device_key: str | None = None
    state: Literal["cloud_enrolling", "bootstrapped", "registered", "deregistered"] = "cloud_enrolling"


def _running(ctx: Ctx) -> Any:
    if ctx.service is None:
        raise ApiProblem(503, "This REST server runs without its service; start `hil cloud serve`.")
    return ctx.service


@router.get("/devices")
def list_devices(ctx: Ctx, account_id: str | None = None, state: str | None = None,
                 endpoint_name: str | None = None) -> list[dict[str, Any]]:
    """Directory entries (all accounts, or one), filtered by state and endpoint name."""
    if state is not None and state not in {s.value for s in DeviceState}:
        raise bad_request(f"state {state!r} is unknown; use one of "
                          f"{', '.join(s.value for s in DeviceState)}.", "state")
    filters = {k: v for k, v in (("state", state), ("endpoint_name", endpoint_name)) if v}
    return [as_json(d) for d in ctx.store.list_devices(account_id, **filters)]


@router.get("/devices/{device_id}")
def get_device(device_id: str, ctx: Ctx) -> dict[str, Any]:
    """One directory entry, whatever its account."""
    device = ctx.store.get_device(device_id)
    if device is None:
        raise ApiProblem(404, f"No device {device_id[:40]!r} in the directory; list /admin/v1/devices.")
    return as_json(device)


@router.post("/devices/{device_id}/requests")
async def device_request(device_id: str, body: DeviceRequest, ctx: Ctx) -> dict[str, Any]:
    """Send GET / PUT / POST to a registered device and wait for its answer."""
    service = _running(ctx)
    method = {"GET": Code.GET, "PUT": Code.PUT, "POST": Code.POST}[body.method]
    try:
        payload = base64.b64decode(body.payload_b64, validate=True)
    except ValueError:
        raise bad_request("payload_b64 is not base64; encode the payload.", "payload_b64") from None
    with store_errors():
        code, content_format, answer = await service.lwm2m.operate(
            device_id, method, body.uri, payload=payload, content_format=body.content_format,
            timeout=body.timeout)
    return {"code": code, "content_format": content_format,
            "payload_b64": base64.b64encode(answer).decode()}


@router.get("/denials")
def list_denials(ctx: Ctx, account_id: str | None = None) -> list[dict[str, Any]]:
    """Refused bootstraps and TLS handshakes (optionally of one account), oldest first."""
    return [as_json(d) for d in ctx.store.list_denials(account_id=account_id)]


def _event_json(seq: int, event: Any) -> dict[str, Any]:
    return {"seq": seq, "type": event.type, "device_id": event.device_id,
            "account_id": event.account_id, "data": event.data,
            "created_at": event.created_at.isoformat()}


@router.get("/events")
async def events(ctx: Ctx, after: Annotated[int, Query(ge=0)] = 0,
                 wait: Annotated[float, Query(ge=0, le=10)] = 0.0) -> dict[str, Any]:
    """Events numbered `after` or later; with `wait`, blocks until one comes (or `wait` s pass).

    `next` is the number to ask from next time; `oldest` the first still kept (older ones are
    gone: a client that fell behind sees the gap)."""
    bus = _running(ctx).events
    sub = bus.subscribe()  # before looking: an event published meanwhile wakes the wait
    try:
        found, published = bus.after(after)
        if not found and wait > 0 and after >= published:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await sub.get()
            found, published = bus.after(after)
    finally:
        sub.close()
    found = found[:MAX_EVENTS]
    oldest = published - len(bus.history)
    next_seq = found[-1][0] + 1 if found else min(max(after, oldest), published)
    return {"events": [_event_json(seq, e) for seq, e in found], "next": next_seq, "oldest": oldest}


@router.post("/faults/bootstrap-errors", status_code=204)
def inject_bootstrap_errors(body: BootstrapErrors, ctx: Ctx) -> None:
    """Answer the next `count` Bootstrap-Requests (of one endpoint, or any) with `code` and
    `text` (fault injection)."""
    _running(ctx).inject_bootstrap_error(body.code, body.text, body.count, body.endpoint_name)


@router.post("/faults/store-failures", status_code=204)
def fail_store(body: StoreFailures, ctx: Ctx) -> None:
    """The store fails at `stage` for the next `count` Bootstrap-Requests (of one endpoint, or
    any): the service answers with its own internal error (fault injection)."""
    _running(ctx).fail_store(body.stage, body.count, body.endpoint_name)


@router.post("/faults/lwm2m-handshake-failures", status_code=204)
def fail_lwm2m_handshakes(body: HandshakeFailures, ctx: Ctx) -> None:
    """The LwM2M server refuses the next `count` TLS handshakes, whichever devices make them
    (fault injection): a device in bootstrap mode then bootstraps again."""
    _running(ctx).fail_lwm2m_handshakes(body.count)


@router.post("/faults/directory-entries", status_code=201)
def add_directory_entry(body: DirectoryEntry, ctx: Ctx) -> dict[str, Any]:
    """A device record made directly (e.g. to fill a quota or take an endpoint name)."""
    with store_errors():
        return as_json(ctx.store.create_device(body.account_id, body.endpoint_name,
                                               device_key=body.device_key,
                                               state=DeviceState(body.state)))
