"""Garbled frames for both sides of the provisioning link, and the checks every answer must pass.

Used by the hypothesis tests (tests/unit/provisioning/test_provisioning_fuzz.py) and the long run
(tools/fuzz_frames.py): mutations of real requests (bit flips, cuts, insertions, spliced CBOR,
re-framed with a correct SHA-256 so they reach the bundle handler) and raw noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.provisioning.bundle import Response
from harness.provisioning.device import FactoryDevice
from harness.provisioning.frame import (
    TOKEN,
    FrameReader,
    FtcdStatus,
    ResponseFrame,
    encode_request,
    encode_response,
)
from harness.provisioning.host import ProvisioningError, ProvisionResult
from harness.provisioning.items import FccStatus
from harness.provisioning.store import ItemStore

FTCD_STATUSES = frozenset(int(s) for s in FtcdStatus)
FCC_STATUSES = frozenset(int(s) for s in FccStatus)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random mutation of `data`: flips, a cut, an insertion, a duplicated slice or noise."""
    out = bytearray(data)
    kind = rng.randrange(6)
    if kind == 0 and out:
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    elif kind == 1 and out:
        cut = rng.randrange(len(out))
        out = out[:cut] if rng.random() < 0.5 else out[cut:]
    elif kind == 2:
        at = rng.randrange(len(out) + 1)
        out[at:at] = rng.randbytes(rng.randint(1, 16))
    elif kind == 3 and out:
        a = rng.randrange(len(out))
        b = min(len(out), a + rng.randint(1, 64))
        at = rng.randrange(len(out) + 1)
        out[at:at] = out[a:b]
    elif kind == 4 and out:
        at = rng.randrange(len(out))
        out[at] = rng.choice([0x00, 0xFF, 0x7F, 0x80, 0xBF, 0x9F, 0x5B, 0x1B, 0xFB])
    else:
        out = bytearray(rng.randbytes(rng.randint(0, 64)))
    return bytes(out)


def garbled_stream(seeds: list[bytes], rng: random.Random) -> bytes:
    """Bytes a device may see on its UART: frames of mutated requests, broken frames, noise."""
    parts = []
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(5)
        message = mutate(rng.choice(seeds), rng) if seeds else rng.randbytes(20)
        if choice <= 1:
            parts.append(encode_request(message))          # reaches the bundle handler
        elif choice == 2:
            parts.append(mutate(encode_request(message), rng))  # broken framing
        elif choice == 3:
            parts.append(rng.randbytes(rng.randint(0, 200)))    # console noise
        else:
            parts.append(TOKEN + rng.randbytes(rng.randint(0, 12)))  # token then garbage
    return b"".join(parts)


@dataclass
class Tally:
    """What a fuzz run saw."""

    frames: int = 0
    escaped: list[str] = field(default_factory=list)
    transport: dict[int, int] = field(default_factory=dict)
    bundle: dict[int, int] = field(default_factory=dict)
    undocumented: list[str] = field(default_factory=list)


def check_device(device: FactoryDevice, data: bytes, tally: Tally) -> None:
    """Feed `data`; every answer must be a response frame with documented statuses."""
    before = device.internal_errors
    try:
        out = device.feed(data)
    except Exception as exc:  # noqa: BLE001 - counting escapes is the point
        tally.escaped.append(f"device: {type(exc).__name__}")
        return
    if device.internal_errors != before:
        tally.escaped.append("device: an exception reached the handler's catch-all (see log)")
    for frame in FrameReader("response").feed(out):
        tally.frames += 1
        if not isinstance(frame, ResponseFrame) or frame.status not in FTCD_STATUSES:
            tally.undocumented.append(f"transport {getattr(frame, 'status', frame)!r}")
            continue
        tally.transport[frame.status] = tally.transport.get(frame.status, 0) + 1
        if frame.message is None:
            continue
        try:
            resp = Response.from_cbor(frame.message)
        except ValueError:
            tally.undocumented.append("undecodable response CBOR")
            continue
        if resp.status not in FCC_STATUSES or not isinstance(resp.info, str):
            tally.undocumented.append(f"bundle status {resp.status!r}")
        tally.bundle[resp.status] = tally.bundle.get(resp.status, 0) + 1


def check_host(data: bytes, tally: Tally) -> None:
    """The host reader and result decoder: only ProvisioningError may come out."""
    try:
        for frame in FrameReader("response").feed(data):
            if isinstance(frame, ResponseFrame):
                ProvisionResult.from_frame(frame, "/dev/ttyFUZZ")
    except ProvisioningError:
        pass
    except Exception as exc:  # noqa: BLE001 - counting escapes is the point
        tally.escaped.append(f"host: {type(exc).__name__}")


def host_stream(seeds: list[bytes], rng: random.Random) -> bytes:
    """Bytes a host may see: response frames with mutated CBOR or status, noise."""
    message = mutate(rng.choice(seeds), rng) if seeds else rng.randbytes(30)
    status = rng.choice([0, 0, 0, 8, 9, rng.randrange(1 << 32)])
    frame = encode_response(status, message)
    return mutate(frame, rng) if rng.random() < 0.3 else frame


def new_device() -> FactoryDevice:
    """A device over an in-memory store."""
    return FactoryDevice(ItemStore())
