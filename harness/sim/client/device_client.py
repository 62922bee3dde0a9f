"""The Device Management Client of a virtual board: bootstrap, register, update, serve, errors.

Behaviour per protocol-facts.md sections 2-3 (PelionIoT/mbed-cloud-client 4.13.x with the
mbed-cloud-client-example application on top). The client talks only over the network. Its parts:
this module runs the cycle (bootstrap, register, stay registered, retry); server_link holds the
connection and requests, bootstrap_commit stores what a bootstrap wrote, outcomes names how a
pass ends, device_object serves /3/0.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
from collections.abc import Callable
from typing import Any

from aiocoap import Code

from harness.client import console as text
from harness.client.errors import ClientError, error_lines
from harness.client.failures import Failure, bootstrap_failure, registration_failure
from harness.lwm2m.ids import ContentFormat, Device
from harness.provisioning import items
from harness.sim.client.bootstrap_commit import commit_bootstrap
from harness.sim.client.bootstrap_site import BootstrapSite
from harness.sim.client.credentials import (
    BOOTSTRAP_ITEMS,
    LWM2M_ITEMS,
    CredentialError,
    ServerCredentials,
    delete_lwm2m_credentials,
    has_lwm2m_credentials,
    is_expired,
    read_server_credentials,
    save_time,
    saved_time,
)
from harness.sim.client.device_object import DeviceObject, client_device_values
from harness.sim.client.outcomes import Deregistered, Rebootstrap, Retry, Stop, unreadable_credentials
from harness.sim.client.queries import bootstrap_query, register_query, update_query
from harness.sim.client.router import Router, path_of
from harness.sim.client.security_object import (
    CHAIN_LOST_DETAILS,
    LWM2M_INSTANCE,
    REBOOTSTRAP_LWM2M_INSTANCE,
)
from harness.sim.client.server_link import ServerLink
from harness.sim.client.server_object import ServerObject, binding_of
from harness.sim.client.settings import Backoff, ClientSettings

log = logging.getLogger(__name__)

EXECUTE_GRACE = 0.05
"""Seconds between answering an Execute and acting on it, so the 2.04 leaves first."""

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
        self._printed_endpoint = False
        self._deregister_requested = asyncio.Event()
        self._update_now = asyncio.Event()
        self._written_lifetime: int | None = None
        """A lifetime the server wrote to /1/0/1, named (`lt=`) in the next Update."""
        self._deregistered = asyncio.Event()
        self.link = ServerLink(self.settings.transport, self.settings.request_timeout,
                               self._clock_seconds, self._adopt_server_time)
        self._tasks: set[asyncio.Task] = set()
        # a bootstrap write that was a bare resource list removed the cert-chain resources 12-14 of
        # the LwM2M security instance: registration cannot read its credentials until power-off
        self._chain_resources_lost = False
        # bootstraps since the last registration: a second one waits the back-off (a bootstrap
        # that leads nowhere must not repeat at once, like the client's reconnection timer)
        self._bootstraps_since_register = 0
        self._lwm2m_instance = LWM2M_INSTANCE  # where the next bootstrap finds its empty account
        self._has_current_time = False
        """The real client has a /3/0/13 only when a time was stored at its start or a bootstrap
        wrote one (tests/peers/test_peer_pdmc_writes.py, test_peer_pdmc_bootstrap_stored.py)."""

    # --- public ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Bootstrap/register and stay registered until cancelled (power off) or de-registered."""
        self._restore_time()
        self._has_current_time = bool(saved_time(self.store))
        self._say(text.NETWORK_READY)
        try:
            while True:
                try:
                    await self._cycle()
                except Retry as exc:
                    if exc.failure is not None:
                        self._report(exc.failure)
                    delay = self.backoff.next_delay()
                    self._say(text.TRACE_RETRY.format(delay=delay))
                    await self._wait_or_deregister(delay)
                except Rebootstrap as exc:
                    delete_lwm2m_credentials(self.store)
                    self._lwm2m_instance = REBOOTSTRAP_LWM2M_INSTANCE
                    if exc.factory_reset:  # "Factory resetting credentials due to unrecoverable..."
                        self.store.factory_reset()
                        self._lwm2m_instance = LWM2M_INSTANCE
                    self._report(Failure(ClientError.ConnectBootstrapFailed,
                                         text.DETAILS_REBOOTSTRAP))
                    if exc.then is not None:
                        self._report(exc.then)
                    delay = self.backoff.rebootstrap_delay()
                    self._say(text.TRACE_REBOOTSTRAP.format(delay=delay))
                    await self._wait_or_deregister(delay)
                except Stop as exc:
                    self._report(exc.failure)
                    await self._deregister_requested.wait()
                    raise Deregistered() from None
        except Deregistered:
            self._deregistered.set()
        finally:
            self.registered.clear()
            await self.link.close()

    async def deregister(self, timeout: float | None = None) -> None:
        """De-register gracefully (DELETE of the registration) and end run()."""
        self._deregister_requested.set()
        async with asyncio.timeout(timeout or self.settings.request_timeout + 5):
            await self._deregistered.wait()

    # --- one pass: bootstrap if needed, then register and serve ---------------------------------
    async def _cycle(self) -> None:
        if self._deregister_requested.is_set():
            raise Deregistered()
        if has_lwm2m_credentials(self.store):
            await self._register_and_serve()
        elif self._bootstrap_mode():
            await self._bootstrap()
        else:
            raise unreadable_credentials()

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
        except CredentialError:  # tests/peers/test_peer_pdmc_corrupt_storage.py
            raise Rebootstrap(Failure(ClientError.ConnectorFailedToReadCredentials,
                                      text.DETAILS_READ_FAILED_FINAL), factory_reset=True) from None
        endpoint = self.store.get_str(items.ENDPOINT_NAME)
        if creds is None or not endpoint:  # the real client reads mbed.EndpointName, no fallback
            raise unreadable_credentials()
        query = bootstrap_query(self.store, self.settings, endpoint, creds.uri)
        self._say(text.TRACE_BOOTSTRAP_START.format(uri=creds.uri.split("?")[0]))
        site = BootstrapSite(creds.uri, self._lwm2m_instance, self.settings.transport)
        base = await self.link.open(creds, site.site)
        try:
            response = await self.link.request(Code.POST, base, ("bs",), query)
            if not response.code.is_successful():
                failure = bootstrap_failure(response.code, bytes(response.payload),
                                            self.settings.client_version)
                raise (Retry(failure) if failure.retry else Stop(failure))
            try:
                async with asyncio.timeout(self.settings.request_timeout):
                    await site.done.wait()
            except TimeoutError:
                raise Retry(Failure(ClientError.ConnectBootstrapFailed,
                                     text.DETAILS_BS_FINISH_FAILED.format(reason="timeout"))) from None
            if site.failure is not None:
                raise Retry(site.failure)
            self._commit(site, creds)
            # let the 2.04 to Bootstrap-Finish leave before the connection closes
            for _ in range(3):
                await asyncio.sleep(0)
        finally:
            await self.link.close()
        self._say(text.TRACE_BOOTSTRAPPED)
        self._bootstraps_since_register += 1

    def _commit(self, site: BootstrapSite, bs_creds: ServerCredentials) -> None:
        """Store what Bootstrap-Finish committed, or raise Retry."""
        committed = commit_bootstrap(self.store, site.data, bs_creds)
        self.device_id = committed.device_id or self.device_id
        self._chain_resources_lost = committed.chain_resources_lost
        self._has_current_time = self._has_current_time or Device.CURRENT_TIME in site.data.device

    def _put(self, name: str, value: bytes) -> None:
        if self.store.get(name) != value:
            self.store.put(name, value, factory=False)

    # --- registration -------------------------------------------------------------------------
    async def _register_and_serve(self) -> None:
        try:
            creds = read_server_credentials(self.store, LWM2M_ITEMS)
        except CredentialError:  # tests/peers/test_peer_pdmc_corrupt_storage.py: no re-bootstrap
            raise unreadable_credentials() from None
        assert creds is not None
        if self._chain_resources_lost:
            raise unreadable_credentials(CHAIN_LOST_DETAILS)
        if self._bootstrap_mode() and creds.device is not None and \
                is_expired(creds.device.cert, self._now()):
            raise Rebootstrap()
        subject = creds.subject
        self.endpoint_name = subject.get("CN") or self.store.get_str(items.ENDPOINT_NAME) or ""
        self.device_id = self.store.get_str(items.INTERNAL_ENDPOINT) or self.device_id
        device = self._device_object()
        self._say(text.TRACE_REGISTERING.format(uri=creds.uri.split("?")[0]))
        server = ServerObject(lambda: self.lifetime, binding_of(self.settings), self._update_requested)
        base = await self.link.open(creds, Router(lambda request: (
            server if path_of(request)[:1] == ("1",) else device).handle(request)))
        try:
            await self._register(base, creds, device)
            await self._stay_registered(base, creds, device)
        finally:
            self.registered.clear()
            await self.link.close()

    def _requested_lifetime(self) -> int:
        # the real client asks for its build's lifetime, whatever the bootstrap wrote to /1/0/1
        return max(self.settings.min_lifetime, self.settings.lifetime)

    async def _register(self, base: str, creds: ServerCredentials, device: DeviceObject) -> None:
        try:
            query = register_query(self.store, self.settings, self.endpoint_name or "", creds.uri,
                                   self._requested_lifetime())
            response = await self.link.request(Code.POST, base, ("rd",), query,
                                               device.links().encode(), ContentFormat.LINK_FORMAT)
        except Retry as exc:
            if self._bootstrap_mode() and exc.failure is not None and \
                    exc.failure.error is ClientError.ConnectSecureConnectionFailed:
                raise Rebootstrap() from None
            raise
        if response.code != Code.CREATED:
            failure = registration_failure(response.code)
            if failure is None:
                raise Retry(None)
            if failure.error is ClientError.ConnectInvalidParameters and self._bootstrap_mode():
                self._report(failure)
                raise Rebootstrap()
            raise (Retry(failure) if failure.retry else Stop(failure))
        self.location = tuple(s for s in response.opt.location_path if s)
        if self.location:
            self.device_id = self.location[-1]
            if not self.store.get(items.INTERNAL_ENDPOINT):
                self._put(items.INTERNAL_ENDPOINT, self.device_id.encode())
        max_age = response.opt.max_age
        self.lifetime = max_age if max_age is not None and max_age >= self.settings.min_lifetime \
            else self._requested_lifetime()
        self._written_lifetime = None
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
            await self._wait_or_deregister(max(wait, 0.0), deregister_here=(base,),
                                           wake=self._update_now)
            self._update_now.clear()
            if check_expiry and creds.device is not None and \
                    is_expired(creds.device.cert, self._now()):
                raise Rebootstrap()
            await self._update(base, creds, device)

    async def _update(self, base: str, creds: ServerCredentials, device: DeviceObject) -> None:
        self._say(text.TRACE_UPDATING)
        query = update_query(self.settings, self._written_lifetime)
        try:  # no body: the real client's Updates carry none, also after a server's write
            response = await self.link.request(Code.POST, base, self.location, query)
        except Retry:
            response = None
        if response is not None and response.code == Code.CHANGED:
            self._written_lifetime = None
            self._say(text.REGISTRATION_UPDATED)
            return
        self.registered.clear()
        await self._register(base, creds, device)

    async def _deregister_now(self, base: str) -> None:
        try:
            response = await self.link.request(Code.DELETE, base, self.location, [])
        except Retry:
            response = None
        if response is None or response.code != Code.DELETED:
            self._report(Failure(ClientError.ConnectorUnregistrationFailed,
                                 "Unregistration failed"))
        self.registered.clear()
        self._say(text.UNREGISTERED)
        raise Deregistered()

    # --- serving ------------------------------------------------------------------------------
    def _device_object(self) -> DeviceObject:
        now = self._now if self._has_current_time else None
        return DeviceObject(client_device_values(self.store, self.firmware, self.settings, now),
                            self._on_execute)

    def _on_execute(self, rid: int) -> None:
        if rid == Device.FACTORY_RESET:
            self._say(text.FACTORY_RESET_TRIGGERED)
            self.platform.factory_reset()  # at once, as the real client's esfs_factory_reset
            return
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
    def _update_requested(self, lifetime: int | None) -> None:
        """The server executed /1/0/8 or wrote /1/0/1 (`lifetime`, None if unchanged)."""
        if lifetime is not None:
            self._written_lifetime = self.lifetime = lifetime
        self._update_now.set()

    async def _wait_or_deregister(self, delay: float, deregister_here: tuple[str] | None = None,
                                  wake: asyncio.Event | None = None) -> None:
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._deregister_requested, wake) if e]
        try:
            await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not self._deregister_requested.is_set():
            return  # the delay passed, or `wake` was set
        if deregister_here is not None:
            await self._deregister_now(deregister_here[0])
        raise Deregistered()

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

