"""The REST API v3 of the local service: enrollments, trusted certs, devices, applications + JWT.

`start_rest(service)` is called by the service at start; it returns a RestServer (url, stop()).

Paths of our own choosing (the public v3 spec has none for JWT keys):
/v3/applications/{application_id}/verification-keys[/{key_id}] (POST, GET, PUT name/certificate/
description/status, DELETE). Creating/changing applications and keys needs the admin ak_ key;
JWT callers (Bearer + X-Application-ID) may use everything else in their account.

The admin API (/admin/v1, the service operator's key from `<data_dir>/operator-key`) creates
accounts and API keys, reads the directory, denials and the live event stream, operates on
devices, and injects faults (a capability of this local service only); see routes_admin*.py.
"""

from __future__ import annotations

from typing import Any

from harness.cloud.rest.api_keys import load_or_create_operator_key
from harness.cloud.rest.notifications import RetryPolicy
from harness.cloud.rest.server import RestServer, start_rest_server

__all__ = ["RestServer", "RetryPolicy", "start_rest", "start_rest_server"]


async def start_rest(service: Any) -> RestServer:
    """Start the REST API of a running DeviceManagementService on config.host:config.rest_port,
    with the admin API open to the operator key of its data dir."""
    policy = getattr(service, "rest_retry_policy", None)
    return await start_rest_server(service.store, service.events, service.config.host,
                                   service.config.rest_port, policy, service=service,
                                   operator_key=load_or_create_operator_key(service.data_dir))
