"""The LwM2M server's registration interface: Register, Update, De-register, expiry, operations.

Its parts: rd_state (live registrations, expiry heap, parsed bodies), rd_fastpath (the lean path
of Register/Update on datagram transports), commit_group (answers after a grouped COMMIT),
rd_resources (the aiocoap resources), rd_refusals (refused Registers), rd_operations (Read,
Write, Execute on a device).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import aiocoap.resource
from aiocoap import Message
from aiocoap.numbers.codes import Code

from harness.cloud import events as ev
from harness.cloud import gc_policy, rd_fastpath, rd_resources
from harness.cloud.bootstrap_policy import QUOTA_REACHED, fingerprint_hex
from harness.cloud.ca import ServicePki
from harness.cloud.coap_util import (
    MAX_BODY,
    QueryError,
    describe_remote,
    error_reply,
    parse_query,
    transport_kind,
)
from harness.cloud.commit_group import CommitGroup
from harness.cloud.dedup_cache import bound_duplicate_cache
from harness.cloud.lwm2m_identity import identify
from harness.cloud.lwm2m_rules import (
    RuleError,
    binding_of,
    check_option_lengths,
    check_version,
    lifetime_of,
)
from harness.cloud.ratelimit import RateLimiter
from harness.cloud.rd_operations import OPERATION_TIMEOUT, DeviceNotConnected, operate
from harness.cloud.rd_refusals import record_refusal
from harness.cloud.rd_state import (
    ExpirySchedule,
    LinkCache,
    LiveRegistration,
    merge_resources,
    resource_entries,
)
from harness.cloud.records import Account, Device, DeviceState, ExecutionMode, new_id, utcnow
from harness.cloud.retention import RefusalGate
from harness.cloud.store import Store
from harness.config import Timing
from harness.lwm2m.blockwise import answer_blocks_in_order
from harness.lwm2m.ids import ContentFormat
from harness.lwm2m.linkformat import Link, LinkFormatError
from harness.pki import load_certificate, subject_fields
from harness.transport import peer_identity, transport

log = logging.getLogger(__name__)

__all__ = ["DeviceNotConnected", "Lwm2mServer"]


_Refused = RuleError


Outcome = tuple[Message, Callable[[], None] | None]
"""A handled request: the response and what to do once its store writes are committed (None:
nothing was written, answer at once)."""

STORE_FAILED = "The registration could not be stored; try again"


class Lwm2mServer:
    """Registration interface over aiocoap; `context` is set by the service before requests."""

    refusals: RefusalGate | None = None
    """Set by the service: may a refusal be recorded (harness.cloud.retention)?"""

    def __init__(self, store: Store, pki: ServicePki, events: ev.EventBus, timing: Timing, *,
                 nosec_default_account: str | None = None) -> None:
        self.store = store
        self.pki = pki
        self.events = events
        self.timing = timing
        self.nosec_default_account = nosec_default_account
        self.rate = RateLimiter(timing.rate_limit)
        self.live: dict[str, LiveRegistration] = {}
        self._context: aiocoap.Context | None = None
        self._expiry_task: asyncio.Task[None] | None = None
        self.expiry = ExpirySchedule()
        self.group: CommitGroup | None = None  # set by start(): one COMMIT per loop turn
        self._link_cache = LinkCache()

    @property
    def context(self) -> aiocoap.Context | None:
        """The server Context (set by the service before requests)."""
        return self._context

    @context.setter
    def context(self, context: aiocoap.Context | None) -> None:
        if context is not None:
            answer_blocks_in_order(context)  # the client's pipelined Register blocks
            bound_duplicate_cache(context)  # answered Registers are not kept for 247 s each
            rd_fastpath.install(context, self)  # Register and Update skip aiocoap's pipeline
        self._context = context

    def mount(self, site: aiocoap.resource.Site) -> None:
        """Mount /rd (Register) and /rd/<aid>/<id> (Update, De-register) on `site`."""
        rd_resources.mount(site, self)

    def start(self) -> None:
        """Load the registered devices' expiry times (after a restart) and start the expiry loop."""
        for device in self.store.list_devices(state=DeviceState.REGISTERED):
            self._schedule(device)
        loop = asyncio.get_running_loop()
        self.group = CommitGroup(self.store.database, loop)
        gc_policy.pace_for_long_lived()
        self._expiry_task = loop.create_task(self._expiry_loop())

    async def close(self) -> None:
        """Stop the expiry loop; commit (and answer) what is still grouped."""
        if self._expiry_task is not None:
            self._expiry_task.cancel()
            await asyncio.gather(self._expiry_task, return_exceptions=True)
        if self.group is not None:
            self.group.flush()

    def _grouped(self) -> Any:
        """Store writes of a request: joined to the loop turn's group (plain before start())."""
        return self.group.joined() if self.group is not None else contextlib.nullcontext()

    async def answer(self, outcome: Outcome) -> Message:
        """The response of a handled request, once its store writes are committed."""
        response, after = outcome
        if after is None:
            return response
        if self.group is not None and not await self.group.committed():
            return error_reply("5.00", STORE_FAILED)
        after()
        return response

    # ------------------------------------------------------------------ helpers

    def _lifetime(self, query: dict[str, str], *, reads_max_age: bool,
                  default: float | None = None) -> int:
        return lifetime_of(query, default=default or self.timing.lifetime_default,
                           minimum=self.timing.lifetime_min, maximum=self.timing.lifetime_max,
                           clamp=reads_max_age)

    def _links(self, request: Message) -> list[Link]:
        if len(request.payload) > MAX_BODY:
            raise _Refused(Code.REQUEST_ENTITY_TOO_LARGE,
                           f"payload exceeds {MAX_BODY} bytes; register fewer resources")
        ct = request.opt.content_format
        if ct is not None and int(ct) != ContentFormat.LINK_FORMAT:
            raise _Refused(Code.UNSUPPORTED_CONTENT_FORMAT,
                           f"content-format {int(ct)} is not link-format; send ct=40")
        try:
            return self._link_cache.links(request.payload)
        except LinkFormatError as exc:
            raise _Refused("4.00", str(exc)) from None

    def _check_held(self, key: str) -> None:
        held = self.rate.held_for(key)
        if held:
            raise _Refused(Code.TOO_MANY_REQUESTS,
                           f"Too many registrations: held for {held:.0f} s more")

    def _check_rate(self, key: str, device: Device | None) -> None:
        self._check_held(key)
        if self.rate.count(key):
            limit = self.timing.rate_limit
            self.events.publish(ev.Event(ev.RATE_LIMITED, device.id if device else None,
                                         device.account_id if device else None,
                                         {"key": key, "count": limit.count, "window": limit.window,
                                          "hold": limit.hold}))
            log.warning("registration rate limit hit by %s; held %g s", key, limit.hold)
            raise _Refused(Code.TOO_MANY_REQUESTS,
                           f"Too many registrations: more than {limit.count} in {limit.window:g} s, "
                           f"held for {limit.hold:g} s")

    # ------------------------------------------------------------------ identify

    def _identify(self, request: Message, query: dict[str, str]) -> tuple[Account, Device | None, str]:
        """The account, the known device (or None = create) and the mode (see lwm2m_identity)."""
        return identify(self.store, self.pki, peer_identity(request.remote), query,
                        self.nosec_default_account)

    # ------------------------------------------------------------------ register

    def _record_refusal(self, request: Message, refused: _Refused) -> None:
        """A refused Register: a denial in the store and a registration-error event."""
        if self.refusals is not None and not self.refusals.admit():
            return  # over the refusal budget (harness.cloud.retention)
        record_refusal(self.store, self.events, request, refused)

    @staticmethod
    def _registered_event(device_id: str, account_id: str, query: dict[str, str], ept: str,
                          binding: str, lifetime: int, resources: list[dict[str, Any]],
                          mode: str, transport_name: str) -> ev.Event:
        return ev.Event(ev.REGISTRATION, device_id, account_id, {
            "ep": device_id, "original-ep": query["ep"], "ept": ept, "q": "Q" in binding,
            "lt": lifetime, "resources": resources, "mode": mode,
            "state": str(DeviceState.REGISTERED), "transport": transport_name})

    async def register(self, request: Message) -> Message:
        """POST /rd: create or overwrite the device's registration."""
        return await self.answer(self.register_now(request))

    def register_now(self, request: Message) -> Outcome:
        """Register: validate, write the device and its events (grouped); events go out after."""
        try:
            check_option_lengths(request)
            query = parse_query(request)
            if not query.get("ep"):
                raise _Refused("4.00", "Register needs ep=<endpoint name> in the query")
            version = check_version(query)
            binding = binding_of(query, version)
            reads_max_age = "mccv" in query or \
                not transport(transport_kind(request.remote)).standard_clients
            lifetime = self._lifetime(query, reads_max_age=reads_max_age)
            links = self._links(request)
            account, device, mode = self._identify(request, query)
            self._check_rate(device.id if device else f"{account.id}/{query['ep']}", device)
            if device is None and self.store.count_devices(account.id) >= account.device_quota:
                raise _Refused("4.03", QUOTA_REACHED)
        except QueryError as exc:
            return error_reply("4.00", f"Bad Register query: {exc}"), None
        except _Refused as refused:
            log.info("register refused %s %s (ep=%s, %s)", refused.code, refused.text,
                     request.opt.uri_query, describe_remote(request.remote))
            if refused.code != Code.TOO_MANY_REQUESTS:  # the hold has its own event
                self._record_refusal(request, refused)
            return error_reply(refused.code, refused.text), None
        resources = resource_entries(links)
        now = utcnow()
        ept = query.get("et", "default")
        fields = {"state": DeviceState.REGISTERED, "lifetime": lifetime, "endpoint_type": ept,
                  "binding": binding, "resources": resources, "registered_at": now, "last_seen": now,
                  "endpoint_name": query["ep"]}
        published = []
        if device is None:  # one transaction: the device, its creation and registration events
            cert_der = peer_identity(request.remote).certificate
            device_id = new_id()
            location = ("rd", account.id, device_id)
            published = [ev.Event(ev.DEVICE_CREATED, device_id, account.id,
                                  {"ep": device_id, "original-ep": query["ep"]})]
            fields.pop("endpoint_name")
            with self._grouped():
                device = self.store.create_device(
                    account.id, query["ep"], device_id=device_id, lwm2m_mode=mode,
                    execution_mode=int(ExecutionMode.PRODUCTION if mode == "direct" else 0),
                    device_key=fingerprint_hex(load_certificate(cert_der)) if cert_der else None,
                    registration_location="/".join(location), **fields,
                    events=[ev.row(published[0]), ev.row(registered := self._registered_event(
                        device_id, account.id, query, ept, binding, lifetime, resources, mode,
                        transport_kind(request.remote)))])
        else:
            location = ("rd", account.id, device.id)
            registered = self._registered_event(device.id, account.id, query, ept, binding, lifetime,
                                                resources, mode, transport_kind(request.remote))
            with self._grouped():
                device = self.store.update_device(device.id,
                                                  registration_location="/".join(location),
                                                  events=[ev.row(registered)], **fields)
        previous = self.live.get(device.id)
        if previous is not None and previous.remote is not request.remote:
            log.info("device %s registers again from %s; the latest registration overwrites",
                     device.id, describe_remote(request.remote))
        self.live[device.id] = LiveRegistration(device.id, account.id, location, request.remote,
                                                version, reads_max_age)
        self._schedule(device)
        response = Message(code=Code.CREATED, location_path=location)
        response.opt.max_age = lifetime

        def after() -> None:
            for event in (*published, registered):
                self.events.publish(event, persisted=True)
        return response, after

    # ------------------------------------------------------------------ update / de-register

    def _located(self, request: Message, path: tuple[str, ...]) -> Device:
        if len(path) != 2:
            raise _Refused(Code.NOT_FOUND, "No such registration; register again")
        device = self.store.get_device(path[1])
        if (device is None or device.account_id != path[0]
                or device.state != DeviceState.REGISTERED):
            raise _Refused(Code.NOT_FOUND, "No such registration; register again")
        cert_der = peer_identity(request.remote).certificate
        if cert_der is not None:
            cert = load_certificate(cert_der)
            if self.pki.is_lwm2m_credential(cert) and subject_fields(cert).get("L") != device.id:
                raise _Refused("4.03", "This registration belongs to another device")
        return device

    async def update(self, request: Message) -> Message:
        """POST /rd/<aid>/<id>: refresh the registration, merge changed resources."""
        return await self.answer(self.update_now(request, tuple(request.opt.uri_path)))

    def update_now(self, request: Message, path: tuple[str, ...]) -> Outcome:
        """Update: validate, write the change and its event (grouped); the event goes out after."""
        try:
            check_option_lengths(request)
            device = self._located(request, path)
            query = parse_query(request)
            live = self.live.get(device.id)
            version = live.version if live else "1.0"
            reads_max_age = live.reads_max_age if live else True
            lifetime = self._lifetime(query, reads_max_age=reads_max_age,
                                      default=device.lifetime or None)
            binding = binding_of(query, version, device.binding)
            links = self._links(request)
            self._check_rate(device.id, device)
        except QueryError as exc:
            return error_reply("4.00", f"Bad Update query: {exc}"), None
        except _Refused as refused:
            return error_reply(refused.code, refused.text), None
        resources = merge_resources(device.resources, links)
        changes: dict[str, Any] = {"lifetime": lifetime, "resources": resources, "last_seen": utcnow()}
        if "et" in query:
            changes["endpoint_type"] = query["et"]
        changes["binding"] = binding
        updated = ev.Event(ev.REG_UPDATE, device.id, device.account_id, {
            "ep": device.id, "ept": changes.get("endpoint_type", device.endpoint_type),
            "q": "Q" in (binding or ""), "lt": lifetime, "resources": resources})
        with self._grouped():
            device = self.store.update_device(device.id, events=[ev.row(updated)], **changes)
        self._schedule(device)
        location = tuple(device.registration_location.split("/")) if device.registration_location \
            else ("rd", device.account_id, device.id)
        self.live[device.id] = LiveRegistration(device.id, device.account_id, location,
                                                request.remote, version, reads_max_age)
        response = Message(code=Code.CHANGED)
        response.opt.max_age = lifetime
        return response, lambda: self.events.publish(updated, persisted=True)

    async def deregister(self, request: Message) -> Message:
        """DELETE /rd/<aid>/<id>: end the registration, clear resources."""
        try:
            device = self._located(request, tuple(request.opt.uri_path))
            self._check_held(device.id)
        except _Refused as refused:
            return error_reply(refused.code, refused.text)
        self._end(device, ev.DE_REGISTRATION)
        return Message(code=Code.DELETED)

    def _end(self, device: Device, event_type: str) -> None:
        self.live.pop(device.id, None)
        self.expiry.forget(device.id)
        ended = ev.Event(event_type, device.id, device.account_id, {"ep": device.id})
        self.store.update_device(device.id, state=DeviceState.DEREGISTERED, resources=[],
                                 registration_location=None, events=[ev.row(ended)])
        self.events.publish(ended, persisted=True)
        log.info("device %s %s", device.id, event_type)

    # ------------------------------------------------------------------ expiry

    def _schedule(self, device: Device) -> None:
        """Remember when this registration expires (a heap, so expiry never scans every device)."""
        self.expiry.schedule(device)

    def expire_due(self) -> list[str]:
        """Expire every registration whose lifetime has passed; the ids expired."""
        now = utcnow().timestamp()
        expired = []
        for device_id in self.expiry.pop_due(now):
            device = self.store.get_device(device_id)
            if device is None or device.state != DeviceState.REGISTERED:
                continue
            actual = self.expiry.expiry_of(device)
            if actual is not None and actual > now:
                self._schedule(device)  # the store knows a later refresh
                continue
            self._end(device, ev.REGISTRATION_EXPIRED)
            expired.append(device.id)
        return expired

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timing.expiry_check_interval)
            try:
                self.expire_due()
            except Exception:  # noqa: BLE001 - keep checking
                log.exception("registration expiry check failed")

    async def operate(self, device_id: str, code: Code, path: str, *, payload: bytes = b"",
                      content_format: int | None = None, timeout: float = OPERATION_TIMEOUT
                      ) -> tuple[str, int | None, bytes]:
        """Send a request to a registered device over its live connection: (code, ct, payload)."""
        return await operate(self.context, self.live.get(device_id), device_id, code, path,
                             payload=payload, content_format=content_format, timeout=timeout)
