"""Device-side decoding of a request bundle, with the statuses the real FCC returns."""

from __future__ import annotations

import io
from typing import Any

import cbor2

from harness.provisioning import items as it
from harness.provisioning.bundle import (
    Bundle,
    BundleError,
    Certificate,
    CertificateChain,
    CsrRequest,
    Key,
)
from harness.provisioning.items import FccStatus

MAX_KEYS_IN_MAP = 12
_MAJOR_MAP = 5


def decode_top_map(data: bytes) -> dict[Any, Any]:
    """Basic validation: one definite-length map and nothing after it (else BUNDLE_ERROR)."""
    if not data or data[0] >> 5 != _MAJOR_MAP or data[0] == 0xBF:
        raise BundleError(FccStatus.BUNDLE_ERROR, detail="the bundle is not a definite-length map")
    stream = io.BytesIO(data)
    try:
        obj = cbor2.CBORDecoder(stream).decode()
    except Exception:  # noqa: BLE001 - cbor2 raises many types for garbage
        raise BundleError(FccStatus.BUNDLE_ERROR, detail="the bundle is not valid CBOR") from None
    if stream.tell() != len(data):
        raise BundleError(FccStatus.BUNDLE_ERROR, detail="bytes follow the bundle map")
    if not isinstance(obj, dict) or len(obj) > MAX_KEYS_IN_MAP:
        raise BundleError(FccStatus.BUNDLE_ERROR,
                          detail=f"the bundle map must have at most {MAX_KEYS_IN_MAP} keys")
    return obj


def check_scheme(top: dict[Any, Any]) -> str:
    """SchemeVersion must be text or bytes equal to 0.0.1 (else BUNDLE_INVALID_SCHEME)."""
    value = top.get(it.GROUP_SCHEME_VERSION)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if value != it.SCHEME_VERSION:
        raise BundleError(FccStatus.BUNDLE_INVALID_SCHEME, detail="SchemeVersion must be 0.0.1")
    return value


def rbp_buffer(top: dict[Any, Any], group: str) -> bytes | None:
    """Entropy (48 bytes) or ROT (16 bytes) if present; wrong type/size is ENTROPY/ROT_ERROR."""
    if group not in top:
        return None
    value = top[group]
    size, status = ((it.ENTROPY_SIZE, FccStatus.ENTROPY_ERROR) if group == it.GROUP_ENTROPY
                    else (it.ROT_SIZE, FccStatus.ROT_ERROR))
    if not isinstance(value, bytes) or len(value) != size:
        raise BundleError(status, group, detail=f"{group} must be exactly {size} bytes")
    return value


def _flag(value: Any, group: str, status: FccStatus = FccStatus.BUNDLE_ERROR) -> bool:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
        raise BundleError(status, group, detail=f"{group} must be the integer 0 or 1")
    return bool(value)


def _maps(value: Any, group: str) -> list[dict[Any, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise BundleError(FccStatus.BUNDLE_ERROR, group, detail=f"{group} must be an array of maps")
    return value


def _check_fields(entry: dict[Any, Any], allowed: frozenset[str], group: str) -> str:
    name = entry.get(it.FIELD_NAME, entry.get(it.FIELD_PRIVATE_KEY_NAME))
    for key in entry:
        if key not in allowed:
            raise BundleError(FccStatus.NOT_SUPPORTED, str(name or group),
                              detail=f"field {key!r} is not supported in {group}")
    if not isinstance(name, str) or not name:
        raise BundleError(FccStatus.BUNDLE_ERROR, group, detail=f"an entry of {group} has no Name")
    return name


def _bytes_field(entry: dict[Any, Any], field: str, name: str) -> bytes:
    value = entry.get(field)
    if not isinstance(value, bytes):
        raise BundleError(FccStatus.BUNDLE_ERROR, name, detail=f"{field} of {name} must be bytes")
    return value


def _format(entry: dict[Any, Any], name: str) -> str:
    fmt = entry.get(it.FIELD_FORMAT, it.FORMAT_DER)
    if not isinstance(fmt, str) or fmt.lower() != it.FORMAT_DER:
        raise BundleError(FccStatus.NOT_SUPPORTED, name, detail=f"Format of {name} must be 'der'")
    return it.FORMAT_DER


def _keys(value: Any) -> list[Key]:
    out = []
    for entry in _maps(value, it.GROUP_KEYS):
        name = _check_fields(entry, it.KEY_FIELDS, it.GROUP_KEYS)
        key_type = entry.get(it.FIELD_TYPE)
        if key_type not in (it.KEY_TYPE_ECC_PRIVATE, it.KEY_TYPE_ECC_PUBLIC):
            raise BundleError(FccStatus.NOT_SUPPORTED, name,
                              detail=f"key type {key_type!r} is not supported (use ECCPrivate)")
        out.append(Key(name, _bytes_field(entry, it.FIELD_DATA, name), key_type,
                       _format(entry, name)))
    return out


def _certificates(value: Any) -> list[Certificate]:
    out = []
    for entry in _maps(value, it.GROUP_CERTIFICATES):
        name = _check_fields(entry, it.CERTIFICATE_FIELDS, it.GROUP_CERTIFICATES)
        prkn = entry.get(it.FIELD_PRIVATE_KEY_NAME)
        if prkn is not None and not isinstance(prkn, str):
            raise BundleError(FccStatus.BUNDLE_ERROR, name, detail="PrKN must be text")
        out.append(Certificate(name, _bytes_field(entry, it.FIELD_DATA, name), prkn,
                               _format(entry, name)))
    return out


def _chains(value: Any) -> list[CertificateChain]:
    out = []
    for entry in _maps(value, it.GROUP_CERTIFICATE_CHAINS):
        name = _check_fields(entry, it.CHAIN_FIELDS, it.GROUP_CERTIFICATE_CHAINS)
        certs = entry.get(it.FIELD_DATA_ARRAY)
        if (not isinstance(certs, list) or not 1 <= len(certs) <= it.MAX_CHAIN_LENGTH
                or not all(isinstance(c, bytes) for c in certs)):
            raise BundleError(FccStatus.BUNDLE_ERROR, name,
                              detail=f"DataArray of {name} must hold 1-5 DER certificates")
        out.append(CertificateChain(name, list(certs), _format(entry, name)))
    return out


def _config_params(value: Any) -> dict[str, str | bytes | int]:
    out: dict[str, str | bytes | int] = {}
    for entry in _maps(value, it.GROUP_CONFIG_PARAMS):
        name = _check_fields(entry, it.CONFIG_PARAM_FIELDS, it.GROUP_CONFIG_PARAMS)
        data = entry.get(it.FIELD_DATA)
        if isinstance(data, bool) or not isinstance(data, str | bytes | int):
            raise BundleError(FccStatus.BUNDLE_ERROR, name,
                              detail=f"Data of {name} must be text, bytes or an integer")
        out[name] = data
    return out


def _csr_requests(value: Any) -> list[CsrRequest]:
    entries = _maps(value, it.GROUP_CSR_REQUESTS)
    if len(entries) > it.MAX_CSR_REQUESTS:
        raise BundleError(FccStatus.TOO_MANY_CSR_REQUESTS, it.GROUP_CSR_REQUESTS)
    out = []
    for entry in entries:
        name = _check_fields(entry, it.CSR_FIELDS, it.GROUP_CSR_REQUESTS)
        subject = entry.get("Subj", "")
        md = entry.get("MD", 0)
        if not isinstance(subject, str) or not isinstance(md, int):
            raise BundleError(FccStatus.BUNDLE_ERROR, name, detail="Subj must be text, MD an int")
        ext = entry.get("Ext") if isinstance(entry.get("Ext"), dict) else {}
        sm = entry.get("SM") if isinstance(entry.get("SM"), dict) else {}
        out.append(CsrRequest(name, subject, md, ext, sm))
    return out


def parse_groups(top: dict[Any, Any]) -> Bundle:
    """Walk the top map in order (like the device) and build a Bundle; BundleError on error."""
    bundle = Bundle()
    for group, value in top.items():
        if group in (it.GROUP_SCHEME_VERSION, it.GROUP_ENTROPY, it.GROUP_ROT):
            continue
        if group == it.GROUP_KEYS:
            bundle.keys = _keys(value)
        elif group == it.GROUP_CERTIFICATES:
            bundle.certificates = _certificates(value)
        elif group == it.GROUP_CERTIFICATE_CHAINS:
            bundle.certificate_chains = _chains(value)
        elif group == it.GROUP_CONFIG_PARAMS:
            bundle.config_params = _config_params(value)
        elif group == it.GROUP_VERIFY:
            bundle.verify = _flag(value, group)
        elif group == it.GROUP_DISABLE:
            bundle.disable = _flag(value, group)
        elif group == it.GROUP_KEEP_ALIVE:
            bundle.keep_alive = _flag(value, group,
                                      FccStatus.BUNDLE_INVALID_KEEP_ALIVE_SESSION_STATUS)
        elif group == it.GROUP_SESSION_ID:
            if not isinstance(value, str):
                raise BundleError(FccStatus.BUNDLE_ERROR, group, detail="SID must be text")
            bundle.session_id = value
        elif group == it.GROUP_CSR_REQUESTS:
            bundle.csr_requests = _csr_requests(value)
        else:
            raise BundleError(FccStatus.BUNDLE_INVALID_GROUP, str(group),
                              detail=f"unknown group {str(group)[:40]!r}")
    if bundle.disable and bundle.keep_alive:
        raise BundleError(FccStatus.BUNDLE_INVALID_KEEP_ALIVE_SESSION_STATUS, it.GROUP_DISABLE,
                          detail="Disable is not allowed in a bundle with KpAlvSess=1")
    if bundle.csr_requests:
        if bundle.session_id is None:
            raise BundleError(FccStatus.BUNDLE_ERROR, it.GROUP_CSR_REQUESTS,
                              detail="CsrReqs need a SID")
        if bundle.effective_verify or bundle.disable:
            raise BundleError(FccStatus.BUNDLE_ERROR, it.GROUP_CSR_REQUESTS,
                              detail="CsrReqs need Verify=0 and no Disable")
    return bundle


def parse_bundle(data: bytes) -> Bundle:
    """Decode and check a whole request (validation, scheme, Entropy/ROT, groups)."""
    top = decode_top_map(data)
    check_scheme(top)
    entropy = rbp_buffer(top, it.GROUP_ENTROPY)
    rot = rbp_buffer(top, it.GROUP_ROT)
    bundle = parse_groups(top)
    bundle.entropy, bundle.rot = entropy, rot
    return bundle
