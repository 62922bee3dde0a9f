"""A standard LwM2M client bootstraps over DTLS-PSK: its PSK identity names its account.

OMA LwM2M 1.1.1 Transport §5.2.8 (Security Mode 0, Pre-Shared Key) and protocol-facts §5
("bootstrap/SecureBootstrapTest: PSK, bad PSK (must fail)"). The service learns an identity and
its key through the admin API (`PUT /admin/v1/psk-identities/{identity}`, docs/standard-clients.md
"Standard mode"); the client is the light LwM2M client (tests/e2e/light_lwm2m.py) over the board's
DTLS engine (the compliant UDP build's offer: PSK-AES256-CCM8), sending no `aid=`: a standard
client names its account by nothing but its PSK identity.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import uuid

import pytest
from aiocoap.numbers.codes import Code
from light_lwm2m import BootstrapFailed, LabDevice, run

from harness.cloud import events as ev
from harness.errors import HilError
from harness.transport.errors import SecureConnectionError

pytestmark = pytest.mark.area("standard-clients")

PSK_MODE = 0
"""protocol-facts §3: "Security object /0: ... 2 mode (0 PSK, 2 Certificate, 3 NoSec, ...)"."""
REMOVED_IDENTITY = "PSK identity not registered"
"""docs/standard-clients.md "Who the peer is": an identity removed after its handshake gets
4.03 `PSK identity not registered` at its Bootstrap-Request (a denial and an event with it)."""
REFUSED_HANDSHAKE = "Secure connection failed (bootstrap, "
"""docs/standard-clients.md "Who the peer is": a refused handshake is recorded as the denial
`Secure connection failed (bootstrap, <reason>)`."""
MBEDTLS_UNKNOWN_IDENTITY = "SSL - Unknown identity received (eg, PSK identity)"
MBEDTLS_BAD_MAC = "SSL - Verification of the message MAC failed"
"""Mbed TLS's texts (mbedtls_strerror) of MBEDTLS_ERR_SSL_UNKNOWN_IDENTITY and _INVALID_MAC."""
WAIT = 10.0
COAP_CLIENT = shutil.which("coap-client-openssl")
needs_libcoap = pytest.mark.skipif(COAP_CLIENT is None, reason="libcoap's coap-client-openssl is "
                                   "not installed (apt-get install libcoap3-bin)")


def _dtls_bootstrap_uri(cloud) -> str:
    """The service's DTLS bootstrap URI, or skip when the lab's service has no dtls listener."""
    try:
        return cloud.server_uri("bootstrap", "dtls")
    except HilError as exc:  # TransportError (in-process), HilError (remote) both name the fix
        pytest.skip(f"the lab's service has no dtls bootstrap listener: {exc}")


def _names() -> tuple[str, str, bytes]:
    """A fresh endpoint name, PSK identity and key."""
    tag = uuid.uuid4().hex[:10]
    return f"psk-bs-{tag}", f"psk-id-{tag}", secrets.token_bytes(16)


@pytest.mark.scenario("standard clients: a DTLS-PSK client bootstraps into its identity's account")
def test_psk_client_bootstraps_into_the_account_of_its_identity_and_registers(cloud, account):
    """A client whose identity and key the service was given bootstraps over DTLS-PSK without
    `aid=`: the service writes it a PSK LwM2M account (Security Mode 0 with the same identity and
    key) and Bootstrap-Finish; the client registers with it, and the service's directory and
    events put the device into the identity's account under the endpoint name it sent."""
    uri = _dtls_bootstrap_uri(cloud)
    name, identity, key = _names()
    cloud.add_psk_identity(identity, key, account.id)
    since = cloud.mark()

    async def scenario():
        dev = LabDevice("dtls", name, psk=(identity, key))
        try:
            provisioned = await dev.bootstrap(uri, timeout=WAIT)
            await dev.switch_to_lwm2m(provisioned)
            answer = await dev.register(provisioned.lwm2m_uri, timeout=WAIT)
            return provisioned, answer.code, dev.device_id
        finally:
            await dev.close()

    provisioned, code, device_id = run(scenario())
    assert (provisioned.security_mode, provisioned.psk) == (PSK_MODE, (identity, key))
    assert code == Code.CREATED, code
    booted = cloud.wait_event(ev.BOOTSTRAP, since=since, timeout=WAIT,
                              where=lambda e: e.data.get("original-ep") == name)
    registered = cloud.wait_event(ev.REGISTRATION, since=since, timeout=WAIT,
                                  where=lambda e: e.data.get("original-ep") == name)
    assert (booted.account_id, booted.device_id) == (account.id, device_id)
    assert (registered.account_id, registered.device_id) == (account.id, device_id)
    entry = cloud.device(device_id)
    assert entry is not None, f"device {device_id} is not in the directory"
    assert (entry.account_id, entry.endpoint_name, str(entry.state)) == (account.id, name,
                                                                          "registered")
    assert (booted.data["mode"], registered.data["mode"]) == ("psk", "psk")
    assert [d.id for d in cloud.devices(account.id)] == [device_id]


def _handshake_refused(cloud, account, uri: str, name: str, psk: tuple[str, bytes]
                       ) -> tuple[str, str]:
    """Bootstrap with `psk`, which the handshake must refuse: (what the client saw, the reason
    the service recorded); nothing enters the account and no Bootstrap-Request arrives."""
    before = len(cloud.denials())
    since = cloud.mark()

    async def scenario():
        dev = LabDevice("dtls", name, psk=psk, handshake_timeout=WAIT)
        try:
            await dev.bootstrap(uri, timeout=WAIT)
        except SecureConnectionError as exc:  # the refused handshake, as the client sees it
            return str(exc)
        finally:
            await dev.close()
        return None

    seen = run(scenario())
    assert seen is not None, "the client bootstrapped"
    refused = cloud.wait_event(ev.BOOTSTRAP_ERROR, since=since, timeout=WAIT,
                               where=lambda e: e.data.get("code") == "tls")
    reason = refused.data["reason"]
    assert [d for d in cloud.denials()[before:] if d.reason == reason], reason
    assert cloud.devices(account.id) == []
    assert not [e for e in cloud.events(since) if e.data.get("original-ep") == name]
    return seen, reason


@pytest.mark.scenario("standard clients: an unknown PSK identity is refused at the handshake")
def test_unknown_psk_identity_is_refused_at_the_handshake(cloud, account):
    """An identity the service was never given has no key: "An unknown PSK identity has no key,
    so its handshake fails" (docs/standard-clients.md). The client reads the alert RFC 4279 §2
    names ("unknown_psk_identity"), the service records the refused handshake, and the device
    enters no account."""
    uri = _dtls_bootstrap_uri(cloud)
    name, identity, key = _names()
    seen, reason = _handshake_refused(cloud, account, uri, name, (identity, key))
    assert "alert unknown psk identity" in seen, seen
    assert reason == f"{REFUSED_HANDSHAKE}{MBEDTLS_UNKNOWN_IDENTITY})"


@pytest.mark.scenario("standard clients: a PSK client with the wrong key is refused")
def test_psk_identity_with_the_wrong_key_is_refused_at_the_handshake(cloud, account):
    """protocol-facts §5 "bad PSK (must fail)": a known identity with another key fails the
    handshake (the client's Finished does not decrypt: the server's `bad_record_mac` alert, as
    libcoap reads it in tests/interop/test_interop_libcoap_dtls.py); the device enters no
    account."""
    uri = _dtls_bootstrap_uri(cloud)
    name, identity, key = _names()
    cloud.add_psk_identity(identity, key, account.id)
    seen, reason = _handshake_refused(cloud, account, uri, name, (identity, secrets.token_bytes(16)))
    assert "alert bad record mac" in seen, seen
    assert reason == f"{REFUSED_HANDSHAKE}{MBEDTLS_BAD_MAC})"


@pytest.mark.scenario("standard clients: a PSK identity removed after its handshake is refused")
def test_psk_identity_removed_after_its_handshake_gets_the_refusal(cloud, account):
    """The operator removes an identity (`DELETE /admin/v1/psk-identities/{identity}`) while its
    client holds a DTLS session: the session's next Bootstrap-Request gets 4.03 `PSK identity not
    registered`, the service records that denial for the endpoint, and the device enters no
    account."""
    uri = _dtls_bootstrap_uri(cloud)
    name, identity, key = _names()
    cloud.add_psk_identity(identity, key, account.id)
    before = len(cloud.denials())
    since = cloud.mark()

    async def scenario():
        dev = LabDevice("dtls", name, psk=(identity, key))
        try:
            probe = await dev.request(Code.GET, f"{uri}/bs", timeout=WAIT)  # the handshake
            cloud.remove_psk_identity(identity)
            try:
                await dev.bootstrap(uri, timeout=WAIT)
            except BootstrapFailed as exc:
                return probe.code, exc
            return probe.code, None
        finally:
            await dev.close()

    probe_code, refused = run(scenario())
    assert not probe_code.is_successful(), f"GET /bs was answered {probe_code}"
    assert refused is not None, "the client bootstrapped with a removed identity"
    assert (refused.code, refused.text) == ("4.03", REMOVED_IDENTITY)
    event = cloud.wait_event(ev.BOOTSTRAP_ERROR, since=since, timeout=WAIT,
                             where=lambda e: e.data.get("original-ep") == name)
    assert (event.data["code"], event.data["reason"]) == ("4.03", REMOVED_IDENTITY)
    denials = [d for d in cloud.denials()[before:] if d.endpoint_name == name]
    assert [d.reason for d in denials] == [REMOVED_IDENTITY]
    assert cloud.devices(account.id) == []


def _libcoap_bootstrap_request(uri: str, name: str, identity: str, key: str
                               ) -> subprocess.CompletedProcess[str]:
    """libcoap's coap-client sends one Bootstrap-Request over DTLS-PSK (and exits on its answer)."""
    assert COAP_CLIENT is not None
    return subprocess.run([COAP_CLIENT, "-m", "post", "-u", identity, "-k", key, "-t", "40",
                           "-B", "10", f"{uri}/bs?ep={name}"],
                          capture_output=True, text=True, timeout=60, check=False)


@needs_libcoap
@pytest.mark.scenario("standard clients: libcoap's Bootstrap-Request over DTLS-PSK, by identity")
def test_libcoap_bootstrap_request_is_accepted_for_a_known_identity_only(cloud, account):
    """An independent DTLS client (libcoap + OpenSSL) sends a Bootstrap-Request with a PSK the
    service was given: no error answer, and the service creates the device in the identity's
    account under the endpoint name sent (protocol-facts §3: `cloud_enrolling` while it
    bootstraps). With an identity the service does not know, the handshake ends in the
    `unknown_psk_identity` alert (RFC 4279 §2) and nothing is created."""
    uri = _dtls_bootstrap_uri(cloud)
    name, identity, key = _names()
    text_key = key.hex()
    cloud.add_psk_identity(identity, text_key.encode(), account.id)
    since = cloud.mark()
    accepted = _libcoap_bootstrap_request(uri, name, identity, text_key)
    assert accepted.returncode == 0, accepted
    assert not [line for line in (accepted.stdout + accepted.stderr).splitlines()
                if line[:2] in ("4.", "5.")], accepted  # an error answer: `4.03 <diagnostic>`
    created = cloud.wait_event(ev.DEVICE_CREATED, since=since, timeout=WAIT,
                               where=lambda e: e.data.get("original-ep") == name)
    assert created.account_id == account.id
    assert created.data["state"] == "cloud_enrolling"

    stranger, _, stranger_key = _names()
    refused = _libcoap_bootstrap_request(uri, stranger, f"unknown-{identity}", stranger_key.hex())
    assert "alert read:fatal:unknown PSK identity" in refused.stdout + refused.stderr, refused
    assert [d.endpoint_name for d in cloud.devices(account.id)] == [name]
