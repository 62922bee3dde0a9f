"""The board's CoAP queries as the service receives them: Bootstrap-Request, Register, Update.

Behaviour: the real client's wire (protocol-facts §3 "Bootstrap", "Register", "Update", and §3.1
point 6, read from mbed-cloud-client and seen on the wire). The service ignores or defaults most of
these parameters, so only the service's own wire trace shows whether the board sends them as the
real client does. Each expected query is built here from the documented form and from values the
test knows by itself: the CN of the certificate it provisioned, its account's id, the lifetime its
scenario sets, and the client version of the image in the lab's firmware manifest.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from cryptography.x509.oid import NameOID

from fixtures.cloud import new_account
from harness.cloud import events as ev
from harness.cloud.wiretap import traces

pytestmark = pytest.mark.area("wire")

BOOTSTRAP_FORM = ("POST /bs?ep=<mbed.EndpointName>&<query of mbed.BootstrapServerURI, e.g. aid=…>"
                  "[&iep=<stored device ID>]&mccv=<client version, e.g. 4.13.4>")
"""protocol-facts §3 "Bootstrap": the Bootstrap-Request (no `d=` here)."""
REGISTER_FORM = ("POST /rd; query order ep=<CN>&et=<type, default \"default\">&lt=<86400 default>"
                 "&lwm2m=1.0&d=<account id>&b=U ... followed by &<query of LwM2M URI, e.g. aid=…>"
                 "&mccv=<ver> (no mccv in NoSec)")
"""protocol-facts §3 "Register" (TCP also reports `U`; queue mode `UQ`)."""
UPDATE_FORM = "POST /<location>?et=<type>[&lt=<new>]"
"""protocol-facts §3 "Update"."""
NOSEC_FORM = "the NoSec register (coap:// over TCP, 4-byte length prefix) carries no d= and no mccv"
"""protocol-facts §3.1 point 6."""

DEFAULT_ENDPOINT_TYPE = "default"
DOCUMENTED_LIFETIME = 86400
"""The client's default lifetime (protocol-facts §3 "Register"): an image built without another
asks for it, whatever the bootstrap server wrote to /1/0/1, as the real client does (REAL_CLIENT:
7200, its build's, after bootstraps that wrote 86400 and 60)."""
SHORT_LIFETIME = 2
"""Seconds: a lifetime short enough that the first Update (at 75 %) comes within the test."""
LWM2M_CERT_SECONDS = 2
"""The LwM2M certificate validity of the re-bootstrap scenario's service."""
BOOTSTRAP_STARTS = r"Client bootstrapping to"
BOOTSTRAP_ENDS = r"Client bootstrapped|Error occurred"
"""Console lines around a bootstrap attempt (mbed-trace, and the example's error report): the
Bootstrap-Request is checked as soon as the attempt ended, so a wrong one fails at once instead
of after the registration wait."""
BUILD_LIFETIME = 120
"""Seconds: the lifetime an image is built with, unlike the one its bootstrap server writes."""
REAL_CLIENT = "tests/peers/test_peer_pdmc_wire_queries.py"
"""Where the real client's queries are seen (the evidence for the lifetime, NoSec and Update
scenarios below, which once were strict xfails of the virtual board)."""


def _no_trace_skip() -> None:
    """Skip when this process runs no service (a remote service has no in-process wire trace)."""
    if not traces():
        pytest.skip("the lab's service runs outside the test process (remote): it has no "
                    "in-process wire trace to read the board's CoAP queries from")


def _requests(start: float, server: str) -> list:
    """Every CoAP request the service received on `server` (bootstrap|lwm2m) since `start`."""
    records = [r for trace in traces() for r in trace.between(start, time.time())[0]]
    return sorted((r for r in records if r.server == server and r.direction == "in"
                   and r.kind != "tls" and r.code in ("GET", "POST", "PUT", "DELETE")),
                  key=lambda r: r.t)


def _first_queries(start: float, server: str, path: str, name: str) -> list[str]:
    """The queries of the board's requests to `path` (one per request: a block-wise Register's
    later blocks, which repeat the query, and retransmissions are folded); `name` (the endpoint
    name) picks the board's own requests on a shared service."""
    seen: list[str] = []
    for record in _requests(start, server):
        first_block = not record.block1 or record.block1.startswith("0/")
        if record.code == "POST" and record.path == path and name in record.query and first_block:
            seen.append(record.query)
    return seen


def _wire_seen(start: float, server: str) -> str:
    """The requests `server` received, for a failure message."""
    return "\n".join(f"  {r.code} {r.path}?{r.query}" for r in _requests(start, server)) or "  none"


def _client_version(lab, board) -> str:
    """The client version of the board's image, read from the lab's firmware manifest file."""
    manifest = yaml.safe_load(Path(lab.manifest_path()).read_text(encoding="utf-8"))
    return str(manifest["images"][board.firmware]["client_version"])


def _binding(lab, board) -> str:
    """b=U, or UQ for an image in queue mode (protocol-facts §3 "Register")."""
    manifest = yaml.safe_load(Path(lab.manifest_path()).read_text(encoding="utf-8"))
    return "UQ" if manifest["images"][board.firmware].get("queue_mode") else "U"


def _image_lifetime(lab, board) -> int:
    """The lifetime the board's image is built with (the lab's firmware manifest), else the
    documented default: the client asks for it, not for the one the bootstrap server wrote."""
    manifest = yaml.safe_load(Path(lab.manifest_path()).read_text(encoding="utf-8"))
    return int(manifest["images"][board.firmware].get("lifetime") or DOCUMENTED_LIFETIME)


def _cn(made) -> str:
    """The CN of the device certificate the test provisioned (the endpoint name)."""
    return str(made.credential.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _uri_query(uri: str) -> str:
    """The query of a server URI as provisioned (`aid=…`), "" without one."""
    return urlsplit(uri).query


def _bootstrap_expected(name: str, uri: str, version: str, device_id: str | None = None) -> str:
    """BOOTSTRAP_FORM filled in: ep, the bootstrap URI's query, iep when re-bootstrapping, mccv."""
    parts = [f"ep={name}", _uri_query(uri)]
    if device_id is not None:
        parts.append(f"iep={device_id}")
    parts.append(f"mccv={version}")
    return "&".join(parts)


def _check_bootstrap(device, start: float, made, version: str) -> None:
    """Wait until the board's (next) bootstrap attempt ended; its Bootstrap-Request is a new
    device's `BOOTSTRAP_FORM` (no `iep`)."""
    device.expect(BOOTSTRAP_ENDS)
    name = _cn(made)
    bootstraps = _first_queries(start, "bootstrap", "/bs", name)
    assert bootstraps[:1] == [_bootstrap_expected(name, made.uri, version)], (
        f"{BOOTSTRAP_FORM}\nthe bootstrap server received:\n{_wire_seen(start, 'bootstrap')}")


def _register_expected(name: str, lifetime: int, account_id: str, binding: str, version: str | None,
                       *, domain: bool = True) -> str:
    """REGISTER_FORM filled in; the LwM2M URI the bootstrap server writes carries `aid=<account>`."""
    parts = [f"ep={name}", f"et={DEFAULT_ENDPOINT_TYPE}", f"lt={lifetime}", "lwm2m=1.0"]
    if domain:
        parts.append(f"d={account_id}")
    parts += [f"b={binding}", f"aid={account_id}"]
    if version is not None:
        parts.append(f"mccv={version}")
    return "&".join(parts)


@pytest.mark.scenario("wire: Bootstrap-Request and Register queries of a production device")
@pytest.mark.seed("onboarding", "Bootstrap uses the device's endpoint name as the identifier if the "
                  "device does not yet have a device ID.")
@pytest.mark.seed("onboarding", "The registration transaction includes a negotiation of the "
                  "registration session lifetime. It is initially configured in the client.")
def test_bootstrap_request_and_register_carry_the_documented_query(lab, board, factory, device,
                                                                   account):
    """A new production device sends `BOOTSTRAP_FORM` without `iep` (it has no device ID yet) and
    then `REGISTER_FORM` with the default type and the lifetime its image is built with
    (documented 86400), not the one the bootstrap server wrote (the real client's way)."""
    _no_trace_skip()
    start = time.time()
    made = factory.bootstrap()
    name, version = _cn(made), _client_version(lab, board)
    assert _uri_query(made.uri) == f"aid={account.id}", made.uri
    _check_bootstrap(device, start, made, version)
    registration = device.wait_registered()
    assert registration.endpoint_name == name, "the console's endpoint name is the certificate's CN"
    lifetime = _image_lifetime(lab, board)
    registers = _first_queries(start, "lwm2m", "/rd", name)
    assert registers[:1] == [_register_expected(name, lifetime, account.id, _binding(lab, board),
                                                version)], (
        f"{REGISTER_FORM}\nthe LwM2M server received:\n{_wire_seen(start, 'lwm2m')}")


def _check_register_then_update(lab, board, factory, device, service, account: str,
                                lifetime: int) -> None:
    """One bootstrap and registration: the Register asks `lt=<lifetime>` (REGISTER_FORM), the
    first Update to its location names only `et=default` (UPDATE_FORM)."""
    owner = new_account(service, account)
    watched = device.using(service, owner)
    start = time.time()
    made = factory.using(service, owner).bootstrap()
    name, version = _cn(made), _client_version(lab, board)
    _check_bootstrap(watched, start, made, version)
    registration = watched.wait_registered()
    watched.wait_event(ev.REG_UPDATE, timeout=10)
    registers = _first_queries(start, "lwm2m", "/rd", name)
    assert registers[:1] == [_register_expected(name, lifetime, owner.id, _binding(lab, board),
                                                version)], (
        f"{REGISTER_FORM}\nthe LwM2M server received:\n{_wire_seen(start, 'lwm2m')}")
    updates = [r for r in _requests(start, "lwm2m")
               if r.code == "POST" and r.path.startswith("/rd/")
               and r.path.rsplit("/", 1)[-1] == registration.device_id]
    assert updates, f"{UPDATE_FORM}\nno Update of {registration.device_id}:\n{_wire_seen(start, 'lwm2m')}"
    assert updates[0].query == f"et={DEFAULT_ENDPOINT_TYPE}", (
        f"{UPDATE_FORM}\nthe LwM2M server received:\n{_wire_seen(start, 'lwm2m')}")


@pytest.mark.firmware("factory", lifetime=SHORT_LIFETIME, min_lifetime=1)
@pytest.mark.scenario("wire: the lifetime in Register and the first Update's query")
@pytest.mark.seed("onboarding", "The device maintains the registration automatically by sending the "
                  "server registration updates within the agreed lifetime.")
def test_register_names_the_scenarios_lifetime_and_the_update_only_its_type(lab, board, make_cloud,
                                                                             factory, device):
    """An image built with a 2 s lifetime (its service writes 2 s too) says `lt=2`; the first
    Update (at 75 % of it) goes to the registration's location with `UPDATE_FORM`: `et=default`
    and no `lt` (the lifetime did not change)."""
    _no_trace_skip()
    _check_register_then_update(lab, board, factory, device,
                                make_cloud(lifetime_default=float(SHORT_LIFETIME)), "wire-update",
                                SHORT_LIFETIME)


@pytest.mark.firmware("factory", min_lifetime=1)
@pytest.mark.scenario("wire: after the server cut the lifetime, the Update names only its type")
def test_update_after_a_cut_lifetime_names_only_the_type(lab, board, make_cloud, factory, device):
    """The board asks for the documented 86400 s, the service grants 2 s (its cap, sent as
    Max-Age, which the client reads as its lifetime): the first Update is `et=default` alone, as
    the real client's (tests/peers/test_peer_pdmc_wire_queries.py: asked 7200, granted 60,
    Update `et=default`)."""
    _no_trace_skip()
    _check_register_then_update(lab, board, factory, device,
                                make_cloud(lifetime_max=float(SHORT_LIFETIME)), "wire-cut",
                                DOCUMENTED_LIFETIME)


@pytest.mark.area("renewal")
@pytest.mark.scenario("wire: a re-bootstrapping production device sends its device ID (iep=)")
@pytest.mark.seed("onboarding", "If the certificate validity expires or the system thinks that the "
                  "device's security is compromised, Device Management Client removes these "
                  "certificates and falls back to bootstrap mode.")
@pytest.mark.seed("onboarding", "If the device has onboarded in the past, a new device ID is not "
                  "assigned.")
def test_a_rebootstrap_carries_the_stored_device_id(lab, board, make_cloud, factory, device):
    """The service issues LwM2M certificates valid for 2 s: when its certificate expires the
    registered device bootstraps again. Its first Bootstrap-Request has no `iep`; the second one
    carries the device ID it was given, the ID its console printed (`BOOTSTRAP_FORM`)."""
    _no_trace_skip()
    service = make_cloud(lwm2m_credential_validity=float(LWM2M_CERT_SECONDS))
    owner = new_account(service, "wire-iep")
    watched = device.using(service, owner)
    start = time.time()
    made = factory.using(service, owner).bootstrap()
    name, version = _cn(made), _client_version(lab, board)
    _check_bootstrap(watched, start, made, version)
    registration = watched.wait_registered()
    watched.expect(BOOTSTRAP_STARTS, timeout=LWM2M_CERT_SECONDS + 10)
    watched.expect(BOOTSTRAP_ENDS)
    # protocol-facts §3.1: it re-bootstraps "after a random 20–100 s": that one wait, no reconnect
    # back-off on top (its registration had succeeded, so the back-off starts afresh)
    lines = [line for _, line in board.console.timed_lines()]
    waited = max(i for i, line in enumerate(lines) if "Client re-bootstrapping in" in line)
    again = next(i for i in range(waited, len(lines)) if "Client bootstrapping to" in lines[i])
    assert not any("Client reconnecting" in line for line in lines[waited:again]), \
        f"a reconnect back-off came on top of the re-bootstrap wait: {lines[waited:again + 1]}"
    bootstraps = _first_queries(start, "bootstrap", "/bs", name)
    assert bootstraps[:2] == [
        _bootstrap_expected(name, made.uri, version),
        _bootstrap_expected(name, made.uri, version, device_id=registration.device_id),
    ], f"{BOOTSTRAP_FORM}\nthe bootstrap server received:\n{_wire_seen(start, 'bootstrap')}"


@pytest.mark.firmware("factory")
@pytest.mark.scenario("wire: a NoSec Register has no d= and no mccv=")
def test_nosec_register_has_no_domain_and_no_client_version(lab, board, factory, device, cloud,
                                                            account):
    """A device provisioned with a coap:// bootstrap URI (with aid) registers over NoSec with
    `REGISTER_FORM` minus `d=` and `mccv=` (`NOSEC_FORM`)."""
    _no_trace_skip()
    start = time.time()
    name = factory.nosec_bootstrap()
    registration = device.wait_registered()
    assert registration.event.data["mode"] == "nosec"
    lifetime = _image_lifetime(lab, board)
    registers = _first_queries(start, "lwm2m", "/rd", name)
    assert registers[:1] == [_register_expected(name, lifetime, account.id, _binding(lab, board),
                                                None, domain=False)], (
        f"{NOSEC_FORM}\nthe LwM2M server received:\n{_wire_seen(start, 'lwm2m')}")


@pytest.mark.firmware("factory", lifetime=BUILD_LIFETIME)
@pytest.mark.scenario("wire: the Register asks for the lifetime the client is built with")
@pytest.mark.seed("onboarding", "The registration transaction includes a negotiation of the "
                  "registration session lifetime. It is initially configured in the client.")
def test_register_asks_for_the_lifetime_the_image_is_built_with(lab, board, factory, device,
                                                                account):
    """An image built with a 120 s lifetime registers with `lt=120` although the bootstrap server
    wrote its own default (86400) to /1/0/1: "It is initially configured in the client"."""
    _no_trace_skip()
    start = time.time()
    made = factory.bootstrap()
    name, version = _cn(made), _client_version(lab, board)
    _check_bootstrap(device, start, made, version)
    device.wait_registered()
    registers = _first_queries(start, "lwm2m", "/rd", name)
    assert registers[:1] == [_register_expected(name, BUILD_LIFETIME, account.id,
                                                _binding(lab, board), version)], (
        f"{REGISTER_FORM}\nthe LwM2M server received:\n{_wire_seen(start, 'lwm2m')}")
