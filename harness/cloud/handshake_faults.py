"""Fault injection: the LwM2M server refuses the next TLS handshakes, as if it no longer trusted
the devices' certificates (a rotated CA, a revoked device). A client in bootstrap mode then drops
its LwM2M credentials and bootstraps again (mbed-cloud-client `ConnectorClient::error`).

The refusal is a real one: the connection gets a TLS context that trusts only a CA made for the
purpose, so the device's certificate fails verification and the client sees a handshake alert.
The server cannot tell devices apart before their certificate is verified, so the fault applies
to whichever devices handshake next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from harness.pki import Credential, make_ca
from harness.transport import server_tls_context


class HandshakeFaults:
    """How many of the next LwM2M TLS handshakes to refuse; wraps the server's context factory."""

    def __init__(self, server_credential: Callable[[], Credential]) -> None:
        self._server_credential = server_credential
        self._pending = 0
        self._lock = threading.Lock()  # set from the REST thread, taken on the service's loop
        self._refusing: Any = None

    def fail_next(self, count: int) -> None:
        """Refuse the next `count` handshakes (added to any still pending)."""
        if count < 1:
            raise ValueError(f"count must be at least 1 (got {count}); it is how many handshakes "
                             "to refuse.")
        with self._lock:
            self._pending += count

    @property
    def pending(self) -> int:
        """Handshakes still to be refused."""
        return self._pending

    def _take(self) -> bool:
        with self._lock:
            if self._pending <= 0:
                return False
            self._pending -= 1
            return True

    def _refusing_context(self) -> Any:
        if self._refusing is None:
            stranger = make_ca("hil fault: a CA no device has").cert
            self._refusing = server_tls_context(self._server_credential(), [stranger])
        return self._refusing

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], Any]:
        """A context factory that gives the refusing context while a refusal is pending."""
        return lambda: self._refusing_context() if self._take() else factory()
