"""The LwM2M 1.0/1.1 rules the servers apply to a client's request (each names its spec section).

- Version (OMA LwM2M 1.1.1 Core §6.2.1.1 Register parameters; Transport §6.4.3, Table 6.4.3.-1
  "Registration Interface": 4.12 Precondition Failed for an unsupported version): `lwm2m=1.0` and
  `lwm2m=1.1` are accepted (the real client sends 1.0; `1.0.0`, as coap-node sends, reads as
  1.0); another version gets 4.12; a Register without `lwm2m` gets 4.00 (mandatory in 1.1).
- Binding and queue mode (Core 1.0 §5.3.1.1 / 1.1.1 §6.2.1.1 and the Server object's
  resource 7): 1.0 sends `b=U`, `UQ`, `S`, `SQ`, `US` or `UQS` (Q = queue mode inside `b`); 1.1
  sends `b=` letters from U, T, S, N and queue mode as a separate `Q` parameter. The directory keeps
  the binding letters with a `Q` appended for queue mode (e.g. `UQ`), whatever the version.
- Lifetime (Core §6.2.1.1 `lt`; the service's bounds `timing.lifetime_min/max`): a client that
  identifies itself with `mccv=` (the Device Management Client) reads the granted lifetime from
  Max-Age, so its `lt` is clamped and Max-Age says so; a standard client does not read Max-Age,
  so an `lt` outside the bounds is refused with 4.00 naming the bounds (docs/standard-clients.md).
- Option lengths (RFC 7252 §5.10 table: Uri-Path and Uri-Query 0-255 bytes; §5.4.3: an option
  whose length is outside its range is treated like an unrecognized option, and both are
  critical, so §5.4.1 answers 4.02 Bad Option).
"""

from __future__ import annotations

from aiocoap import Message
from aiocoap.numbers.codes import Code

from harness.cloud.coap_util import is_decimal

SUPPORTED_VERSIONS = ("1.0", "1.1")
BINDINGS_1_0 = ("U", "UQ", "S", "SQ", "US", "UQS")
BINDING_LETTERS_1_1 = set("UTSN")
MAX_OPTION_LENGTH = 255


class RuleError(Exception):
    """A request that breaks a rule: the CoAP code and the diagnostic for the client."""

    def __init__(self, code: Code | str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def check_option_lengths(request: Message) -> None:
    """RFC 7252 §5.10/§5.4.3: Uri-Path and Uri-Query values longer than 255 bytes -> 4.02."""
    for name, values in (("Uri-Path", request.opt.uri_path), ("Uri-Query", request.opt.uri_query)):
        for value in values:
            size = len(value.encode())
            if size > MAX_OPTION_LENGTH:
                raise RuleError(Code.BAD_OPTION,
                                f"{name} option of {size} bytes exceeds {MAX_OPTION_LENGTH} "
                                "(RFC 7252 section 5.10); send shorter values")


def check_version(query: dict[str, str]) -> str:
    """The client's LwM2M version (1.0 or 1.1), else RuleError 4.00 (missing) / 4.12 (unsupported)."""
    version = query.get("lwm2m")
    if version is None:
        raise RuleError("4.00", "Register needs lwm2m=<version>; this server supports "
                                f"{' and '.join(SUPPORTED_VERSIONS)}")
    if version.endswith(".0") and version.count(".") == 2:
        version = version[:-2]  # "1.0.0" (coap-node's default) names version 1.0
    if version not in SUPPORTED_VERSIONS:
        raise RuleError(Code.PRECONDITION_FAILED,
                        f"LwM2M version {version!r} is not supported; register with lwm2m=1.0 "
                        "or lwm2m=1.1")
    return version


def binding_of(query: dict[str, str], version: str, current: str | None = None) -> str:
    """The binding to store (letters, then Q for queue mode), or RuleError 4.00 for a bad one."""
    raw = query.get("b", current.rstrip("Q") if current and version == "1.1" else current or "U")
    if version == "1.0":
        if raw not in BINDINGS_1_0:
            raise RuleError("4.00", f"binding b={raw!r} is not a LwM2M 1.0 binding; use one of "
                                    f"{', '.join(BINDINGS_1_0)}")
        letters, queue = raw.replace("Q", ""), "Q" in raw
    else:
        if not raw or set(raw) - BINDING_LETTERS_1_1 or len(set(raw)) != len(raw):
            raise RuleError("4.00", f"binding b={raw!r} is not a LwM2M 1.1 binding; use letters "
                                    "from U, T, S, N and the separate Q parameter for queue mode")
        letters = raw
        queue = "Q" in query or (current is not None and current.endswith("Q") and "b" not in query)
    return letters + ("Q" if queue else "")


def lifetime_of(query: dict[str, str], *, default: float, minimum: float, maximum: float,
                clamp: bool) -> int:
    """The lifetime to grant: clamped for clients that read Max-Age, else refused when out of bounds."""
    text = query.get("lt")
    if text is None:
        value = default
    else:
        if not is_decimal(text) or int(text) <= 0:
            raise RuleError("4.00", f"lt={text!r} is not a positive integer; send the lifetime "
                                    "in seconds, e.g. lt=86400")
        value = int(text)
    if clamp:
        return int(min(max(value, minimum), maximum))
    if value < minimum or value > maximum:
        raise RuleError("4.00", f"lt={int(value)} is outside this server's lifetime range "
                                f"{int(minimum)}..{int(maximum)} s; register with a lifetime "
                                "in that range")
    return int(value)
