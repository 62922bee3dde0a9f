"""Who may bootstrap into which account, and as which device: the bootstrap server's rules.

The texts of `Denied` are the documented troubleshooting messages; they travel to the device as
the diagnostic payload of the error response and are asserted end to end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from harness.client.troubleshooting import (
    BAD_REQUEST,
    DEVELOPER_LIMIT,
    DUPLICATE_ENDPOINT,
    FORBIDDEN,
    INVALID_CERTIFICATE,
    NOT_ENROLLED,
    NOT_IN_ACCOUNT,
    QUOTA_REACHED,
)
from harness.cloud import events as ev
from harness.cloud.ca import ServicePki
from harness.cloud.records import (
    Account,
    DeveloperCertificateRecord,
    Device,
    DeviceState,
    ExecutionMode,
    TrustedCertificate,
    new_id,
    utcnow,
)
from harness.cloud.store import Store
from harness.pki import enrollment_id, load_certificate, subject_fields
from harness.transport import NOSEC, PeerIdentity

DEVICES_PER_DEVELOPER_CERT = 100
UNKNOWN_PSK = "PSK identity not registered"


class Denied(Exception):
    """A Bootstrap-Request the service refuses: CoAP code text ("4.03") and diagnostic payload."""

    def __init__(self, code: str, text: str, **context: str | None) -> None:
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text
        self.context = context


@dataclass(frozen=True)
class BootstrapRequest:
    """The parts of a Bootstrap-Request the rules look at."""

    endpoint_name: str
    account_id: str | None = None
    internal_endpoint: str | None = None
    identity: PeerIdentity = NOSEC

    @property
    def peer_cert_der(self) -> bytes | None:
        """The peer's certificate (DER) when it authenticated with one."""
        return self.identity.certificate


@dataclass(frozen=True)
class BootstrapPlan:
    """What the server will provision: the account, the device entry, and how it got there."""

    account: Account
    device: Device
    first_to_claim: bool
    new_device: bool
    nosec: bool
    peer_cert: x509.Certificate | None
    psk_identity: str | None = None
    created: ev.Event | None = None
    """The device-created event, stored with the new device (publish it with persisted=True)."""


def fingerprint_hex(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate's DER (the device_key of the directory)."""
    return cert.fingerprint(hashes.SHA256()).hex()


class BootstrapRules:
    """Applies the bootstrap rules against the store; creates or reuses the device entry."""

    def __init__(self, store: Store, pki: ServicePki, *, nosec_default_account: str | None = None):
        self.store = store
        self.pki = pki
        self.nosec_default_account = nosec_default_account

    def decide(self, request: BootstrapRequest) -> BootstrapPlan:
        """The plan for this request, or raise Denied with the documented reason."""
        if request.identity.kind == "psk":
            return self._psk(request)
        if request.identity.kind == "none":
            return self._nosec(request)
        cert = load_certificate(request.peer_cert_der)
        fingerprint = fingerprint_hex(cert)
        if subject_fields(cert).get("CN") != request.endpoint_name:
            # an incorrect own certificate: the client shows ConnectInvalidParameters (<= 4.7)
            raise Denied(BAD_REQUEST, INVALID_CERTIFICATE, fingerprint=fingerprint,
                         endpoint_name=request.endpoint_name)
        if self.pki.is_developer_credential(cert):
            devcert = self.store.find_developer_certificate(fingerprint)
            if devcert is not None:
                return self._developer(request, cert, devcert)
        if request.account_id:
            account = self.store.get_account(request.account_id)
            trusted = self._trusting_ca(account, cert, enrollment_only=False) if account else None
            if account is None or trusted is None:
                raise Denied(FORBIDDEN, NOT_IN_ACCOUNT, account_id=request.account_id,
                             fingerprint=fingerprint, endpoint_name=request.endpoint_name)
            return self._production(request, account, cert, trusted, first_to_claim=False)
        identity = enrollment_id(cert)
        enrollment = self.store.find_enrollment(identity)
        if enrollment is not None and enrollment.expires_at and enrollment.expires_at < utcnow():
            enrollment = None
        if enrollment is None:
            raise Denied(FORBIDDEN, NOT_ENROLLED, enrollment_identity=identity,
                         fingerprint=fingerprint, endpoint_name=request.endpoint_name)
        account = self.store.get_account(enrollment.account_id)
        trusted = self._trusting_ca(account, cert, enrollment_only=True) if account else None
        if account is None or trusted is None:
            raise Denied(FORBIDDEN, NOT_IN_ACCOUNT, account_id=enrollment.account_id,
                         enrollment_identity=identity, fingerprint=fingerprint,
                         endpoint_name=request.endpoint_name)
        plan = self._production(request, account, cert, trusted, first_to_claim=True)
        self.store.claim_enrollment(enrollment.id, plan.device.id)
        return plan

    def _trusting_ca(self, account: Account, cert: x509.Certificate, *,
                     enrollment_only: bool) -> TrustedCertificate | None:
        return self.store.trusted_issuer(account.id, cert, service="bootstrap",
                                         enrollment_only=enrollment_only)

    def _check_quota(self, account: Account) -> None:
        if self.store.count_devices(account.id) >= account.device_quota:
            raise Denied(FORBIDDEN, QUOTA_REACHED, account_id=account.id)

    def _production(self, request: BootstrapRequest, account: Account, cert: x509.Certificate,
                    trusted: TrustedCertificate, *, first_to_claim: bool) -> BootstrapPlan:
        fingerprint = fingerprint_hex(cert)
        device = None
        if request.internal_endpoint:
            candidate = self.store.get_device(request.internal_endpoint)
            if (candidate and candidate.account_id == account.id
                    and candidate.device_key in (None, fingerprint)):
                device = candidate
        if device is None:
            known = self.store.list_devices(account.id, device_key=fingerprint)
            same_name = [d for d in known if d.endpoint_name == request.endpoint_name]
            device = (same_name or known or [None])[0]
        if device is None:
            clash = [d for d in self.store.list_devices(account.id, endpoint_name=request.endpoint_name)
                     if d.device_key != fingerprint]
            if clash:
                raise Denied(FORBIDDEN, DUPLICATE_ENDPOINT, account_id=account.id,
                             fingerprint=fingerprint, endpoint_name=request.endpoint_name,
                             trusted_certificate_id=trusted.id)
        return self._enter(account, device, request.endpoint_name, cert, ca_id=trusted.id,
                           mode=ExecutionMode.PRODUCTION, first_to_claim=first_to_claim)

    def _developer(self, request: BootstrapRequest, cert: x509.Certificate,
                   devcert: DeveloperCertificateRecord) -> BootstrapPlan:
        if request.account_id and request.account_id != devcert.account_id:
            raise Denied(FORBIDDEN, NOT_IN_ACCOUNT, account_id=request.account_id,
                         fingerprint=fingerprint_hex(cert), endpoint_name=request.endpoint_name)
        account = self.store.get_account(devcert.account_id)
        if account is None:
            raise Denied(FORBIDDEN, NOT_IN_ACCOUNT, account_id=devcert.account_id)
        device = None
        if request.internal_endpoint:
            candidate = self.store.get_device(request.internal_endpoint)
            if candidate and candidate.account_id == account.id:
                device = candidate
        if device is None and (self.store.count_devices(
                account.id, developer_certificate_id=devcert.id) >= DEVICES_PER_DEVELOPER_CERT):
            raise Denied(FORBIDDEN, DEVELOPER_LIMIT, account_id=account.id,
                         fingerprint=fingerprint_hex(cert), endpoint_name=request.endpoint_name)
        return self._enter(account, device, request.endpoint_name, cert, ca_id="developer",
                           mode=ExecutionMode.DEVELOPER, first_to_claim=False,
                           developer_certificate_id=devcert.id)

    def _psk(self, request: BootstrapRequest) -> BootstrapPlan:
        identity = request.identity.psk_identity or ""
        record = self.store.psk.get(identity)
        account = self.store.get_account(record.account_id) if record else None
        if record is None or account is None:
            raise Denied(FORBIDDEN, UNKNOWN_PSK, endpoint_name=request.endpoint_name)
        known = self.store.list_devices(account.id, endpoint_name=request.endpoint_name)
        plan = self._enter(account, known[0] if known else None, request.endpoint_name, None,
                           ca_id=None, mode=ExecutionMode.UNKNOWN, first_to_claim=False)
        return replace(plan, first_to_claim=False, nosec=False, peer_cert=None,
                       psk_identity=identity)

    def _nosec(self, request: BootstrapRequest) -> BootstrapPlan:
        aid = request.account_id or self.nosec_default_account
        if not aid:
            raise Denied("4.00", "NoSec bootstrap needs the account: add aid=<account id> to the "
                         "Bootstrap-Request query", endpoint_name=request.endpoint_name)
        account = self.store.get_account(aid)
        if account is None:
            raise Denied(FORBIDDEN, NOT_IN_ACCOUNT, account_id=aid,
                         endpoint_name=request.endpoint_name)
        device = None
        if request.internal_endpoint:
            candidate = self.store.get_device(request.internal_endpoint)
            if candidate and candidate.account_id == account.id:
                device = candidate
        if device is None:
            known = self.store.list_devices(account.id, endpoint_name=request.endpoint_name)
            device = known[0] if known else None
        plan = self._enter(account, device, request.endpoint_name, None, ca_id=None,
                           mode=ExecutionMode.UNKNOWN, first_to_claim=False)
        return replace(plan, first_to_claim=False, nosec=True, peer_cert=None)

    def _enter(self, account: Account, device: Device | None, endpoint_name: str,
               cert: x509.Certificate | None, *, ca_id: str | None, mode: int, first_to_claim: bool,
               developer_certificate_id: str | None = None) -> BootstrapPlan:
        """Create the device entry (after the quota check) or move a known one to cloud_enrolling."""
        attrs = {
            "device_key": fingerprint_hex(cert) if cert is not None else None,
            "ca_id": ca_id,
            "execution_mode": int(mode),
            "bootstrap_expiration_date": cert.not_valid_after_utc if cert is not None else None,
            "lwm2m_mode": "bootstrap",
        }
        if developer_certificate_id:
            attrs["developer_certificate_id"] = developer_certificate_id
        created = None
        if device is None:  # one transaction: the device and its creation event
            self._check_quota(account)
            device_id = new_id()
            created = ev.Event(ev.DEVICE_CREATED, device_id, account.id, {
                "ep": device_id, "original-ep": endpoint_name,
                "state": str(DeviceState.CLOUD_ENROLLING)})
            device = self.store.create_device(account.id, endpoint_name, device_id=device_id,
                                              events=[ev.row(created)], **attrs)
        else:
            device = self.store.update_device(device.id, endpoint_name=endpoint_name,
                                              state=DeviceState.CLOUD_ENROLLING, **attrs)
        return BootstrapPlan(account, device, first_to_claim, created is not None, cert is None,
                             cert, created=created)
