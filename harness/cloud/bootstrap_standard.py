"""What the bootstrap server does first for a standard LwM2M client: Discover, then Delete.

The Device Management Client creates /0/0 (LwM2M server) and /0/1 (bootstrap server) itself and
wants its writes there (protocol-facts §3.1 point 4). A standard client keeps its bootstrap-server
account in an instance of its own choosing, so for clients that do not send `mccv=` the server:

1. Bootstrap-Discover `GET /0` with Accept link-format (OMA LwM2M 1.1.1 Core §5.2.7.3, Transport
   §6.1.7.x): security instances with `ssid` are LwM2M server accounts; the one without is the
   bootstrap-server account, which the writes must leave alone.
2. Bootstrap-Delete `DELETE /0/<i>` for each LwM2M server account found and `DELETE /1`
   (Core §5.2.7.5; a client never deletes its bootstrap-server account itself).
3. writes the new LwM2M server account into the lowest instance id that is not the bootstrap
   server's.

A client that cannot Discover (an error code, a reset or no answer within DISCOVER_TIMEOUT, e.g.
a LwM2M 1.0 client such as coap-node) gets no Delete and its new account at /0/0, as before; a
Delete the client refuses is skipped (the writes that follow replace the instances anyway).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable

from aiocoap import Message
from aiocoap import error as coap_error
from aiocoap.numbers.codes import Code

from harness.lwm2m.ids import ContentFormat

log = logging.getLogger(__name__)

Send = Callable[..., Awaitable[Message]]
_LINK = re.compile(r"<(/[^>]*)>([^,]*)")
DISCOVER_TIMEOUT = 5.0


def security_instances(payload: bytes) -> tuple[set[int], set[int]]:
    """(all security instance ids, those with an ssid) from a Bootstrap-Discover answer."""
    found: set[int] = set()
    servers: set[int] = set()
    for path, attrs in _LINK.findall(payload.decode("utf-8", "replace")):
        parts = [p for p in path.split("/") if p]
        if len(parts) == 2 and parts[0] == "0" and parts[1].isdigit():
            found.add(int(parts[1]))
            if "ssid=" in attrs:
                servers.add(int(parts[1]))
    return found, servers


async def prepare_standard_client(send: Send) -> int:
    """Discover and Delete on a standard client; the security instance id for the new account."""
    try:
        discover = await asyncio.wait_for(
            send(Code.GET, ("0",), accept=int(ContentFormat.LINK_FORMAT)), DISCOVER_TIMEOUT)
    except (TimeoutError, coap_error.Error) as exc:
        log.info("Bootstrap-Discover failed (%s); writing the account at /0/0", exc)
        return 0
    if not discover.code.is_successful():
        log.info("Bootstrap-Discover answered %s; writing the account at /0/0", discover.code)
        return 0
    found, servers = security_instances(discover.payload)
    bootstrap_account = found - servers
    for path in [("0", str(i)) for i in sorted(servers)] + [("1",)]:
        try:
            await asyncio.wait_for(send(Code.DELETE, path), DISCOVER_TIMEOUT)
        except (TimeoutError, coap_error.Error) as exc:
            log.info("Bootstrap-Delete /%s failed (%s); the writes replace it", "/".join(path), exc)
    instance = 0
    while instance in bootstrap_account:
        instance += 1
    return instance
