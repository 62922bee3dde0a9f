"""A lean path through aiocoap for the hot LwM2M requests on datagram transports (udp, dtls).

aiocoap's request pipeline (token manager, pipe, task, site, block-wise cache, piggyback timer)
costs more than a Register's own work. A confirmable POST /rd (Register) or POST /rd/<aid>/<id>
(Update) with only plain options (Uri-Host/Port/Path/Query, Content-Format) is handed from
aiocoap's message layer straight to the server; everything else (block-wise transfers, other
paths and methods, NON requests, unusual options) takes aiocoap's own path. The message layer is
still aiocoap's: it deduplicates confirmable retransmissions by message id before this path and
stores the answer for them; the answer is a piggybacked ACK (same message id and token) sent once
the request's store writes are committed (harness.cloud.commit_group).

The datagram transports read queued datagrams in batches (harness.transport.batch_reader), so a
burst of Registers shares one commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import aiocoap
from aiocoap import Message
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import ACK, CON

log = logging.getLogger(__name__)

PLAIN_OPTIONS = frozenset({3, 7, 11, 12, 15})
"""Uri-Host, Uri-Port, Uri-Path, Content-Format, Uri-Query: nothing aiocoap must act on."""

Outcome = tuple[Message, Callable[[], None] | None]


class Handlers(Protocol):
    """What the lean path needs of the LwM2M server."""

    group: Any

    def register_now(self, request: Message) -> Outcome:
        """Handle a Register."""

    def update_now(self, request: Message, path: tuple[str, ...]) -> Outcome:
        """Handle an Update of the registration at `path` (aid, device id)."""


def install(context: aiocoap.Context, server: Handlers) -> None:
    """Route the hot requests of every datagram message layer of `context` to `server`."""
    for token_manager in context.request_interfaces:
        messages = getattr(token_manager, "token_interface", None)
        if messages is None or not hasattr(messages, "_process_request") \
                or "_lean_path" in messages.__dict__:
            continue
        messages._process_request = _lean_process(messages, server, messages._process_request)
        messages._lean_path = True


def _lean_process(messages: Any, server: Handlers, original: Callable[[Message], None]
                  ) -> Callable[[Message], None]:
    def process(request: Message) -> None:
        handle = _handler(server, request)
        if handle is None:
            original(request)
            return
        try:
            response, after = handle()
        except Exception:  # noqa: BLE001 - as aiocoap does: a 5.00, and the service keeps serving
            log.exception("handling %s %s failed", request.code, "/".join(request.opt.uri_path))
            response, after = Message(code=Code.INTERNAL_SERVER_ERROR), None
        if after is None or server.group is None:
            if after is not None:
                after()
            _send(messages, request, response)
            return

        def committed(ok: bool) -> None:
            if ok:
                after()
                _send(messages, request, response)
            else:
                _send(messages, request, Message(code=Code.INTERNAL_SERVER_ERROR,
                                                 payload=b"The registration could not be stored; "
                                                         b"try again"))
        server.group.after_commit(committed)
    return process


def _handler(server: Handlers, request: Message) -> Callable[[], Outcome] | None:
    """The server method for a request the lean path takes, else None."""
    if request.mtype is not CON or request.code != Code.POST:
        return None
    if not PLAIN_OPTIONS.issuperset(request.opt._options):
        return None
    path = request.opt.uri_path
    if path == ("rd",):
        return lambda: server.register_now(request)
    if len(path) == 3 and path[0] == "rd":
        return lambda: server.update_now(request, path[1:])
    return None


def _send(messages: Any, request: Message, response: Message) -> None:
    """The response as a piggybacked ACK, kept for retransmissions of the request (without a
    reference to the request: the duplicate cache holds thousands of answers)."""
    response.mtype = ACK
    response.mid = request.mid
    response.token = request.token
    response.remote = request.remote.as_response_address()
    messages._send_initially(response)
