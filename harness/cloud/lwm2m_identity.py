"""Who registers: the account and device an LwM2M Register belongs to, from the peer's identity.

PSK peers are known by their PSK identity, certificate peers by their LwM2M certificate (issued at
bootstrap: L = device id, OU = account) or by a CA the account trusts for direct LwM2M, and NoSec
peers by `aid=`/`d=` or the service's standard account. The identity comes from the transport
(harness.transport.peer_identity): a DTLS peer is never taken as NoSec.
"""

from __future__ import annotations

from harness.client.troubleshooting import NOT_IN_ACCOUNT
from harness.cloud.ca import ServicePki
from harness.cloud.lwm2m_rules import RuleError
from harness.cloud.records import Account, Device
from harness.cloud.store import Store
from harness.pki import load_certificate, subject_fields
from harness.transport import PeerIdentity

DIRECT_NEEDS_COMMERCIAL = "Direct LwM2M registration needs a commercial account"
UNKNOWN_DEVICE = "Device not in the directory; bootstrap again"


def identify(store: Store, pki: ServicePki, identity: PeerIdentity, query: dict[str, str],
             nosec_default_account: str | None) -> tuple[Account, Device | None, str]:
    """(account, known device or None, mode psk|nosec|bootstrap|direct), or RuleError 4.03."""
    endpoint = query["ep"]
    cert_der = identity.certificate
    if identity.kind == "psk":
        record = store.psk.get(identity.psk_identity or "")
        account = store.get_account(record.account_id) if record else None
        if record is None or account is None:
            raise RuleError("4.03", f"PSK identity {identity.psk_identity!r} is not known; "
                                    "add it with `hil cloud serve --psk` or the admin API")
        known = store.list_devices(account.id, endpoint_name=endpoint)
        return account, (known[-1] if known else None), "psk"
    if cert_der is None:
        aid = query.get("aid") or query.get("d") or nosec_default_account
        account = store.get_account(aid) if aid else None
        if account is None:
            raise RuleError("4.03", f"NoSec registration needs a known account: add aid=<account id> "
                                    f"to the query (got {aid!r})")
        known = store.list_devices(account.id, endpoint_name=endpoint)
        return account, (known[-1] if known else None), "nosec"
    cert = load_certificate(cert_der)
    if pki.is_lwm2m_credential(cert):
        fields = subject_fields(cert)
        device = store.get_device(fields.get("L", ""))
        account = store.get_account(fields.get("OU", ""))
        if device is None or account is None or device.account_id != account.id:
            raise RuleError("4.03", UNKNOWN_DEVICE)
        return account, device, "bootstrap"
    aid = query.get("aid") or query.get("d") or subject_fields(cert).get("OU")
    account = store.get_account(aid) if aid else None
    trusted = store.trusted_issuer(account.id, cert, service="lwm2m") if account else None
    if account is None or trusted is None:
        raise RuleError("4.03", NOT_IN_ACCOUNT)
    if not account.commercial:
        raise RuleError("4.03", DIRECT_NEEDS_COMMERCIAL)
    known = [d for d in store.list_devices(account.id, endpoint_name=endpoint)
             if d.lwm2m_mode == "direct"]
    return account, (known[-1] if known else None), "direct"
