"""The client's Security (/0) and Server (/1) objects during bootstrap, with its write semantics.

As the Device Management Client (mbed-client 4.13) keeps them (protocol facts 3.1, points 4, 5):
- at start it makes /0/0 for the LwM2M server (empty URI) and /0/1 for the bootstrap server (its
  stored URI, Bootstrap-Server true, the stored credentials behind the cert-chain resources 12-14);
- a TLV write whose first entry is an OBJECT INSTANCE updates the listed resources of that
  instance only (a resource the instance lacks fails the write);
- a TLV write that is a bare resource list replaces the instance of the path: every resource not
  listed is REMOVED (m2mtlvdeserializer's Put), the cert-chain resources 12-14 included;
- after every security write each instance must have a URI, and certificate mode needs the own
  chain, the server CA and the key, else the write is refused with "Invalid security object".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.errors import HilError
from harness.lwm2m import tlv
from harness.lwm2m.ids import Security, SecurityMode
from harness.sim.client.credentials import load_chain

Resources = dict[int, "bytes | dict[int, bytes]"]

CHAIN_RESOURCES = (12, 13, 14)
"""Open / read / close certificate chain: callbacks into the client's credential storage."""

CHAIN_LOST_DETAILS = "Client cannot connect anymore Failed to read credentials"
"""The real client's error details when registration finds 12-14 gone (code 17, no retry)."""

SECURITY_RESOURCES = (0, 1, 2, 3, 4, 5, 10, *CHAIN_RESOURCES)
"""The real client's /0 resources: no 11 (Client Hold-Off Time), an instance write naming it is
refused (tests/peers/test_peer_pdmc_bootstrap_bad_writes.py)."""
SERVER_RESOURCES = tuple(range(9))
LWM2M_INSTANCE = 0
REBOOTSTRAP_LWM2M_INSTANCE = 2
"""Where the client makes its new empty LwM2M account when it bootstraps again without restarting
(after dropping its credentials): the real client removes /0/0 and creates /0/2 (measured in its
trace: `remove_object_instance(inst_id 0)`, then `init_security_object id: 2`), so a bootstrap
server that only writes /0/0 leaves /0/2 empty and Bootstrap-Finish fails `Invalid security
object` unless it deleted /0 first."""
BOOTSTRAP_INSTANCE = 1
TRUE = b"\x01"
FALSE = b"\x00"
STORED = b"<in storage>"
"""Stands for a value the client reads from its storage through the chain callbacks."""


class WriteRefused(Exception):
    """A write the client answers with 4.00 (and reports as a bootstrap error)."""


def new_security_instance() -> Resources:
    """An LwM2M-server security instance as the client creates it: every resource empty."""
    instance: Resources = dict.fromkeys(SECURITY_RESOURCES, b"")
    instance[Security.BOOTSTRAP_SERVER] = FALSE
    return instance


def bootstrap_security_instance(uri: str, mode: SecurityMode) -> Resources:
    """The bootstrap-server instance the client makes from its stored bootstrap credentials."""
    instance = new_security_instance()
    instance[Security.SERVER_URI] = uri.encode()
    instance[Security.BOOTSTRAP_SERVER] = TRUE
    instance[Security.SECURITY_MODE] = tlv.encode_value(int(mode))
    if mode == SecurityMode.CERTIFICATE:
        for rid in (Security.PUBLIC_KEY_OR_IDENTITY, Security.SERVER_PUBLIC_KEY, Security.SECRET_KEY):
            instance[rid] = STORED
    return instance


def _int(value: bytes | dict | None) -> int:
    if not isinstance(value, bytes) or not value:
        return 0
    try:
        return tlv.as_int(value)
    except tlv.TlvError:
        return -1


def _check_certificate(values: Resources, instance: Resources) -> None:
    """A certificate-mode instance write's resource 3 must parse as a certificate: the real
    client parses it at the write (`pal_x509CertParse failed`) and refuses it, 4.00
    (tests/peers/test_peer_pdmc_bootstrap_bad_writes.py)."""
    cert = values.get(Security.PUBLIC_KEY_OR_IDENTITY)
    mode = values.get(Security.SECURITY_MODE, instance.get(Security.SECURITY_MODE))
    if not isinstance(cert, bytes) or not cert or _int(mode) != SecurityMode.CERTIFICATE:
        return
    try:
        load_chain(cert)
    except HilError:
        raise WriteRefused("resource 3 is not a certificate") from None


@dataclass
class ObjectModel:
    """Instances of /0 and /1 (raw TLV values per resource) as bootstrap writes change them."""

    security: dict[int, Resources] = field(default_factory=dict)
    server: dict[int, Resources] = field(default_factory=lambda: {0: dict.fromkeys(SERVER_RESOURCES, b"")})

    @classmethod
    def at_start(cls, bootstrap_uri: str, lwm2m_instance: int = LWM2M_INSTANCE) -> ObjectModel:
        """The objects of a client starting its bootstrap towards `bootstrap_uri`, its empty
        LwM2M account at `lwm2m_instance`."""
        mode = SecurityMode.CERTIFICATE if bootstrap_uri.startswith("coaps:") else SecurityMode.NOSEC
        return cls(security={lwm2m_instance: new_security_instance(),
                             BOOTSTRAP_INSTANCE: bootstrap_security_instance(bootstrap_uri, mode)})

    def _object(self, obj: int) -> dict[int, Resources]:
        return self.security if obj == 0 else self.server

    def write(self, path: tuple[int, ...], payload: bytes) -> None:
        """Apply a TLV PUT to /0/... or /1/... (raises WriteRefused or tlv.TlvError)."""
        obj = path[0]
        entries = tlv.decode(payload)
        if not entries:
            raise WriteRefused("empty TLV payload")
        if entries[0].kind is tlv.TlvKind.OBJECT_INSTANCE:
            for entry in entries:
                if entry.kind is not tlv.TlvKind.OBJECT_INSTANCE:
                    raise WriteRefused("object instances mixed with resources")
                self._update(obj, entry.id, tlv.resources_of(entry.children))
            return
        if entries[0].kind not in (tlv.TlvKind.RESOURCE, tlv.TlvKind.MULTIPLE_RESOURCE):
            raise WriteRefused("TLV is neither an object instance nor a resource")
        instance = path[1] if len(path) > 1 else entries[0].id
        self._replace(obj, instance, tlv.resources_of(entries))

    def _update(self, obj: int, iid: int, values: Resources) -> None:
        instances = self._object(obj)
        if iid not in instances:
            if obj != 0:
                raise WriteRefused(f"/{obj}/{iid} does not exist")
            instances[iid] = new_security_instance()
        missing = [rid for rid in values if rid not in instances[iid]]
        if missing:
            raise WriteRefused(f"/{obj}/{iid} has no resource {missing[0]}")
        if obj == 0:
            _check_certificate(values, instances[iid])
        instances[iid].update(values)

    def _replace(self, obj: int, iid: int, values: Resources) -> None:
        instances = self._object(obj)
        if iid not in instances:
            raise WriteRefused(f"/{obj}/{iid} does not exist")
        missing = [rid for rid in values if rid not in instances[iid]]
        if missing and obj != 0:  # /0/0/7 replaces /0/0 too (real client: BS FIN fails, not PUT)
            raise WriteRefused(f"/{obj}/{iid} has no resource {missing[0]}")
        instances[iid] = dict(values)  # the resources not listed are gone

    def delete_servers(self, iid: int | None = None) -> None:
        """DELETE /0 (every non-bootstrap instance) or /0/<iid>."""
        if iid is not None:
            self.security.pop(iid, None)
            return
        self.security = {i: r for i, r in self.security.items()
                         if r.get(Security.BOOTSTRAP_SERVER) == TRUE}

    def valid(self) -> bool:
        """The client's validate_security_object: every instance usable."""
        if not self.security:
            return False
        for instance in self.security.values():
            if not instance.get(Security.SERVER_URI):
                return False
            mode = _int(instance.get(Security.SECURITY_MODE))
            if mode == SecurityMode.CERTIFICATE:
                if not all(instance.get(rid) for rid in (Security.PUBLIC_KEY_OR_IDENTITY,
                                                          Security.SERVER_PUBLIC_KEY,
                                                          Security.SECRET_KEY)):
                    return False
            elif mode == SecurityMode.PSK:
                if not (instance.get(Security.PUBLIC_KEY_OR_IDENTITY)
                        and instance.get(Security.SECRET_KEY)):
                    return False
            elif mode != SecurityMode.NOSEC:
                return False
        return True

    def lwm2m_instance(self) -> Resources | None:
        """The security instance of the LwM2M server (Bootstrap-Server false, with a URI)."""
        for _iid, res in sorted(self.security.items()):
            if res.get(Security.BOOTSTRAP_SERVER) != TRUE and res.get(Security.SERVER_URI):
                return res
        return None

    def bootstrap_instance(self) -> Resources | None:
        """The security instance of the bootstrap server (Bootstrap-Server true)."""
        for _iid, res in sorted(self.security.items()):
            if res.get(Security.BOOTSTRAP_SERVER) == TRUE:
                return res
        return None

    def discover(self, obj: int | None = None) -> str:
        """A Bootstrap-Discover answer (link-format) for / or /0 or /1 (OMA LwM2M Core §5.2.7.3).

        Security instances of LwM2M servers carry `ssid` (and `uri` when set); the
        bootstrap-server instance carries neither; server instances carry `ssid`.
        """
        links = ['</>;lwm2m="1.0"'] if obj is None else []
        if obj in (None, 0):
            for iid, res in sorted(self.security.items()):
                attrs = ""
                if res.get(Security.BOOTSTRAP_SERVER) != TRUE:
                    attrs = f";ssid={_int(res.get(Security.SHORT_SERVER_ID)) or 1}"
                    uri = res.get(Security.SERVER_URI)
                    if isinstance(uri, bytes) and uri:
                        attrs += f';uri="{uri.decode("utf-8", "replace")}"'
                links.append(f"</0/{iid}>{attrs}")
        if obj in (None, 1):
            for iid, res in sorted(self.server.items()):
                links.append(f"</1/{iid}>;ssid={_int(res.get(0)) or 1}")
        if obj is None:
            links.append("</3/0>")
        return ",".join(links)
