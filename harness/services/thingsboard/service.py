"""The ThingsBoard-style service: store + broker + REST, run in an asyncio loop (or a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import ssl
import tempfile
from pathlib import Path
from typing import Any

import uvicorn

from harness import pki
from harness.config import ThingsBoardConfig
from harness.errors import HilError
from harness.service_runner import ServiceRunner
from harness.services.thingsboard.broker import TbBroker, ThingsBoardRules
from harness.services.thingsboard.rest import build_app
from harness.services.thingsboard.store import TbStore

CA_FILE = "tb-ca.pem"
SERVER_CERT_FILE = "tb-server.pem"
SERVER_KEY_FILE = "tb-server.key"
JWT_SECRET_FILE = "tb-jwt.secret"


class TbServiceError(HilError):
    """The ThingsBoard service cannot start or is not running."""


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    os.chmod(path, 0o600)


def ensure_pki(data_dir: Path) -> tuple[Path, Path, Path]:
    """The service CA and its TLS server certificate (127.0.0.1, ::1, localhost), made once."""
    ca_path, cert_path, key_path = data_dir / CA_FILE, data_dir / SERVER_CERT_FILE, data_dir / SERVER_KEY_FILE
    if not (ca_path.is_file() and cert_path.is_file() and key_path.is_file()):
        ca = pki.make_ca("dm-hil ThingsBoard CA")
        server = pki.make_server_cert(ca, "localhost")
        ca_path.write_bytes(ca.cert_pem)
        cert_path.write_bytes(server.chain_pem)
        _write_private(key_path, server.key_pem)
    return ca_path, cert_path, key_path


class ThingsBoardService:
    """Devices, credentials and provisioning behind a real MQTT broker and a REST subset."""

    def __init__(self, config: ThingsBoardConfig | None = None, data_dir: Path | None = None) -> None:
        self.config = config or ThingsBoardConfig()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None and self.config.data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="hil-tb-")
            data_dir = Path(self._tmp.name)
        self.data_dir = Path(data_dir or self.config.data_dir or ".")
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TbServiceError(f"Cannot create the ThingsBoard data dir {self.data_dir} ({exc.strerror}); "
                                 "choose a writable thingsboard.data_dir.") from None
        self.ca_path, self._cert_path, self._key_path = ensure_pki(self.data_dir)
        self.store = TbStore(self.data_dir / "thingsboard.sqlite3")
        self.rules = ThingsBoardRules(self.store)
        self._tls: tuple[int, ssl.SSLContext] | None = None
        self.broker = TbBroker(self.rules, self.tls_context, host=self.config.host,
                               mqtt_port=self.config.mqtt_port, mqtts_port=self.config.mqtts_port,
                               key=f"tb-{id(self)}")
        self._rest: uvicorn.Server | None = None
        self._rest_task: asyncio.Task[None] | None = None
        self._rest_sock: socket.socket | None = None
        self.rest_port = 0

    # --- TLS -------------------------------------------------------------------------------------
    def tls_context(self) -> ssl.SSLContext:
        """The server TLS context: client certificate optional; device certificates and the CAs of
        X.509-chain profiles are the trust anchors (an unknown certificate fails the handshake)."""
        revision = self.store.revision
        if self._tls and self._tls[0] == revision:
            return self._tls[1]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self._cert_path, self._key_path)
        anchors = self.store.x509_certificates() + [p.certificate_pem for p in self.store.profiles()
                                                    if p.certificate_pem]
        if anchors:
            ctx.load_verify_locations(cadata="\n".join(anchors))
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a device certificate is its own anchor
        ctx.verify_mode = ssl.CERT_OPTIONAL
        self._tls = (revision, ctx)
        return ctx

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the broker and the REST API (ports 0 become the ones the OS picked)."""
        try:
            await self.broker.start()
        except OSError as exc:
            raise TbServiceError(f"Cannot listen for MQTT on {self.config.host} ({exc.strerror}); free the "
                                 "port or set thingsboard.mqtt_port/mqtts_port to 0.") from None
        secret_path = self.data_dir / JWT_SECRET_FILE
        if not secret_path.is_file():
            _write_private(secret_path, secrets.token_bytes(32))
        app = build_app(self.store, self.config.tenant_username, self.config.tenant_password,
                        secret_path.read_bytes())
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host, self.config.rest_port))
        except OSError as exc:
            sock.close()
            await self.broker.stop()
            raise TbServiceError(
                f"Cannot listen for REST on {self.config.host}:{self.config.rest_port} "
                f"({exc.strerror}); set thingsboard.rest_port to 0 or a free port.") from None
        sock.listen(64)
        self._rest_sock, self.rest_port = sock, sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self._rest = server
        self._rest_task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started:
            if self._rest_task.done():
                raise TbServiceError("The ThingsBoard REST API stopped while starting; see the log.")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop REST and the broker, close the store."""
        if self._rest is not None and self._rest_task is not None:
            self._rest.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._rest_task), 5)
            self._rest_task.cancel()
        if self._rest_sock is not None:
            self._rest_sock.close()
        await self.broker.stop()
        self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    # --- where to connect ------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """The bind host (shown in URIs)."""
        return self.config.host

    def _shown(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def mqtt_uri(self) -> str:
        """mqtt://host:port (plain)."""
        return f"mqtt://{self._shown()}:{self.broker.mqtt_port}"

    @property
    def mqtts_uri(self) -> str:
        """mqtts://host:port (TLS, one-way or two-way)."""
        return f"mqtts://{self._shown()}:{self.broker.mqtts_port}"

    @property
    def rest_url(self) -> str:
        """http://host:port of the REST subset."""
        return f"http://{self._shown()}:{self.rest_port}"

    def describe(self) -> dict[str, Any]:
        """The URIs and the CA file devices trust (no secrets)."""
        return {"mqtt": self.mqtt_uri, "mqtts": self.mqtts_uri, "rest": self.rest_url,
                "ca": str(self.ca_path), "data_dir": str(self.data_dir)}


class TbServiceThread(ServiceRunner[ThingsBoardService]):
    """A ThingsBoardService on a daemon thread; start() returns once it listens."""

    def __init__(self, config: ThingsBoardConfig | None = None, data_dir: Path | None = None) -> None:
        super().__init__(ThingsBoardService(config, data_dir), what="ThingsBoard service",
                         thread_name="tb-service", error=TbServiceError)
