"""Bootstrap configurations against an independent standard client (coap-node, udp NoSec).

The npm LwM2M 1.0 client of test_interop_lwm2m_client.py, with a bootstrap configuration on the
lab's NoSec account (harness.config.bootstrap_config): it resets a Bootstrap-Discover (LwM2M
1.0 has none), answers Bootstrap-Delete of `/` with 2.02 and takes its account as bare resource
lists as well as object instances; the service's bootstrap event records each answer.
"""

from __future__ import annotations

import subprocess
import uuid
from urllib.parse import urlsplit

import pytest
from test_interop_lwm2m_client import CLIENT_SCRIPT, _config, _read_line, _require_client, _stop

from harness.cloud import events as ev
from harness.cloud.service_thread import ServiceThread
from harness.config.bootstrap_config import BootstrapConfig

WAIT = 10.0
CLIENT_TIMEOUT_S = 15


@pytest.mark.slow  # up to ~3 s: coap-node's first write is retransmitted (see the other test)
@pytest.mark.parametrize(("config", "operations"), [
    ({"discover": ["/"], "delete": ["/"]},
     ["GET / failed (MessageError)", "DELETE / 2.02", "PUT /0/0 2.04", "PUT /1/0 2.04",
      "POST /bs 2.04"]),
    ({"write": "resources"},
     ["GET /0 failed (MessageError)", "PUT /0/0 2.04", "PUT /1/0 2.04", "POST /bs 2.04"]),
], ids=["discover-and-delete-root", "bare-resource-lists"])
def test_coap_node_follows_a_bootstrap_configuration(tmp_path, config, operations):
    """The client resets the Discover, accepts the rest, and registers with the account."""
    node = _require_client()
    aid = uuid.uuid4().hex
    with ServiceThread(_config(), tmp_path, start_rest=False, nosec_default_account=aid) as svc:
        svc.store.create_account("interop", account_id=aid)
        svc.store.bootstrap_configs.put(aid, BootstrapConfig.model_validate(config))
        bootstrap = urlsplit(svc.bootstrap_uri("udp"))
        mark = svc.events.mark()
        client = subprocess.Popen(
            [node, str(CLIENT_SCRIPT), bootstrap.hostname, str(bootstrap.port), "coap-node-config",
             str(CLIENT_TIMEOUT_S)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert _read_line(client, "bootstrap-request") == "bootstrap-request 2.04"
            assert _read_line(client, "bootstrapped").startswith(
                f"bootstrapped {svc.lwm2m_uri('udp')} securityMode=3")
            registered = _read_line(client, "registered")
            boot = svc.events.wait_for_sync(lambda e: e.type == ev.BOOTSTRAP, WAIT, since=mark)
            assert boot.data["operations"] == operations
            assert registered.startswith(f"registered /rd/{aid}/{boot.device_id} ")
        finally:
            _stop(client)
            for stream in (client.stdout, client.stderr):
                if stream:
                    stream.close()
