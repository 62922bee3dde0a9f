"""The writes a bootstrap server sends: LwM2M security instance, server instance, new bootstrap URI.

Layout written to the client (all CON PUT, TLV ct 11542 unless the client asked pct=110):
- `/0/1`   LwM2M server security instance: 0 URI `<lwm2m uri>?aid=<aid>`, 1 false, 2 mode
           (2 certificate / 3 NoSec), 3 own LwM2M cert DER, 4 server CA DER, 5 private key as
           PKCS#8 DER, 10 short server id 1. NoSec omits 3, 4, 5.
- `/1/0`   server: 0 short server id 1, 1 lifetime, 6 storing false, 7 binding ("T" over stream
           transports, "U" over udp).
- `/0/0/0` First-to-Claim only: the bootstrap server URI with `?aid=<aid>` (single resource TLV),
           so the client saves it and later bootstraps reach the claiming account.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.lwm2m.ids import ContentFormat, Security, SecurityMode, Server
from harness.lwm2m.senml import encode_instance_senml
from harness.lwm2m.tlv import ResourceValues, TlvKind, encode_entry, encode_resources, encode_value
from harness.pki import Credential

LWM2M_SECURITY_INSTANCE = 1
BOOTSTRAP_SECURITY_INSTANCE = 0
SHORT_SERVER_ID = 1


@dataclass(frozen=True)
class Write:
    """One PUT: path segments, content format and payload (may hold a private key: never log it)."""

    path: tuple[int, ...]
    content_format: int
    payload: bytes

    @property
    def uri_path(self) -> tuple[str, ...]:
        """The path as Uri-Path option values."""
        return tuple(str(p) for p in self.path)

    def __repr__(self) -> str:
        return f"Write(/{'/'.join(self.uri_path)}, ct={self.content_format}, {len(self.payload)} bytes)"


def with_aid(uri: str, account_id: str) -> str:
    """`uri` with `?aid=<account_id>` (replacing any query it had)."""
    return f"{uri.split('?', 1)[0]}?aid={account_id}"


def _encode(path: tuple[int, ...], resources: ResourceValues, senml: bool) -> Write:
    if senml:
        base = "/" + "/".join(str(p) for p in path) + "/"
        return Write(path, ContentFormat.SENML_JSON, encode_instance_senml(base, resources))
    return Write(path, ContentFormat.TLV, encode_resources(resources))


def bootstrap_writes(
    *,
    lwm2m_uri: str,
    account_id: str,
    credential: Credential | None,
    server_ca_der: bytes,
    lifetime: int,
    binding: str,
    bootstrap_uri: str | None = None,
    senml: bool = False,
) -> list[Write]:
    """The writes for one device (credential None = NoSec; bootstrap_uri set = First-to-Claim)."""
    security: ResourceValues = {
        Security.SERVER_URI: with_aid(lwm2m_uri, account_id),
        Security.BOOTSTRAP_SERVER: False,
        Security.SHORT_SERVER_ID: SHORT_SERVER_ID,
    }
    if credential is None:
        security[Security.SECURITY_MODE] = int(SecurityMode.NOSEC)
    else:
        security[Security.SECURITY_MODE] = int(SecurityMode.CERTIFICATE)
        security[Security.PUBLIC_KEY_OR_IDENTITY] = credential.cert_der
        security[Security.SERVER_PUBLIC_KEY] = server_ca_der
        security[Security.SECRET_KEY] = credential.key_der
    server: ResourceValues = {
        Server.SHORT_SERVER_ID: SHORT_SERVER_ID,
        Server.LIFETIME: int(lifetime),
        Server.STORING: False,
        Server.BINDING: binding,
    }
    writes = [
        _encode((0, LWM2M_SECURITY_INSTANCE), security, senml),
        _encode((1, 0), server, senml),
    ]
    if bootstrap_uri is not None:
        uri = with_aid(bootstrap_uri, account_id)
        path = (0, BOOTSTRAP_SECURITY_INSTANCE, int(Security.SERVER_URI))
        if senml:
            writes.append(Write(path, ContentFormat.SENML_JSON,
                                encode_instance_senml("/0/0/", {0: uri})))
        else:
            writes.append(Write(path, ContentFormat.TLV,
                                encode_entry(TlvKind.RESOURCE, int(Security.SERVER_URI),
                                             encode_value(uri))))
    return writes
