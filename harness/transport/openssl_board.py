"""What the board's OpenSSL engines (TLS in openssl_device, DTLS in dtls_device_engine) share:
its certificate in a context, the server CAs checked at the DEVICE clock, draining records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from OpenSSL import SSL, crypto

from harness.pki import Credential
from harness.transport.errors import TransportError
from harness.transport.tls_engine import MAX_READ, TlsEngineError, TlsPeerClosed

DEVICE_GROUPS = b"P-256"


def ssl_reason(exc: SSL.Error) -> str:
    """OpenSSL's reasons in an SSL.Error, joined (or the error's type name)."""
    parts = [str(e[2] or e[1]) for e in (exc.args[0] if exc.args else []) if isinstance(e, tuple)]
    return ", ".join(p for p in parts if p) or type(exc).__name__


def set_verify_time(store: crypto.X509Store, unix: float) -> None:
    """Verify certificates as at `unix` (the device clock; never before 1970)."""
    store.set_time(dt.datetime.fromtimestamp(max(0, int(unix)), dt.UTC).replace(tzinfo=None))


def use_device_credential(ctx: SSL.Context, cred: Credential, server_cas: Sequence[crypto.X509],
                          device_time: float) -> None:
    """Put the board's certificate, chain and key in `ctx`; trust `server_cas` at `device_time`.

    Like Mbed TLS, any configured CA is an anchor, even an intermediate (PARTIAL_CHAIN).
    """
    try:
        ctx.use_certificate(cred.cert)
        for ca in cred.chain:
            ctx.add_extra_chain_cert(ca)
        ctx.use_privatekey(cred.key)
        ctx.check_privatekey()
    except SSL.Error as exc:
        raise TransportError(
            f"Certificate {cred.cert.subject.rfc4514_string()} and its key cannot be "
            f"used ({ssl_reason(exc)}); pass the key that belongs to the certificate."
        ) from None
    store = ctx.get_cert_store()
    assert store is not None
    for ca in server_cas:
        store.add_cert(ca)
    store.set_flags(crypto.X509StoreFlags.PARTIAL_CHAIN)
    set_verify_time(store, device_time)


def received(conn: SSL.Connection) -> list[bytes]:
    """Every plaintext record OpenSSL can decrypt now."""
    out: list[bytes] = []
    try:
        while True:
            out.append(conn.recv(MAX_READ))
    except SSL.WantReadError:
        pass
    except SSL.ZeroReturnError:
        raise TlsPeerClosed from None
    except SSL.Error as exc:
        raise TlsEngineError(ssl_reason(exc)) from None
    return out


def to_send(conn: SSL.Connection) -> list[bytes]:
    """What OpenSSL wrote for the peer (ciphertext chunks; datagrams on DTLS)."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = conn.bio_read(MAX_READ)
        except SSL.WantReadError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return chunks
