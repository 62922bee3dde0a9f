"""The TLS and DTLS contexts of the service's two servers, rebuilt only when what they trust changes.

Each server (bootstrap, LwM2M) trusts the ACTIVE CAs accounts uploaded for it plus the service's
own CA for that server (developer CA, LwM2M CA); its DTLS context also knows every PSK identity.
Building a context parses and loads every CA into Mbed TLS, so a context is kept until the set
of trusted CAs (id, last change) or the PSK table changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from harness.cloud.ca import ServicePki
from harness.cloud.store import Store
from harness.pki import load_certificate
from harness.transport import TlsContext, server_dtls_context, server_tls_context

SERVERS = ("bootstrap", "lwm2m")
FAMILIES = ("tls", "dtls")


class _Cached:
    """One context, rebuilt only when its key changes."""

    def __init__(self) -> None:
        self._key: Hashable | None = None
        self._context: Any = None

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The cached context while `key` is unchanged, else a fresh one from `build`."""
        if self._context is None or key != self._key:
            self._context = build()
            self._key = key
        return self._context


class ServerTrust:
    """Context factories of the bootstrap and LwM2M servers over the store's trusted CAs."""

    def __init__(self, store: Callable[[], Store], pki: Callable[[], ServicePki]) -> None:
        self._store = store
        self._pki = pki
        self._cache = {(server, family): _Cached() for server in SERVERS for family in FAMILIES}

    def factory(self, server: str, family: str) -> Callable[[], Any]:
        """The context factory (no arguments) of `server` ("bootstrap"/"lwm2m") for `family`
        ("tls"/"dtls"), for a transport endpoint."""
        if (server, family) not in self._cache:
            raise ValueError(f"no {family} context for a {server!r} server; use one of {SERVERS}")
        return lambda: self.context(server, family)

    def context(self, server: str, family: str) -> TlsContext | Any:
        """The current TLS (or DTLS) context of a server."""
        store, pki = self._store(), self._pki()
        own, own_ca = ((pki.bootstrap_server, pki.developer_ca) if server == "bootstrap"
                       else (pki.lwm2m_server, pki.lwm2m_ca))
        trusted = store.list_trusted_certificates(service=server, active_only=True)
        key: tuple[Any, ...] = tuple((t.id, t.updated_at) for t in trusted)

        def cas() -> list[Any]:
            return [*(load_certificate(t.certificate.encode()) for t in trusted), own_ca.cert]

        if family == "tls":
            return self._cache[server, family].get(key, lambda: server_tls_context(own, cas()))
        return self._cache[server, family].get(
            (key, store.psk.version()), lambda: server_dtls_context(own, cas(), store.psk.keys()))

