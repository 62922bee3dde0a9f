"""/v3/devices (Device Directory) and /v3/device-events, read-only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from harness import rest_models as models
from harness.cloud.records import DeviceState
from harness.cloud.rest import serialize
from harness.cloud.rest.auth import Caller, Ctx
from harness.cloud.rest.errors import bad_request, not_found
from harness.cloud.store import NotFoundError

router = APIRouter(tags=["devices"])
STATES = [s.value for s in DeviceState]


@router.get("/v3/devices", response_model=models.ListResponse[models.DeviceData])
@router.get("/v3/devices/", response_model=models.ListResponse[models.DeviceData], include_in_schema=False)
def list_devices(
    caller: Caller, ctx: Ctx, limit: Annotated[int, Query(ge=2, le=1000)] = 50,
    after: str | None = None, order: str = "ASC", state__eq: str | None = None,
    endpoint_name__eq: str | None = None,
) -> dict:
    """One page of the account's devices, filtered by state and endpoint name."""
    if state__eq is not None and state__eq not in STATES:
        raise bad_request(f"state__eq {state__eq!r} is unknown; use one of {', '.join(STATES)}.",
                          "state__eq")
    rows = ctx.store.list_devices(caller.account_id, state=state__eq, endpoint_name=endpoint_name__eq)
    return serialize.page_of(rows, limit=limit, after=after, order=order, id_of=lambda r: r.id,
                             convert=serialize.device)


@router.get("/v3/devices/{device_id}", response_model=models.DeviceData)
@router.get("/v3/devices/{device_id}/", response_model=models.DeviceData, include_in_schema=False)
def get_device(device_id: str, caller: Caller, ctx: Ctx) -> models.DeviceData:
    """One device of the account."""
    row = ctx.store.get_device(device_id)
    if row is None or row.account_id != caller.account_id:
        raise not_found("device", device_id)
    return serialize.device(row)


@router.get("/v3/device-events", response_model=models.ListResponse[models.DeviceEvent])
@router.get("/v3/device-events/", response_model=models.ListResponse[models.DeviceEvent],
            include_in_schema=False)
def list_device_events(
    caller: Caller, ctx: Ctx, limit: Annotated[int, Query(ge=2, le=1000)] = 50,
    after: str | None = None, order: str = "ASC", device_id__eq: str | None = None,
    event_type__eq: str | None = None,
) -> dict:
    """One page of the account's device events (filters: device id, event type)."""
    try:
        page = ctx.store.list_events_page(caller.account_id, device_id=device_id__eq,
                                          event_type=event_type__eq, limit=limit, after=after,
                                          order=serialize.check_order(order))
    except NotFoundError as exc:
        raise bad_request(str(exc), "after") from None
    return serialize.store_page(page, serialize.device_event)
