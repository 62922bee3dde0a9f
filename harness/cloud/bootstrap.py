"""The bootstrap server: `/bs` Bootstrap-Request, then writes and Bootstrap-Finish to the client."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiocoap.resource
from aiocoap import Message
from aiocoap import error as coap_error
from aiocoap.numbers.codes import Code

from harness.cloud import events as ev
from harness.cloud.bootstrap_policy import BootstrapPlan, BootstrapRequest, BootstrapRules, Denied
from harness.cloud.bootstrap_sequence import BootstrapSequence, StepFailed
from harness.cloud.bootstrap_writes import Write, bootstrap_writes
from harness.cloud.ca import ServicePki
from harness.cloud.coap_util import (
    MAX_BODY,
    QueryError,
    describe_remote,
    error_reply,
    is_decimal,
    parse_query,
    request_remote,
    transport_kind,
)
from harness.cloud.lwm2m_rules import RuleError, check_option_lengths
from harness.cloud.records import Device, DeviceState, utcnow
from harness.cloud.retention import RefusalGate
from harness.cloud.store import Store
from harness.config import Timing
from harness.config.bootstrap_config import BootstrapConfig
from harness.lwm2m.ids import ContentFormat
from harness.transport import peer_identity, transport

log = logging.getLogger(__name__)

WRITE_TIMEOUT = 30.0
CLOSED_PORT_RETRIES = (0.05, 0.1, 0.2, 0.4)
"""Seconds before sending a bootstrap request again when the device's port was closed (ICMP port
unreachable): a client may switch sockets after its Bootstrap-Request (coap-node answers from a
new listener on the same port about 10-100 ms later), so the refusal is a lost datagram to send
again, as a confirmable message would be, not the end of the bootstrap."""
SENML_PCT = {int(ContentFormat.SENML_JSON)}


@dataclass(frozen=True)
class InjectedError:
    """A forced failure of the next Bootstrap-Request(s): CoAP code text and diagnostic."""

    code: str
    text: str
    endpoint: str | None = None
    """Only the Bootstrap-Requests of this endpoint name (None: any)."""


STORE_STAGES = ("directory", "credentials")
"""Where a Bootstrap-Request can meet an unavailable store: deciding (the Device Directory) or
issuing the LwM2M credentials; the service answers them as Internal error #1 and #2."""


class StoreUnavailable(Exception):
    """The service's store failed (an injected fault: the database is unavailable)."""


class BootstrapServer:
    """Serves Bootstrap-Requests; needs `context` (the aiocoap server Context) before requests."""

    refusals: RefusalGate | None = None
    """Set by the service: may a refusal be recorded (harness.cloud.retention)?"""
    default_config: BootstrapConfig = BootstrapConfig()
    """Set by the service: the bootstrap configuration of accounts without their own."""

    def __init__(self, store: Store, pki: ServicePki, events: ev.EventBus, timing: Timing,
                 rules: BootstrapRules, *, lwm2m_uri: Callable[[str], str],
                 bootstrap_uri: Callable[[str], str]) -> None:
        self.store = store
        self.pki = pki
        self.events = events
        self.timing = timing
        self.rules = rules
        self.lwm2m_uri = lwm2m_uri
        self.bootstrap_uri = bootstrap_uri
        self.context: aiocoap.Context | None = None
        self._faults: collections.deque[InjectedError] = collections.deque()
        self._store_failures: list[tuple[str, str | None]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def resource(self) -> aiocoap.resource.Resource:
        """The aiocoap resource to mount at ("bs",)."""
        return _BsResource(self)

    def inject_error(self, code: str, text: str, count: int = 1, endpoint: str | None = None) -> None:
        """Answer the next `count` Bootstrap-Requests (of `endpoint`, or any) with `code` and
        `text` (fault injection)."""
        for _ in range(count):
            self._faults.append(InjectedError(code, text, endpoint))

    def fail_store(self, stage: str, count: int = 1, endpoint: str | None = None) -> None:
        """Make the store fail at `stage` (one of STORE_STAGES) for the next `count`
        Bootstrap-Requests (of `endpoint`, or any): the service's own failure path (fault injection)."""
        if stage not in STORE_STAGES:
            raise ValueError(f"store stage {stage!r} is unknown; use one of {', '.join(STORE_STAGES)}")
        self._store_failures.extend([(stage, endpoint)] * count)

    def _store_fails(self, stage: str, endpoint: str) -> None:
        """Raise StoreUnavailable when a store failure was injected for this stage and endpoint."""
        for failure in self._store_failures:
            if failure[0] == stage and failure[1] in (None, endpoint):
                self._store_failures.remove(failure)
                raise StoreUnavailable(f"the {stage} store is unavailable (injected fault)")

    def _take_fault(self, request: Message) -> InjectedError | None:
        """The first injected fault for this request's endpoint (removed), or None."""
        if not self._faults:
            return None
        query = dict(q.split("=", 1) for q in request.opt.uri_query if "=" in q)
        for fault in self._faults:
            if fault.endpoint is None or fault.endpoint == query.get("ep"):
                self._faults.remove(fault)
                return fault
        return None

    async def close(self) -> None:
        """Cancel provisioning still running."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ request

    def _refuse(self, code: str, text: str, endpoint: str | None, remote: object,
                **context: str | None) -> Message:
        log.info("bootstrap refused %s %s (ep=%s, %s)", code, text, endpoint, describe_remote(remote))
        if self.refusals is not None and not self.refusals.admit():
            return error_reply(code, text)  # over the refusal budget: answered, not recorded
        try:
            self.store.record_denial(text, endpoint_name=endpoint,
                                     account_id=context.get("account_id"),
                                     enrollment_identity=context.get("enrollment_identity"),
                                     fingerprint=context.get("fingerprint"),
                                     trusted_certificate_id=context.get("trusted_certificate_id"))
        except Exception:  # noqa: BLE001 - the refusal must still reach the device
            log.exception("could not record the bootstrap denial")
        self.events.publish(ev.Event(ev.BOOTSTRAP_ERROR, None, context.get("account_id"),
                                     {"original-ep": endpoint, "code": code, "reason": text}))
        return error_reply(code, text)

    async def handle(self, request: Message) -> Message:
        """Answer one Bootstrap-Request; on success schedule the writes and Bootstrap-Finish."""
        remote = request.remote
        fault = self._take_fault(request)
        if fault is not None:
            return self._refuse(fault.code, fault.text, fault.endpoint, remote)
        if len(request.payload) > MAX_BODY:
            return error_reply(Code.REQUEST_ENTITY_TOO_LARGE,
                               f"Bootstrap-Request payload exceeds {MAX_BODY} bytes; send no payload")
        try:
            check_option_lengths(request)
            query = parse_query(request)
        except RuleError as exc:
            return self._refuse(exc.code, exc.text, None, remote)
        except QueryError as exc:
            return self._refuse("4.00", f"Bad Bootstrap-Request query: {exc}", None, remote)
        endpoint = query.get("ep", "")
        if not endpoint:
            return self._refuse("4.00", "Bootstrap-Request needs ep=<endpoint name> in the query",
                                None, remote)
        pct = query.get("pct")
        if pct is not None and not is_decimal(pct):
            return self._refuse("4.00", f"pct={pct!r} is not a content-format number; "
                                "use pct=11542 (TLV) or pct=110 (SenML-JSON)", endpoint, remote)
        kind = transport_kind(remote)
        request_info = BootstrapRequest(endpoint, query.get("aid") or None, query.get("iep") or None,
                                        peer_identity(remote))
        # the Device Management Client names its version (mccv=) when its URI has a query, and
        # is the only client on the stream transports
        real_client = "mccv" in query or not transport(kind).standard_clients
        try:
            self._store_fails("directory", endpoint)
            plan = self.rules.decide(request_info)
        except Denied as denied:
            return self._refuse(denied.code, denied.text, endpoint, remote, **denied.context)
        except Exception:  # noqa: BLE001 - an internal error is answered, not raised
            log.exception("bootstrap of ep=%s failed internally", endpoint)
            return self._refuse("5.00", "Internal error #1", endpoint, remote)
        try:
            self._store_fails("credentials", endpoint)
            config = self.store.bootstrap_configs.get(plan.account.id) or self.default_config
            senml = pct is not None and int(pct) in SENML_PCT
            writes = self._writes(plan, kind, senml=senml, real_client=real_client, config=config)
        except Exception:  # noqa: BLE001
            log.exception("issuing LwM2M credentials for ep=%s failed", endpoint)
            return self._refuse("5.00", "Internal error #2", endpoint, remote,
                                account_id=plan.account.id)
        if plan.created is not None:  # stored with the device in one transaction
            self.events.publish(plan.created, persisted=True)
        log.info("bootstrap accepted ep=%s device=%s account=%s (%s%s)", endpoint, plan.device.id,
                 plan.account.id, kind, ", first-to-claim" if plan.first_to_claim else "")
        task = asyncio.get_running_loop().create_task(self._provision(
            remote, plan, *writes, real_client, senml=senml, config=config,
            rebootstrap=request_info.internal_endpoint is not None))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return Message(code=Code.CHANGED)

    def _writes(self, plan: BootstrapPlan, kind: str, *, senml: bool, real_client: bool,
                config: BootstrapConfig) -> tuple[Callable[[int], list[Write]], dt.datetime | None]:
        """The writes, given the security instance the LwM2M account goes to, and the expiry of
        the LwM2M credential in them (recorded when the bootstrap finishes)."""
        credential = None
        psk = None
        if plan.psk_identity is not None:
            key = self.store.psk.keys().get(plan.psk_identity)
            if key is None:
                raise LookupError("the PSK identity was removed during the bootstrap")
            psk = (plan.psk_identity, key)
        elif not plan.nosec:
            validity = dt.timedelta(seconds=self.timing.lwm2m_credential_validity)
            credential = self.pki.issue_lwm2m_credential(plan.device.endpoint_name, plan.account.id,
                                                         plan.device.id, validity)
        expiry = credential.cert.not_valid_after_utc if credential is not None else None
        return lambda instance: bootstrap_writes(
            lwm2m_uri=self.lwm2m_uri(kind),
            account_id=plan.account.id,
            credential=credential,
            server_ca_der=self.pki.server_ca.cert_der,
            lifetime=int(self.timing.lifetime_default),
            binding=transport(kind).binding,
            bootstrap_uri=self.bootstrap_uri(kind) if plan.first_to_claim else None,
            senml=senml,
            aid_in_uri=real_client,
            psk=psk,
            security_instance=instance,
            resource_lists=config.write == "resources",
        ), expiry

    # ------------------------------------------------------------------ provisioning

    async def _send(self, remote: object, code: Code, path: tuple[str, ...], *,
                    content_format: int | None = None, payload: bytes = b"",
                    accept: int | None = None) -> Message:
        assert self.context is not None, "BootstrapServer.context is set by the service"
        for delay in (*CLOSED_PORT_RETRIES, None):
            try:
                return await request_remote(self.context, remote, code, path, payload=payload,
                                            content_format=content_format, timeout=WRITE_TIMEOUT,
                                            accept=accept)
            except coap_error.NetworkError:
                if delay is None:
                    raise
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _provision(self, remote: object, plan: BootstrapPlan,
                         writes_for: Callable[[int], list[Write]], expiry: dt.datetime | None,
                         real_client: bool, *, senml: bool, config: BootstrapConfig,
                         rebootstrap: bool = False) -> None:
        device = plan.device
        sequence = BootstrapSequence(config, lambda code, path, **kw: self._send(remote, code, path, **kw),
                                     real_client=real_client, rebootstrap=rebootstrap)
        try:
            await asyncio.sleep(0)  # the piggybacked 2.04 goes out first
            await sequence.run(writes_for, senml=senml)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the device vanished or refused: report, keep serving
            reason = str(exc) if isinstance(exc, StepFailed) else \
                f"{sequence.step} failed: {type(exc).__name__}: {str(exc)[:160]}"
            log.warning("bootstrap of device %s (ep=%s) did not finish: %s", device.id,
                        device.endpoint_name, reason, exc_info=log.isEnabledFor(logging.DEBUG))
            self.events.publish(ev.Event(ev.BOOTSTRAP_ERROR, device.id, plan.account.id, {
                "ep": device.id, "original-ep": device.endpoint_name, "reason": reason,
                "operations": sequence.operations}))
            return
        self._finished(plan, expiry, sequence.operations)

    def _finished(self, plan: BootstrapPlan, expiry: dt.datetime | None,
                  operations: list[str]) -> None:
        """Bootstrap-Finish was answered: the device is bootstrapped; one transaction with its
        event (and the expiry of the LwM2M credential it now holds)."""
        device = plan.device
        changes: dict[str, object] = {"bootstrapped_timestamp": utcnow()}
        if expiry is not None:
            changes["connector_expiration_date"] = expiry
        finished: list[ev.Event] = []

        def event(entry: Device) -> list[tuple]:
            finished.append(ev.Event(ev.BOOTSTRAP, device.id, plan.account.id, {
                "ep": device.id, "original-ep": device.endpoint_name,
                "account_id": plan.account.id, "state": str(entry.state),
                "first_to_claim": plan.first_to_claim, "new_device": plan.new_device,
                "mode": "nosec" if plan.nosec else "psk" if plan.psk_identity else "certificate",
                "operations": operations}))
            return [ev.row(finished[0])]

        # a client may register within a millisecond of its Bootstrap-Finish ACK: a registration
        # (or anything else) that landed meanwhile keeps its state
        self.store.update_device(device.id, state=DeviceState.BOOTSTRAPPED,
                                 state_from=(DeviceState.CLOUD_ENROLLING,), events=event, **changes)
        self.events.publish(finished[0], persisted=True)


class _BsResource(aiocoap.resource.Resource):
    """`/bs`: POST = Bootstrap-Request."""

    def __init__(self, server: BootstrapServer) -> None:
        super().__init__()
        self.server = server

    async def render_post(self, request: Message) -> Message:
        return await self.server.handle(request)
