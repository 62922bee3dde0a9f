"""A real LwM2M registration (CoAP over udp, NoSec) reaches the webhook and the websocket."""

from __future__ import annotations

import asyncio
import json

from aiocoap import POST, Context, Message
from rest_test_support import Receiver, app_websocket


async def _register(uri: str, aid: str) -> tuple[str, tuple[str, ...]]:
    ctx = await Context.create_client_context()
    try:
        request = Message(code=POST, uri=f"{uri}/rd?ep=sensor-1&lt=300&lwm2m=1.0&b=U&aid={aid}",
                          payload=b'</3/0/0>;rt="manufacturer",</3303/0/5700>;obs', content_format=40)
        response = await asyncio.wait_for(ctx.request(request).response, 10)
        return str(response.code), tuple(response.opt.location_path)
    finally:
        await ctx.shutdown()


def test_registration_is_notified_on_webhook_and_websocket(account, service) -> None:
    receiver = Receiver()
    try:
        account.admin.set_webhook(receiver.url)
        receiver.next()
        with app_websocket(account.admin) as ws:
            code, location = asyncio.run(_register(service.lwm2m_uri("udp"), account.id))
            assert code.startswith("2.01")
            device_id = location[-1]
            hook = json.loads(receiver.next()[1])["registrations"][0]
            pushed = json.loads(ws.recv(timeout=5))["registrations"][0]
        assert hook == pushed
        assert (hook["ep"], hook["original-ep"], hook["ept"]) == (device_id, "sensor-1", "default")
        assert [r["path"] for r in hook["resources"]] == ["/3/0/0", "/3303/0/5700"]
        device = account.admin.get_device(device_id)
        assert (device.state, device.endpoint_name) == ("registered", "sensor-1")
        assert [d.id for d in account.admin.list_devices(state="registered").data] == [device_id]
    finally:
        receiver.close()

