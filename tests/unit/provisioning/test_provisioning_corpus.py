"""The virtual board answers every corpus case byte for byte like the real factory client.

data/fcc_corpus.json holds the request CBOR of each step and the response frame the real
client (../shared/peers/fcc-linux, Linux build of FCE 4.13.2) sent; regenerate it with
`python3 tools/fcc_corpus.py`. The keys in it are throw-away test keys.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from fcc_runner import run_virtual

from harness.provisioning import ItemStore, Response
from harness.provisioning.frame import FrameReader

CORPUS = json.loads((Path(__file__).parent / "data" / "fcc_corpus.json").read_text())


def _decode(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _explain(frame: bytes | None) -> str:
    if frame is None:
        return "no answer (the session was over)"
    (parsed,) = FrameReader("response").feed(frame)
    if parsed.message is None:
        return f"transport status {parsed.status}"
    resp = Response.from_cbor(parsed.message)
    return f"{resp.status} {resp.info!r} warnings={resp.warnings}"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_virtual_board_answers_like_the_real_client(name):
    case = CORPUS[name]
    steps = [_decode(s["request"]) for s in case["steps"]]
    real = [_decode(s["response"]) for s in case["steps"]]
    ours = run_virtual(steps)
    for index, (want, got) in enumerate(zip(real, ours, strict=True)):
        assert got == want, (f"step {index}: real client {_explain(want)}, "
                             f"virtual board {_explain(got)}")


def test_corpus_covers_the_cases_of_issue_17():
    needed = {"wrong_key_with_prkn", "prkn_missing_key", "cert_without_eku",
              "ou_mismatch_lwm2m", "rsa_key_as_ecc", "garbage_key_as_ecc", "chain_wrong_issuer",
              "unknown_group", "disable_with_keep_alive", "keep_alive_half_stored_then_good",
              "disable_then_restart"}
    assert needed <= set(CORPUS)


def test_a_refused_session_leaves_the_committed_store_as_it_was():
    steps = [_decode(s["request"]) for s in CORPUS["good_bootstrap"]["steps"]]
    store = ItemStore()
    run_virtual(steps, store)
    before = {n: store.get(n) for n in store.names()}
    bad = [_decode(s["request"]) for s in CORPUS["keep_alive_half_stored_then_good"]["steps"]]
    run_virtual(bad, store)  # 33 then 17: the session never ends with success
    assert {n: store.get(n) for n in store.names()} == before and store.committed
