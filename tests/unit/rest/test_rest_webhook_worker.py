"""The webhook worker on its own: a bounded backlog and a channel that survives a bad payload."""

from __future__ import annotations

import asyncio
import json

import httpx
from rest_test_support import Receiver

from harness.cloud.records import utcnow
from harness.cloud.rest.notifications import RetryPolicy, _WebhookWorker
from harness.cloud.rest.storage import NotificationChannel

FAST = RetryPolicy(initial=0.05, max_delay=0.1, give_up_after=0.5, request_timeout=2.0)


def _channel(url: str) -> NotificationChannel:
    return NotificationChannel("admin:acc", "acc", "webhook", url, {}, utcnow())


async def _until(condition, steps: int = 1000) -> None:
    """Yield to the loop until `condition()` holds (no wall-clock wait)."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the worker did not get there")


def test_webhook_backlog_keeps_only_the_newest_notifications() -> None:
    receiver = Receiver()

    async def scenario() -> dict:
        async with httpx.AsyncClient() as client:
            worker = _WebhookWorker(_channel(receiver.url), client, FAST, maxsize=3)
            for n in range(10):  # queued before the worker task first runs
                worker.offer({"de-registrations": [f"dev-{n}"]})
            assert worker.queue.qsize() == 3 and worker.dropped == 7
            body = await asyncio.to_thread(receiver.next)
            worker.task.cancel()
            return json.loads(body[1])

    try:
        assert asyncio.run(scenario()) == {"de-registrations": ["dev-7", "dev-8", "dev-9"]}
    finally:
        receiver.close()


def test_webhook_channel_survives_a_payload_it_cannot_send() -> None:
    receiver = Receiver()

    async def scenario() -> dict:
        async with httpx.AsyncClient() as client:
            worker = _WebhookWorker(_channel(receiver.url), client, FAST)
            worker.offer({"registrations": [object()]})  # not JSON: fails before any I/O
            await _until(lambda: worker.dropped == 1)
            assert not worker.task.done()
            worker.offer({"de-registrations": ["dev-ok"]})
            body = await asyncio.to_thread(receiver.next)
            worker.task.cancel()
            return json.loads(body[1])

    try:
        assert asyncio.run(scenario()) == {"de-registrations": ["dev-ok"]}
    finally:
        receiver.close()
