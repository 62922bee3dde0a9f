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
harness/cloud/bootstrap_sequence.py runs this default, or an account's bootstrap configuration.
"""

from __future__ import annotations

import re

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
