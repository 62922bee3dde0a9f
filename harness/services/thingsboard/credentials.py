"""ThingsBoard's device credentials: their ids, their validation, and who a CONNECT is.

ThingsBoard looks credentials up by `credentialsId`: the access token itself, a hash of the
basic MQTT identity (client ID and/or user name), or a hash of the X.509 certificate.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import string
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness import pki
from harness.services.thingsboard import records as r
from harness.services.thingsboard.store import StoreError, TbStore

PROVISION_USER = "provision"
"""The MQTT user name of a device provisioning session."""
TOKEN_ALPHABET = string.ascii_letters + string.digits


def sha3(*parts: str) -> str:
    """SHA3-256 (hex) of the parts joined with '|' (how the lookup ids are made)."""
    return hashlib.sha3_256("|".join(parts).encode()).hexdigest()


def new_access_token() -> str:
    """A random 20-character access token, like the ones ThingsBoard generates."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(20))


def cert_body(pem: str) -> str:
    """The base64 body of a PEM certificate, without header, footer or line breaks."""
    lines = [line.strip() for line in pem.strip().splitlines()]
    return "".join(line for line in lines if line and not line.startswith("-----"))


def cert_hash(cert: x509.Certificate | str | bytes) -> str:
    """The X.509 credentialsId: SHA3-256 of the certificate's base64 body."""
    if isinstance(cert, x509.Certificate):
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    elif isinstance(cert, bytes):
        pem = pki.load_certificate(cert).public_bytes(serialization.Encoding.PEM).decode()
    else:
        pem = cert
    return sha3(cert_body(pem))


def basic_id(client_id: str | None, user_name: str | None) -> str:
    """The MQTT_BASIC credentialsId of a client ID and/or user name."""
    if client_id and user_name:
        return sha3(client_id, user_name)
    if client_id:
        return sha3("clientId", client_id)
    return sha3("userName", user_name or "")


def normalize(type_: str, credentials_id: str | None, value: str | dict | None) -> tuple[str, str | None]:
    """(credentialsId, credentialsValue) of a credentials body; StoreError naming the mistake."""
    if type_ == r.ACCESS_TOKEN:
        token = credentials_id or (value if isinstance(value, str) else None)
        if not token or len(token) > 32 or not re.fullmatch(r"\S+", token):
            raise StoreError("Incorrect access token: give 1-32 characters without spaces.")
        return token, None
    if type_ == r.MQTT_BASIC:
        data = json.loads(value) if isinstance(value, str) else (value or {})
        if not isinstance(data, dict):
            raise StoreError("MQTT_BASIC credentialsValue must be a JSON object.")
        client_id, user, password = (data.get(k) or None for k in ("clientId", "userName", "password"))
        if not client_id and not user:
            raise StoreError("Both mqtt client id and user name are empty; set at least one.")
        if password and not user:
            raise StoreError("Password requires a user name; set userName too.")
        body = json.dumps({"clientId": client_id, "userName": user, "password": password})
        return basic_id(client_id, user), body
    if type_ == r.X509_CERTIFICATE:
        pem = value if isinstance(value, str) else None
        if not pem:
            raise StoreError("X509_CERTIFICATE needs the device certificate (PEM) in credentialsValue.")
        try:
            cert = pki.load_certificate(pem.encode() if "BEGIN" in pem else
                                        b"-----BEGIN CERTIFICATE-----\n" + pem.encode()
                                        + b"\n-----END CERTIFICATE-----\n")
        except pki.CertificateError:
            raise StoreError("X509_CERTIFICATE credentialsValue is not a PEM certificate.") from None
        full = cert.public_bytes(serialization.Encoding.PEM).decode()
        return cert_hash(full), full
    raise StoreError(f"Unknown credentialsType {type_!r}; use one of {', '.join(r.CREDENTIALS_TYPES)}.")


@dataclass(frozen=True)
class Verdict:
    """Who a CONNECT is: a device, a provisioning session, or refused with a reason."""

    accepted: bool
    reason: str
    device_id: str | None = None
    credentials_type: str | None = None
    provisioning: bool = False


def _refuse(reason: str, type_: str | None = None) -> Verdict:
    return Verdict(False, reason, credentials_type=type_)


def authenticate(store: TbStore, client_id: str | None, user: str | None, password: str | None,
                 peer_cert: x509.Certificate | None) -> Verdict:
    """Decide a CONNECT like ThingsBoard: certificate first, then provisioning, basic, token."""
    if peer_cert is not None:
        return _by_certificate(store, peer_cert)
    if user == PROVISION_USER and not password:
        return Verdict(True, "provisioning session", provisioning=True)
    if password:
        verdict = _by_basic(store, client_id, user, password)
        if verdict is not None:
            return verdict
    elif client_id or user:
        verdict = _by_basic(store, client_id, user, None)
        if verdict is not None:
            return verdict
    if user:
        creds = store.credentials_by_id(user)
        if creds is not None and creds.type == r.ACCESS_TOKEN:
            return Verdict(True, "access token", creds.device_id, r.ACCESS_TOKEN)
        if password:
            return _refuse("unknown basic MQTT credentials (no device has this user name/client ID)",
                           r.MQTT_BASIC)
        return _refuse("unknown access token", r.ACCESS_TOKEN)
    return _refuse("no credentials: the CONNECT has no user name and no client certificate")


def _by_basic(store: TbStore, client_id: str | None, user: str | None,
              password: str | None) -> Verdict | None:
    """The verdict for a matching MQTT_BASIC entry, or None when none matches."""
    candidates = []
    if client_id and user:
        candidates.append(basic_id(client_id, user))
    if client_id:
        candidates.append(basic_id(client_id, None))
    if user:
        candidates.append(basic_id(None, user))
    for cid in candidates:
        creds = store.credentials_by_id(cid)
        if creds is None or creds.type != r.MQTT_BASIC:
            continue
        expected = creds.basic()["password"]
        if expected and expected != (password or ""):
            return _refuse("wrong password for basic MQTT credentials", r.MQTT_BASIC)
        return Verdict(True, "basic MQTT credentials", creds.device_id, r.MQTT_BASIC)
    return None


def _by_certificate(store: TbStore, cert: x509.Certificate) -> Verdict:
    creds = store.credentials_by_id(cert_hash(cert))
    if creds is not None and creds.type == r.X509_CERTIFICATE:
        return Verdict(True, "X.509 certificate", creds.device_id, r.X509_CERTIFICATE)
    for profile in store.profiles():
        if profile.provision_type != r.X509_CERTIFICATE_CHAIN or not profile.certificate_pem:
            continue
        ca = pki.load_certificate(profile.certificate_pem.encode())
        if not pki.issued_by(cert, ca):
            continue
        if not profile.allow_create_by_x509:
            return _refuse(f"unknown certificate: profile {profile.name!r} trusts its CA but does not "
                           "allow creating new devices by X.509 certificate", r.X509_CERTIFICATE)
        name = device_name_from_cert(cert, profile.certificate_regex)
        if name is None:
            return _refuse(f"certificate CN does not match profile {profile.name!r} pattern "
                           f"{profile.certificate_regex!r}", r.X509_CERTIFICATE)
        device = store.device_by_name(name) or store.create_device(name, profile_id=profile.id)
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        store.set_credentials(device.id, r.X509_CERTIFICATE, cert_hash(pem), pem)
        store.mark_provisioned(device.id)
        store.record("device_created", f"created from an X.509 certificate chain (profile {profile.name})",
                     device_id=device.id, credentials_type=r.X509_CERTIFICATE)
        return Verdict(True, "X.509 certificate chain", device.id, r.X509_CERTIFICATE)
    return _refuse("unknown certificate: no device has it and no profile trusts its issuer",
                   r.X509_CERTIFICATE)


def device_name_from_cert(cert: x509.Certificate, pattern: str) -> str | None:
    """The device name the profile's certificateRegExPattern takes from the CN (first group)."""
    cn = pki.subject_fields(cert).get("CN", "")
    match = re.search(pattern, cn)
    if not match:
        return None
    return (match.group(1) if match.groups() else match.group(0)) or None
