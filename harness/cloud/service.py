"""The local Device Management service: bootstrap + LwM2M servers over one store, PKI and events."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aiocoap.numbers.codes import Code

from harness.cloud import events as ev
from harness.cloud.bootstrap import BootstrapServer
from harness.cloud.bootstrap_policy import BootstrapRules
from harness.cloud.ca import ServicePki
from harness.cloud.coap_site import LeanSite
from harness.cloud.developer import DeveloperCertificate, issue_developer_certificate
from harness.cloud.handshake_faults import HandshakeFaults
from harness.cloud.lwm2m_server import Lwm2mServer
from harness.cloud.records import Account, Device, Enrollment, TrustedCertificate
from harness.cloud.rest import start_rest
from harness.cloud.retention import (
    RefusalBudget,
    RefusalGate,
    install_log_limit,
    prune,
    remove_log_limit,
)
from harness.cloud.server_trust import ServerTrust
from harness.cloud.store import Store
from harness.cloud.wiretap import ServiceTrace
from harness.config import ServiceConfig
from harness.errors import HilError
from harness.pki import Credential
from harness.transport import (
    ConnectionBudget,
    Endpoint,
    ServerContext,
    StreamLimits,
    create_server_context,
    transport,
)
from harness.transport.limits import install_accept_error_filter

log = logging.getLogger(__name__)


class ServiceError(HilError):
    """The service cannot do what was asked (not started, no such transport...)."""


class DeviceManagementService:
    """Bootstrap server, LwM2M server, directory and events; async start()/stop()."""

    def __init__(self, config: ServiceConfig | None = None, data_dir: Path | None = None, *,
                 nosec_default_account: str | None = None, start_rest: bool = True) -> None:
        self.config = config or ServiceConfig()
        self._own_dir = None
        chosen = data_dir or self.config.data_dir
        if chosen is None:
            self._own_dir = tempfile.mkdtemp(prefix="dmhil-service-")
            chosen = Path(self._own_dir)
        self.data_dir = Path(chosen)
        self.nosec_default_account = nosec_default_account
        self.start_rest = start_rest
        self.store: Store | None = None
        self.pki: ServicePki | None = None
        self.events = ev.EventBus(persist=self._persist_event)
        self.trace = ServiceTrace()  # CoAP messages + events for the reports (harness.cloud.wiretap)
        self.events.add_listener(self.trace.on_event)
        self.bootstrap_server: ServerContext | None = None
        self.lwm2m_server: ServerContext | None = None
        self.bootstrap: BootstrapServer | None = None
        self.lwm2m: Lwm2mServer | None = None
        self.rest: Any = None
        stream = self.config.stream
        self.connection_budget = ConnectionBudget(StreamLimits(
            idle_timeout=stream.idle_timeout, first_message_timeout=stream.first_message_timeout,
            max_connections=stream.max_connections))
        self.refusal_budget = RefusalBudget(self.config.retention)
        self._log_limit = None
        self._refusals = RefusalGate(self.refusal_budget, lambda _text: None)
        self._prune_task: asyncio.Task[None] | None = None
        self.trust = ServerTrust(self._store, self._pki)
        self.lwm2m_handshake_faults = HandshakeFaults(lambda: self._pki().lwm2m_server)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open the store and PKI, start both CoAP servers (and the REST API when present)."""
        try:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ServiceError(f"Cannot create the service data_dir {self.data_dir} ({exc.strerror}); "
                               "choose a writable directory.") from None
        self.events.bind_loop(asyncio.get_running_loop())
        install_accept_error_filter(asyncio.get_running_loop())
        self.store = Store.open(self.data_dir)
        self._log_limit = install_log_limit(self.config.retention.log_lines_per_minute)
        try:
            self.pki = ServicePki.load_or_create(self.data_dir, self.config.host)
            self._apply_standard_mode()
            timing = self.config.timing
            rules = BootstrapRules(self.store, self.pki,
                                   nosec_default_account=self.nosec_default_account)
            self.bootstrap = BootstrapServer(self.store, self.pki, self.events, timing, rules,
                                             lwm2m_uri=self._lwm2m_uri_for, bootstrap_uri=self.bootstrap_uri)
            self.lwm2m = Lwm2mServer(self.store, self.pki, self.events, timing,
                                     nosec_default_account=self.nosec_default_account)
            gate = RefusalGate(self.refusal_budget, self.store.record_denial)
            self.bootstrap.refusals = self.lwm2m.refusals = self._refusals = gate
            self.bootstrap.default_config = self.config.bootstrap_config
            bs_site = LeanSite()
            bs_site.add_resource(("bs",), self.bootstrap.resource())
            rd_site = LeanSite()
            self.lwm2m.mount(rd_site)
            self.bootstrap_server = await create_server_context(
                bs_site, self._endpoints(self.config.bootstrap, "bootstrap",
                                         self._bootstrap_handshake_failed))
            self.bootstrap.context = self.bootstrap_server.context
            self.trace.attach(self.bootstrap_server.context, "bootstrap")
            self.lwm2m_server = await create_server_context(
                rd_site, self._endpoints(self.config.lwm2m, "lwm2m",
                                         self._lwm2m_handshake_failed))
            self.lwm2m.context = self.lwm2m_server.context
            self.trace.attach(self.lwm2m_server.context, "lwm2m")
            self.lwm2m.start()
            self._prune_task = asyncio.get_running_loop().create_task(self._prune_loop())
            await self._start_rest()
        except BaseException:
            await self.stop()
            raise
        log.info("Device Management service up: bootstrap %s, lwm2m %s",
                 ", ".join(self.bootstrap_server.bound), ", ".join(self.lwm2m_server.bound))

    async def _start_rest(self) -> None:
        """Start the REST API (v3 + the operator's admin API) unless disabled with start_rest=False."""
        if self.start_rest:
            self.rest = await start_rest(self)

    async def _prune_loop(self) -> None:
        """Apply the retention policy now and every prune_interval seconds."""
        retention = self.config.retention
        while self.store is not None:
            try:
                denials, events = prune(self.store, retention)
                if denials or events:
                    log.info("retention: deleted %d denials and %d events", denials, events)
            except Exception:  # noqa: BLE001 - keep serving; try again next time
                log.exception("applying the retention policy failed")
            await asyncio.sleep(retention.prune_interval)

    async def stop(self) -> None:
        """Stop servers, background tasks and the REST API; close the store (idempotent)."""
        if self._prune_task is not None:
            self._prune_task.cancel()
            await asyncio.gather(self._prune_task, return_exceptions=True)
            self._prune_task = None
        if self._log_limit is not None:
            remove_log_limit(self._log_limit)
            self._log_limit = None
        if self.rest is not None and hasattr(self.rest, "stop"):
            try:
                await self.rest.stop()
            except Exception:  # noqa: BLE001
                log.exception("stopping the REST API failed")
            self.rest = None
        if self.bootstrap is not None:
            await self.bootstrap.close()
        if self.lwm2m is not None:
            await self.lwm2m.close()
        for server in (self.bootstrap_server, self.lwm2m_server):
            if server is not None:
                try:
                    await server.shutdown()
                except Exception:  # noqa: BLE001
                    log.exception("shutting down a CoAP server failed")
        self.bootstrap_server = self.lwm2m_server = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def _handshake_failed(self, server: str, peer: str, reason: str) -> None:
        """A TLS handshake was refused (e.g. the client CA is not trusted): a denial + an event."""
        text = f"Secure connection failed ({server}, {reason})"
        log.info("%s server: TLS handshake from %s failed: %s", server, peer, reason)
        if self.store is None or not self._refusals.admit():
            return
        if self.store is not None:
            self.store.record_denial(text)
        self.events.publish(ev.Event(ev.BOOTSTRAP_ERROR if server == "bootstrap" else
                                     ev.REGISTRATION_ERROR, None, None,
                                     {"code": "tls", "reason": text, "peer": peer}))

    def _bootstrap_handshake_failed(self, peer: str, reason: str) -> None:
        self._handshake_failed("bootstrap", peer, reason)

    def _lwm2m_handshake_failed(self, peer: str, reason: str) -> None:
        self._handshake_failed("lwm2m", peer, reason)

    def _apply_standard_mode(self) -> None:
        """The account NoSec and PSK devices join (created if missing) and the configured PSKs."""
        standard = self.config.standard
        store = self._store()
        if standard.psk and not (standard.account or self.nosec_default_account):
            raise ServiceError("service.standard.psk needs service.standard.account (the account "
                               "PSK devices belong to); set it in the lab config or pass "
                               "--standard-account.")
        if standard.account and self.nosec_default_account is None:
            account = next((a for a in store.list_accounts() if a.name == standard.account), None)
            account = account or store.create_account(standard.account)
            self.nosec_default_account = account.id
        for entry in standard.psk:
            assert self.nosec_default_account is not None
            store.psk.put(entry.identity, bytes.fromhex(entry.key), self.nosec_default_account,
                          entry.endpoint)

    def add_psk(self, identity: str, key: bytes, account_id: str | None = None,
                endpoint_name: str | None = None) -> None:
        """Let a PSK device in (DTLS PSK): `identity` with `key`, into an account."""
        account = account_id or self.nosec_default_account
        if account is None or self._store().get_account(account) is None:
            raise ServiceError("A PSK device needs an account; pass account_id or start the "
                               "service with a standard account (--standard-account).")
        self._store().psk.put(identity, key, account, endpoint_name)

    def _endpoints(self, ports, server: str, on_handshake_failure) -> list[Endpoint]:
        out = []
        for kind in self.config.transports:
            spec = transport(kind)
            port = getattr(ports, spec.config_key)
            if port is None:
                continue
            factory = self.trust.factory(server, spec.tls_family) if spec.tls_family else None
            if server == "lwm2m" and spec.tls_family == "tls":
                factory = self.lwm2m_handshake_faults.wrap(factory)
            out.append(Endpoint(kind, self.config.host, port, factory,
                                on_handshake_failure=on_handshake_failure if factory else None,
                                budget=self.connection_budget))
        if not out:
            raise ServiceError("No transport has a port for a server; set a port for one of "
                               f"{self.config.transports} in the service config.")
        return out

    # ------------------------------------------------------------------ URIs and CAs

    def _running(self) -> tuple[ServerContext, ServerContext]:
        if self.bootstrap_server is None or self.lwm2m_server is None:
            raise ServiceError("The Device Management service is not running; call start() first.")
        return self.bootstrap_server, self.lwm2m_server

    def bootstrap_uri(self, kind: str = "tls-record") -> str:
        """The bootstrap server URI for a transport kind, e.g. coaps://127.0.0.1:PORT."""
        return self._running()[0].uri(kind)

    def lwm2m_uri(self, kind: str = "tls-record") -> str:
        """The LwM2M server URI for a transport kind."""
        return self._running()[1].uri(kind)

    def _lwm2m_uri_for(self, kind: str) -> str:
        server = self._running()[1]
        return server.uri(kind if kind in server.bound else next(iter(server.bound)))

    @property
    def transports(self) -> list[str]:
        """The transport kinds both servers listen on."""
        bs, rd = self._running()
        return [k for k in bs.bound if k in rd.bound]

    def _pki(self) -> ServicePki:
        if self.pki is None:
            raise ServiceError("The Device Management service is not running; call start() first.")
        return self.pki

    @property
    def server_ca_der(self) -> bytes:
        """The CA devices trust for both servers (mbed.BootstrapServerCACert / LwM2MServerCACert)."""
        return self._pki().server_ca.cert_der

    @property
    def server_ca_pem(self) -> bytes:
        """The server CA in PEM."""
        return self._pki().server_ca.cert_pem

    @property
    def server_ca(self) -> Credential:
        """The server CA credential."""
        return self._pki().server_ca

    @property
    def lwm2m_ca(self) -> Credential:
        """The CA that issues LwM2M device certificates at bootstrap."""
        return self._pki().lwm2m_ca

    @property
    def developer_ca(self) -> Credential:
        """The CA that issues developer certificates."""
        return self._pki().developer_ca

    def _store(self) -> Store:
        if self.store is None:
            raise ServiceError("The Device Management service is not running; call start() first.")
        return self.store

    # ------------------------------------------------------------------ accounts and devices

    def create_account(self, name: str, *, device_quota: int = 1000, commercial: bool = False,
                       admin_api_key: str | None = None) -> Account:
        """Create an account (fresh aid)."""
        return self._store().create_account(name, device_quota=device_quota, commercial=commercial,
                                            admin_api_key=admin_api_key)

    def add_trusted_certificate(self, account_id: str, name: str, certificate_pem: str | bytes, *,
                                service: str = "bootstrap", status: str = "ACTIVE",
                                enrollment_mode: bool = False, description: str = ""
                                ) -> TrustedCertificate:
        """Trust a CA certificate for an account's bootstrap or LwM2M service."""
        return self._store().add_trusted_certificate(
            account_id, name, certificate_pem, service=service, status=status,
            enrollment_mode=enrollment_mode, description=description)

    def enroll(self, account_id: str, enrollment_identity: str) -> Enrollment:
        """Add an enrollment identity (A-...) to an account's enrollment list."""
        return self._store().add_enrollment(account_id, enrollment_identity)

    def issue_developer_certificate(self, account_id: str, endpoint_name: str | None = None,
                                    *, kind: str = "tls-record") -> DeveloperCertificate:
        """Issue a developer certificate for an account (bootstrap cert + key + URIs + server CA)."""
        return issue_developer_certificate(self._store(), self._pki(), account_id,
                                           self.bootstrap_uri(kind), endpoint_name)

    def device(self, device_id: str) -> Device | None:
        """The Device Directory entry, or None."""
        return self._store().get_device(device_id)

    def devices(self, account_id: str | None = None, **filters: Any) -> list[Device]:
        """Devices of an account (or all), filtered by state / endpoint_name."""
        return self._store().list_devices(account_id, **filters)

    def inject_bootstrap_error(self, code: str = "5.00", text: str = "Internal error #1",
                               count: int = 1, endpoint: str | None = None) -> None:
        """Answer the next `count` Bootstrap-Requests (of `endpoint`, or any) with `code` + `text`
        (fault injection)."""
        if self.bootstrap is None:
            raise ServiceError("The Device Management service is not running; call start() first.")
        self.bootstrap.inject_error(code, text, count, endpoint)

    def fail_store(self, stage: str, count: int = 1, endpoint: str | None = None) -> None:
        """Make the store fail at `stage` ("directory" or "credentials") for the next `count`
        Bootstrap-Requests (of `endpoint`, or any) (fault injection)."""
        if self.bootstrap is None:
            raise ServiceError("The Device Management service is not running; call start() first.")
        self.bootstrap.fail_store(stage, count, endpoint)

    def fail_lwm2m_handshakes(self, count: int = 1) -> None:
        """Refuse the next `count` TLS handshakes of the LwM2M server (fault injection)."""
        self.lwm2m_handshake_faults.fail_next(count)

    def _persist_event(self, event: ev.Event) -> None:
        if self.store is not None:
            self.store.record_event(event.type, device_id=event.device_id, account_id=event.account_id,
                                    data=event.data, state_change=event.type in ev.STATE_CHANGES,
                                    created_at=event.created_at)

    # ------------------------------------------------------------------ operations on devices

    def _lwm2m(self) -> Lwm2mServer:
        if self.lwm2m is None:
            raise ServiceError("The Device Management service is not running; call start() first.")
        return self.lwm2m

    async def read(self, device_id: str, path: str, *, timeout: float = 30.0
                   ) -> tuple[str, int | None, bytes]:
        """Read a path on a registered device: (code like "2.05", content-format, payload)."""
        return await self._lwm2m().operate(device_id, Code.GET, path, timeout=timeout)

    async def write(self, device_id: str, path: str, payload: bytes, content_format: int, *,
                    timeout: float = 30.0) -> tuple[str, int | None, bytes]:
        """Write (PUT) a path on a registered device."""
        return await self._lwm2m().operate(device_id, Code.PUT, path, payload=payload,
                                           content_format=content_format, timeout=timeout)

    async def execute(self, device_id: str, path: str, arguments: bytes = b"", *,
                      timeout: float = 30.0) -> tuple[str, int | None, bytes]:
        """Execute (POST) a resource, e.g. /3/0/4 reboot or /3/0/5 factory reset."""
        return await self._lwm2m().operate(device_id, Code.POST, path, payload=arguments,
                                           timeout=timeout)
