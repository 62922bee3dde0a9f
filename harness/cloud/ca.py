"""The service's own PKI: server CA + server TLS certs, LwM2M device CA, developer CA.

Made once per data_dir (in `<data_dir>/pki/`, key files mode 0600) and reloaded on restart, so
devices bootstrapped before a restart still trust the service and keep their credentials.

The server CA and both server certificates are valid from 1970-01-01: a factory-new device has
clock 0 and must accept the chain without a renegotiation (docs/tls.md, "Secure time").
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from harness.errors import HilError
from harness.pki import (
    Credential,
    issued_by,
    load_certificate_chain,
    load_private_key,
    make_ca,
    make_device_cert,
    make_lwm2m_device_cert,
    make_server_cert,
    valid_at_epoch,
)

log = logging.getLogger(__name__)

PKI_DIR = "pki"
DEVELOPER_CERT_VALIDITY = dt.timedelta(days=10 * 365)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _save(directory: Path, name: str, cred: Credential) -> None:
    (directory / f"{name}.crt").write_bytes(cred.chain_pem)
    _write_private(directory / f"{name}.key", cred.key_pem)


def _load(directory: Path, name: str) -> Credential | None:
    cert_file, key_file = directory / f"{name}.crt", directory / f"{name}.key"
    if not cert_file.exists() or not key_file.exists():
        return None
    try:
        certs = load_certificate_chain(cert_file.read_bytes())
        key = load_private_key(key_file.read_bytes())
    except HilError as exc:
        raise HilError(f"The service PKI file {cert_file} or its key is unusable ({exc}); "
                       f"delete {directory} to make a new PKI (bootstrapped devices must then "
                       "re-provision).") from None
    return Credential(certs[0], key, certs[1:])


def _server_names(host: str) -> tuple[list[str], list[str]]:
    dns, ips = ["localhost"], ["127.0.0.1", "::1"]
    try:
        ipaddress.ip_address(host)
        if host not in ips:
            ips.append(host)
    except ValueError:
        if host not in dns:
            dns.append(host)
    return dns, ips


@dataclass
class ServicePki:
    """The CAs and server certificates of one service instance."""

    server_ca: Credential
    bootstrap_server: Credential
    lwm2m_server: Credential
    lwm2m_ca: Credential
    developer_ca: Credential

    @classmethod
    def load_or_create(cls, data_dir: Path, host: str = "127.0.0.1") -> ServicePki:
        """Load the PKI from `data_dir/pki`, making any missing part once."""
        directory = Path(data_dir) / PKI_DIR
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        dns, ips = _server_names(host)

        def get(name: str, make) -> Credential:
            cred = _load(directory, name)
            if cred is None:
                cred = make()
                _save(directory, name, cred)
            return cred

        server_ca = get("server-ca", lambda: make_ca("dm-hil Device Management server CA",
                                                     valid_from_epoch=True))

        def server_cert(name: str, common_name: str) -> Credential:
            cred = get(name, lambda: make_server_cert(server_ca, common_name, dns_names=dns,
                                                      ip_addresses=ips, valid_from_epoch=True))
            if not valid_at_epoch(cred.cert) and valid_at_epoch(server_ca.cert):
                # a PKI made before secure time was handled: re-issue from the same CA, so
                # provisioned devices keep trusting it
                cred = make_server_cert(server_ca, common_name, dns_names=dns, ip_addresses=ips,
                                        valid_from_epoch=True)
                _save(directory, name, cred)
            return cred

        bootstrap = server_cert("bootstrap-server", "bootstrap.dm-hil.local")
        lwm2m = server_cert("lwm2m-server", "lwm2m.dm-hil.local")
        if not valid_at_epoch(server_ca.cert):
            log.warning("The server CA in %s is not valid before %s: factory-new devices (clock 0) "
                        "will ask to renegotiate, which this service refuses; delete %s to make a "
                        "PKI valid from 1970 (provisioned devices must then be re-provisioned).",
                        directory, server_ca.cert.not_valid_before_utc, directory)
        lwm2m_ca = get("lwm2m-device-ca", lambda: make_ca("dm-hil LwM2M device CA"))
        developer_ca = get("developer-ca", lambda: make_ca("dm-hil developer CA"))
        return cls(server_ca, bootstrap, lwm2m, lwm2m_ca, developer_ca)

    def issue_lwm2m_credential(self, endpoint_name: str, account_id: str, device_id: str,
                               validity: dt.timedelta) -> Credential:
        """An LwM2M device certificate: CN endpoint, OU aid, L device id, from the LwM2M CA."""
        return make_lwm2m_device_cert(self.lwm2m_ca, endpoint_name, account_id, device_id, validity)

    def issue_developer_credential(self, endpoint_name: str, account_id: str) -> Credential:
        """A developer bootstrap certificate (CN endpoint, OU aid) from the developer CA."""
        return make_device_cert(self.developer_ca, endpoint_name, organizational_unit=account_id,
                                validity=DEVELOPER_CERT_VALIDITY)

    def is_lwm2m_credential(self, cert: x509.Certificate) -> bool:
        """True when the LwM2M device CA issued `cert`."""
        return issued_by(cert, self.lwm2m_ca.cert)

    def is_developer_credential(self, cert: x509.Certificate) -> bool:
        """True when the developer CA issued `cert`."""
        return issued_by(cert, self.developer_ca.cert)

