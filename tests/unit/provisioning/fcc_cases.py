"""Named provisioning cases (bundle sessions) that the corpus and the differential test send.

Each case is a list of steps; a step is the request CBOR of one bundle (sent in one session,
in order) or RESTART (the device restarts on the same storage and a new session begins).
Every certificate has fixed dates and every bundle sets a fixed mbed.CurrentTime (unless the
case is about a missing time), so the answers do not depend on when the case runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.provisioning import items as it

RESTART = b"<restart>"
NOW = int(dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp())
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
ENDPOINT = "ep-diff-0001"
AID = "016c8d1e1c6a0a580a01020000000000"
BS_URI = f"coaps://127.0.0.1:5684?aid={AID}"
FTC_URI = "coaps://127.0.0.1:5684"
LWM2M_URI = f"coaps://127.0.0.1:5685?aid={AID}"


def key_der(key: Any) -> bytes:
    """A private key as PKCS#8 DER."""
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, ou: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dm-hil diff")]
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_cert(subject: x509.Name, key: Any, issuer_name: x509.Name, issuer_key: Any, *,
              ca: bool = False, eku: list[x509.ObjectIdentifier] | None = None,
              years: float = 30, start: dt.datetime = START) -> bytes:
    """A DER certificate with fixed dates; eku=None leaves the extension out."""
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start)
               .not_valid_after(start + dt.timedelta(days=int(365.25 * years)))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


@dataclass
class Material:
    """The keys and certificates the cases are built from (made once per run)."""

    ca_key: Any
    ca_name: x509.Name
    ca_der: bytes
    server_ca_der: bytes
    device_key: Any
    other_key: Any

    @classmethod
    def make(cls) -> Material:
        """Fresh CA, server CA and device keys."""
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("dm-hil diff device CA")
        server_key = ec.generate_private_key(ec.SECP256R1())
        server_name = _name("dm-hil diff server CA")
        return cls(ca_key, ca_name, make_cert(ca_name, ca_key, ca_name, ca_key, ca=True, years=40),
                   make_cert(server_name, server_key, server_name, server_key, ca=True, years=40),
                   ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1()))

    def device_cert(self, cn: str = ENDPOINT, *, ou: str | None = None, key: Any = None,
                    eku: list[x509.ObjectIdentifier] | None = None, no_eku: bool = False,
                    years: float = 30, start: dt.datetime = START, self_signed: bool = False
                    ) -> bytes:
        """A device certificate signed by the device CA (or self-signed)."""
        key = key or self.device_key
        usage = None if no_eku else (eku or [ExtendedKeyUsageOID.CLIENT_AUTH])
        subject = _name(cn, ou)
        if self_signed:
            return make_cert(subject, key, subject, key, eku=usage, years=years, start=start)
        return make_cert(subject, key, self.ca_name, self.ca_key, eku=usage, years=years,
                         start=start)


def params(mode: str = "bootstrap", **overrides: Any) -> dict[str, Any]:
    """Config params of a good bundle; an override of None removes the item."""
    out: dict[str, Any] = {
        it.USE_BOOTSTRAP: 1 if mode != "lwm2m" else 0,
        it.ENDPOINT_NAME: ENDPOINT,
        it.MANUFACTURER: "dm-hil", it.MODEL_NUMBER: "diff-1", it.DEVICE_TYPE: "hil",
        it.HARDWARE_VERSION: "1.0", it.SERIAL_NUMBER: "SN-1", it.MEMORY_TOTAL_KB: 512,
        it.CURRENT_TIME: NOW, it.TIMEZONE: "Etc/UTC", it.UTC_OFFSET: "+00:00",
    }
    if mode == "lwm2m":
        out[it.LWM2M_SERVER_URI] = LWM2M_URI
    elif mode == "ftc":
        out[it.BOOTSTRAP_SERVER_URI] = FTC_URI
        out[it.FIRST_TO_CLAIM] = 1
    else:
        out[it.BOOTSTRAP_SERVER_URI] = BS_URI
    for name, value in overrides.items():
        name = name if name.startswith("mbed.") else "mbed." + name
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def bundle(m: Material, mode: str = "bootstrap", *, cert: bytes | None = None,
           key: bytes | None = None, prkn: bool = True, chain: list[bytes] | None = None,
           config: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
           drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A good bundle as a dict (groups in the FCU's order), with targeted changes."""
    prefix = "mbed.LwM2M" if mode == "lwm2m" else "mbed.Bootstrap"
    key_name, cert_name = f"{prefix}DevicePrivateKey", f"{prefix}DeviceCert"
    ca_name = it.LWM2M_SERVER_CA_CERT if mode == "lwm2m" else it.BOOTSTRAP_SERVER_CA_CERT
    if cert is None:
        cert = m.device_cert(ou=AID if mode == "lwm2m" else None)
    device_cert: dict[str, Any] = {"Name": cert_name, "Format": "der", "Data": cert}
    if prkn:
        device_cert["PrKN"] = key_name
    doc: dict[str, Any] = {
        "SchemeVersion": "0.0.1",
        "Keys": [{"Name": key_name, "Type": "ECCPrivate", "Format": "der",
                  "Data": key if key is not None else key_der(m.device_key)}],
        "Certificates": [{"Name": ca_name, "Format": "der", "Data": m.server_ca_der}]
        + ([] if chain is not None else [device_cert]),
        "ConfigParams": [{"Name": n, "Data": v} for n, v in
                         (config if config is not None else params(mode)).items()],
    }
    if chain is not None:
        doc["CertificateChains"] = [{"Name": cert_name, "Format": "der", "DataArray": chain}]
    doc.update(extra or {})
    for group in drop:
        doc.pop(group, None)
    return doc


def _rsa_der() -> bytes:
    return key_der(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _chain_wrong_issuer(m: Material) -> list[bytes]:
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = _name("dm-hil diff other CA")
    other_ca = make_cert(other_name, other_key, other_name, other_key, ca=True, years=40)
    return [m.device_cert(), other_ca]


P256_OID = bytes.fromhex("2a8648ce3d030107")


def unsupported_curve_key(m: Material) -> bytes:
    """A P-256 key whose curve OID says prime239v1 (cryptography: UnsupportedAlgorithm)."""
    return key_der(m.device_key).replace(P256_OID, P256_OID[:-1] + b"\x04")


def invalid_version_cert(m: Material) -> bytes:
    """A device certificate with X.509 version 6 (cryptography: InvalidVersion)."""
    return m.device_cert().replace(bytes.fromhex("a003020102"), bytes.fromhex("a003020105"), 1)


def duplicate_extension_cert(m: Material) -> bytes:
    """A device certificate whose EKU OID was turned into a second BasicConstraints."""
    return m.device_cert().replace(bytes.fromhex("0603551d25"), bytes.fromhex("0603551d13"), 1)


def _keep(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "KpAlvSess": 1}


CaseBuilder = Callable[[Material], list[dict[str, Any] | bytes]]
CASES: dict[str, CaseBuilder] = {
    # --- good bundles -------------------------------------------------------------------------
    "good_bootstrap": lambda m: [bundle(m)],
    "good_lwm2m": lambda m: [bundle(m, "lwm2m")],
    "good_first_to_claim": lambda m: [bundle(m, "ftc")],
    "good_chain": lambda m: [bundle(m, chain=[m.device_cert(), m.ca_der])],
    "good_verify_off": lambda m: [{**bundle(m), "Verify": 0}],
    "good_sid_echo": lambda m: [{**bundle(m), "SID": "session-42"}],
    "good_entropy_rot": lambda m: [{**bundle(m), "Entropy": bytes(range(48)),
                                    "ROT": bytes(range(16))}],
    "good_no_prkn": lambda m: [bundle(m, prkn=False)],
    "good_uuid_items": lambda m: [bundle(m, config=params(ClassId=b"c" * 16, VendorId=b"v" * 16))],
    "warn_self_signed": lambda m: [bundle(m, cert=m.device_cert(self_signed=True))],
    "warn_less_than_10_years": lambda m: [bundle(m, cert=m.device_cert(years=5))],
    "warn_no_time": lambda m: [bundle(m, config=params(CurrentTime=None, Timezone=None,
                                                       UTCOffset=None))],
    "warn_not_yet_valid": lambda m: [bundle(m, cert=m.device_cert(
        start=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)))],
    "warn_bootstrap_off_redundant": lambda m: [bundle(m, "lwm2m", config={
        **params("lwm2m"), it.BOOTSTRAP_SERVER_URI: BS_URI})],
    "cert_without_eku": lambda m: [bundle(m, cert=m.device_cert(no_eku=True))],
    # --- certificate and key errors ----------------------------------------------------------
    "eku_server_auth_only": lambda m: [bundle(m, cert=m.device_cert(
        eku=[ExtendedKeyUsageOID.SERVER_AUTH]))],
    "wrong_key_with_prkn": lambda m: [bundle(m, key=key_der(m.other_key))],
    "wrong_key_without_prkn": lambda m: [bundle(m, key=key_der(m.other_key), prkn=False)],
    "prkn_missing_key": lambda m: [bundle(m, drop=("Keys",))],
    "rsa_key_as_ecc": lambda m: [bundle(m, key=_rsa_der())],
    "garbage_key_as_ecc": lambda m: [bundle(m, key=b"\x30\x03\x02\x01\x00garbage")],
    "garbage_certificate": lambda m: [bundle(m, cert=b"\x30\x82\x01\x00" + b"\x00" * 40)],
    "chain_wrong_issuer": lambda m: [bundle(m, chain=_chain_wrong_issuer(m))],
    "expired_certificate": lambda m: [bundle(m, cert=m.device_cert(
        years=1, start=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))],
    "cn_mismatch": lambda m: [bundle(m, cert=m.device_cert(cn="someone-else"))],
    "ou_mismatch_lwm2m": lambda m: [bundle(m, "lwm2m", cert=m.device_cert(ou="0" * 32))],
    # --- config errors ------------------------------------------------------------------------
    "missing_endpoint": lambda m: [bundle(m, config=params(EndpointName=None))],
    "empty_endpoint": lambda m: [bundle(m, config=params(EndpointName=""))],
    "missing_use_bootstrap": lambda m: [bundle(m, config=params(UseBootstrap=None))],
    "use_bootstrap_2": lambda m: [bundle(m, config=params(UseBootstrap=2))],
    "use_bootstrap_8_bytes": lambda m: [bundle(m, config=params(UseBootstrap=b"\x01" + bytes(7)))],
    "missing_serial_number": lambda m: [bundle(m, config=params(SerialNumber=None))],
    "missing_bootstrap_ca": lambda m: [{**bundle(m), "Certificates": [
        c for c in bundle(m)["Certificates"] if c["Name"] != it.BOOTSTRAP_SERVER_CA_CERT]}],
    "uri_not_coap": lambda m: [bundle(m, config=params(BootstrapServerURI="http://x?aid=1"))],
    "uri_without_aid": lambda m: [bundle(m, config=params(BootstrapServerURI=FTC_URI))],
    "ftc_with_aid": lambda m: [bundle(m, config=params("ftc", BootstrapServerURI=BS_URI))],
    "ftc_in_lwm2m_mode": lambda m: [bundle(m, "lwm2m", config={**params("lwm2m"),
                                                               it.FIRST_TO_CLAIM: 1})],
    "bad_utc_offset": lambda m: [bundle(m, config=params(UTCOffset="UTC"))],
    "class_id_wrong_size": lambda m: [bundle(m, config=params(ClassId=b"c" * 15))],
    "memory_total_text": lambda m: [bundle(m, config=params(MemoryTotalKB="512"))],
    # --- bundle-level errors ------------------------------------------------------------------
    "bad_scheme": lambda m: [{**bundle(m), "SchemeVersion": "0.0.2"}],
    "unknown_group": lambda m: [{**bundle(m), "Bogus": 1}],
    "disable_with_keep_alive": lambda m: [{**bundle(m), "Disable": 1, "KpAlvSess": 1}],
    "entropy_wrong_size": lambda m: [{**bundle(m), "Entropy": b"\x01" * 47}],
    "rot_wrong_size": lambda m: [{**bundle(m), "ROT": b"\x01" * 17}],
    "acl_field": lambda m: [{**bundle(m), "Keys": [{**bundle(m)["Keys"][0], "ACL": b"x"}]}],
    "key_type_rsa": lambda m: [{**bundle(m), "Keys": [{**bundle(m)["Keys"][0],
                                                       "Type": "RSAPrivate"}]}],
    "certificate_format_pem": lambda m: [{**bundle(m), "Certificates": [
        {**c, "Format": "pem"} for c in bundle(m)["Certificates"]]}],
    "verify_2": lambda m: [{**bundle(m), "Verify": 2}],
    "not_a_map": lambda m: [cbor2.dumps(["SchemeVersion", "0.0.1"])],
    "trailing_bytes": lambda m: [cbor2.dumps(bundle(m)) + b"\x00"],
    "csr_without_sid": lambda m: [{"SchemeVersion": "0.0.1", "Verify": 0, "CsrReqs": [
        {"PrKN": "csr.key", "Subj": "CN=x", "MD": 0}]}],
    # --- sessions -----------------------------------------------------------------------------
    "keep_alive_two_bundles": lambda m: [
        _keep({"SchemeVersion": "0.0.1", "Keys": bundle(m)["Keys"], "Verify": 0}),
        bundle(m, drop=("Keys",))],
    "keep_alive_failure_then_good": lambda m: [
        _keep({**bundle(m), "SchemeVersion": "9"}), bundle(m)],
    "keep_alive_half_stored_then_good": lambda m: [
        _keep(bundle(m, config=params(UTCOffset="bad"))), bundle(m)],
    "failure_without_keep_alive_then_good": lambda m: [
        bundle(m, config=params(EndpointName=None)), bundle(m)],
    "disable_then_restart": lambda m: [{**bundle(m), "Disable": 1}, RESTART, bundle(m)],
    "store_twice_in_session": lambda m: [_keep(bundle(m)), bundle(m)],
    "garbage_certificate_no_prkn": lambda m: [bundle(m, prkn=False,
                                                     cert=b"\x30\x82\x01\x00" + b"\x00" * 40)],
    "use_bootstrap_1_byte": lambda m: [bundle(m, config=params(UseBootstrap=b"\x01"))],
    "use_bootstrap_2_bytes": lambda m: [bundle(m, config=params(UseBootstrap=b"\x01\x00"))],
    "use_bootstrap_5_bytes": lambda m: [bundle(m, config=params(UseBootstrap=b"\x01" + bytes(4)))],
    "use_bootstrap_8_bytes_value_2": lambda m: [bundle(m, config=params(
        UseBootstrap=b"\x02" + bytes(7)))],
    "use_bootstrap_high_bytes": lambda m: [bundle(m, config=params(
        UseBootstrap=b"\x01\x00\x00\x00\x01" + bytes(3)))],
    "first_to_claim_8_bytes": lambda m: [bundle(m, "ftc", config=params(
        "ftc", FirstToClaim=b"\x01" + bytes(7)))],
    "keep_alive_2": lambda m: [{**bundle(m), "KpAlvSess": 2}],
    "disable_2": lambda m: [{**bundle(m), "Disable": 2}],
    "sid_not_text": lambda m: [{**bundle(m), "SID": b"abc"}],
    "key_without_name": lambda m: [{**bundle(m), "Keys": [{"Type": "ECCPrivate", "Format": "der",
                                                          "Data": key_der(m.device_key)}]}],
    "key_data_text": lambda m: [{**bundle(m), "Keys": [{**bundle(m)["Keys"][0], "Data": "abc"}]}],
    "config_data_float": lambda m: [{**bundle(m), "ConfigParams": [
        *bundle(m)["ConfigParams"], {"Name": "mbed.X", "Data": 1.5}]}],
    "keys_not_array": lambda m: [{**bundle(m), "Keys": {"Name": "k"}}],
    "key_entry_not_map": lambda m: [{**bundle(m), "Keys": [1]}],
    "prefix_group_name": lambda m: [{**bundle(m), "Key": []}],
    "empty_group_name": lambda m: [{**bundle(m), "": 1}],
    "integer_group_key": lambda m: [{**bundle(m), 7: 1}],
    "ecc_public_key_garbage": lambda m: [{**bundle(m), "Keys": [*bundle(m)["Keys"], {
        "Name": "pub", "Type": "ECCPublic", "Format": "der", "Data": b"garbage"}]}],
    "p384_key": lambda m: [bundle(m, key=key_der(ec.generate_private_key(ec.SECP384R1())))],
    "current_time_negative": lambda m: [bundle(m, config=params(CurrentTime=-5))],
    "current_time_before_2017": lambda m: [bundle(m, config=params(CurrentTime=1483264799))],
    "current_time_2017": lambda m: [bundle(m, config=params(CurrentTime=1483264800))],
    "current_time_zero": lambda m: [bundle(m, config=params(CurrentTime=0))],
    "current_time_text": lambda m: [bundle(m, config=params(CurrentTime="1700000000"))],
    "endpoint_bytes": lambda m: [bundle(m, config=params(EndpointName=ENDPOINT.encode()))],
    "scheme_bytes": lambda m: [{**bundle(m), "SchemeVersion": b"0.0.1"}],
    "missing_scheme": lambda m: [bundle(m, drop=("SchemeVersion",))],
    "csr_six_requests": lambda m: [{"SchemeVersion": "0.0.1", "SID": "s", "Verify": 0,
                                    "CsrReqs": [{"PrKN": f"k{i}", "Subj": "CN=a", "MD": 0}
                                                for i in range(6)]}],
    "verify_only_empty": lambda m: [{"SchemeVersion": "0.0.1"}],
    "key_unsupported_curve": lambda m: [bundle(m, key=unsupported_curve_key(m))],
    "key_unsupported_curve_no_prkn": lambda m: [bundle(m, key=unsupported_curve_key(m),
                                                       prkn=False)],
    "cert_invalid_version": lambda m: [bundle(m, cert=invalid_version_cert(m))],
    "cert_invalid_version_no_prkn": lambda m: [bundle(m, cert=invalid_version_cert(m), prkn=False)],
    "cert_duplicate_extension": lambda m: [bundle(m, cert=duplicate_extension_cert(m))],
    "cert_duplicate_extension_no_prkn": lambda m: [bundle(m, cert=duplicate_extension_cert(m),
                                                          prkn=False)],
    "chain_duplicate_extension": lambda m: [bundle(m, chain=[duplicate_extension_cert(m),
                                                             m.ca_der])],
    "rot_twice_in_session": lambda m: [
        _keep({"SchemeVersion": "0.0.1", "Verify": 0, "ROT": bytes(16)}),
        {**bundle(m), "ROT": bytes(range(16))}],
    "rot_after_an_item": lambda m: [
        _keep({"SchemeVersion": "0.0.1", "Verify": 0,
               "ConfigParams": [{"Name": it.CLASS_ID, "Data": b"c" * 16}]}),
        {**bundle(m), "ROT": bytes(range(16))}],
    "chain_with_an_empty_element": lambda m: [bundle(m, chain=[m.device_cert(), b""])],
    "metadata_missing_serial_and_memory": lambda m: [bundle(m, config=params(
        SerialNumber=None, MemoryTotalKB=None))],
    "entropy_twice_in_session": lambda m: [
        _keep({"SchemeVersion": "0.0.1", "Verify": 0, "Entropy": bytes(48)}),
        {**bundle(m), "Entropy": bytes(range(48))}],
    "good_bootstrap_keep_alive_last": lambda m: [_keep(bundle(m)),
                                                 {"SchemeVersion": "0.0.1", "Verify": 1}],
}


def build(name: str, m: Material) -> list[bytes]:
    """The steps of case `name` as request CBOR (or RESTART)."""
    steps = CASES[name](m)
    return [s if isinstance(s, bytes) else cbor2.dumps(s) for s in steps]
