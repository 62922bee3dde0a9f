"""What the virtual client keeps when a Bootstrap-Finish succeeds: the written LwM2M server
credentials, stored in one atomic write (a power cut keeps all of them or none)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.client import console as text
from harness.client.errors import ClientError
from harness.client.failures import Failure
from harness.errors import HilError
from harness.lwm2m.ids import Device, Security, SecurityMode
from harness.lwm2m.tlv import TlvError, as_int, as_str
from harness.pki import subject_fields
from harness.provisioning import items
from harness.sim.client.bootstrap_site import BootstrapData
from harness.sim.client.credentials import (
    LWM2M_SECURITY_MODE,
    ServerCredentials,
    load_chain,
    query_value,
)
from harness.sim.client.outcomes import Retry, finish_failed
from harness.sim.client.security_object import CHAIN_RESOURCES


@dataclass(frozen=True)
class Committed:
    """What the client learnt from a committed bootstrap besides the stored items."""

    device_id: str | None
    """The device ID from the LwM2M certificate's subject L, or None."""
    chain_resources_lost: bool
    """A bare resource-list write removed /0/x/12-14: registration cannot read its credentials."""


def raw(resources: dict, rid: int) -> bytes:
    """A resource's bytes ('' when absent or not bytes)."""
    value = resources.get(rid, b"")
    return value if isinstance(value, bytes) else b""


def commit_bootstrap(store, data: BootstrapData, bs_creds: ServerCredentials) -> Committed:
    """Store what Bootstrap-Finish committed (runtime items), or raise Retry."""
    lwm2m = data.lwm2m_instance()
    if lwm2m is None:
        # the real client, finished without an LwM2M account, reports `Re-bootstrapping` first
        # (then failures to store and read the credentials, not emulated)
        raise Retry(Failure(ClientError.ConnectBootstrapFailed, text.DETAILS_REBOOTSTRAP))
    try:
        uri = as_str(raw(lwm2m, Security.SERVER_URI))
        mode = as_int(raw(lwm2m, Security.SECURITY_MODE)) if Security.SECURITY_MODE in lwm2m \
            else SecurityMode.CERTIFICATE
    except TlvError:
        raise Retry(finish_failed("invalid security object")) from None
    material = {r: raw(lwm2m, r) for r in (Security.PUBLIC_KEY_OR_IDENTITY,
                                            Security.SERVER_PUBLIC_KEY, Security.SECRET_KEY)}
    if mode == SecurityMode.CERTIFICATE and not all(material.values()):
        raise Retry(finish_failed("certificate mode without cert, CA and key"))
    psk = mode == SecurityMode.PSK
    if psk and not (material[Security.PUBLIC_KEY_OR_IDENTITY] and material[Security.SECRET_KEY]):
        raise Retry(finish_failed("PSK mode without identity and key"))
    if mode not in (SecurityMode.CERTIFICATE, SecurityMode.NOSEC, SecurityMode.PSK):
        raise Retry(finish_failed(f"unsupported security mode {mode}"))
    try:
        subject = subject_fields(load_chain(material[Security.PUBLIC_KEY_OR_IDENTITY])[0]) \
            if material[Security.PUBLIC_KEY_OR_IDENTITY] and not psk else {}
    except HilError:
        raise Retry(finish_failed("invalid LwM2M certificate")) from None
    try:
        _store(store, data, bs_creds, uri, mode, material, subject)
    except (HilError, OSError, TlvError):
        raise Retry(Failure(ClientError.ConnectorFailedToStoreCredentials,
                            text.DETAILS_STORE_FAILED)) from None
    # the lifetime written to /1/0/1 is not read: the client registers with its build's
    # (tests/peers/test_peer_pdmc_wire_queries.py)
    return Committed(subject.get("L"),
                     not all(rid in lwm2m for rid in CHAIN_RESOURCES))


def _store(store, data: BootstrapData, bs_creds: ServerCredentials, uri: str, mode: int,
           material: dict[int, bytes], subject: dict[str, str]) -> None:
    """Write the changed items in one atomic store write, then drop stale certificates."""
    pending: dict[str, bytes] = {}  # written in one atomic store write (a crash: all or none)

    def put(name: str, value: bytes) -> None:
        if store.get(name) != value:
            pending[name] = value

    put(items.LWM2M_SERVER_URI, uri.encode())
    put(LWM2M_SECURITY_MODE, int(mode).to_bytes(4, "little"))
    stale = []  # NoSec and PSK leave no stale certificate behind
    for name, rid in ((items.LWM2M_DEVICE_CERT, Security.PUBLIC_KEY_OR_IDENTITY),
                      (items.LWM2M_SERVER_CA_CERT, Security.SERVER_PUBLIC_KEY),
                      (items.LWM2M_DEVICE_PRIVATE_KEY, Security.SECRET_KEY)):
        if material[rid]:
            put(name, material[rid])
        else:
            stale.append(name)
    if subject.get("L"):
        put(items.INTERNAL_ENDPOINT, subject["L"].encode())
    aid = query_value(uri, "aid")
    if aid:
        put(items.ACCOUNT_ID, aid.encode())
    if store.get_int(items.FIRST_TO_CLAIM):
        put(items.FIRST_TO_CLAIM, (0).to_bytes(4, "little"))
    bs_instance = data.bootstrap_instance()
    if bs_instance is not None and bs_instance.get(Security.SERVER_URI):
        new_bs_uri = as_str(raw(bs_instance, Security.SERVER_URI))
        if new_bs_uri and new_bs_uri != bs_creds.uri:
            put(items.BOOTSTRAP_SERVER_URI, new_bs_uri.encode())
    for rid, name in ((Device.UTC_OFFSET, items.UTC_OFFSET), (Device.TIMEZONE, items.TIMEZONE)):
        # only a value the device already holds is updated: a developer device (none stored)
        # answers 2.04 to the write and still has no /3/0/14, 15 (measured on the real client,
        # tests/peers/test_peer_pdmc_bootstrap_stored.py)
        if isinstance(data.device.get(rid), bytes) and data.device[rid] and store.get(name):
            put(name, data.device[rid])
    if pending:
        store.put_many(pending, factory=False)
    for name in stale:
        store.delete(name)
