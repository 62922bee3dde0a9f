"""The virtual client's request queries, built as the real client builds them (protocol-facts
§3.1; each difference the real client showed is pinned by a test in tests/peers)."""

from __future__ import annotations

from urllib.parse import urlsplit

from harness.provisioning import items
from harness.sim.client.credentials import query_value, uri_query
from harness.sim.client.settings import ClientSettings


def type_query(settings: ClientSettings) -> list[str]:
    """`et=<type>`; none for an image built with an empty type, in Register and Update
    (tests/peers/test_peer_pdmc_empty_endpoint_type.py)."""
    return [f"et={settings.endpoint_type}"] if settings.endpoint_type else []


def bootstrap_query(store, settings: ClientSettings, endpoint: str, uri: str) -> list[str]:
    """Bootstrap-Request: `ep=`, then (when the URI has a query) its parameters, `iep=` of a
    device that has a device ID, `mccv=`."""
    query = [f"ep={endpoint}"]
    if "?" in uri:
        query += [part for part in uri_query(uri).split("&") if part]
        internal = store.get_str(items.INTERNAL_ENDPOINT)
        if internal:
            query.append(f"iep={internal}")
        query.append(f"mccv={settings.client_version}")
    return query


def register_query(store, settings: ClientSettings, endpoint: str, uri: str,
                   lifetime: int) -> list[str]:
    """Register: ep, et, lt, lwm2m, d (not in NoSec), b, the URI's parameters, mccv (not in
    NoSec)."""
    account = store.get_str(items.ACCOUNT_ID) or query_value(uri, "aid") or ""
    binding = "UQ" if settings.queue_mode else "U"
    secure = urlsplit(uri).scheme == "coaps"  # the real client's NoSec Register: no d=
    query = [f"ep={endpoint}", *type_query(settings), f"lt={lifetime}", "lwm2m=1.0",
             *([f"d={account}"] if secure else []), f"b={binding}"]
    query += [part for part in uri_query(uri).split("&") if part]
    if secure:
        query.append(f"mccv={settings.client_version}")
    return query


def update_query(settings: ClientSettings, written_lifetime: int | None) -> list[str]:
    """Update: `et=` and, after a server's write changed the lifetime (/1/0/1), `lt=`; never `lt=`
    after a Max-Age cut (tests/peers/test_peer_pdmc_wire_queries.py,
    test_peer_pdmc_registered_server.py)."""
    lifetime = [f"lt={written_lifetime}"] if written_lifetime is not None else []
    return [*type_query(settings), *lifetime]
