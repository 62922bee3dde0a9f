"""Storing bundle items the way KCM does: its checks, statuses and InfoMessage texts.

Every parsing failure of a key or certificate (whatever exception `cryptography` raises for it)
becomes the documented status; nothing escapes to the caller but BundleError.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness import pki
from harness.provisioning import items as it
from harness.provisioning.bundle import BundleError
from harness.provisioning.clock import DeviceClock
from harness.provisioning.der import join_der_chain
from harness.provisioning.items import FccStatus
from harness.provisioning.store import ItemStore

UINT64 = 1 << 64
PAL_MIN_SEC_FROM_EPOCH = 1483264800  # the real client refuses an earlier mbed.CurrentTime (bisected)


def put_new(store: ItemStore, name: str, data: bytes) -> None:
    """Store a new factory item; KCM_FILE_EXIST_ERROR if the name is taken in this session."""
    if store.get(name) is not None:
        raise BundleError(FccStatus.KCM_FILE_EXIST_ERROR, name, info=it.ERR_DATA_EXISTS + name)
    store.put(name, data, factory=True)


def load_p256_private(data: bytes) -> ec.EllipticCurvePrivateKey | None:
    """The key if `data` is a DER P-256 private key (PKCS#8 or SEC1), else None."""
    try:
        key = serialization.load_der_private_key(data, None)
    except Exception:  # noqa: BLE001 - ValueError, TypeError, UnsupportedAlgorithm, ...
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    return None


def _load_p256_public(data: bytes) -> bool:
    try:
        key = serialization.load_der_public_key(data)
    except Exception:  # noqa: BLE001 - any parse failure is the same status
        return False
    return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)


def load_certificate(data: bytes) -> x509.Certificate | None:
    """The certificate if `data` parses as DER X.509 (extensions included), else None."""
    try:
        cert = x509.load_der_x509_certificate(data)
        _ = cert.extensions, cert.subject, cert.public_key()  # lazy parts raise here
    except Exception:  # noqa: BLE001 - ValueError, InvalidVersion, DuplicateExtension, ...
        return None
    return cert


def _not_empty(name: str, data: bytes) -> None:
    if not data:
        raise BundleError(FccStatus.KCM_STORAGE_ERROR, name, info=it.ERR_DATA_EMPTY + name)


def store_key(store: ItemStore, name: str, data: bytes, key_type: str) -> None:
    """An ECCPrivate / ECCPublic key (P-256 only)."""
    _not_empty(name, data)
    if key_type == it.KEY_TYPE_ECC_PRIVATE:
        if load_p256_private(data) is None:
            raise BundleError(FccStatus.KCM_CRYPTO_ERROR, name,
                              info=it.ERR_PRIVATE_KEY_FORMAT + name)
    elif not _load_p256_public(data):
        raise BundleError(FccStatus.KCM_CRYPTO_ERROR, name, info=it.ERR_PUBLIC_KEY_PARSE + name)
    put_new(store, name, data)


def store_certificate(store: ItemStore, name: str, data: bytes, key_name: str | None) -> None:
    """A single certificate, checked against the stored private key `key_name` when given."""
    if key_name is not None and not data:  # the real client's key check fails first, unnamed
        raise BundleError(FccStatus.CERTIFICATE_PUBLIC_KEY_CORRELATION_ERROR, name,
                          info=it.GENERAL_ERROR + name)
    _not_empty(name, data)
    status = (FccStatus.KCM_CRYPTO_ERROR if key_name is None
              else FccStatus.CERTIFICATE_PUBLIC_KEY_CORRELATION_ERROR)
    cert = load_certificate(data)  # parsed before the key is looked up (seen on the real client)
    if cert is None:
        raise BundleError(status, name, info=it.ERR_CERT_PARSE + name)
    if key_name is not None:
        key_der = store.get(key_name)
        if key_der is None:
            raise BundleError(status, key_name, info=it.error_message(
                FccStatus.ITEM_NOT_EXIST, key_name))
        key = load_p256_private(key_der)
        if key is None or not pki.key_matches_cert(key, cert):
            raise BundleError(status, name, info=it.ERR_SELF_GENERATED_CERT + name)
    put_new(store, name, data)


def store_chain(store: ItemStore, name: str, certs: list[bytes]) -> None:
    """A certificate chain: each certificate must be signed by the next one.

    KCM opens the chain for writing first, so a taken name fails before any check, and with
    KCM_ERROR (15) rather than the 17 of single items (seen on the real client).
    """
    if store.get(name) is not None:
        raise BundleError(FccStatus.KCM_ERROR, name, info=it.ERR_DATA_EXISTS + name)
    if not all(certs):  # an empty element: KCM refuses the chain as a whole
        raise BundleError(FccStatus.KCM_ERROR, name)
    parsed = []
    for der in certs:
        cert = load_certificate(der)
        if cert is None:
            raise BundleError(FccStatus.KCM_CRYPTO_ERROR, name, info=it.ERR_CERT_PARSE + name)
        parsed.append(cert)
    for cert, issuer in zip(parsed, parsed[1:], strict=False):
        try:
            ok = pki.issued_by(cert, issuer)
        except Exception:  # noqa: BLE001 - an unusable issuer key is a failed validation
            ok = False
        if not ok:
            raise BundleError(FccStatus.KCM_CRYPTO_ERROR, name,
                              info=it.ERR_CHAIN_VALIDATION + name)
    put_new(store, name, join_der_chain(certs))


def store_param(store: ItemStore, clock: DeviceClock, name: str,
                value: str | bytes | int) -> None:
    """A config param; mbed.CurrentTime (an integer) sets the clock instead of being stored."""
    if name == it.CURRENT_TIME:
        if isinstance(value, int):
            seconds = value % UINT64  # a negative value is read back as a huge uint64
            if 0 < seconds < PAL_MIN_SEC_FROM_EPOCH:
                raise BundleError(FccStatus.ERROR, info=it.GENERAL_ERROR,
                                  detail="mbed.CurrentTime is before 2017")
            if seconds:
                clock.set(seconds)
        return
    if isinstance(value, int):
        size = it.int_storage_size(name)
        try:
            data = value.to_bytes(size, "little", signed=value < 0)
        except OverflowError:
            raise BundleError(FccStatus.WRONG_ITEM_DATA_SIZE, name) from None
    elif isinstance(value, str):
        data = value.encode("utf-8")
    else:
        data = value
    put_new(store, name, data)
