"""The bench side of `hil provision`: the bench's factory CA and account, on the running service.

A bench keeps one factory CA (like the CA of the factory tool) in the service's data dir and
uses the service's admin API (never its files); the device certificate, the trust and the bundle
come from the one credential factory (harness.provisioning.credential_factory).
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
from harness.provisioning.bundle import Bundle
from harness.provisioning.credential_factory import CredentialFactory
from harness.services.admin_client import AdminClient
from harness.services.bench import admin_for

MODES = ("bootstrap", "lwm2m", "first-to-claim")
FACTORY_DIR = "factory"
_TRUST_NAME = "bench factory CA ({})"


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


def _enrollment_mode(admin: AdminClient, account_id: str, ca: pki.Credential) -> None:
    """Put the bench CA the account trusts for bootstrap into enrollment mode (First-to-Claim)."""
    pem = ca.cert_pem.decode().strip()
    for trusted in admin.trusted_certificates(account_id, "bootstrap"):
        if trusted.certificate.strip() == pem and not trusted.enrollment_mode:
            admin.update_trusted_certificate(trusted.id, enrollment_mode=True)


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
        credentials = CredentialFactory(admin, server_ca_der, ca)
        endpoint = f"{board_id}-{secrets.token_hex(4)}"
        account = _account(admin, account_name, commercial=(mode == "lwm2m"))
        if mode == "lwm2m":
            made = credentials.lwm2m(account.id, with_aid(info["lwm2m"][kind], account.id),
                                     endpoint_name=endpoint, trust_name=_TRUST_NAME.format("lwm2m"))
        else:
            ftc = mode == "first-to-claim"
            uri = info["bootstrap"][kind] if ftc else with_aid(info["bootstrap"][kind], account.id)
            made = credentials.bootstrap(account.id, uri, endpoint_name=endpoint, first_to_claim=ftc,
                                         trust_name=_TRUST_NAME.format("bootstrap"))
            if ftc:
                _enrollment_mode(admin, account.id, ca)
                if enroll:
                    admin.enroll(account.id, made.enrollment_id)
    return made.bundle, BenchDevice(endpoint, mode, account.id, made.uri, made.enrollment_id)
