"""/v2/notification: the webhook callback and the websocket channel of each credential."""

from __future__ import annotations

from fastapi import APIRouter, Response, WebSocket
from fastapi.responses import JSONResponse

from harness import rest_models as models
from harness.cloud.rest.auth import API_KEY_PREFIX, Caller, Ctx, Principal, authenticate
from harness.cloud.rest.context import RestContext, ws_context
from harness.cloud.rest.errors import ApiProblem
from harness.cloud.rest.storage import NotificationChannel

router = APIRouter(tags=["notifications"])
WS_PROTOCOL_KEY_PREFIX = "pelion_"


def _require_channel(ctx: RestContext, caller: Principal, kind: str) -> NotificationChannel:
    """The caller's channel if it is a `kind` (webhook|websocket) one, else 404."""
    channel = ctx.storage.get_channel(caller.owner)
    if channel is None or channel.kind != kind:
        path = "callback" if kind == "webhook" else kind
        raise ApiProblem(404, f"No {path} channel is set for this key; PUT /v2/notification/{path} first.")
    return channel


@router.put("/v2/notification/callback", status_code=204)
async def put_callback(body: models.WebhookRequest, caller: Caller, ctx: Ctx) -> Response:
    """Set the webhook: tested with an empty PUT (must answer 200/204), then used for payloads."""
    await ctx.hub.check_webhook(body.url, body.headers)
    ctx.hub.channel_removed(caller.owner)
    ctx.storage.set_channel(caller.owner, caller.account_id, "webhook", body.url, body.headers)
    return Response(status_code=204)


@router.get("/v2/notification/callback", response_model=models.Webhook)
def get_callback(caller: Caller, ctx: Ctx) -> models.Webhook:
    """The webhook URL and the names of its headers (values hidden)."""
    channel = _require_channel(ctx, caller, "webhook")
    return models.Webhook(url=channel.url or "", headers={k: "<redacted>" for k in channel.headers})


@router.delete("/v2/notification/callback", status_code=204)
async def delete_callback(caller: Caller, ctx: Ctx) -> Response:
    """Remove the webhook."""
    _require_channel(ctx, caller, "webhook")
    ctx.storage.delete_channel(caller.owner)
    ctx.hub.channel_removed(caller.owner)
    return Response(status_code=204)


@router.put("/v2/notification/websocket", response_model=models.WebsocketChannel,
            responses={201: {"model": models.WebsocketChannel}})
async def put_websocket(caller: Caller, ctx: Ctx) -> JSONResponse:
    """Make the websocket the channel (201 new, 200 already); connect to /websocket-connect."""
    channel = ctx.storage.get_channel(caller.owner)
    if channel is not None and channel.kind == "websocket":
        return JSONResponse(ctx.hub.websocket_status(caller.owner), status_code=200)
    ctx.hub.channel_removed(caller.owner)
    ctx.storage.set_channel(caller.owner, caller.account_id, "websocket")
    return JSONResponse(ctx.hub.websocket_status(caller.owner), status_code=201)


@router.get("/v2/notification/websocket", response_model=models.WebsocketChannel)
def get_websocket(caller: Caller, ctx: Ctx) -> dict:
    """The websocket channel's queue size and connection status."""
    _require_channel(ctx, caller, "websocket")
    return ctx.hub.websocket_status(caller.owner)


@router.delete("/v2/notification/websocket", status_code=204)
async def delete_websocket(caller: Caller, ctx: Ctx) -> Response:
    """Remove the websocket channel (an open connection is closed)."""
    _require_channel(ctx, caller, "websocket")
    ctx.storage.delete_channel(caller.owner)
    ctx.hub.channel_removed(caller.owner)
    return Response(status_code=204)


def _ws_credentials(websocket: WebSocket) -> tuple[str | None, str | None, str | None]:
    """(authorization, application id, subprotocol to answer) from headers or subprotocols."""
    authorization = websocket.headers.get("authorization")
    chosen = None
    for proto in websocket.scope.get("subprotocols", []):
        if proto == "wss":
            chosen = "wss"
        elif proto.startswith(WS_PROTOCOL_KEY_PREFIX + API_KEY_PREFIX) and not authorization:
            authorization = "Bearer " + proto.removeprefix(WS_PROTOCOL_KEY_PREFIX)
    return authorization, websocket.headers.get("x-application-id"), chosen


@router.websocket("/v2/notification/websocket-connect")
async def websocket_connect(websocket: WebSocket) -> None:
    """Deliver the credential's notifications as JSON text messages (close 1008 when refused)."""
    ctx = ws_context(websocket)
    authorization, application_id, subprotocol = _ws_credentials(websocket)
    await websocket.accept(subprotocol=subprotocol)
    try:
        caller = authenticate(ctx, authorization, application_id)
    except ApiProblem as exc:
        await websocket.close(1008, exc.message.encode()[:120].decode(errors="ignore"))
        return
    channel = ctx.storage.get_channel(caller.owner)
    if channel is None or channel.kind != "websocket":
        await websocket.close(1008, "No websocket channel; PUT /v2/notification/websocket first.")
        return
    await ctx.hub.serve_websocket(caller.owner, websocket)
