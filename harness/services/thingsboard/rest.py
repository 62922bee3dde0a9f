"""A REST subset with ThingsBoard's paths and JSON shapes (the "via script" way).

POST /api/auth/login -> {"token", "refreshToken"}; every other call needs
`X-Authorization: Bearer <token>`. Devices, their credentials, device profiles (provisioning),
the device's telemetry and client attributes, and (not ThingsBoard) /api/hil/events.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from harness.services.thingsboard import credentials as cr
from harness.services.thingsboard import records as r
from harness.services.thingsboard.store import StoreError, TbStore, now_ms

TOKEN_LIFETIME = 9000  # seconds, ThingsBoard's default JWT lifetime (2.5 h)


def tb_error(status: int, message: str) -> JSONResponse:
    """ThingsBoard's error body."""
    code = {400: 31, 401: 10, 404: 32}.get(status, 2)
    return JSONResponse({"status": status, "message": message, "errorCode": code,
                         "timestamp": now_ms()}, status_code=status)


class Login(BaseModel):
    """POST /api/auth/login."""

    username: str
    password: str


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


def build_app(store: TbStore, username: str, password: str, secret: bytes) -> FastAPI:
    """The FastAPI app of the ThingsBoard REST subset."""
    app = FastAPI(title="dm-hil ThingsBoard REST subset", docs_url=None, redoc_url=None)

    @app.exception_handler(StoreError)
    async def _store_error(_: Request, exc: StoreError) -> JSONResponse:
        return tb_error(exc.status, str(exc))

    def user(x_authorization: str | None = Header(None)) -> str:
        token = (x_authorization or "").removeprefix("Bearer ").strip()
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise StoreError("Authentication failed", 401) from None
        return str(claims["sub"])

    @app.post("/api/auth/login")
    async def login(body: Login) -> Any:
        ok = (secrets.compare_digest(body.username, username)
              and secrets.compare_digest(body.password, password))
        if not ok:
            return tb_error(401, "Invalid username or password")
        now = int(time.time())
        claims = {"sub": username, "scopes": ["TENANT_ADMIN"], "iat": now, "exp": now + TOKEN_LIFETIME}
        return {"token": jwt.encode(claims, secret, algorithm="HS256"),
                "refreshToken": jwt.encode({**claims, "refresh": True}, secret, algorithm="HS256")}

    @app.post("/api/device")
    async def save_device(body: _Loose, accessToken: str | None = None, _: str = Depends(user)) -> Any:  # noqa: N803
        data = body.model_dump()
        profile_id = (data.get("deviceProfileId") or {}).get("id")
        device = store.create_device(str(data.get("name") or ""), str(data.get("type") or "default"),
                                     label=data.get("label"), profile_id=profile_id)
        token, _value = cr.normalize(r.ACCESS_TOKEN, accessToken or cr.new_access_token(), None)
        try:
            store.set_credentials(device.id, r.ACCESS_TOKEN, token, None)
        except StoreError:
            store.delete_device(device.id)
            raise
        store.record("device_created", "created via REST", device_id=device.id)
        return device.to_json()

    @app.get("/api/device/{device_id}")
    async def get_device(device_id: str, _: str = Depends(user)) -> Any:
        return store.device(device_id).to_json()

    @app.delete("/api/device/{device_id}")
    async def delete_device(device_id: str, _: str = Depends(user)) -> Any:
        store.delete_device(device_id)
        return JSONResponse(None, status_code=200)

    @app.get("/api/tenant/devices")
    async def tenant_device(deviceName: str, _: str = Depends(user)) -> Any:  # noqa: N803
        device = store.device_by_name(deviceName)
        if device is None:
            raise StoreError(f"Device with name [{deviceName}] is not found", 404)
        return device.to_json()

    @app.get("/api/device/{device_id}/credentials")
    async def get_credentials(device_id: str, _: str = Depends(user)) -> Any:
        return store.credentials_of(device_id).to_json()

    @app.post("/api/device/credentials")
    async def save_credentials(body: _Loose, _: str = Depends(user)) -> Any:
        data = body.model_dump()
        device_id = (data.get("deviceId") or {}).get("id")
        if not device_id:
            raise StoreError("deviceId is required: give {\"deviceId\": {\"id\": ...}}")
        kind = data.get("credentialsType")
        cid, value = cr.normalize(str(kind), data.get("credentialsId"), data.get("credentialsValue"))
        creds = store.set_credentials(device_id, str(kind), cid, value)
        store.record("credentials_updated", f"credentials set to {kind} via REST", device_id=device_id,
                     credentials_type=str(kind))
        return creds.to_json()

    @app.post("/api/deviceProfile")
    async def save_profile(body: _Loose, _: str = Depends(user)) -> Any:
        return store.create_profile(profile_from_json(body.model_dump())).to_json()

    @app.get("/api/plugins/telemetry/DEVICE/{device_id}/values/timeseries")
    async def timeseries(device_id: str, keys: str | None = None, _: str = Depends(user)) -> Any:
        store.device(device_id)
        data = store.data(device_id, "telemetry")
        wanted = keys.split(",") if keys else list(data)
        return {k: [{"ts": ts, "value": v} for ts, v in data[k][:1]] for k in wanted if k in data}

    @app.get("/api/plugins/telemetry/DEVICE/{device_id}/values/attributes/CLIENT_SCOPE")
    async def attributes(device_id: str, _: str = Depends(user)) -> Any:
        store.device(device_id)
        return [{"key": k, "value": v[0][1], "lastUpdateTs": v[0][0]}
                for k, v in store.data(device_id, "CLIENT_SCOPE").items()]

    @app.get("/api/hil/events")
    async def events(after: int = 0, deviceId: str | None = None, _: str = Depends(user)) -> Any:  # noqa: N803
        return [e.to_json() for e in store.events(after=after, device_id=deviceId)]

    return app


def profile_from_json(data: dict[str, Any]) -> r.Profile:
    """A Profile from ThingsBoard's DeviceProfile JSON (its provisioning part)."""
    config = (data.get("profileData") or {}).get("provisionConfiguration") or {}
    kind = config.get("type") or data.get("provisionType") or r.DISABLED
    if kind not in r.PROVISION_TYPES:
        raise StoreError(f"Unknown provision type {kind!r}; use one of {', '.join(r.PROVISION_TYPES)}.")
    name = data.get("name")
    if not name:
        raise StoreError("Device profile name should be specified!")
    key = data.get("provisionDeviceKey")
    if kind in (r.ALLOW_CREATE_NEW_DEVICES, r.CHECK_PRE_PROVISIONED_DEVICES) and not (
            key and config.get("provisionDeviceSecret")):
        raise StoreError("Provision device key and secret should be specified for this provision type!")
    if kind == r.X509_CERTIFICATE_CHAIN and not config.get("certificateValue"):
        raise StoreError("X509_CERTIFICATE_CHAIN needs the trusted CA certificate in certificateValue.")
    return r.Profile("", str(name), kind, key, config.get("provisionDeviceSecret"),
                     config.get("certificateValue"), config.get("certificateRegExPattern") or "(.*)",
                     bool(config.get("allowCreateNewDevicesByX509Certificate")))
