"""In-process event stream of the service: publish, subscribe, and wait with a timeout."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from harness.cloud.records import utcnow

log = logging.getLogger(__name__)

REGISTRATION = "registration"
REG_UPDATE = "reg-update"
DE_REGISTRATION = "de-registration"
REGISTRATION_EXPIRED = "registration-expired"
BOOTSTRAP = "bootstrap"
BOOTSTRAP_ERROR = "bootstrap-error"
DEVICE_CREATED = "device-created"
RATE_LIMITED = "rate-limited"
REGISTRATION_ERROR = "registration-error"

STATE_CHANGES = {REGISTRATION, DE_REGISTRATION, REGISTRATION_EXPIRED, BOOTSTRAP}
HISTORY = 200
QUEUE_SIZE = 1000


def row(event: Event) -> tuple[str, dict[str, Any], bool, Any]:
    """The event as the store writes it with a device change: (type, data, state_change, created_at)."""
    return (event.type, event.data, event.type in STATE_CHANGES, event.created_at)


@dataclass(frozen=True)
class Event:
    """One service event; `data` for registrations holds ep, original-ep, ept, resources."""

    type: str
    device_id: str | None
    account_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    created_at: Any = field(default_factory=utcnow)

    def brief(self) -> str:
        """One line for error messages: type, device and a short data summary."""
        keys = {k: v for k, v in self.data.items() if k not in ("resources",)}
        return f"{self.created_at:%H:%M:%S.%f} {self.type} device={self.device_id} {keys}"


class EventTimeout(TimeoutError):
    """No event matched within the timeout; the message lists the last events seen."""


class Subscription:
    """A bounded queue of events; iterate it with `async for` (oldest events dropped when full)."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _put(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def get(self) -> Event:
        """The next event."""
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()

    def close(self) -> None:
        """Stop receiving events."""
        self._bus._unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Publishes events to subscribers on the service's loop, persists them, keeps a history."""

    def __init__(self, persist: Callable[[Event], None] | None = None) -> None:
        self._persist = persist
        self._subscribers: list[Subscription] = []
        self._history: collections.deque[Event] = collections.deque(maxlen=HISTORY)
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[Callable[[Event], None]] = []
        self._published = 0

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Remember the loop that publishes (publishing from other threads hops onto it)."""
        self._loop = loop

    @property
    def history(self) -> list[Event]:
        """The most recent events (oldest first)."""
        with self._cond:
            return list(self._history)

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        """Call `callback(event)` for every event, on the loop (e.g. the REST notification channel)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Event], None]) -> None:
        """Stop calling a listener."""
        if callback in self._listeners:
            self._listeners.remove(callback)

    def publish(self, event: Event, *, persisted: bool = False) -> None:
        """Persist (unless the store wrote it with its change) and deliver an event (call on the
        loop; other threads are handed over)."""
        if self._persist is not None and not persisted:
            try:
                self._persist(event)
            except Exception:  # noqa: BLE001 - a store failure must not lose the live event
                log.exception("could not persist event %s", event.type)
        with self._cond:
            self._history.append(event)
            self._published += 1
            self._cond.notify_all()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is not None and running is not self._loop:
            self._loop.call_soon_threadsafe(self._deliver, event)
        else:
            self._deliver(event)

    def _deliver(self, event: Event) -> None:
        for sub in list(self._subscribers):
            sub._put(event)
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - one bad listener must not stop the others
                log.exception("event listener %r failed", callback)

    def subscribe(self, maxsize: int = QUEUE_SIZE) -> Subscription:
        """A new subscription receiving every event published from now on."""
        sub = Subscription(self, maxsize)
        self._subscribers.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    def _timeout(self, what: str, timeout: float) -> EventTimeout:
        last = self.history[-10:]
        seen = "\n  ".join(e.brief() for e in last) or "(no events at all)"
        return EventTimeout(f"No event matching {what} within {timeout:g} s; last events:\n  {seen}")

    def wait_for(self, predicate: Callable[[Event], bool], timeout: float, *,
                 what: str = "the condition", include_history: bool = False) -> Awaitable[Event]:
        """Await the first event matching `predicate` published after this call (or a past one,
        with include_history); raises EventTimeout listing the last events.

        The subscription starts at the call, so `w = bus.wait_for(...); act(); await w` is safe.
        """
        sub = self.subscribe()
        past = [e for e in self.history if predicate(e)] if include_history else []
        return self._wait(sub, predicate, timeout, what, past[0] if past else None)

    async def _wait(self, sub: Subscription, predicate: Callable[[Event], bool], timeout: float,
                    what: str, found: Event | None) -> Event:
        with sub:
            if found is not None:
                return found
            try:
                async with asyncio.timeout(timeout):
                    async for event in sub:
                        if predicate(event):
                            return event
            except TimeoutError:
                raise self._timeout(what, timeout) from None
        raise AssertionError("unreachable")

    def wait_for_sync(self, predicate: Callable[[Event], bool], timeout: float, *,
                      what: str = "the condition", since: int = 0) -> Event:
        """Thread-safe blocking wait: the first event at history index >= `since` that matches.

        Use `mark()` before triggering the action and pass it as `since`.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                history = list(self._history)
                offset = self._published - len(history)
                for index, event in enumerate(history):
                    if index + offset >= since and predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        raise self._timeout(what, timeout)

    def after(self, seq: int) -> tuple[list[tuple[int, Event]], int]:
        """(sequence number, event) of the events numbered `seq` or later still in the history,
        and the number the next event will get (atomic; the admin API's event stream)."""
        with self._cond:
            history = list(self._history)
            published = self._published
        first = published - len(history)
        return [(first + i, e) for i, e in enumerate(history) if first + i >= seq], published

    def mark(self) -> int:
        """A position in the event sequence; events published after it are `since=mark()`."""
        with self._cond:
            return self._published
