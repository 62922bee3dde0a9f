"""Wire constants of the real client: CoAP codes as it names and prints them."""

from __future__ import annotations

REASONS: dict[int, str] = {
    0x80: "bad-request",
    0x81: "response-unauthorized",
    0x82: "bad-option",
    0x83: "response-forbidden",
    0x84: "not-found",
    0x85: "method-not-allowed",
    0x86: "not-acceptable",
    0x88: "request-entity-incomplete",
    0x8C: "precondition-failed",
    0x8D: "request-entity-too-large",
    0x8F: "unsupported-content-format",
    0xA0: "internal-server-error",
    0xA2: "bad-gateway",
    0xA3: "service-unavailable",
    0xA4: "gateway-timeout",
    0xA5: "proxying-not-supported",
}
"""mbed-client's reason text per CoAP response code (class << 5 | detail)."""

TOO_MANY_REQUESTS = 0x9D
"""4.29, the answer of a rate-limited Register (the client re-registers quietly)."""


def code_text(code: int) -> str:
    """A CoAP code in dotted form (0x83 -> '4.03'); accepts aiocoap's Code too."""
    value = int(code)
    return f"{value >> 5}.{value & 0x1F:02d}"


def reason(code: int) -> str:
    """mbed-client's reason word for a response code (dotted code when it has none)."""
    return REASONS.get(code, code_text(code))


def with_aid(uri: str, account_id: str) -> str:
    """`uri` with `?aid=<account_id>` (replacing any query it had): how the client names its account."""
    return f"{uri.split('?', 1)[0]}?aid={account_id}"
