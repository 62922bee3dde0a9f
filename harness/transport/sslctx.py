"""SSLContexts for mutual X.509 TLS built from harness.pki Credentials.

`ssl` only loads keys from files, so each key is written to a TemporaryDirectory owned by this
module and deleted right after `load_cert_chain`.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.pki import Credential, load_certificate
from harness.transport.errors import TransportError


def _pem(cert: x509.Certificate | bytes) -> str:
    if isinstance(cert, bytes):
        cert = load_certificate(cert)
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _load_credential(ctx: ssl.SSLContext, cred: Credential) -> None:
    with tempfile.TemporaryDirectory(prefix="dmhil-tls-") as tmp:
        cert_path = Path(tmp) / "cert.pem"
        key_path = Path(tmp) / "key.pem"
        cert_path.write_bytes(cred.chain_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(cred.key_pem)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as exc:
            raise TransportError(
                f"Certificate {cred.cert.subject.rfc4514_string()} and its key cannot be loaded "
                f"({exc.reason}); pass the key that belongs to the certificate."
            ) from None


def server_ssl_context(
    cert: Credential, trusted_cas: list[x509.Certificate | bytes]
) -> ssl.SSLContext:
    """A TLS server context presenting `cert` and requiring a client cert issued by a trusted CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_REQUIRED
    # an account may upload its issuing (intermediate) CA: trust it without its root
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if trusted_cas:
        ctx.load_verify_locations(cadata="".join(_pem(c) for c in trusted_cas))
    _load_credential(ctx, cert)
    return ctx


def client_ssl_context(
    cred: Credential,
    server_ca: x509.Certificate | bytes | list[x509.Certificate | bytes],
    *,
    check_hostname: bool = False,
) -> ssl.SSLContext:
    """A TLS client context presenting `cred` and trusting servers issued by `server_ca`.

    Like the Device Management Client, the server is verified by its chain only unless
    `check_hostname` is set.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = check_hostname
    ctx.verify_mode = ssl.CERT_REQUIRED
    cas = server_ca if isinstance(server_ca, list) else [server_ca]
    ctx.load_verify_locations(cadata="".join(_pem(c) for c in cas))
    _load_credential(ctx, cred)
    return ctx
