"""Device-side decoding of a request bundle, with the statuses and texts the real FCC returns.

The real client walks the top-level map pair by pair (duplicates included), matches each key
against the group names with strncmp(group, key, len(key)) (so a key that is a prefix of a group
name, even "", counts as that group), and reports structural errors as a bare "General error:".
"""

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
# the order fcc_bundle_handler tests the names in (first prefix match wins)
GROUP_ORDER = (it.GROUP_SCHEME_VERSION, it.GROUP_ENTROPY, it.GROUP_ROT, it.GROUP_KEYS,
               it.GROUP_CERTIFICATES, it.GROUP_CERTIFICATE_CHAINS, it.GROUP_CONFIG_PARAMS,
               it.GROUP_VERIFY, it.GROUP_DISABLE, it.GROUP_KEEP_ALIVE, it.GROUP_SESSION_ID,
               it.GROUP_CSR_REQUESTS)
Pairs = list[tuple[Any, Any]]


def structural(detail: str, status: FccStatus = FccStatus.BUNDLE_ERROR) -> BundleError:
    """A schema error the real client reports as a bare `General error:`."""
    return BundleError(status, detail=detail, info=it.GENERAL_ERROR)


def _map_header(data: bytes) -> tuple[int, int]:
    """(number of pairs, header size) of a definite-length map at the start of `data`."""
    info = data[0] & 0x1F
    if info < 24:
        return info, 1
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if size is None or len(data) < 1 + size:
        raise structural("the bundle is not a definite-length map")
    return int.from_bytes(data[1:1 + size], "big"), 1 + size


def decode_top_pairs(data: bytes) -> Pairs:
    """Basic validation: one definite-length map, at most 12 pairs, nothing after it."""
    if not data or data[0] >> 5 != _MAJOR_MAP:
        raise structural("the bundle is not a definite-length map")
    count, header = _map_header(data)
    if count > MAX_KEYS_IN_MAP:
        raise structural(f"the bundle map must have at most {MAX_KEYS_IN_MAP} keys")
    stream = io.BytesIO(data[header:])
    decoder = cbor2.CBORDecoder(stream)
    pairs: Pairs = []
    try:
        for _ in range(count):
            key = decoder.decode()
            pairs.append((key, decoder.decode()))
    except Exception:  # noqa: BLE001 - cbor2 raises many types for garbage
        raise structural("the bundle is not valid CBOR") from None
    if header + stream.tell() != len(data):
        raise structural("bytes follow the bundle map")
    return pairs


def find(pairs: Pairs, group: str) -> tuple[bool, Any]:
    """(found, value) of the first pair whose key is exactly `group` (cbor_value_map_find_value)."""
    for key, value in pairs:
        if key == group:
            return True, value
    return False, None


def check_scheme(pairs: Pairs) -> None:
    """SchemeVersion must be text or bytes equal to 0.0.1 (else BUNDLE_INVALID_SCHEME)."""
    found, value = find(pairs, it.GROUP_SCHEME_VERSION)
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not found or value != it.SCHEME_VERSION:
        raise structural("SchemeVersion must be 0.0.1", FccStatus.BUNDLE_INVALID_SCHEME)


def rbp_buffer(pairs: Pairs, group: str) -> bytes | None:
    """Entropy (48 bytes) or ROT (16 bytes) if present; else INVALID_PARAMETER."""
    found, value = find(pairs, group)
    if not found:
        return None
    size, name = ((it.ENTROPY_SIZE, it.RBP_ENTROPY_NAME) if group == it.GROUP_ENTROPY
                  else (it.ROT_SIZE, it.RBP_ROT_NAME))
    if not isinstance(value, bytes):
        raise BundleError(FccStatus.BUNDLE_ERROR, name, detail=f"{group} must be bytes")
    if len(value) != size:
        raise BundleError(FccStatus.INVALID_PARAMETER, name,
                          detail=f"{group} must be exactly {size} bytes")
    return value


def match_group(key: Any) -> str:
    """The group a top-level key selects (prefix rule); BUNDLE_ERROR/INVALID_GROUP otherwise."""
    if not isinstance(key, str):
        raise structural("a top-level key is not text")
    for group in GROUP_ORDER:
        if group.startswith(key):
            return group
    raise structural(f"unknown group {key[:40]!r}", FccStatus.BUNDLE_INVALID_GROUP)


def flag(value: Any, group: str) -> bool:
    """Verify / Disable / KpAlvSess: the integer 0 or 1 (the error names the group)."""
    status = (FccStatus.BUNDLE_INVALID_KEEP_ALIVE_SESSION_STATUS if group == it.GROUP_KEEP_ALIVE
              else FccStatus.BUNDLE_ERROR)
    if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
        raise BundleError(status, group, detail=f"{group} must be the integer 0 or 1")
    return bool(value)


def session_id(value: Any) -> str:
    """SID must be text."""
    if not isinstance(value, str):
        raise BundleError(FccStatus.BUNDLE_ERROR, it.GROUP_SESSION_ID, detail="SID must be text")
    return value


def entries(value: Any, group: str) -> list[dict[Any, Any]]:
    """A group's value: an array of maps."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise structural(f"{group} must be an array of maps")
    return value


def _fields(entry: dict[Any, Any], allowed: frozenset[str], group: str) -> None:
    for key in entry:
        if key not in allowed:
            raise structural(f"field {str(key)[:40]!r} is not supported in {group}",
                             FccStatus.NOT_SUPPORTED)


def _name(entry: dict[Any, Any], group: str, field: str = it.FIELD_NAME) -> str:
    name = entry.get(field)
    if not isinstance(name, str) or not name:
        raise structural(f"an entry of {group} has no {field}")
    return name


def _der_format(entry: dict[Any, Any], name: str) -> str:
    fmt = entry.get(it.FIELD_FORMAT, it.FORMAT_DER)
    if not isinstance(fmt, str) or fmt.lower() != it.FORMAT_DER:
        raise structural(f"Format of {name} must be 'der'", FccStatus.NOT_SUPPORTED)
    return it.FORMAT_DER


def _data(entry: dict[Any, Any], name: str) -> bytes:
    value = entry.get(it.FIELD_DATA)
    if not isinstance(value, bytes):
        raise structural(f"Data of {name} must be bytes")
    return value


def key_entry(entry: dict[Any, Any]) -> Key:
    """One entry of Keys."""
    _fields(entry, it.KEY_FIELDS, it.GROUP_KEYS)
    name = _name(entry, it.GROUP_KEYS)
    key_type = entry.get(it.FIELD_TYPE)
    if key_type not in (it.KEY_TYPE_ECC_PRIVATE, it.KEY_TYPE_ECC_PUBLIC):
        raise structural(f"key type {str(key_type)[:40]!r} is not supported",
                         FccStatus.NOT_SUPPORTED)
    return Key(name, _data(entry, name), key_type, _der_format(entry, name))


def certificate_entry(entry: dict[Any, Any]) -> Certificate:
    """One entry of Certificates."""
    _fields(entry, it.CERTIFICATE_FIELDS, it.GROUP_CERTIFICATES)
    name = _name(entry, it.GROUP_CERTIFICATES)
    prkn = entry.get(it.FIELD_PRIVATE_KEY_NAME)
    if prkn is not None and not isinstance(prkn, str):
        raise structural("PrKN must be text")
    return Certificate(name, _data(entry, name), prkn, _der_format(entry, name))


def chain_entry(entry: dict[Any, Any]) -> CertificateChain:
    """One entry of CertificateChains (1-5 DER certificates)."""
    _fields(entry, it.CHAIN_FIELDS, it.GROUP_CERTIFICATE_CHAINS)
    name = _name(entry, it.GROUP_CERTIFICATE_CHAINS)
    certs = entry.get(it.FIELD_DATA_ARRAY)
    if (not isinstance(certs, list) or not 1 <= len(certs) <= it.MAX_CHAIN_LENGTH
            or not all(isinstance(c, bytes) for c in certs)):
        raise structural(f"DataArray of {name} must hold 1-5 DER certificates")
    return CertificateChain(name, list(certs), _der_format(entry, name))


def config_entry(entry: dict[Any, Any]) -> tuple[str, str | bytes | int]:
    """One entry of ConfigParams: (name, text | bytes | int)."""
    _fields(entry, it.CONFIG_PARAM_FIELDS, it.GROUP_CONFIG_PARAMS)
    name = _name(entry, it.GROUP_CONFIG_PARAMS)
    data = entry.get(it.FIELD_DATA)
    if isinstance(data, bool) or not isinstance(data, str | bytes | int):
        raise BundleError(FccStatus.BUNDLE_ERROR, name,
                          detail=f"Data of {name} must be text, bytes or an integer")
    return name, data


def csr_requests(value: Any) -> list[CsrRequest]:
    """CsrReqs: at most 5 requests."""
    requests = entries(value, it.GROUP_CSR_REQUESTS)
    if len(requests) > it.MAX_CSR_REQUESTS:
        raise BundleError(FccStatus.TOO_MANY_CSR_REQUESTS, info=it.ERR_TOO_MANY_CSRS)
    out = []
    for entry in requests:
        _fields(entry, it.CSR_FIELDS, it.GROUP_CSR_REQUESTS)
        name = _name(entry, it.GROUP_CSR_REQUESTS, it.FIELD_PRIVATE_KEY_NAME)
        subject, md = entry.get("Subj", ""), entry.get("MD", 0)
        if not isinstance(subject, str) or not isinstance(md, int):
            raise structural("Subj must be text, MD an integer")
        ext = entry.get("Ext") if isinstance(entry.get("Ext"), dict) else {}
        sm = entry.get("SM") if isinstance(entry.get("SM"), dict) else {}
        out.append(CsrRequest(name, subject, md, ext, sm))
    return out


def parse_bundle(data: bytes) -> Bundle:
    """Decode and check a whole request without storing anything (host-side checks, tests)."""
    pairs = decode_top_pairs(data)
    check_scheme(pairs)
    bundle = Bundle(entropy=rbp_buffer(pairs, it.GROUP_ENTROPY),
                    rot=rbp_buffer(pairs, it.GROUP_ROT))
    for key, value in pairs:
        group = match_group(key)
        if group == it.GROUP_KEYS:
            bundle.keys += [key_entry(e) for e in entries(value, group)]
        elif group == it.GROUP_CERTIFICATES:
            bundle.certificates += [certificate_entry(e) for e in entries(value, group)]
        elif group == it.GROUP_CERTIFICATE_CHAINS:
            bundle.certificate_chains += [chain_entry(e) for e in entries(value, group)]
        elif group == it.GROUP_CONFIG_PARAMS:
            bundle.config_params.update(config_entry(e) for e in entries(value, group))
        elif group in (it.GROUP_VERIFY, it.GROUP_DISABLE, it.GROUP_KEEP_ALIVE):
            setattr(bundle, {it.GROUP_VERIFY: "verify", it.GROUP_DISABLE: "disable",
                             it.GROUP_KEEP_ALIVE: "keep_alive"}[group], flag(value, group))
        elif group == it.GROUP_SESSION_ID:
            bundle.session_id = session_id(value)
        elif group == it.GROUP_CSR_REQUESTS:
            bundle.csr_requests = csr_requests(value)
    check_flags(bundle)
    return bundle


def check_flags(bundle: Bundle) -> None:
    """The checks made after the loop: Disable vs KpAlvSess, CsrReqs vs SID/Verify/Disable."""
    if bundle.disable and bundle.keep_alive:
        raise structural("Disable is not allowed in a bundle with KpAlvSess=1",
                         FccStatus.BUNDLE_INVALID_KEEP_ALIVE_SESSION_STATUS)
    if bundle.csr_requests:
        if bundle.session_id is None:
            raise structural("CsrReqs need a SID")
        if bundle.effective_verify or bundle.disable:
            raise structural("CsrReqs need Verify=0 and no Disable")
