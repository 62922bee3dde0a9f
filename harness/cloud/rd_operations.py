"""Server-initiated operations (Read, Write, Execute) on a registered device's live connection."""

from __future__ import annotations

import aiocoap
from aiocoap.numbers.codes import Code

from harness.cloud.coap_util import code_text, request_remote
from harness.cloud.rd_state import LiveRegistration
from harness.errors import HilError

OPERATION_TIMEOUT = 30.0


class DeviceNotConnected(HilError):
    """A server-initiated operation for a device that has no live registration."""


async def operate(context: aiocoap.Context | None, live: LiveRegistration | None, device_id: str,
                  code: Code, path: str, *, payload: bytes = b"", content_format: int | None = None,
                  timeout: float = OPERATION_TIMEOUT) -> tuple[str, int | None, bytes]:
    """Send a request to the device at `live` through `context`: (code, ct, payload)."""
    if live is None or context is None:
        raise DeviceNotConnected(f"Device {device_id} has no live registration; wait for its "
                                 "registration event before reading, writing or executing.")
    segments = tuple(s for s in path.split("/") if s)
    try:
        response = await request_remote(context, live.remote, code, segments, payload=payload,
                                        content_format=content_format, timeout=timeout)
    except TimeoutError:
        raise DeviceNotConnected(f"Device {device_id} did not answer {code} {path} within "
                                 f"{timeout:g} s; check it is still connected.") from None
    except aiocoap.error.NetworkError as exc:
        raise DeviceNotConnected(f"Device {device_id} is unreachable for {code} {path} ({exc}); "
                                 "wait for it to register again.") from None
    ct = response.opt.content_format
    return code_text(response.code), (int(ct) if ct is not None else None), response.payload
