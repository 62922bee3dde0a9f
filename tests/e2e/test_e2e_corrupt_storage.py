"""A board whose credential storage is damaged: a bad flash sector, an item half written when the
power went.

Behaviour: measured with the real Device Management Client (EX 4.13.2, Linux, developer mode) in
tests/peers/test_peer_pdmc_corrupt_storage.py, which damages the items the same way (the second
half of the stored record erased to 0xFF):
- "the LwM2M device certificate, damaged after a registration: [...] reports
  `ConnectorFailedToReadCredentials` (code 17) with `Failed to read credentials from storage`,
  once; it sends no Bootstrap-Request and no Register, and schedules no reconnection";
- a damaged bootstrap item (certificate, server CA, key, URI): "the example application's start-up
  check fails [...], it prints `Resets storage to an empty state.`, runs the developer flow again
  with the credentials compiled in, and bootstraps and registers: no connector error at all";
- a bootstrap certificate damaged while the client waits to retry a refused bootstrap: "the retry
  cannot open it and sends nothing; the client logs `Factory resetting credentials [...]`,
  reports `ConnectBootstrapFailed` (code 2, `Re-bootstrapping`) then
  `ConnectorFailedToReadCredentials` (code 17, `Client cannot connect anymore Failed to read
  credentials`), and bootstraps again after 20-100 s".
The developer scenarios run on a native board (the real client) through the board's `storage_faults`
capability, never its kind: `pytest tests/e2e/test_e2e_corrupt_storage.py --lab-config
labs/real-client.yaml --board-tags native` (HIL_PDMC_KIT names the kit).
"""

from __future__ import annotations

import os

import pytest

from harness.boards.registry import BACKOFF_ENV, TEST_ENVIRONMENT
from harness.cloud import events as ev
from harness.cloud.events import EventTimeout
from harness.provisioning import items

pytestmark = [pytest.mark.area("storage"), pytest.mark.firmware("developer")]

QUIET_BASES = 12.0
"""How long (in back-off bases) the service must hear nothing from the stopped client: past a
retry (1 base, +-10 %) and past a re-bootstrap (2 to 10 bases, protocol facts 3: "re-bootstrap
after a random 20-100 s" at the client's 10 s base). The lab scales the virtual client's base
(HIL_SIM_BACKOFF_BASE); the real client on a native board keeps its own 10 s, so there the
peer test's 15 s wait is what shows it never retries."""

LOAD_FAILED = r"^Failed to load developer credentials$"
ALREADY_STORED = r"^Developer credentials already exist, continuing\.\.$"
NETWORK_EVENTS = (ev.BOOTSTRAP, ev.BOOTSTRAP_ERROR, ev.REGISTRATION)
READ_FAILED = ("ConnectorFailedToReadCredentials", 17, "Failed to read credentials from storage")
"""The real client's report of an unreadable stored LwM2M certificate (the peer test)."""


def _quiet_window() -> float:
    """Seconds of QUIET_BASES at the lab's back-off base of virtual clients."""
    return QUIET_BASES * float(os.environ.get(BACKOFF_ENV) or TEST_ENVIRONMENT[BACKOFF_ENV])


def _errors(lines: list[str], board) -> list[str]:
    """The `Error occurred` lines among `lines`."""
    regex = board.pattern("error")
    return [line for line in lines if regex.search(line)]


@pytest.mark.scenario("corrupt storage: a damaged LwM2M certificate is reported once, no bootstrap")
def test_a_damaged_lwm2m_certificate_stops_the_client_at_registration(board, factory, device,
                                                                      cloud, account):
    """A registered developer device whose stored LwM2M certificate is damaged while it is off:
    at the next start it finds LwM2M credentials, cannot read them, reports code 17 `Failed to
    read credentials from storage` once, and neither bootstraps again nor registers."""
    factory.developer()
    first = device.wait_registered()
    device.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == first.device_id)
    board.halt()
    board.corrupt_item(items.LWM2M_DEVICE_CERT)
    device.checkpoint()
    start = len(board.console.lines)
    board.reset()

    error = device.wait_error()
    assert (error.name, error.code, error.details) == READ_FAILED
    window = _quiet_window()
    with pytest.raises(EventTimeout):
        cloud.wait_until(lambda: [e for e in cloud.events(device.since)
                                  if e.type in NETWORK_EVENTS and (
                                      e.account_id == account.id
                                      or e.data.get("original-ep") == first.endpoint_name)],
                         window, "a Bootstrap-Request or a Register of the damaged device")
    after = board.console.lines[start:]
    assert len(_errors(after, board)) == 1, board.tail()
    registered = board.pattern("registered")
    assert not [line for line in after if registered.search(line)], board.tail()


@pytest.mark.scenario("corrupt storage: a damaged bootstrap item makes the developer application "
                      "start afresh")
@pytest.mark.parametrize("item", [items.BOOTSTRAP_DEVICE_CERT, items.BOOTSTRAP_SERVER_CA_CERT,
                                  items.BOOTSTRAP_DEVICE_PRIVATE_KEY, items.BOOTSTRAP_SERVER_URI])
def test_a_damaged_bootstrap_item_resets_a_developer_devices_storage(board, factory, device,
                                                                     account, item):
    """A registered developer device whose stored bootstrap certificate, server CA, key or URI is
    damaged while it is off: the application's start-up check fails, it prints `Resets storage
    to an empty state.`, stores its compiled-in developer credentials again, bootstraps and
    registers as a new device, with no client error."""
    factory.developer()
    first = device.wait_registered()
    device.wait_event(ev.BOOTSTRAP, where=lambda e: e.device_id == first.device_id)
    board.halt()
    board.corrupt_item(item)
    device.checkpoint()
    start = len(board.console.lines)
    board.reset()

    # the developer flow reads back the device certificate only; the verification the rest
    loaded = LOAD_FAILED if item == items.BOOTSTRAP_DEVICE_CERT else ALREADY_STORED
    device.expect(loaded)
    device.expect(r"^Resets storage to an empty state\.$")
    bootstrap = device.wait_event(ev.BOOTSTRAP, where=lambda e: e.account_id == account.id)
    second = device.wait_registered()
    assert bootstrap.device_id == second.device_id
    assert second.device_id != first.device_id, "the device kept the device ID of its old storage"
    assert not _errors(board.console.lines[start:], board), board.tail()


REFUSALS = 4
"""Bootstrap-Requests the service refuses first: after the last the client waits 8 back-off bases
(x2 per retry, protocol facts 3), room for the test to damage the certificate before the retry."""


@pytest.mark.firmware("factory")
@pytest.mark.scenario("corrupt storage: a bootstrap certificate damaged before a retry is restored "
                      "from its factory copy")
def test_a_bootstrap_certificate_damaged_before_a_retry_is_restored_and_bootstraps_again(
        board, factory, device, cloud, faults):
    """A production device (no start-up check) whose bootstrap certificate goes bad while it waits
    to retry a refused bootstrap: the retry cannot read it and sends nothing; the client restores
    its factory credentials, reports code 2 `Re-bootstrapping` then code 17 `Client cannot connect
    anymore Failed to read credentials`, waits the re-bootstrap delay and onboards with the
    restored certificate (the real client: tests/peers/test_peer_pdmc_corrupt_storage.py)."""
    endpoint = factory.endpoint_name()
    faults.inject_bootstrap_error(count=REFUSALS, endpoint_name=endpoint)
    start = len(board.console.lines)
    factory.bootstrap(endpoint_name=endpoint)
    cloud.wait_until(lambda: len(_refusals(cloud, device.since, endpoint)) >= REFUSALS,
                     _quiet_window() * 4, f"{REFUSALS} refused Bootstrap-Requests")
    board.corrupt_item(items.BOOTSTRAP_DEVICE_CERT)

    registration = device.wait_registered()
    assert registration.endpoint_name == endpoint
    after = board.console.lines[start:]
    reports = [line for line in after if line.startswith("Error ")]
    assert reports[-6:] == [
        "Error occurred : MbedCloudClient::ConnectBootstrapFailed", "Error code : 2",
        "Error details : Re-bootstrapping",
        "Error occurred : MbedCloudClient::ConnectorFailedToReadCredentials", "Error code : 17",
        "Error details : Client cannot connect anymore Failed to read credentials"], board.tail()
    assert len(reports) == 3 * (REFUSALS + 2), board.tail()  # one report per refusal, then those
    assert len(_refusals(cloud, device.since, endpoint)) == REFUSALS


def _refusals(cloud, since: int, endpoint: str) -> list[ev.Event]:
    """The refused Bootstrap-Requests of `endpoint` since `since`."""
    return [e for e in cloud.events(since)
            if e.type == ev.BOOTSTRAP_ERROR and e.data.get("original-ep") == endpoint]
