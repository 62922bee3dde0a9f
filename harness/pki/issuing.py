"""Issuing certificates: CAs, TLS server certificates and device certificates."""

from __future__ import annotations

import datetime as dt
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.pki.credential import Credential, new_private_key
from harness.pki.parsing import EPOCH, PrivateKey

BOOTSTRAP_CERT_VALIDITY = dt.timedelta(days=30 * 365)
CA_VALIDITY = dt.timedelta(days=40 * 365)
SERVER_CERT_VALIDITY = dt.timedelta(days=5 * 365)


def _name(cn: str, **attrs: str) -> x509.Name:
    oids = {"O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "L": NameOID.LOCALITY_NAME, "C": NameOID.COUNTRY_NAME}
    parts = [x509.NameAttribute(oids[k], v) for k, v in attrs.items() if v]
    return x509.Name([*parts, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _sign(
    subject: x509.Name,
    public_key,
    issuer: Credential | None,
    signing_key: PrivateKey,
    validity: dt.timedelta,
    extensions: list[tuple[x509.ExtensionType, bool]],
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> x509.Certificate:
    start = not_before or (_now() - dt.timedelta(minutes=5))
    end = not_after or (start + validity)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical=critical)
    return builder.sign(signing_key, hashes.SHA256())


def _epoch_span(from_epoch: bool, validity: dt.timedelta
                ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(not_before, not_after) for _sign: from 1970 to now + validity, or the defaults."""
    return (EPOCH, _now() + validity) if from_epoch else (None, None)



def make_ca(
    common_name: str,
    *,
    parent: Credential | None = None,
    key_type: str = "ec",
    organization: str = "dm-hil lab",
    validity: dt.timedelta = CA_VALIDITY,
    valid_from_epoch: bool = False,
) -> Credential:
    """Make a root CA, or an intermediate CA signed by `parent`.

    `valid_from_epoch`: notBefore 1970-01-01, notAfter now + `validity` (valid at device time 0).
    """
    key = new_private_key(key_type)
    cert = _sign(
        _name(common_name, O=organization),
        key.public_key(),
        parent,
        parent.key if parent else key,
        validity,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.KeyUsage(digital_signature=True, content_commitment=False,
                           key_encipherment=False, data_encipherment=False, key_agreement=False,
                           key_cert_sign=True, crl_sign=True, encipher_only=False,
                           decipher_only=False), True),
        ],
        *_epoch_span(valid_from_epoch, validity),
    )
    chain = [parent.cert, *parent.chain] if parent else []
    return Credential(cert, key, chain)


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                         crl_sign=False, encipher_only=False, decipher_only=False)


def make_server_cert(
    ca: Credential,
    common_name: str,
    *,
    dns_names: list[str] | None = None,
    ip_addresses: list[str] | None = None,
    validity: dt.timedelta = SERVER_CERT_VALIDITY,
    valid_from_epoch: bool = False,
) -> Credential:
    """Make a TLS server certificate with subjectAltNames (DNS and IP).

    `valid_from_epoch`: notBefore 1970-01-01, notAfter now + `validity` (valid at device time 0).
    """
    key = new_private_key()
    dns = dns_names if dns_names is not None else ["localhost"]
    ips = ip_addresses if ip_addresses is not None else ["127.0.0.1", "::1"]
    san = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    cert = _sign(
        _name(common_name),
        key.public_key(),
        ca,
        ca.key,
        validity,
        [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (_leaf_usage(), True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.SubjectAlternativeName(san), False),
        ],
        *_epoch_span(valid_from_epoch, validity),
    )
    return Credential(cert, key, [ca.cert, *ca.chain])


def make_device_cert(
    ca: Credential,
    endpoint_name: str,
    *,
    organizational_unit: str | None = None,
    locality: str | None = None,
    validity: dt.timedelta = BOOTSTRAP_CERT_VALIDITY,
    not_before: dt.datetime | None = None,
    client_auth: bool = True,
    key: PrivateKey | None = None,
) -> Credential:
    """Make a device certificate: CN = endpoint name, optional OU / L, EKU clientAuth."""
    key = key or new_private_key()
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (_leaf_usage(), True),
    ]
    if client_auth:
        extensions.append((x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False))
    cert = _sign(
        _name(endpoint_name, OU=organizational_unit or "", L=locality or ""),
        key.public_key(),
        ca,
        ca.key,
        validity,
        extensions,
        not_before=not_before,
    )
    return Credential(cert, key, [ca.cert, *ca.chain])


def make_bootstrap_device_cert(
    ca: Credential, endpoint_name: str, *, validity: dt.timedelta = BOOTSTRAP_CERT_VALIDITY,
    client_auth: bool = True,
) -> Credential:
    """Make a factory bootstrap certificate (CN = endpoint name, 30 years by default)."""
    return make_device_cert(ca, endpoint_name, validity=validity, client_auth=client_auth)


def make_lwm2m_device_cert(
    ca: Credential,
    endpoint_name: str,
    account_id: str,
    device_id: str,
    validity: dt.timedelta,
    *,
    key: PrivateKey | None = None,
) -> Credential:
    """Make an LwM2M device certificate: CN endpoint, OU account id, L device id.

    It starts now (not back-dated like the others), so a short `validity` means just that.
    """
    return make_device_cert(ca, endpoint_name, organizational_unit=account_id,
                            locality=device_id, validity=validity, key=key, not_before=_now())

