"""The one credential factory: device keys, certificates and the bundles that carry them.

The test fixtures (fixtures/factory.py) and `hil provision` (harness/factory.py) both make
devices here: a device certificate from a factory CA, the CA trusted by the account (through
whatever service API the caller has), and the bundle for the mode: bootstrap, direct LwM2M or
First-to-Claim (a bootstrap URI without aid).
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.pki import Credential, enrollment_id, first_issuer, make_ca, make_device_cert
from harness.provisioning.bundle import Bundle, bootstrap_bundle, lwm2m_bundle

_serial = itertools.count(1)


class TrustStore(Protocol):
    """What the factory needs of a service: an account's trusted CAs, and trusting one more."""

    def trusted_certificates(self, account_id: str, service: str | None = None
                             ) -> Sequence[Any]: ...

    def add_trusted_certificate(self, account_id: str, name: str, certificate_pem: str | bytes, *,
                                service: str = "bootstrap", enrollment_mode: bool = False
                                ) -> Any: ...


@dataclass
class DeviceCredentials:
    """One device the factory made: its certificate, CA, account, URI and bundle."""

    mode: str
    endpoint_name: str
    credential: Credential
    ca: Credential
    account_id: str | None
    uri: str
    bundle: Bundle
    first_to_claim: bool = False

    def __repr__(self) -> str:  # never show the key
        return (f"DeviceCredentials(mode={self.mode!r}, endpoint_name={self.endpoint_name!r}, "
                f"account_id={self.account_id!r})")

    @property
    def enrollment_id(self) -> str:
        """The First-to-Claim enrollment ID: A- + SHA-256 fingerprint of the device certificate."""
        return enrollment_id(self.credential.cert)


def unique_endpoint_name(prefix: str = "hil") -> str:
    """A unique endpoint name (CN of the device certificate): `<prefix>-<n>-<random>`."""
    return f"{prefix}-{next(_serial)}-{secrets.token_hex(4)}"


def own_ca(name: str = "customer") -> Credential:
    """A new CA of a customer's own (a third-party CA, not the factory tool's)."""
    return make_ca(f"{name} CA {secrets.token_hex(3)}", organization=f"{name} Ltd")


class CredentialFactory:
    """Makes device credentials from a factory CA and the bundles for a service's URIs."""

    def __init__(self, trusts: TrustStore, server_ca_der: bytes, factory_ca: Credential) -> None:
        self.trusts = trusts
        self.server_ca_der = server_ca_der
        self.factory_ca = factory_ca

    def trust(self, ca: Credential, account_id: str, *, service: str = "bootstrap",
              enrollment: bool = False, name: str | None = None) -> Any:
        """Trust `ca` for the account's `service` (bootstrap|lwm2m) unless a trusted CA already
        issued it or is it; returns the trusted record (existing or new)."""
        known = self.trusts.trusted_certificates(account_id, service=service)
        already = first_issuer(ca.cert, known) or next(
            (t for t in known if t.certificate.encode().strip() == ca.cert_pem.strip()), None)
        if already is not None:
            return already
        label = name or f"{service}-{ca.subject.get('CN', 'ca')}"
        return self.trusts.add_trusted_certificate(account_id, label, ca.cert_pem, service=service,
                                                   enrollment_mode=enrollment)

    def bootstrap(self, account_id: str, uri: str, *, ca: Credential | None = None,
                  endpoint_name: str | None = None, first_to_claim: bool = False,
                  trust: bool = True, trust_name: str | None = None,
                  credential: Credential | None = None, **bundle_options: Any) -> DeviceCredentials:
        """Production bootstrap credentials (the factory CA by default) and their bundle.

        `uri` is the bootstrap URI the device gets (without aid for First-to-Claim); `trust`
        makes the account trust the CA first (in enrollment mode for First-to-Claim).
        """
        ca = ca or self.factory_ca
        name = endpoint_name or unique_endpoint_name()
        device_cert = credential or make_device_cert(ca, name)
        if trust:
            self.trust(ca, account_id, enrollment=first_to_claim, name=trust_name)
        bundle_options.setdefault("send_chain", bool(device_cert.chain[1:]))
        bundle = bootstrap_bundle(name, uri, self.server_ca_der, device_cert,
                                  first_to_claim=first_to_claim, **bundle_options)
        return DeviceCredentials("bootstrap", name, device_cert, ca,
                                 None if first_to_claim else account_id, uri, bundle,
                                 first_to_claim)

    def lwm2m(self, account_id: str, uri: str, *, ca: Credential | None = None,
              endpoint_name: str | None = None, trust: bool = True, trust_name: str | None = None,
              validity: dt.timedelta | None = None, **bundle_options: Any) -> DeviceCredentials:
        """Direct LwM2M credentials (certificate OU = the account id; valid from now for
        `validity`, by default for the bootstrap certificates' years) and their bundle."""
        ca = ca or self.factory_ca
        name = endpoint_name or unique_endpoint_name()
        short = {"validity": validity, "not_before": dt.datetime.now(dt.UTC)} if validity else {}
        device_cert = make_device_cert(ca, name, organizational_unit=account_id, **short)
        if trust:
            self.trust(ca, account_id, service="lwm2m", name=trust_name)
        bundle_options.setdefault("send_chain", bool(device_cert.chain[1:]))
        bundle = lwm2m_bundle(name, uri, self.server_ca_der, device_cert, **bundle_options)
        return DeviceCredentials("lwm2m", name, device_cert, ca, account_id, uri, bundle)
