"""Helpers shared by the REST tests (unique module name: imported by path)."""

from __future__ import annotations

import datetime as dt
import queue
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.sync.client import ClientConnection, connect

from harness.rest_client import RestClient, sign_jwt


def self_signed(key, *, days: float = 365, start_days_ago: float = 1, dns_names: int = 0) -> str:
    """A self-signed X.509 PEM certificate for `key` (for verification keys)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"vk-{secrets.token_hex(4)}")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=start_days_ago)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days)))
    if dns_names:
        names = [x509.DNSName(f"host-{i}.example.com") for i in range(dns_names)]
        cert = cert.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = cert.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()



class Receiver:
    """A webhook receiver on 127.0.0.1: records (method, body); answers the scripted statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: queue.Queue[tuple[str, bytes, dict[str, str]]] = queue.Queue()
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:  # noqa: N802 - http.server naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = outer.statuses.pop(0) if outer.statuses else 200
                outer.requests.put((self.command, body, {k.lower(): v for k, v in self.headers.items()}))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def next(self, timeout: float = 5.0) -> tuple[str, bytes, dict[str, str]]:
        return self.requests.get(timeout=timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@contextmanager
def app_websocket(admin: RestClient, name: str = "ws-app") -> Iterator[ClientConnection]:
    """A new application (own channel owner) with a websocket channel, connected with its JWT."""
    key = ec.generate_private_key(ec.SECP256R1())
    app = admin.create_application(name)
    admin.create_verification_key(app.id, f"{name}-key", self_signed(key))
    with RestClient(admin.base_url, application_id=app.id,
                    token=sign_jwt(key, "ES256", app.id, 60)) as client:
        client.set_websocket_channel()
        with connect(client.websocket_url(), additional_headers=client.auth_headers(),
                     open_timeout=5) as ws:
            yield ws
