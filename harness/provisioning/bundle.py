"""The provisioning bundle (request CBOR) and the device's response CBOR, with builders."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import cbor2

from harness.errors import HilError
from harness.pki import Credential
from harness.provisioning import items as it
from harness.provisioning.items import FccStatus

ConfigValue = str | bytes | int


class BundleError(HilError):
    """A bundle the device rejects; `status` is the fcc_status_e and `item` the item name."""

    def __init__(self, status: FccStatus, item: str = "", detail: str = "",
                 info: str | None = None) -> None:
        """Record the status, item and InfoMessage; the message is one sentence for humans."""
        self.status = FccStatus(status)
        self.item = item
        self.info = info if info is not None else it.error_message(self.status, item)
        text = detail or self.info
        super().__init__(f"Bundle rejected with {it.fcc_status_name(status)}: {text}; "
                         "fix the bundle contents.")


@dataclass
class Key:
    """An entry of the Keys group (EC only; RSA/symmetric are NOT_SUPPORTED on the device)."""

    name: str
    data: bytes
    type: str = it.KEY_TYPE_ECC_PRIVATE
    format: str = it.FORMAT_DER

    def __repr__(self) -> str:
        return f"Key(name={self.name!r}, type={self.type!r}, data=<{len(self.data)} bytes>)"


@dataclass
class Certificate:
    """An entry of the Certificates group; `private_key_name` = PrKN (key to check against)."""

    name: str
    data: bytes
    private_key_name: str | None = None
    format: str = it.FORMAT_DER


@dataclass
class CertificateChain:
    """An entry of CertificateChains: 1-5 DER certificates, leaf first."""

    name: str
    certs: list[bytes]
    format: str = it.FORMAT_DER


@dataclass
class CsrRequest:
    """An entry of CsrReqs (schema level): key name, subject, hash, extensions, key placement."""

    private_key_name: str
    subject: str
    md: int = 0
    ext: dict[str, Any] = field(default_factory=dict)
    sm: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bundle:
    """One request bundle. Absent optional groups are None / empty and are not encoded."""

    keys: list[Key] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    certificate_chains: list[CertificateChain] = field(default_factory=list)
    config_params: dict[str, ConfigValue] = field(default_factory=dict)
    csr_requests: list[CsrRequest] = field(default_factory=list)
    verify: bool | None = None
    disable: bool | None = None
    keep_alive: bool | None = None
    entropy: bytes | None = None
    rot: bytes | None = None
    session_id: str | None = None
    scheme_version: str = it.SCHEME_VERSION

    def __repr__(self) -> str:  # never show key bytes or entropy
        names = [k.name for k in self.keys] + [c.name for c in self.certificates]
        names += [c.name for c in self.certificate_chains] + list(self.config_params)
        flags = {k: v for k, v in (("verify", self.verify), ("disable", self.disable),
                                   ("keep_alive", self.keep_alive)) if v is not None}
        return f"Bundle(items={names!r}, flags={flags!r}, sid={self.session_id!r})"

    @property
    def effective_verify(self) -> bool:
        """Verify defaults to 1 when the group is absent."""
        return True if self.verify is None else self.verify

    def to_dict(self) -> dict[str, Any]:
        """The request as a plain dict (groups in a stable order; no ACL fields)."""
        out: dict[str, Any] = {it.GROUP_SCHEME_VERSION: self.scheme_version}
        if self.session_id is not None:
            out[it.GROUP_SESSION_ID] = self.session_id
        if self.entropy is not None:
            out[it.GROUP_ENTROPY] = self.entropy
        if self.rot is not None:
            out[it.GROUP_ROT] = self.rot
        if self.keys:
            out[it.GROUP_KEYS] = [{it.FIELD_NAME: k.name, it.FIELD_TYPE: k.type,
                                   it.FIELD_FORMAT: k.format, it.FIELD_DATA: k.data}
                                  for k in self.keys]
        if self.certificates:
            certs = []
            for c in self.certificates:
                entry = {it.FIELD_NAME: c.name, it.FIELD_FORMAT: c.format, it.FIELD_DATA: c.data}
                if c.private_key_name:
                    entry[it.FIELD_PRIVATE_KEY_NAME] = c.private_key_name
                certs.append(entry)
            out[it.GROUP_CERTIFICATES] = certs
        if self.certificate_chains:
            out[it.GROUP_CERTIFICATE_CHAINS] = [
                {it.FIELD_NAME: c.name, it.FIELD_FORMAT: c.format,
                 it.FIELD_DATA_ARRAY: list(c.certs)} for c in self.certificate_chains]
        if self.config_params:
            out[it.GROUP_CONFIG_PARAMS] = [{it.FIELD_NAME: n, it.FIELD_DATA: v}
                                           for n, v in self.config_params.items()]
        if self.csr_requests:
            out[it.GROUP_CSR_REQUESTS] = [
                {it.FIELD_PRIVATE_KEY_NAME: r.private_key_name, "Subj": r.subject, "MD": r.md,
                 "Ext": r.ext, "SM": r.sm} for r in self.csr_requests]
        for group, flag in ((it.GROUP_VERIFY, self.verify), (it.GROUP_DISABLE, self.disable),
                            (it.GROUP_KEEP_ALIVE, self.keep_alive)):
            if flag is not None:
                out[group] = int(flag)
        return out

    def to_cbor(self) -> bytes:
        """Encode as one definite-length CBOR map (what the FCU sends)."""
        return cbor2.dumps(self.to_dict())

    @classmethod
    def from_cbor(cls, data: bytes) -> Bundle:
        """Decode and check a request like the device does; BundleError on the first problem."""
        from harness.provisioning.parse import parse_bundle

        return parse_bundle(data)


@dataclass
class CsrResult:
    """One CSR the device returns: the private key name and the DER CSR."""

    private_key_name: str
    data: bytes


@dataclass
class Response:
    """The device's response map (ReturnStatus, InfoMessage, WarningInfo, SID, Csrs)."""

    status: int
    info: str
    warnings: list[str] = field(default_factory=list)
    session_id: str | None = None
    csrs: list[CsrResult] = field(default_factory=list)
    scheme_version: str = it.SCHEME_VERSION

    @property
    def status_name(self) -> str:
        """`FCC_STATUS_<NAME>` of the return status."""
        return it.fcc_status_name(self.status)

    def to_cbor(self) -> bytes:
        """Encode as an indefinite-length CBOR map, in the device's key order."""
        buf = io.BytesIO()
        enc = cbor2.CBOREncoder(buf)
        buf.write(b"\xbf")
        pairs: list[tuple[str, Any]] = []
        if self.csrs:
            pairs.append((it.RESP_CSRS, [{it.FIELD_PRIVATE_KEY_NAME: c.private_key_name,
                                          it.FIELD_DATA: c.data} for c in self.csrs]))
        pairs.append((it.RESP_SCHEME_VERSION, self.scheme_version))
        if self.session_id is not None:
            pairs.append((it.RESP_SESSION_ID, self.session_id))
        pairs.append((it.RESP_RETURN_STATUS, int(self.status)))
        pairs.append((it.RESP_INFO_MESSAGE, self.info))
        if self.warnings:
            pairs.append((it.RESP_WARNING_INFO, "".join(w + "\n" for w in self.warnings)))
        for key, value in pairs:
            enc.encode(key)
            enc.encode(value)
        buf.write(b"\xff")
        return buf.getvalue()

    @classmethod
    def from_cbor(cls, data: bytes) -> Response:
        """Decode a response map; ValueError if it is not one."""
        try:
            obj = cbor2.loads(data)
        except Exception as exc:  # noqa: BLE001 - cbor2 raises several types
            raise ValueError(f"response is not valid CBOR ({exc})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get(it.RESP_RETURN_STATUS), int):
            raise ValueError("response CBOR is not a map with an integer ReturnStatus")
        warnings_text = obj.get(it.RESP_WARNING_INFO) or ""
        csrs = [CsrResult(str(c.get(it.FIELD_PRIVATE_KEY_NAME, "")), bytes(c.get(it.FIELD_DATA, b"")))
                for c in obj.get(it.RESP_CSRS) or [] if isinstance(c, dict)]
        return cls(
            status=obj[it.RESP_RETURN_STATUS],
            info=str(obj.get(it.RESP_INFO_MESSAGE, "")),
            warnings=[w for w in str(warnings_text).split("\n") if w],
            session_id=obj.get(it.RESP_SESSION_ID),
            csrs=csrs,
            scheme_version=str(obj.get(it.RESP_SCHEME_VERSION, "")),
        )


# --- builders ---------------------------------------------------------------------------------

def default_metadata(endpoint_name: str) -> dict[str, ConfigValue]:
    """Sensible values for the six mandatory device metadata items."""
    return {
        it.MANUFACTURER: "dm-hil",
        it.MODEL_NUMBER: "vboard-1",
        it.DEVICE_TYPE: "hil-test-device",
        it.HARDWARE_VERSION: "1.0",
        it.SERIAL_NUMBER: f"SN-{endpoint_name}",
        it.MEMORY_TOTAL_KB: 512,
    }


def _device_credential_items(bundle: Bundle, cert_name: str, key_name: str,
                             device_cert: Credential, send_chain: bool) -> None:
    bundle.keys.append(Key(key_name, device_cert.key_der))
    if send_chain and device_cert.chain:
        from cryptography.hazmat.primitives.serialization import Encoding

        chain = [device_cert.cert_der] + [c.public_bytes(Encoding.DER) for c in device_cert.chain]
        bundle.certificate_chains.append(CertificateChain(cert_name, chain[: it.MAX_CHAIN_LENGTH]))
    else:
        bundle.certificates.append(Certificate(cert_name, device_cert.cert_der, key_name))


def _common_params(endpoint_name: str, metadata: dict[str, ConfigValue] | None,
                   current_time: int | dt.datetime | None) -> dict[str, ConfigValue]:
    params: dict[str, ConfigValue] = {it.ENDPOINT_NAME: endpoint_name}
    params.update(default_metadata(endpoint_name))
    params.update(metadata or {})
    if current_time is None:
        current_time = dt.datetime.now(dt.UTC)
    if isinstance(current_time, dt.datetime):
        current_time = int(current_time.timestamp())
    params[it.CURRENT_TIME] = int(current_time)
    params.setdefault(it.TIMEZONE, "Etc/UTC")
    params.setdefault(it.UTC_OFFSET, "+00:00")
    return params


def _server_bundle(params: dict[str, ConfigValue], extra_params: dict[str, ConfigValue] | None, *,
                   verify: bool, keep_alive: bool, ca: tuple[str, bytes], cert_name: str,
                   key_name: str, device_cert: Credential, send_chain: bool) -> Bundle:
    """The bundle of one server: its params, its CA certificate and the device credential."""
    bundle = Bundle(config_params={**params, **(extra_params or {})}, verify=verify,
                    keep_alive=keep_alive or None)
    bundle.certificates.append(Certificate(*ca))
    _device_credential_items(bundle, cert_name, key_name, device_cert, send_chain)
    return bundle


def bootstrap_bundle(
    endpoint_name: str,
    bootstrap_uri: str,
    server_ca_der: bytes,
    device_cert: Credential,
    *,
    metadata: dict[str, ConfigValue] | None = None,
    first_to_claim: bool = False,
    current_time: int | dt.datetime | None = None,
    keep_alive: bool = False,
    verify: bool = True,
    extra_params: dict[str, ConfigValue] | None = None,
    send_chain: bool = False,
) -> Bundle:
    """A bootstrap-mode bundle (UseBootstrap=1), optionally First-to-Claim."""
    params: dict[str, ConfigValue] = {it.USE_BOOTSTRAP: 1}
    params.update(_common_params(endpoint_name, metadata, current_time))
    params[it.BOOTSTRAP_SERVER_URI] = bootstrap_uri
    if first_to_claim:
        params[it.FIRST_TO_CLAIM] = 1
    return _server_bundle(params, extra_params, verify=verify, keep_alive=keep_alive,
                          ca=(it.BOOTSTRAP_SERVER_CA_CERT, server_ca_der),
                          cert_name=it.BOOTSTRAP_DEVICE_CERT, key_name=it.BOOTSTRAP_DEVICE_PRIVATE_KEY,
                          device_cert=device_cert, send_chain=send_chain)


def lwm2m_bundle(
    endpoint_name: str,
    lwm2m_uri: str,
    server_ca_der: bytes,
    device_cert: Credential,
    *,
    metadata: dict[str, ConfigValue] | None = None,
    current_time: int | dt.datetime | None = None,
    keep_alive: bool = False,
    verify: bool = True,
    extra_params: dict[str, ConfigValue] | None = None,
    send_chain: bool = False,
) -> Bundle:
    """A direct LwM2M-mode bundle (UseBootstrap=0); the cert OU must equal `aid` in the URI."""
    params: dict[str, ConfigValue] = {it.USE_BOOTSTRAP: 0}
    params.update(_common_params(endpoint_name, metadata, current_time))
    params[it.LWM2M_SERVER_URI] = lwm2m_uri
    return _server_bundle(params, extra_params, verify=verify, keep_alive=keep_alive,
                          ca=(it.LWM2M_SERVER_CA_CERT, server_ca_der),
                          cert_name=it.LWM2M_DEVICE_CERT, key_name=it.LWM2M_DEVICE_PRIVATE_KEY,
                          device_cert=device_cert, send_chain=send_chain)
