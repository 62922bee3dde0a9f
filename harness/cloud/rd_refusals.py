"""A refused Register, kept for troubleshooting: a denial in the store and an event."""

from __future__ import annotations

import contextlib

from aiocoap import Message

from harness.cloud import events as ev
from harness.cloud.bootstrap_policy import fingerprint_hex
from harness.cloud.coap_util import QueryError, parse_query
from harness.cloud.lwm2m_rules import RuleError
from harness.cloud.store import Store
from harness.pki import load_certificate, subject_fields
from harness.transport import peer_identity


def record_refusal(store: Store, events: ev.EventBus, request: Message, refused: RuleError) -> None:
    """Record why a Register was refused: a denial row and a registration-error event."""
    query = {}
    with contextlib.suppress(QueryError):
        query = parse_query(request)
    cert_der = peer_identity(request.remote).certificate
    subject = subject_fields(load_certificate(cert_der)) if cert_der else {}
    account_id = query.get("aid") or subject.get("OU")
    if account_id and store.get_account(account_id) is None:
        account_id = None
    reason = f"Register refused: {refused.text}"
    store.record_denial(reason, endpoint_name=query.get("ep"), account_id=account_id,
                        fingerprint=fingerprint_hex(load_certificate(cert_der)) if cert_der else None)
    events.publish(ev.Event(ev.REGISTRATION_ERROR, None, account_id, {
        "original-ep": query.get("ep"), "code": str(refused.code), "reason": refused.text}))
