"""What a service saw and said, for the reports: CoAP messages (no payloads), TLS sessions, events.

One `ServiceTrace` per service observes its aiocoap message layer (each MessageManager's incoming
dispatch and outgoing send) and its event bus. It keeps a bounded history stamped with time.time(),
the clock every part of a test's timeline uses. It records method/code, path, payload size, block
options, message type, peer and a request's query (its Uri-Query options joined with `&`: endpoint
names, account and device ids, versions; redacted all the same); never a payload, except the
diagnostic text of an error response (what the service decided, e.g. `Enrollment ID not
registered`), redacted and cut short.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from harness.redact import redact

log = logging.getLogger(__name__)

HISTORY = 5_000
"""Records kept per kind (wire, events): a test's report needs the messages of its own seconds
(a few hundred at most, on a service shared by several workers); each record costs ~300 bytes."""
DETAIL_CHARS = 160
QUERY_CHARS = 400
"""A request's query is kept up to this many characters (a Register's is ~200)."""
_PENDING = 512

_TRACES: weakref.WeakSet[ServiceTrace] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class WireRecord:
    """One CoAP message (or TLS session start) as the service saw it."""

    t: float
    server: str
    direction: str  # "in" (device -> service) or "out" (service -> device)
    peer: str
    kind: str  # message type (CON, ACK, NON, RST) or "tls"
    code: str  # GET, POST, 2.04, 4.03 ... or "ok" for a TLS session
    path: str
    size: int
    block1: str = ""
    block2: str = ""
    detail: str = ""
    query: str = ""  # a request's Uri-Query options joined with "&" (ep=...&lt=...), redacted


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One service event (type, device, a short redacted data summary)."""

    t: float
    type: str
    device_id: str | None
    data: str


def _peer(remote: Any) -> str:
    """host:port of a remote (its hostinfo), or its repr."""
    sockaddr = getattr(remote, "sockaddr", None)
    if isinstance(sockaddr, tuple) and len(sockaddr) == 4 and not sockaddr[3] \
            and sockaddr[0].startswith("::ffff:") and "." in sockaddr[0] and sockaddr[1] != 5683:
        return f"{sockaddr[0][7:]}:{sockaddr[1]}"  # an IPv4 peer on aiocoap's udp6 socket, cheaply
    with contextlib.suppress(Exception):
        return str(remote.hostinfo)
    return repr(remote)


def _block(option: Any) -> str:
    """num/more/size of a Block1/Block2 option ("" when absent)."""
    if option is None:
        return ""
    return f"{option.block_number}/{int(bool(option.more))}/{option.size}"


def _path(message: Any) -> str:
    """The request path (/bs, /rd/abc, /3/0/5) of a message, "" for responses."""
    segments = tuple(message.opt.uri_path or ())
    return "/" + "/".join(segments) if segments else ""


def _query(message: Any) -> str:
    """A request's Uri-Query options joined with "&" (ep=x&lt=60), redacted and cut; "" without."""
    parts = tuple(message.opt.uri_query or ())
    if not parts:
        return ""
    text = "&".join(parts)
    if len(text) > QUERY_CHARS:
        text = text[:QUERY_CHARS] + "…"
    return redact(text)


def _diagnostic(message: Any) -> str:
    """The diagnostic text of an error response (4.xx/5.xx), redacted and cut; else ""."""
    code = message.code
    if not (code.is_response() and code.class_ in (4, 5)) or not message.payload:
        return ""
    text = message.payload[:DETAIL_CHARS].decode("utf-8", "replace")
    return redact(text.replace("\n", " ").strip())


def _peer_subject(remote: Any) -> str:
    """CN of the TLS peer certificate of a remote ("" without one)."""
    der = getattr(remote, "peer_certificate", None)
    if not der:
        return ""
    try:
        names = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:
        return ""
    return str(names[0].value) if names else ""


class ServiceTrace:
    """Records a service's CoAP messages and events in memory (bounded, thread-safe)."""

    def __init__(self, history: int = HISTORY) -> None:
        self._lock = threading.Lock()
        self.wire: collections.deque[WireRecord] = collections.deque(maxlen=history)
        self.events: collections.deque[EventRecord] = collections.deque(maxlen=history)
        self._paths: collections.OrderedDict[tuple[str, bytes], str] = collections.OrderedDict()
        self._peers: collections.OrderedDict[Any, str] = collections.OrderedDict()  # remote -> text
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        _TRACES.add(self)

    # --- hooks ---------------------------------------------------------------------------------
    def attach(self, context: Any, server: str) -> None:
        """Observe every message of an aiocoap server Context (one per transport) as `server`."""
        for token_manager in context.request_interfaces:
            mman = getattr(token_manager, "token_interface", None)
            iface = getattr(mman, "message_interface", None)
            if mman is None or iface is None:
                continue
            dispatch, send = mman.dispatch_message, iface.send

            def observed_dispatch(message: Any, _dispatch=dispatch) -> Any:
                self.message(server, "in", message)
                return _dispatch(message)

            def observed_send(message: Any, _send=send) -> Any:
                self.message(server, "out", message)
                return _send(message)

            mman.dispatch_message = observed_dispatch
            iface.send = observed_send

    def on_event(self, event: Any) -> None:
        """Record a service event (an EventBus listener)."""
        data = {k: v for k, v in event.data.items() if k != "resources"}
        created = getattr(event, "created_at", None)
        stamp = created.timestamp() if hasattr(created, "timestamp") else time.time()
        with self._lock:
            self.events.append(EventRecord(stamp, event.type, event.device_id, redact(str(data))))
            if data.get("code") == "tls":  # a refused handshake is on the wire too
                server = "bootstrap" if "bootstrap" in event.type else "lwm2m"
                reason = redact(f"TLS handshake refused: {data.get('reason', '')}")
                self.wire.append(WireRecord(stamp, server, "in", str(data.get("peer", "")), "tls",
                                            "refused", "", 0, detail=reason))

    # --- recording -----------------------------------------------------------------------------
    def message(self, server: str, direction: str, message: Any) -> None:
        """Record one CoAP message; never raises (a report must not break the service)."""
        try:
            self._message(server, direction, message)
        except Exception:  # noqa: BLE001 - observing must never disturb the wire
            log.debug("could not record a CoAP message", exc_info=True)

    def _message(self, server: str, direction: str, message: Any) -> None:
        now = time.time()
        remote = message.remote
        peer = self._peers.get(remote)
        if peer is None:  # resolving a peer's text costs more than the rest of the record
            peer = self._peers[remote] = _peer(remote)
            while len(self._peers) > _PENDING:
                self._peers.popitem(last=False)
        key = (peer, bytes(message.token or b""))
        path = _path(message)
        query = _query(message) if message.code.is_request() else ""
        with self._lock:
            if direction == "in" and remote is not None and remote not in self._sessions:
                subject = _peer_subject(remote)
                if subject or getattr(remote, "peer_certificate", None) is not None:
                    self._sessions.add(remote)
                    self.wire.append(WireRecord(now, server, "in", peer, "tls", "ok", "", 0,
                                                detail=f"TLS session, client certificate CN={subject}"))
            if message.code.is_request():
                self._paths[key] = path
                while len(self._paths) > _PENDING:
                    self._paths.popitem(last=False)
            elif not path:
                path = self._paths.get(key, "")
            self.wire.append(WireRecord(
                now, server, direction, peer, str(message.mtype), _code(message.code), path,
                len(message.payload or b""), _block(message.opt.block1), _block(message.opt.block2),
                _diagnostic(message), query))

    # --- reading -------------------------------------------------------------------------------
    def between(self, start: float, end: float) -> tuple[list[WireRecord], list[EventRecord]]:
        """The messages and events recorded from `start` to `end` (time.time() seconds)."""
        with self._lock:
            wire = [r for r in self.wire if start <= r.t <= end]
            events = [e for e in self.events if start <= e.t <= end]
        return wire, events


def _code(code: Any) -> str:
    """GET/POST/... for requests, 2.05 style for responses, EMPTY for an empty message."""
    if code.is_request():
        return str(code.name)
    if code.is_response():
        return str(code.dotted)
    return "EMPTY"


def traces() -> list[ServiceTrace]:
    """Every service trace alive in this process (services started by the tests)."""
    return list(_TRACES)
