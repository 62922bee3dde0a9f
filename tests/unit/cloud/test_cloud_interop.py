"""Interop and the background-thread runner: libcoap's coap-client registers over udp."""

import shutil
import subprocess

import pytest
from cloud_testkit import config

from harness.cloud import events as ev
from harness.cloud.records import DeviceState
from harness.cloud.service_thread import ServiceThread

COAP_CLIENT = next(
    (p for p in (shutil.which(n) for n in ("coap-client", "coap-client-notls",
                                            "coap-client-openssl", "coap-client-gnutls")) if p),
    None,
)


@pytest.mark.skipif(COAP_CLIENT is None, reason="coap-client (libcoap3-bin) is not installed")
def test_cloud_coap_client_registers_over_udp(tmp_path):
    with ServiceThread(config(), tmp_path, start_rest=False) as svc:
        account = svc.create_account("interop")
        mark = svc.events.mark()
        uri = f"{svc.lwm2m_uri('udp')}/rd?ep=libcoap-1&lt=300&lwm2m=1.0&b=U&aid={account.id}"
        done = subprocess.run([COAP_CLIENT, "-m", "post", "-t", "40", "-e", "</3/0>,</3/0/0>",
                               "-v", "8", "-B", "5", uri],
                              capture_output=True, text=True, timeout=20, check=False)
        output = done.stdout + done.stderr
        event = svc.events.wait_for_sync(lambda e: e.type == ev.REGISTRATION, 5, since=mark)
        assert event.data["original-ep"] == "libcoap-1"
        assert "c:2.01" in output, output
        assert (f"Location-Path:rd, Location-Path:{account.id}, "
                f"Location-Path:{event.device_id}") in output
        device = svc.device(event.device_id)
        assert device.state == DeviceState.REGISTERED
        assert [r["path"] for r in device.resources] == ["/3/0", "/3/0/0"]
