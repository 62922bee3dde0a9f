"""The bench factory: device credentials for `hil provision`, trusted by the local service.

A bench keeps one factory CA (like the CA of the factory tool) in the service's data dir. For a
board it makes a device certificate, makes sure the account trusts the CA, and builds the bundle
for the chosen mode: bootstrap, direct LwM2M or First-to-Claim.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from harness import pki
from harness.cloud.ca import ServicePki
from harness.cloud.records import Account
from harness.cloud.serve import read_runtime_file
from harness.cloud.store import Store
from harness.errors import HilError
from harness.provisioning.bundle import Bundle, bootstrap_bundle, lwm2m_bundle

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


def _account(store: Store, name: str, *, commercial: bool) -> Account:
    account = next((a for a in store.list_accounts() if a.name == name), None)
    if account is None:
        return store.create_account(name, commercial=commercial)
    if commercial and not account.commercial:
        return store.update_account(account.id, commercial=True)
    return account


def _trust(store: Store, account: Account, ca: pki.Credential, service: str, enrollment: bool) -> None:
    pem = ca.cert_pem.decode()
    for trusted in store.list_trusted_certificates(account.id, service=service):
        if trusted.certificate.strip() == pem.strip():
            if enrollment and not trusted.enrollment_mode:
                store.update_trusted_certificate(trusted.id, enrollment_mode=True)
            return
    store.add_trusted_certificate(account.id, f"bench factory CA ({service})", pem,
                                  service=service, enrollment_mode=enrollment)


def _with_aid(uri: str, aid: str) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}aid={aid}"


def bench_bundle(data_dir: Path, board_id: str, mode: str, *, host: str = "127.0.0.1",
                 account_name: str = "developer", enroll: bool = True) -> tuple[Bundle, BenchDevice]:
    """Credentials for one board of the bench and the bundle that carries them."""
    if mode not in MODES:
        raise HilError(f"Unknown provisioning mode {mode!r}; use one of {', '.join(MODES)}.")
    runtime = read_runtime_file(data_dir)
    kind = "tls-record"
    if kind not in runtime["bootstrap"]:
        raise HilError(f"The local service on {data_dir} has no tls-record listener; add "
                       "tls-record to service.transports in the lab config.")
    ca = factory_ca(data_dir, "lwm2m" if mode == "lwm2m" else "bootstrap")
    endpoint = f"{board_id}-{secrets.token_hex(4)}"
    store = Store.open(Path(data_dir))
    try:
        account = _account(store, account_name, commercial=(mode == "lwm2m"))
        server_ca_der = ServicePki.load_or_create(Path(data_dir), host).server_ca.cert_der
        if mode == "lwm2m":
            _trust(store, account, ca, "lwm2m", False)
            cert = pki.make_device_cert(ca, endpoint, organizational_unit=account.id)
            uri = _with_aid(runtime["lwm2m"][kind], account.id)
            bundle = lwm2m_bundle(endpoint, uri, server_ca_der, cert)
        else:
            ftc = mode == "first-to-claim"
            _trust(store, account, ca, "bootstrap", ftc)
            cert = pki.make_bootstrap_device_cert(ca, endpoint)
            uri = runtime["bootstrap"][kind] if ftc else _with_aid(runtime["bootstrap"][kind],
                                                                   account.id)
            bundle = bootstrap_bundle(endpoint, uri, server_ca_der, cert, first_to_claim=ftc)
            if ftc and enroll:
                store.add_enrollment(account.id, pki.enrollment_id(cert.cert))
    finally:
        store.close()
    return bundle, BenchDevice(endpoint, mode, account.id, uri, pki.enrollment_id(cert.cert))
