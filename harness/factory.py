"""The bench factory: device credentials for `hil provision`, trusted by the running service.

A bench keeps one factory CA (like the CA of the factory tool) in the service's data dir. For a
board it makes a device certificate, makes sure the account trusts the CA (through the service's
admin API, never its files), and builds the bundle for the chosen mode: bootstrap, direct LwM2M
or First-to-Claim.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from harness import pki
from harness.client.wire import with_aid
from harness.cloud.records import Account
from harness.errors import HilError
from harness.provisioning.bundle import Bundle, bootstrap_bundle, lwm2m_bundle
from harness.services.admin_client import AdminClient
from harness.services.bench import admin_for

MODES = ("bootstrap", "lwm2m", "first-to-claim")
FACTORY_DIR = "factory"


@dataclass(frozen=True)
class BenchDevice:
    """What the bench factory made for a board (no key material)."""

    endpoint_name: str
    mode: str
    account_id: str
    uri: str
    enrollment_id: str


def factory_ca(data_dir: Path, service: str = "bootstrap") -> pki.Credential:
    """The bench's factory CA for one service (bootstrap or lwm2m: an account trusts a subject
    for one service only), made once in `<data_dir>/factory/` (key file mode 0600)."""
    directory = Path(data_dir) / FACTORY_DIR
    stem = "factory-ca" if service == "bootstrap" else f"factory-{service}-ca"
    cert_file, key_file = directory / f"{stem}.crt", directory / f"{stem}.key"
    if cert_file.exists() and key_file.exists():
        return pki.Credential(pki.load_certificate(cert_file.read_bytes()),
                              pki.load_private_key(key_file.read_bytes()))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = pki.make_ca(f"dm-hil bench factory CA ({service})")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(ca.key_pem)
    cert_file.write_bytes(ca.cert_pem)
    return ca


def _account(admin: AdminClient, name: str, *, commercial: bool) -> Account:
    account = admin.account_named(name)
    if account is None:
        return admin.create_account(name, commercial=commercial)
    if commercial and not account.commercial:
        return admin.update_account(account.id, commercial=True)
    return account


def _trust(admin: AdminClient, account: Account, ca: pki.Credential, service: str,
           enrollment: bool) -> None:
    pem = ca.cert_pem.decode()
    for trusted in admin.trusted_certificates(account.id, service):
        if trusted.certificate.strip() == pem.strip():
            if enrollment and not trusted.enrollment_mode:
                admin.update_trusted_certificate(trusted.id, enrollment_mode=True)
            return
    admin.add_trusted_certificate(account.id, f"bench factory CA ({service})", pem,
                                  service=service, enrollment_mode=enrollment)


def bench_bundle(data_dir: Path, board_id: str, mode: str, *, account_name: str = "developer",
                 enroll: bool = True) -> tuple[Bundle, BenchDevice]:
    """Credentials for one board of the bench and the bundle that carries them."""
    if mode not in MODES:
        raise HilError(f"Unknown provisioning mode {mode!r}; use one of {', '.join(MODES)}.")
    kind = "tls-record"
    with admin_for(data_dir) as admin:
        info = admin.service_info()
        if kind not in info["bootstrap"]:
            raise HilError(f"The local service on {data_dir} has no tls-record listener; add "
                           "tls-record to service.transports in the lab config.")
        server_ca = pki.load_certificate(info["server_ca_pem"].encode())
        server_ca_der = server_ca.public_bytes(serialization.Encoding.DER)
        ca = factory_ca(data_dir, "lwm2m" if mode == "lwm2m" else "bootstrap")
        endpoint = f"{board_id}-{secrets.token_hex(4)}"
        account = _account(admin, account_name, commercial=(mode == "lwm2m"))
        if mode == "lwm2m":
            _trust(admin, account, ca, "lwm2m", False)
            cert = pki.make_device_cert(ca, endpoint, organizational_unit=account.id)
            uri = with_aid(info["lwm2m"][kind], account.id)
            bundle = lwm2m_bundle(endpoint, uri, server_ca_der, cert)
        else:
            ftc = mode == "first-to-claim"
            _trust(admin, account, ca, "bootstrap", ftc)
            cert = pki.make_bootstrap_device_cert(ca, endpoint)
            uri = info["bootstrap"][kind] if ftc else with_aid(info["bootstrap"][kind], account.id)
            bundle = bootstrap_bundle(endpoint, uri, server_ca_der, cert, first_to_claim=ftc)
            if ftc and enroll:
                admin.enroll(account.id, pki.enrollment_id(cert.cert))
    return bundle, BenchDevice(endpoint, mode, account.id, uri, pki.enrollment_id(cert.cert))
