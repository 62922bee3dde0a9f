"""Differential test: the same generated bundles go to the real factory client and the board.

Every session (1-4 bundles on one connection) is sent to a fresh factory-client.elf process
(../shared/peers/fcc-linux; a pool keeps processes started ahead, and each example runs a batch
of sessions in parallel) and to the virtual board's handler; per step, the transport status,
ReturnStatus, InfoMessage, WarningInfo and SID must be equal, and both must agree on whether
the session was still open. Skipped (with the reason) when the real client is not there.
DIFF_EXAMPLES sets the number of batches (default 125 x 5 sessions, about 1,000 bundles).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fcc_runner import run_real, run_virtual
from fcc_strategies import Variants, sessions
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from harness.provisioning import Response
from harness.provisioning.frame import FrameReader, encode_request
from harness.provisioning.real_client import (
    RealClientError,
    RealClientPool,
    RealFactoryClient,
    find_binary,
)

pytestmark = pytest.mark.skipif(find_binary() is None,
                                reason="real factory client not found (set HIL_FCC_CLIENT)")
EXAMPLES = int(os.environ.get("DIFF_EXAMPLES", "125"))
BATCH = 5  # sessions per example, run in parallel on real clients
VARIANTS: Variants | None = None
COUNTS = {"sessions": 0, "bundles": 0}


def _answer(frame: bytes | None) -> tuple:
    """What must be equal: transport status, ReturnStatus, InfoMessage, warnings, SID."""
    if frame is None:
        return ("no answer",)
    (parsed,) = FrameReader("response").feed(frame)
    if parsed.message is None:
        return ("transport", parsed.status)
    resp = Response.from_cbor(parsed.message)
    return (resp.status, resp.info, tuple(resp.warnings), resp.session_id)


@pytest.fixture(scope="module")
def pool():
    """Real clients started ahead of use."""
    global VARIANTS
    VARIANTS = Variants.make()
    started = time.monotonic()
    pool = RealClientPool(size=BATCH + 2)
    yield pool
    pool.close()
    took = time.monotonic() - started
    print(f"\ndifferential: {COUNTS['sessions']} sessions, {COUNTS['bundles']} bundles, "
          f"{took:.1f} s")


@pytest.mark.timeout(600)  # ~1 min on an idle 2-core machine; several times that when shared
def test_same_answers_as_the_real_factory_client(pool):
    assert VARIANTS is not None

    @seed(int(os.environ.get("DIFF_SEED", "17")))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])  # no shrinking: the message names the session
    @given(batch=st.lists(sessions(VARIANTS), min_size=BATCH, max_size=BATCH))
    def check(batch):
        with ThreadPoolExecutor(BATCH) as executor:
            reals = list(executor.map(lambda steps: _run_on_real(pool, steps), batch))
        for steps, real in zip(batch, reals, strict=True):
            ours = run_virtual(steps)
            COUNTS["sessions"] += 1
            COUNTS["bundles"] += len(steps)
            want, got = [_answer(f) for f in real], [_answer(f) for f in ours]
            if got != want:
                pytest.fail(f"{steps!r}\nreal client:   {want}\nvirtual board: {got}",
                            pytrace=False)

    check()
    assert COUNTS["bundles"] >= min(1000, int(1.5 * BATCH * EXAMPLES))  # ~1.6 bundles a session


STALLED = "did not answer"
"""A real client process that stalls (seen about once in a few thousand sessions on a busy
machine) says nothing about its answers: the session is run again on a fresh process, once."""


def _run_on_real(pool, steps, attempts: int = 2):
    for attempt in range(attempts):
        client = pool.get()
        try:
            return run_real(steps, client=client, exit_wait=0)[0]
        except RealClientError as exc:
            if STALLED not in str(exc) or attempt == attempts - 1:
                raise
        finally:
            pool.done(client)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("mutate", ["bad_sha256", "zero_length"])
def test_tcp_drops_the_connection_where_serial_answers_with_a_status(mutate):
    """On purpose: a bad SHA-256 or a zero length ends the real client's TCP session (exit 1);
    the board's serial transport answers with status 8 or 4 and keeps reading."""
    from fcc_cases import Material, build

    message = build("good_bootstrap", Material.make())[0]
    frame = bytearray(encode_request(message))
    if mutate == "bad_sha256":
        frame[-1] ^= 0x01
        serial_status = 8
    else:
        frame = bytearray(b"mbedprov" + bytes(4))
        serial_status = 4
    for attempt in range(2):  # a stalled process is started afresh once (see STALLED)
        with RealFactoryClient() as client:
            try:
                dropped = client.exchange_frame(bytes(frame))
            except RealClientError as exc:
                if STALLED in str(exc) and attempt == 0:
                    continue
                raise
            assert dropped is None  # no response frame, link dropped
            assert client.wait_exit(5) == 1
            break
    from harness.provisioning import FactoryDevice, ItemStore

    device = FactoryDevice(ItemStore())
    (parsed,) = FrameReader("response").feed(device.feed(bytes(frame)))
    assert parsed.status == serial_status and parsed.message is None
    assert _answer(device.feed(encode_request(message)))[0] == 0  # still serving
