"""The Device Management Client of a virtual board: bootstrap, register, update, serve, errors.

Behaviour per protocol-facts.md sections 2-3 (PelionIoT/mbed-cloud-client 4.13.x with the
mbed-cloud-client-example application on top). The client talks only over the network.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiocoap
from aiocoap import Code, Message
from aiocoap import error as coap_error

from harness.client import console as text
from harness.client.errors import ClientError, error_lines
from harness.client.failures import Failure, bootstrap_failure, registration_failure
from harness.errors import HilError
from harness.lwm2m.blockwise import send_blockwise
from harness.lwm2m.ids import ContentFormat, Device, Security, SecurityMode, Server
from harness.lwm2m.tlv import TlvError, as_int, as_str
from harness.pki import subject_fields
from harness.provisioning import items
from harness.sim.client.bootstrap_site import BootstrapData, BootstrapSite
from harness.sim.client.credentials import (
    BOOTSTRAP_ITEMS,
    LWM2M_ITEMS,
    LWM2M_SECURITY_MODE,
    CredentialError,
    ServerCredentials,
    delete_lwm2m_credentials,
    has_lwm2m_credentials,
    host_port,
    is_expired,
    load_chain,
    query_value,
    read_server_credentials,
    save_time,
    saved_time,
    uri_query,
)
from harness.sim.client.device_object import DeviceObject
from harness.sim.client.security_object import CHAIN_LOST_DETAILS, CHAIN_RESOURCES
from harness.sim.client.settings import Backoff, ClientSettings, firmware_value
from harness.transport import SecureConnectionError, create_client_context, kind_for, transport

log = logging.getLogger(__name__)

EXECUTE_GRACE = 0.05
"""Seconds between answering an Execute and acting on it, so the 2.04 leaves first."""

BLOCKS_IN_FLIGHT = 2
"""The client sends its Register body as 512-byte Block1 blocks, two in flight (facts 3.1)."""


class _Retry(Exception):
    """Report `failure` (unless quiet) and try again after the back-off."""

    def __init__(self, failure: Failure | None) -> None:
        super().__init__(failure)
        self.failure = failure


class _Stop(Exception):
    """Report `failure` and stay down until power-off."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure)
        self.failure = failure


class _Rebootstrap(Exception):
    """Drop the LwM2M credentials and bootstrap again."""


class _Deregistered(Exception):
    """The client de-registered on request; run() returns."""


def _now_utc(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(float(value), dt.UTC)


class DeviceClient:
    """The virtual board's Device Management Client (console lines of the example app)."""

    def __init__(self, store, firmware: Any, console: Callable[[str], None], platform: Any) -> None:
        """`store`: ItemStore; `firmware`: manifest; `console(line)`: one call per printed line
        (no terminator); `platform`: reboot(), factory_reset(), now()."""
        self.store = store
        self.firmware = firmware
        self.settings = ClientSettings.from_firmware(firmware)
        self.console = console
        self.platform = platform
        self.backoff = Backoff(self.settings.backoff_base, self.settings.backoff_cap)
        self.registered = asyncio.Event()
        self.endpoint_name: str | None = None
        self.device_id: str | None = None
        self.location: tuple[str, ...] = ()
        self.lifetime = self.settings.lifetime
        self._server_lifetime: int | None = None
        self._printed_endpoint = False
        self._deregister_requested = asyncio.Event()
        self._deregistered = asyncio.Event()
        self._context: aiocoap.Context | None = None
        self._tasks: set[asyncio.Task] = set()
        # a bootstrap write that was a bare resource list removed the cert-chain resources 12-14 of
        # the LwM2M security instance: registration cannot read its credentials until power-off
        self._chain_resources_lost = False
        # bootstraps since the last registration: a second one waits the back-off (a bootstrap
        # that leads nowhere must not repeat at once, like the client's reconnection timer)
        self._bootstraps_since_register = 0

    # --- public ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Bootstrap/register and stay registered until cancelled (power off) or de-registered."""
        self._restore_time()
        self._say(text.NETWORK_READY)
        try:
            while True:
                try:
                    await self._cycle()
                except _Retry as exc:
                    if exc.failure is not None:
                        self._report(exc.failure)
                    delay = self.backoff.next_delay()
                    self._say(text.TRACE_RETRY.format(delay=delay))
                    await self._wait_or_deregister(delay)
                except _Rebootstrap:
                    delete_lwm2m_credentials(self.store)
                    self._report(Failure(ClientError.ConnectBootstrapFailed,
                                         text.DETAILS_REBOOTSTRAP))
                    delay = self.backoff.rebootstrap_delay()
                    self._say(text.TRACE_REBOOTSTRAP.format(delay=delay))
                    await self._wait_or_deregister(delay)
                except _Stop as exc:
                    self._report(exc.failure)
                    await self._deregister_requested.wait()
                    raise _Deregistered() from None
        except _Deregistered:
            self._deregistered.set()
        finally:
            self.registered.clear()
            await self._close_context()

    async def deregister(self, timeout: float | None = None) -> None:
        """De-register gracefully (DELETE of the registration) and end run()."""
        self._deregister_requested.set()
        async with asyncio.timeout(timeout or self.settings.request_timeout + 5):
            await self._deregistered.wait()

    # --- one pass: bootstrap if needed, then register and serve ---------------------------------
    async def _cycle(self) -> None:
        if self._deregister_requested.is_set():
            raise _Deregistered()
        if has_lwm2m_credentials(self.store):
            await self._register_and_serve()
        elif self._bootstrap_mode():
            await self._bootstrap()
        else:
            raise _Stop(Failure(ClientError.ConnectorFailedToReadCredentials,
                                text.DETAILS_READ_FAILED, retry=False))

    def _bootstrap_mode(self) -> bool:
        return self.store.get_int(items.USE_BOOTSTRAP) == 1

    # --- bootstrap ----------------------------------------------------------------------------
    async def _bootstrap(self) -> None:
        if self._bootstraps_since_register:
            delay = self.backoff.next_delay()
            self._say(text.TRACE_RETRY.format(delay=delay))
            await self._wait_or_deregister(delay)
        try:
            creds = read_server_credentials(self.store, BOOTSTRAP_ITEMS)
        except CredentialError as exc:
            raise _Stop(Failure(ClientError.ConnectorFailedToReadCredentials,
                                str(exc), retry=False)) from None
        if creds is None:
            raise _Stop(Failure(ClientError.ConnectorFailedToReadCredentials,
                                text.DETAILS_READ_FAILED, retry=False))
        endpoint = self.store.get_str(items.ENDPOINT_NAME) or creds.subject.get("CN", "")
        query: list[str] = [f"ep={endpoint}"]
        extra = uri_query(creds.uri)
        if "?" in creds.uri:
            query += [part for part in extra.split("&") if part]
            internal = self.store.get_str(items.INTERNAL_ENDPOINT)
            if internal:
                query.append(f"iep={internal}")
            query.append(f"mccv={self.settings.client_version}")
        self._say(text.TRACE_BOOTSTRAP_START.format(uri=creds.uri.split("?")[0]))
        site = BootstrapSite(creds.uri)
        base = await self._open(creds, site.site)
        try:
            response = await self._request(Code.POST, base, ("bs",), query)
            if not response.code.is_successful():
                failure = bootstrap_failure(response.code, bytes(response.payload),
                                            self.settings.client_version)
                raise (_Retry(failure) if failure.retry else _Stop(failure))
            try:
                async with asyncio.timeout(self.settings.request_timeout):
                    await site.done.wait()
            except TimeoutError:
                raise _Retry(Failure(ClientError.ConnectBootstrapFailed,
                                     text.DETAILS_BS_FINISH_FAILED.format(reason="timeout"))) from None
            if site.failure is not None:
                raise _Retry(site.failure)
            self._commit(site.data, creds)
            # let the 2.04 to Bootstrap-Finish leave before the connection closes
            for _ in range(3):
                await asyncio.sleep(0)
        finally:
            await self._close_context()
        self._say(text.TRACE_BOOTSTRAPPED)
        self._bootstraps_since_register += 1

    def _commit(self, data: BootstrapData, bs_creds: ServerCredentials) -> None:
        """Store what Bootstrap-Finish committed (runtime items), or raise _Retry."""
        lwm2m = data.lwm2m_instance()
        if lwm2m is None:
            raise _Retry(Failure(ClientError.ConnectBootstrapFailed,
                                 text.DETAILS_NO_SECURITY_OBJECT))
        try:
            uri = as_str(_raw(lwm2m, Security.SERVER_URI))
            mode = as_int(_raw(lwm2m, Security.SECURITY_MODE)) if Security.SECURITY_MODE in lwm2m \
                else SecurityMode.CERTIFICATE
        except TlvError:
            raise _Retry(_finish_failed("invalid security object")) from None
        material = {r: _raw(lwm2m, r) for r in (Security.PUBLIC_KEY_OR_IDENTITY,
                                                 Security.SERVER_PUBLIC_KEY, Security.SECRET_KEY)}
        if mode == SecurityMode.CERTIFICATE and not all(material.values()):
            raise _Retry(_finish_failed("certificate mode without cert, CA and key"))
        psk = mode == SecurityMode.PSK
        if psk and not (material[Security.PUBLIC_KEY_OR_IDENTITY] and material[Security.SECRET_KEY]):
            raise _Retry(_finish_failed("PSK mode without identity and key"))
        if mode not in (SecurityMode.CERTIFICATE, SecurityMode.NOSEC, SecurityMode.PSK):
            raise _Retry(_finish_failed(f"unsupported security mode {mode}"))
        try:
            subject = subject_fields(load_chain(material[Security.PUBLIC_KEY_OR_IDENTITY])[0]) \
                if material[Security.PUBLIC_KEY_OR_IDENTITY] and not psk else {}
        except HilError:
            raise _Retry(_finish_failed("invalid LwM2M certificate")) from None
        pending: dict[str, bytes] = {}  # written in one atomic store write (a crash: all or none)

        def put(name: str, value: bytes) -> None:
            if self.store.get(name) != value:
                pending[name] = value

        try:
            put(items.LWM2M_SERVER_URI, uri.encode())
            put(LWM2M_SECURITY_MODE, int(mode).to_bytes(4, "little"))
            stale = []  # NoSec and PSK leave no stale certificate behind
            for name, rid in ((items.LWM2M_DEVICE_CERT, Security.PUBLIC_KEY_OR_IDENTITY),
                              (items.LWM2M_SERVER_CA_CERT, Security.SERVER_PUBLIC_KEY),
                              (items.LWM2M_DEVICE_PRIVATE_KEY, Security.SECRET_KEY)):
                if material[rid]:
                    put(name, material[rid])
                else:
                    stale.append(name)
            if subject.get("L"):
                put(items.INTERNAL_ENDPOINT, subject["L"].encode())
            aid = query_value(uri, "aid")
            if aid:
                put(items.ACCOUNT_ID, aid.encode())
            if self.store.get_int(items.FIRST_TO_CLAIM):
                put(items.FIRST_TO_CLAIM, (0).to_bytes(4, "little"))
            bs_instance = data.bootstrap_instance()
            if bs_instance is not None and bs_instance.get(Security.SERVER_URI):
                new_bs_uri = as_str(_raw(bs_instance, Security.SERVER_URI))
                if new_bs_uri and new_bs_uri != bs_creds.uri:
                    put(items.BOOTSTRAP_SERVER_URI, new_bs_uri.encode())
            for rid, name in ((Device.UTC_OFFSET, items.UTC_OFFSET), (Device.TIMEZONE, items.TIMEZONE)):
                if isinstance(data.device.get(rid), bytes) and data.device[rid]:
                    put(name, data.device[rid])
            if pending:
                self.store.put_many(pending, factory=False)
            for name in stale:
                self.store.delete(name)
        except (HilError, OSError, TlvError):
            raise _Retry(Failure(ClientError.ConnectorFailedToStoreCredentials,
                                 text.DETAILS_STORE_FAILED)) from None
        lifetime = data.server.get(Server.LIFETIME)
        if isinstance(lifetime, bytes) and lifetime:
            try:
                self._server_lifetime = max(self.settings.min_lifetime, as_int(lifetime))
            except TlvError:
                self._server_lifetime = None
        self.device_id = subject.get("L") or self.device_id
        self._chain_resources_lost = not all(rid in lwm2m for rid in CHAIN_RESOURCES)

    def _put(self, name: str, value: bytes) -> None:
        if self.store.get(name) != value:
            self.store.put(name, value, factory=False)

    # --- registration -------------------------------------------------------------------------
    async def _register_and_serve(self) -> None:
        try:
            creds = read_server_credentials(self.store, LWM2M_ITEMS)
        except CredentialError as exc:
            if self._bootstrap_mode():
                raise _Rebootstrap() from None
            raise _Stop(Failure(ClientError.ConnectorFailedToReadCredentials,
                                str(exc), retry=False)) from None
        assert creds is not None
        if self._chain_resources_lost:
            raise _Stop(Failure(ClientError.ConnectorFailedToReadCredentials,
                                CHAIN_LOST_DETAILS, retry=False))
        if self._bootstrap_mode() and creds.device is not None and \
                is_expired(creds.device.cert, self._now()):
            raise _Rebootstrap()
        subject = creds.subject
        self.endpoint_name = subject.get("CN") or self.store.get_str(items.ENDPOINT_NAME) or ""
        self.device_id = self.store.get_str(items.INTERNAL_ENDPOINT) or self.device_id
        device = self._device_object()
        self._say(text.TRACE_REGISTERING.format(uri=creds.uri.split("?")[0]))
        base = await self._open(creds, device.site)
        try:
            await self._register(base, creds, device)
            await self._stay_registered(base, creds, device)
        finally:
            self.registered.clear()
            await self._close_context()

    def _register_query(self, creds: ServerCredentials) -> list[str]:
        account = self.store.get_str(items.ACCOUNT_ID) or query_value(creds.uri, "aid") or ""
        binding = "UQ" if self.settings.queue_mode else "U"
        query = [f"ep={self.endpoint_name}", f"et={self.settings.endpoint_type}",
                 f"lt={self._requested_lifetime()}", "lwm2m=1.0", f"d={account}", f"b={binding}"]
        query += [part for part in uri_query(creds.uri).split("&") if part]
        if urlsplit(creds.uri).scheme == "coaps":
            query.append(f"mccv={self.settings.client_version}")
        return query

    def _requested_lifetime(self) -> int:
        return max(self.settings.min_lifetime, self._server_lifetime or self.settings.lifetime)

    async def _register(self, base: str, creds: ServerCredentials, device: DeviceObject) -> None:
        try:
            response = await self._request(Code.POST, base, ("rd",), self._register_query(creds),
                                           device.links().encode(), ContentFormat.LINK_FORMAT)
        except _Retry as exc:
            if self._bootstrap_mode() and exc.failure is not None and \
                    exc.failure.error is ClientError.ConnectSecureConnectionFailed:
                raise _Rebootstrap() from None
            raise
        if response.code != Code.CREATED:
            failure = registration_failure(response.code)
            if failure is None:
                raise _Retry(None)
            if failure.error is ClientError.ConnectInvalidParameters and self._bootstrap_mode():
                self._report(failure)
                raise _Rebootstrap()
            raise (_Retry(failure) if failure.retry else _Stop(failure))
        self.location = tuple(s for s in response.opt.location_path if s)
        if self.location:
            self.device_id = self.location[-1]
            if not self.store.get(items.INTERNAL_ENDPOINT):
                self._put(items.INTERNAL_ENDPOINT, self.device_id.encode())
        max_age = response.opt.max_age
        self.lifetime = max_age if max_age is not None and max_age >= self.settings.min_lifetime \
            else self._requested_lifetime()
        device.changed.clear()
        self.backoff.reset()
        self._bootstraps_since_register = 0
        self.registered.set()
        self._say(text.REGISTERED)
        if not self._printed_endpoint:
            self._printed_endpoint = True
            shown = self.device_id if self.settings.mode == "developer" else self.endpoint_name
            self._say(text.ENDPOINT_NAME.format(name=shown))
            self._say(text.DEVICE_ID.format(device_id=self.device_id))

    async def _stay_registered(self, base: str, creds: ServerCredentials,
                               device: DeviceObject) -> None:
        while True:
            update_in = self.lifetime * 0.75
            expiry_in = (creds.not_after - self._now()).total_seconds() if creds.not_after \
                else update_in
            check_expiry = self._bootstrap_mode() and creds.device is not None
            wait = min(update_in, expiry_in) if check_expiry else update_in
            await self._wait_or_deregister(max(wait, 0.0), deregister_here=(base,))
            if check_expiry and creds.device is not None and \
                    is_expired(creds.device.cert, self._now()):
                raise _Rebootstrap()
            await self._update(base, creds, device)

    async def _update(self, base: str, creds: ServerCredentials, device: DeviceObject) -> None:
        self._say(text.TRACE_UPDATING)
        query = [f"et={self.settings.endpoint_type}"]
        requested = self._requested_lifetime()
        if requested != self.lifetime:
            query.append(f"lt={requested}")
        payload = device.links(only=set(device.changed)).encode() if device.changed else b""
        try:
            response = await self._request(Code.POST, base, self.location, query, payload,
                                           ContentFormat.LINK_FORMAT if payload else None)
        except _Retry:
            response = None
        if response is not None and response.code == Code.CHANGED:
            device.changed.clear()
            self._say(text.REGISTRATION_UPDATED)
            return
        self.registered.clear()
        await self._register(base, creds, device)

    async def _deregister_now(self, base: str) -> None:
        try:
            response = await self._request(Code.DELETE, base, self.location, [])
        except _Retry:
            response = None
        if response is None or response.code != Code.DELETED:
            self._report(Failure(ClientError.ConnectorUnregistrationFailed,
                                 "Unregistration failed"))
        self.registered.clear()
        self._say(text.UNREGISTERED)
        raise _Deregistered()

    # --- serving ------------------------------------------------------------------------------
    def _device_object(self) -> DeviceObject:
        def stored(name: str, default: str = "") -> Callable[[], str]:
            return lambda: self.store.get_str(name) or default

        values: dict[int, Any] = {
            Device.MANUFACTURER: stored(items.MANUFACTURER),
            Device.MODEL_NUMBER: stored(items.MODEL_NUMBER),
            Device.SERIAL_NUMBER: stored(items.SERIAL_NUMBER),
            Device.FIRMWARE_VERSION: str(firmware_value(self.firmware, "firmware_version",
                                             self.settings.client_version)),
            Device.ERROR_CODE: {0: 0},
            Device.CURRENT_TIME: self._now,
            Device.UTC_OFFSET: stored(items.UTC_OFFSET, "+00:00"),
            Device.TIMEZONE: stored(items.TIMEZONE, "UTC"),
            Device.SUPPORTED_BINDINGS: "UQ" if self.settings.queue_mode else "U",
            Device.DEVICE_TYPE: stored(items.DEVICE_TYPE),
            Device.HARDWARE_VERSION: stored(items.HARDWARE_VERSION),
            Device.SOFTWARE_VERSION: self.settings.client_version,
            Device.MEMORY_TOTAL: lambda: self.store.get_int(items.MEMORY_TOTAL_KB) or 0,
        }
        return DeviceObject(values, self._on_execute)

    def _on_execute(self, rid: int) -> None:
        if rid == Device.FACTORY_RESET:
            self._say(text.FACTORY_RESET_TRIGGERED)
            action = self.platform.factory_reset
        else:
            self._say(text.TRACE_REBOOT)
            action = self.platform.reboot
        task = asyncio.get_running_loop().create_task(self._later(action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _later(action: Callable[[], Any]) -> None:
        await asyncio.sleep(EXECUTE_GRACE)
        result = action()
        if inspect.isawaitable(result):
            await result

    # --- plumbing -----------------------------------------------------------------------------
    async def _open(self, creds: ServerCredentials, site) -> str:
        await self._close_context()
        scheme = urlsplit(creds.uri).scheme
        try:
            host, port = host_port(creds.uri, 5684 if scheme == "coaps" else 5683)
        except CredentialError as exc:
            raise _Stop(Failure(ClientError.ConnectInvalidParameters, str(exc), retry=False)) \
                from None
        kind = kind_for(self.settings.transport, scheme)
        family = transport(kind).tls_family
        try:
            ssl_context = creds.security_context(family, self._clock_seconds,
                                                 self._adopt_server_time) if family else None
            self._context = await create_client_context(kind, ssl_context=ssl_context, site=site)
        except HilError as exc:
            log.warning("client context for %s failed: %s", kind, exc)
            raise _Retry(Failure(ClientError.ConnectSecureConnectionFailed,
                                 text.DETAILS_SECURE_RETRY)) from None
        shown_host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown_host}:{port}"

    async def _close_context(self) -> None:
        context, self._context = self._context, None
        if context is not None:
            try:
                await context.shutdown()
            except Exception as exc:  # noqa: BLE001 - a failing close must not hide the cause
                log.debug("client context shutdown: %s", exc)

    async def _request(self, code: Code, base: str, path: tuple[str, ...], query: list[str],
                       payload: bytes = b"", content_format: int | None = None) -> Message:
        if self._context is None:
            raise _Retry(Failure(ClientError.ConnectNetworkError, text.DETAILS_NETWORK_RETRY))
        message = Message(code=code, uri=base, payload=payload)
        message.opt.uri_path = path
        message.opt.uri_query = tuple(query)
        if content_format is not None:
            message.opt.content_format = content_format
        try:
            async with asyncio.timeout(self.settings.request_timeout):
                return await send_blockwise(self._context, message, window=BLOCKS_IN_FLIGHT,
                                            timeout=self.settings.request_timeout)
        except SecureConnectionError:
            raise _Retry(Failure(ClientError.ConnectSecureConnectionFailed,
                                 text.DETAILS_SECURE_RETRY)) from None
        except (TimeoutError, coap_error.Error, OSError) as exc:
            log.debug("request %s failed: %r", "/".join(path), exc)
            raise _Retry(Failure(ClientError.ConnectNetworkError,
                                 text.DETAILS_NETWORK_RETRY)) from None

    async def _wait_or_deregister(self, delay: float, deregister_here: tuple[str] | None = None) -> None:
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
            async with asyncio.timeout(delay):
                await self._deregister_requested.wait()
        except TimeoutError:
            return
        if deregister_here is not None:
            await self._deregister_now(deregister_here[0])
        raise _Deregistered()

    def _now(self) -> dt.datetime:
        return _now_utc(self.platform.now())

    # --- secure time (docs/tls.md): clock 0 when new, then the time of each ServerHello --------
    def _clock_seconds(self) -> float:
        return float(self.platform.now())

    def _adopt_server_time(self, unix: int) -> None:
        self.platform.set_time(unix)
        save_time(self.store, unix)

    def _restore_time(self) -> None:
        saved = saved_time(self.store)
        if saved and self._clock_seconds() < saved:
            self.platform.set_time(saved)

    def _say(self, line: str) -> None:
        self.console(line)

    def _report(self, failure: Failure) -> None:
        for line in error_lines(failure.error, failure.details, self.settings.client_version):
            self._say(line)


def _raw(resources: dict, rid: int) -> bytes:
    value = resources.get(rid, b"")
    return value if isinstance(value, bytes) else b""


def _finish_failed(reason: str) -> Failure:
    return Failure(ClientError.ConnectBootstrapFailed,
                   text.DETAILS_BS_FINISH_FAILED.format(reason=reason))
