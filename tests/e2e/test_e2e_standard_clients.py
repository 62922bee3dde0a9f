"""Standard LwM2M clients over udp NoSec: libcoap's coap-client registers with the service.

Behaviour: protocol-facts §3.1 "Standard third-party LwM2M clients (seen with an independent C
client over udp NoSec)": a NoSec client has no certificate to name its account, so the account
comes from `aid=` in the Register query; without one the service refuses with one sentence that
names the missing thing and the fix (the project's bad-input rule).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from harness.cloud import events as ev

pytestmark = pytest.mark.area("onboarding")

COAP_CLIENT = shutil.which("coap-client-openssl") or shutil.which("coap-client-notls")
needs_libcoap = pytest.mark.skipif(COAP_CLIENT is None, reason="libcoap's coap-client is not "
                                   "installed (apt-get install libcoap3-bin)")
# the service's refusal, as a user reads it (not a constant of the service: a changed text fails)
NOSEC_NEEDS_ACCOUNT = ("NoSec registration needs a known account: add aid=<account id> to the "
                       "query (got None)")


def _register(uri: str) -> subprocess.CompletedProcess[str]:
    """One CON POST /rd with a link-format body, as a standard client sends it."""
    return subprocess.run([COAP_CLIENT, "-m", "post", "-t", "40", "-e", "</3/0>,</1/0>", uri],
                          capture_output=True, text=True, timeout=60, check=False)


def _answer(done: subprocess.CompletedProcess[str]) -> str:
    """coap-client's line for an error response: `<code> <diagnostic payload>` (on stderr)."""
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line[:1].isdigit()]
    return lines[-1] if lines else ""


def _udp_lwm2m(cloud) -> str:
    uri = cloud.server_uri("lwm2m", "udp")
    if not uri.startswith("coap://"):
        pytest.skip(f"the lab's service serves no udp LwM2M ({uri}); add udp to service.transports")
    return uri


@needs_libcoap
@pytest.mark.scenario("onboarding: a standard NoSec client without aid= is refused with the fix")
def test_nosec_register_without_an_account_is_refused_with_the_fix(cloud, account):
    """A NoSec Register without `aid=` gets 4.03 and the sentence naming `aid=`; the same client
    with `aid=` of an account is registered into that account."""
    udp = _udp_lwm2m(cloud)
    name = f"nosec-{uuid.uuid4().hex[:8]}"
    refused = _register(f"{udp}/rd?ep={name}&lt=300&lwm2m=1.0&b=U")
    assert _answer(refused) == f"4.03 {NOSEC_NEEDS_ACCOUNT}", refused
    since = cloud.mark()
    accepted = _register(f"{udp}/rd?ep={name}&lt=300&lwm2m=1.0&b=U&aid={account.id}")
    assert accepted.returncode == 0, accepted
    registered = cloud.wait_event(ev.REGISTRATION, since=since, timeout=10,
                                  where=lambda e: e.data.get("original-ep") == name)
    assert registered.account_id == account.id
    assert registered.data["mode"] == "nosec"


@needs_libcoap
@pytest.mark.scenario("onboarding: a Register query with a parameter given twice is refused")
def test_register_query_with_a_repeated_parameter_is_refused_with_the_fix(cloud, account):
    """`ep=` twice in a Register query is ambiguous: 4.00 and the sentence naming the parameter
    and the fix; nothing is registered under either name."""
    udp = _udp_lwm2m(cloud)
    name = f"twice-{uuid.uuid4().hex[:8]}"
    refused = _register(f"{udp}/rd?ep={name}&ep={name}-b&lt=300&lwm2m=1.0&b=U&aid={account.id}")
    assert _answer(refused) == ("4.00 Bad Register query: query parameter 'ep' is given twice; "
                                "send it once"), refused
    assert not [d for d in cloud.devices(account.id) if d.endpoint_name.startswith(name)]
