"""The notification channel: webhook delivery with back-off, and websocket queues, per credential."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.websockets import WebSocket, WebSocketDisconnect

from harness.cloud import events as ev
from harness.cloud.rest.errors import bad_request
from harness.cloud.rest.notification_payloads import merge, payload_fragment
from harness.cloud.rest.storage import NotificationChannel, RestStorage

log = logging.getLogger(__name__)

WEBSOCKET_QUEUE = 10_000
WEBHOOK_QUEUE = 10_000


@dataclass(frozen=True)
class RetryPolicy:
    """Webhook retry back-off: first delay, doubling up to `max_delay`, dropped after `give_up_after`."""

    initial: float = 1.0
    max_delay: float = 120.0
    give_up_after: float = 24 * 3600.0
    request_timeout: float = 10.0

    def delays(self) -> list[float]:
        """The successive waits before each retry, bounded by give_up_after in total."""
        out, delay, total = [], self.initial, 0.0
        while total + delay <= self.give_up_after:
            out.append(delay)
            total += delay
            delay = min(delay * 2, self.max_delay)
        return out


class _WebhookWorker:
    """Delivers one channel's notifications in order, batching what piles up during a retry.

    At most `maxsize` notifications wait (the oldest are dropped, with a log line, while the
    receiver is down), so a dead receiver cannot grow the service's memory.
    """

    def __init__(self, channel: NotificationChannel, client: httpx.AsyncClient, policy: RetryPolicy,
                 maxsize: int = WEBHOOK_QUEUE):
        self.channel = channel
        self.queue: asyncio.Queue[dict[str, list[Any]]] = asyncio.Queue(maxsize)
        self._client = client
        self._policy = policy
        self.delivered = 0
        self.dropped = 0
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"webhook {channel.owner}")

    def offer(self, fragment: dict[str, list[Any]]) -> None:
        """Queue a notification; when the queue is full the oldest waiting one is dropped."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("webhook %s is not keeping up: %d notifications dropped so far",
                            _safe_url(self.channel.url or ""), self.dropped)
        self.queue.put_nowait(fragment)

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                delivered = await self._deliver(merge(batch))
            except Exception:  # noqa: BLE001 - one bad payload must not stop the channel
                log.exception("webhook %s: could not send %d notifications; dropped them",
                              _safe_url(self.channel.url or ""), len(batch))
                delivered = False
            if delivered:
                self.delivered += 1
            else:
                self.dropped += len(batch)

    async def _deliver(self, payload: dict[str, list[Any]]) -> bool:
        url = self.channel.url or ""
        for delay in [0.0, *self._policy.delays()]:
            if delay:
                await asyncio.sleep(delay)
            try:
                response = await self._client.put(url, json=payload, headers=self.channel.headers,
                                                  timeout=self._policy.request_timeout)
                if response.status_code in (200, 204):
                    return True
                log.warning("webhook %s answered %s; retrying", _safe_url(url), response.status_code)
            except httpx.HTTPError as exc:
                log.warning("webhook %s failed (%s); retrying", _safe_url(url), type(exc).__name__)
        log.error("webhook %s: giving up on a notification after %g s", _safe_url(url),
                  self._policy.give_up_after)
        return False


def _safe_url(url: str) -> str:
    """The URL without query or user info (they may carry secrets)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, userinfo=b""))


class NotificationHub:
    """Routes service events to each credential's channel (webhook or websocket) in its account."""

    def __init__(self, storage: RestStorage, policy: RetryPolicy | None = None) -> None:
        self._storage = storage
        self.policy = policy or RetryPolicy()
        self._client = httpx.AsyncClient(follow_redirects=False)
        self._webhooks: dict[str, _WebhookWorker] = {}
        self._ws_queues: dict[str, asyncio.Queue[dict[str, list[Any]]]] = {}
        self._ws_connected: dict[str, WebSocket] = {}

    # ---------------------------------------------------------------- event intake

    def on_event(self, event: ev.Event) -> None:
        """EventBus listener: queue the event's fragment for every channel of its account."""
        fragment = payload_fragment(event)
        if fragment is None or not event.account_id:
            return
        for channel in self._storage.list_channels(event.account_id):
            if channel.kind == "webhook":
                self._webhook(channel).offer(fragment)
            else:
                queue = self.websocket_queue(channel.owner)
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(fragment)

    def _webhook(self, channel: NotificationChannel) -> _WebhookWorker:
        worker = self._webhooks.get(channel.owner)
        if worker is None or worker.channel != channel:
            if worker is not None:
                worker.task.cancel()
            worker = _WebhookWorker(channel, self._client, self.policy)
            self._webhooks[channel.owner] = worker
        return worker

    # ---------------------------------------------------------------- channel changes

    async def check_webhook(self, url: str, headers: dict[str, str]) -> None:
        """PUT an empty payload to a new callback URL; 400 unless it answers 200 or 204."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise bad_request(f"Callback URL {url[:80]!r} is not a valid URL; give http(s)://host/path.",
                              "url") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise bad_request("The callback URL must be an http:// or https:// URL with a host.", "url")
        try:
            response = await self._client.put(url, content=b"", headers=headers,
                                              timeout=self.policy.request_timeout)
        except httpx.HTTPError as exc:
            raise bad_request(f"The callback URL {_safe_url(url)} could not be reached "
                              f"({type(exc).__name__}); start the receiver and check the URL.",
                              "url") from None
        if response.status_code not in (200, 204):
            raise bad_request(f"The callback URL {_safe_url(url)} answered the test PUT with "
                              f"{response.status_code}; it must answer 200 or 204.", "url")

    def channel_removed(self, owner: str) -> None:
        """Stop delivering to a credential's previous channel (deleted or replaced)."""
        worker = self._webhooks.pop(owner, None)
        if worker is not None:
            worker.task.cancel()
        socket = self._ws_connected.get(owner)
        if socket is not None:
            asyncio.get_running_loop().create_task(_close(socket, 1000, "channel removed"))
        self._ws_queues.pop(owner, None)

    # ---------------------------------------------------------------- websocket

    def websocket_queue(self, owner: str) -> asyncio.Queue[dict[str, list[Any]]]:
        """The queue of notifications waiting for the credential's websocket."""
        return self._ws_queues.setdefault(owner, asyncio.Queue(WEBSOCKET_QUEUE))

    def websocket_status(self, owner: str) -> dict[str, Any]:
        """{queue_size, status} of a credential's websocket channel."""
        queue = self._ws_queues.get(owner)
        status = "connected" if owner in self._ws_connected else "disconnected"
        return {"queue_size": queue.qsize() if queue else 0, "status": status}

    async def serve_websocket(self, owner: str, websocket: WebSocket) -> None:
        """Send queued and new notifications to an accepted websocket until it goes away."""
        previous = self._ws_connected.get(owner)
        if previous is not None:
            await _close(previous, 1000, "replaced by a newer connection")
        self._ws_connected[owner] = websocket
        queue = self.websocket_queue(owner)
        receiver = asyncio.get_running_loop().create_task(_drain(websocket))
        try:
            while not receiver.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                batch = [getter.result()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                await websocket.send_json(merge(batch))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            receiver.cancel()
            if self._ws_connected.get(owner) is websocket:
                del self._ws_connected[owner]

    async def close(self) -> None:
        """Stop every worker and close websockets and the HTTP client."""
        for worker in self._webhooks.values():
            worker.task.cancel()
        for socket in list(self._ws_connected.values()):
            await _close(socket, 1001, "service stopping")
        tasks = [w.task for w in self._webhooks.values()]
        self._webhooks.clear()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._client.aclose()


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until the client disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code, reason)
