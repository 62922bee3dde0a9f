"""Developer certificates: what the service's developer flow hands out (up to 100 devices each)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from harness.client.wire import with_aid
from harness.cloud.ca import ServicePki
from harness.cloud.store import Store
from harness.devcreds import DeveloperCertificate
from harness.errors import HilError


def issue_developer_certificate(store: Store, pki: ServicePki, account_id: str, bootstrap_uri: str,
                                endpoint_name: str | None = None) -> DeveloperCertificate:
    """Issue and record a developer certificate for an account; `bootstrap_uri` without aid."""
    if store.get_account(account_id) is None:
        raise HilError(f"No account {account_id!r}; create the account first.")
    name = endpoint_name or f"dev-{account_id[-8:]}-{len(store.list_developer_certificates(account_id))}"
    credential = pki.issue_developer_credential(name, account_id)
    record = store.add_developer_certificate(
        account_id, credential.cert.fingerprint(hashes.SHA256()).hex(), name)
    return DeveloperCertificate(record.id, account_id, name, credential,
                                with_aid(bootstrap_uri, account_id),
                                pki.server_ca.cert_pem, pki.server_ca.cert_der)
