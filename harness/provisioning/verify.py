"""fcc_verify_device_configured_4mbed_cloud: the checks of protocol-facts.md 1.5, in order."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from harness import pki
from harness.provisioning import items as it
from harness.provisioning.bundle import BundleError
from harness.provisioning.der import split_der_chain
from harness.provisioning.items import FccStatus
from harness.provisioning.kcm import load_certificate, load_p256_private
from harness.provisioning.store import ItemStore

TEN_YEARS_SECONDS = 10 * 365 * 24 * 60 * 60
CLOCK_SLACK_SECONDS = 60
_UTC_OFFSET_RE = re.compile(rb"^[+-][0-9]{2}:[0-9]{2}")


@dataclass
class Verification:
    """Where verification stands: the warnings so far (each `<prefix><item>`)."""

    store: ItemStore
    now: float
    production: bool = True
    warnings: list[str] = field(default_factory=list)

    def warn(self, prefix: str, item: str) -> None:
        """Record one warning line."""
        self.warnings.append(prefix + item)


def ca_identifier(ca_der: bytes) -> bytes:
    """The identifier the device keeps of its trusted bootstrap CA (for secure time)."""
    return hashlib.sha256(ca_der).digest()


def verify_device(store: ItemStore, now: float, *, production: bool = True,
                  warnings: list[str] | None = None) -> list[str]:
    """Run every check in order; return the warnings, or raise BundleError on the first error.

    `warnings` (if given) receives each warning as it is made, so the caller still has the
    ones gathered before an error (the real client sends them with the error response).
    """
    if warnings is not None:
        warnings.clear()  # fcc_clean_output_info_handler at the start of verification
    v = Verification(store, now, production, warnings if warnings is not None else [])
    _check_time(v)
    use_bootstrap = _check_bootstrap_mode(v)
    _require(v, it.ENDPOINT_NAME)
    for name in it.DEVICE_METADATA:  # presence only: an empty value is accepted
        if v.store.get(name) is None:
            raise BundleError(FccStatus.ITEM_NOT_EXIST, name)
    _check_root_ca(v, use_bootstrap)
    _check_server_uri(v, use_bootstrap)
    _check_device_cert_and_key(v, use_bootstrap)
    _check_update_cert(v)
    for name in it.UUID_ITEMS:
        _check_uuid(v, name)
    return v.warnings


def bootstrap_mode(store: ItemStore, warnings: list[str]) -> bool:
    """fcc_get_bootstrap_mode on its own (the CA-identifier step runs it before verification)."""
    return _check_bootstrap_mode(Verification(store, 0.0, warnings=warnings))


def _require(v: Verification, name: str) -> bytes:
    data = v.store.get(name)
    if data is None:
        raise BundleError(FccStatus.ITEM_NOT_EXIST, name)
    if not data:
        raise BundleError(FccStatus.EMPTY_ITEM, name)
    return data


def _check_time(v: Verification) -> None:
    if v.now == 0:
        v.warn(it.WARN_ITEM_NOT_SET, it.CURRENT_TIME)
    if not v.store.get(it.TIMEZONE):
        v.warn(it.WARN_ITEM_NOT_SET, it.TIMEZONE)
    offset = v.store.get(it.UTC_OFFSET)
    if not offset:
        v.warn(it.WARN_ITEM_NOT_SET, it.UTC_OFFSET)
    elif not _UTC_OFFSET_RE.match(offset):
        raise BundleError(FccStatus.UTC_OFFSET_WRONG_FORMAT, it.UTC_OFFSET)


def _check_bootstrap_mode(v: Verification) -> bool:
    data = v.store.get(it.USE_BOOTSTRAP)
    if data is None:
        raise BundleError(FccStatus.ITEM_NOT_EXIST, it.USE_BOOTSTRAP)
    # the client reads the first 4 bytes into a uint32; a shorter item leaves garbage in it
    value = int.from_bytes(data[:4], "little") if len(data) >= 4 else -1
    if value not in (0, 1):
        raise BundleError(FccStatus.BOOTSTRAP_MODE_ERROR, it.USE_BOOTSTRAP)
    if value == 0:
        v.warn(it.WARN_BOOTSTRAP_MODE_FALSE, it.USE_BOOTSTRAP)
    return value == 1


def _mode_names(use_bootstrap: bool, bootstrap_name: str, lwm2m_name: str) -> tuple[str, str]:
    return (bootstrap_name, lwm2m_name) if use_bootstrap else (lwm2m_name, bootstrap_name)


def _warn_if_present(v: Verification, name: str) -> None:
    if v.store.get(name) is not None:
        v.warn(it.WARN_REDUNDANT, name)


def _check_root_ca(v: Verification, use_bootstrap: bool) -> None:
    name, other = _mode_names(use_bootstrap, it.BOOTSTRAP_SERVER_CA_CERT, it.LWM2M_SERVER_CA_CERT)
    ca_der = _require(v, name)
    _warn_if_present(v, other)
    if use_bootstrap and v.store.get(it.RBP_TRUSTED_CA_ID) != ca_identifier(ca_der):
        v.warn(it.WARN_CA_IDENTIFIER, name)


def _check_server_uri(v: Verification, use_bootstrap: bool) -> None:
    name, other = _mode_names(use_bootstrap, it.BOOTSTRAP_SERVER_URI, it.LWM2M_SERVER_URI)
    uri = _require(v, name)
    _warn_if_present(v, other)
    ftc_data = v.store.get(it.FIRST_TO_CLAIM)
    first_to_claim = False
    if ftc_data is not None and len(ftc_data) >= 4:
        first_to_claim = int.from_bytes(ftc_data[:4], "little") == 1
    if not (uri.startswith(b"coap://") or uri.startswith(b"coaps://")):
        raise BundleError(FccStatus.URI_WRONG_FORMAT, name)
    has_aid = b"?aid=" in uri or b"&aid=" in uri
    if first_to_claim:
        if not use_bootstrap:
            raise BundleError(FccStatus.FIRST_TO_CLAIM_NOT_ALLOWED, it.FIRST_TO_CLAIM)
        if has_aid:
            raise BundleError(FccStatus.FIRST_TO_CLAIM_NOT_ALLOWED, name)
    elif not has_aid:
        raise BundleError(FccStatus.URI_WRONG_FORMAT, name)


def _aid_from_uri(uri: bytes) -> bytes | None:
    for marker in (b"&aid=", b"?aid="):
        idx = uri.find(marker)
        if idx >= 0:
            return uri[idx + len(marker):].split(b"&", 1)[0]
    return None


def _load_chain(v: Verification, name: str) -> list[x509.Certificate]:
    data = _require(v, name)
    try:
        certs = [load_certificate(der) for der in split_der_chain(data)]
    except ValueError:
        certs = [None]
    if any(cert is None for cert in certs):
        raise BundleError(FccStatus.INVALID_CERTIFICATE, name)
    return [cert for cert in certs if cert is not None]


def _check_device_cert_and_key(v: Verification, use_bootstrap: bool) -> None:
    key_name, other_key = _mode_names(use_bootstrap, it.BOOTSTRAP_DEVICE_PRIVATE_KEY,
                                      it.LWM2M_DEVICE_PRIVATE_KEY)
    key_der = _require(v, key_name)
    _warn_if_present(v, other_key)
    cert_name, other_cert = _mode_names(use_bootstrap, it.BOOTSTRAP_DEVICE_CERT,
                                        it.LWM2M_DEVICE_CERT)
    chain = _load_chain(v, cert_name)
    leaf = chain[0]
    key = load_p256_private(key_der)
    if key is None or not pki.key_matches_cert(key, leaf):
        raise BundleError(FccStatus.CERTIFICATE_PUBLIC_KEY_CORRELATION_ERROR, cert_name)
    if v.production and not _has_client_auth(leaf):
        raise BundleError(FccStatus.INVALID_CERTIFICATE, cert_name)
    _warn_if_present(v, other_cert)
    subject = pki.subject_fields(leaf)
    if "CN" not in subject:  # an attribute the certificate lacks: 11, "General error:"
        raise BundleError(FccStatus.INVALID_CERT_ATTRIBUTE, cert_name)
    if subject["CN"].encode() != v.store.get(it.ENDPOINT_NAME):
        raise BundleError(FccStatus.INVALID_LWM2M_CN_ATTR, cert_name)
    if not use_bootstrap:
        aid = _aid_from_uri(v.store.get(it.LWM2M_SERVER_URI) or b"")
        if aid is None:
            raise BundleError(FccStatus.URI_WRONG_FORMAT, cert_name)
        if "OU" not in subject:
            raise BundleError(FccStatus.INVALID_CERT_ATTRIBUTE, cert_name)
        if subject["OU"].encode() != aid:
            raise BundleError(FccStatus.INVALID_LWM2M_CN_ATTR, cert_name)
    if _is_self_signed(leaf):
        v.warn(it.WARN_SELF_SIGNED, cert_name)
    for cert in chain:
        _check_expiry(v, cert, cert_name)


def _is_self_signed(cert: x509.Certificate) -> bool:
    try:
        return pki.is_self_signed(cert)
    except Exception:  # noqa: BLE001 - an unsupported signature algorithm is not self-signed
        return False


def _has_client_auth(cert: x509.Certificate) -> bool:
    """Mbed TLS rule: no EKU extension means no restriction; an EKU must list clientAuth."""
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in eku


def _check_expiry(v: Verification, cert: x509.Certificate, name: str) -> None:
    if v.now == 0:
        v.warn(it.WARN_TIME_VALIDITY, name)
        return
    not_after = cert.not_valid_after_utc.timestamp()
    not_before = cert.not_valid_before_utc.timestamp()
    if v.now > not_after:
        raise BundleError(FccStatus.EXPIRED_CERTIFICATE, name)
    if v.now + CLOCK_SLACK_SECONDS < not_before:
        v.warn(it.WARN_TIME_VALIDITY, name)
    if not_after - v.now < TEN_YEARS_SECONDS:
        v.warn(it.WARN_LESS_THAN_10_YEARS, name)


def _check_update_cert(v: Verification) -> None:
    if v.store.get(it.UPDATE_AUTH_CERT) is None:
        v.warn(it.WARN_ITEM_NOT_SET, it.UPDATE_AUTH_CERT)
        return
    for cert in _load_chain(v, it.UPDATE_AUTH_CERT):
        _check_expiry(v, cert, it.UPDATE_AUTH_CERT)


def _check_uuid(v: Verification, name: str) -> None:
    data = v.store.get(name)
    if data is None:
        v.warn(it.WARN_ITEM_NOT_SET, name)
    elif len(data) != it.UUID_SIZE:
        raise BundleError(FccStatus.WRONG_ITEM_DATA_SIZE, name)
