"""The writes a bootstrap server sends: LwM2M security instance, server instance, new bootstrap URI.

Layout written to the client (all CON PUT), as the Device Management Client needs it (protocol
facts 3.1, points 4 and 5):
- `/0/0`   LwM2M server security instance: 0 URI `<lwm2m uri>?aid=<aid>`, 1 false, 2 mode
           (2 certificate / 3 NoSec), 3 own LwM2M cert DER, 4 server CA DER, 5 private key as
           PKCS#8 DER, 10 short server id 1. NoSec omits 3, 4, 5. The client made /0/0 itself at
           start (empty URI) and checks every security instance after each write.
- `/1/0`   server: 0 short server id 1, 1 lifetime, 6 storing false, 7 binding ("T" over stream
           transports, "U" over udp).
- `/0/1`   First-to-Claim only: the bootstrap server URI with `?aid=<aid>`, written into the
           client's bootstrap-server instance (resource 1 true), so the client saves it and later
           bootstraps reach the claiming account. It comes after /0/0, never before.

TLV payloads are OBJECT-INSTANCE entries (type 00, the instance id, the resources inside): the
client's TLV reader then updates the listed resources only. A bare resource list would make it
REMOVE every resource not listed (its cert-chain resources 12-14 among them), and the device then
fails registration for good. SenML (pct=110, LwM2M 1.1 clients) names each resource in full.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.client.wire import with_aid
from harness.lwm2m.ids import ContentFormat, Security, SecurityMode, Server
from harness.lwm2m.senml import encode_instance_senml
from harness.lwm2m.tlv import ResourceValues, encode_instances, encode_resources
from harness.pki import Credential

LWM2M_SECURITY_INSTANCE = 0
BOOTSTRAP_SECURITY_INSTANCE = 1
SERVER_INSTANCE = 0
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


def instance_write(obj: int, instance: int, resources: ResourceValues, *, senml: bool = False,
                   resource_list: bool = False) -> Write:
    """A PUT of /obj/instance that updates only `resources` (object-instance TLV, or SenML);
    `resource_list`: a bare resource list instead (a client replaces the instance with it)."""
    path = (obj, instance)
    if senml:
        return Write(path, ContentFormat.SENML_JSON,
                     encode_instance_senml(f"/{obj}/{instance}/", resources))
    if resource_list:
        return Write(path, ContentFormat.TLV, encode_resources(resources))
    return Write(path, ContentFormat.TLV, encode_instances({instance: resources}))


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
    aid_in_uri: bool = True,
    psk: tuple[str, bytes] | None = None,
    security_instance: int = LWM2M_SECURITY_INSTANCE,
    resource_lists: bool = False,
) -> list[Write]:
    """The writes for one device (credential None = NoSec or `psk`; bootstrap_uri = First-to-Claim).

    `aid_in_uri`: only the Device Management Client (it sends `mccv=`) reads `?aid=` from the
    server URI; a standard client cannot parse a URI with a query (protocol-facts §3.1).
    `security_instance`: where the LwM2M server account goes (the real client: /0/0).
    `resource_lists`: bare resource lists instead of object-instance TLVs (a bootstrap
    configuration's `write: resources`).
    """
    security: ResourceValues = {
        Security.SERVER_URI: with_aid(lwm2m_uri, account_id) if aid_in_uri
        else lwm2m_uri.split("?", 1)[0],
        Security.BOOTSTRAP_SERVER: False,
        Security.SHORT_SERVER_ID: SHORT_SERVER_ID,
    }
    if psk is not None:
        security[Security.SECURITY_MODE] = int(SecurityMode.PSK)
        security[Security.PUBLIC_KEY_OR_IDENTITY] = psk[0].encode()
        security[Security.SECRET_KEY] = psk[1]
    elif credential is None:
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
        instance_write(0, security_instance, security, senml=senml, resource_list=resource_lists),
        instance_write(1, SERVER_INSTANCE, server, senml=senml, resource_list=resource_lists),
    ]
    if bootstrap_uri is not None:
        writes.append(instance_write(0, BOOTSTRAP_SECURITY_INSTANCE,
                                     {Security.SERVER_URI: with_aid(bootstrap_uri, account_id)},
                                     senml=senml, resource_list=resource_lists))
    return writes
