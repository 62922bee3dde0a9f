"""A bounded duplicate-response cache for the LwM2M server's CoAP message layer.

aiocoap keeps every answered request's response for EXCHANGE_LIFETIME (247 s) with one timer
each, so memory grows with the registration rate (about 1.6 KiB per Register). Here the cache is
one insertion-ordered map with expiry times, purged from its oldest end as messages arrive and
capped at `limit` entries; a duplicate older than the cap is handled again (Register, Update and
De-register are idempotent for the same device). An answer is kept as its encoded datagram (tens
of bytes, one object) rather than as an aiocoap Message (a dozen objects the garbage collector
walks); a duplicate request gets it decoded and sent again.
"""

from __future__ import annotations

import collections
from typing import Any

import aiocoap
from aiocoap.message import Direction
from aiocoap.numbers.types import CON

DEFAULT_LIMIT = 8192


def bound_duplicate_cache(context: aiocoap.Context, limit: int = DEFAULT_LIMIT) -> None:
    """Replace the duplicate cache of each of the context's message managers by a bounded one."""
    for manager in context.request_interfaces:
        messages = getattr(manager, "token_interface", None)
        if messages is None or not hasattr(messages, "_recent_messages") \
                or "_bounded_duplicates" in messages.__dict__:
            continue
        _bound(messages, limit)


def _bound(messages: Any, limit: int) -> None:
    recent: collections.OrderedDict[tuple[Any, int], list[Any]] = collections.OrderedDict()
    # key (remote, message id) -> [expiry time, encoded answer or None while unanswered]

    def purge(now: float) -> None:
        while recent:
            expires = next(iter(recent.values()))[0]
            if expires > now and len(recent) < limit:
                return
            recent.popitem(last=False)

    def deduplicate(message: aiocoap.Message) -> bool:
        purge(messages.loop.time())
        key = (message.remote, message.mid)
        entry = recent.get(key)
        if entry is not None:
            if message.mtype is CON and entry[1] is not None:  # the stored answer, again
                answer = aiocoap.Message.decode(entry[1], message.remote)
                answer.direction = Direction.OUTGOING
                messages._send_via_transport(answer)
            return True
        recent[key] = [messages.loop.time() + message.transport_tuning.EXCHANGE_LIFETIME, None]
        return False

    def store(message: aiocoap.Message) -> None:
        entry = recent.get((message.remote, message.mid))
        if entry is not None:
            entry[1] = message.encode()

    messages._deduplicate_message = deduplicate
    messages._store_response_for_duplicates = store
    messages._recent_messages = recent
    messages._bounded_duplicates = limit
