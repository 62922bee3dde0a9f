"""The service's TLS toward real devices: chains valid at device time 0, cached contexts,
and refusals after the handshake recorded like handshake failures (docs/tls.md)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from cloud_testkit import WAIT, factory_ca, run, running, trusted_account

from harness import pki
from harness.cloud import events as ev
from harness.cloud.ca import ServicePki
from harness.transport import SecureConnectionError, bare_handshake, device_tls_context


def _hostport(uri: str) -> tuple[str, int]:
    host, port = uri.split("://", 1)[1].rsplit(":", 1)
    return host.strip("[]"), int(port)


def test_server_chains_are_valid_at_device_time_zero(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            for cred in (svc.pki.server_ca, svc.pki.bootstrap_server, svc.pki.lwm2m_server):
                assert pki.valid_at_epoch(cred.cert), cred
                assert cred.cert.not_valid_after_utc.timestamp() > time.time() + 365 * 86400

    run(scenario())


def test_tls_contexts_are_cached_until_the_trusted_cas_change(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            first = svc.trust.context("bootstrap", "tls")
            assert svc.trust.context("bootstrap", "tls") is first
            trusted_account(svc, factory_ca())
            assert svc.trust.context("bootstrap", "tls") is not first

    run(scenario())


def test_a_device_rejecting_the_server_ca_after_the_handshake_is_a_denial(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            trusted_account(svc, ca)
            cred = pki.make_bootstrap_device_cert(ca, "ep-wrong-server-ca")
            wrong = pki.make_ca("a CA that is not the service's", valid_from_epoch=True)
            ctx = device_tls_context(cred, [wrong.cert], clock=lambda: 0.0)
            refused = svc.events.wait_for(lambda e: e.type == ev.BOOTSTRAP_ERROR, WAIT)
            with pytest.raises(SecureConnectionError, match="rejected the server certificate"):
                await bare_handshake(*_hostport(svc.bootstrap_uri()), ctx)
            event = await refused
            assert event.data["code"] == "tls"
            assert "without sending a request" in event.data["reason"]
            assert "server CA provisioned into the device" in event.data["reason"]
            [denial] = svc.store.list_denials()
            assert denial.reason == event.data["reason"]

    run(scenario())


def test_a_device_with_the_right_server_ca_onboards_its_clock_from_zero(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            trusted_account(svc, ca)
            cred = pki.make_bootstrap_device_cert(ca, "ep-right")
            adopted: list[int] = []
            ctx = device_tls_context(cred, [svc.server_ca.cert], clock=lambda: 0.0,
                                     on_time=adopted.append)
            await bare_handshake(*_hostport(svc.bootstrap_uri()), ctx)
            lwm2m = svc.pki.issue_lwm2m_credential("ep-right", "0" * 32, "1" * 32,
                                                   dt.timedelta(days=1))
            ctx = device_tls_context(lwm2m, [svc.server_ca.cert], clock=lambda: float(adopted[0]),
                                     on_time=adopted.append)
            await bare_handshake(*_hostport(svc.lwm2m_uri()), ctx)
            assert len(adopted) == 2 and all(abs(t - time.time()) < 5 for t in adopted)
            assert svc.store.list_denials() == []

    run(scenario())


def test_an_older_pki_gets_server_certs_valid_at_zero_from_the_same_ca(tmp_path):
    first = ServicePki.load_or_create(tmp_path)
    old_leaf = pki.make_server_cert(first.server_ca, "bootstrap.dm-hil.local")  # from "now"
    (tmp_path / "pki" / "bootstrap-server.crt").write_bytes(old_leaf.chain_pem)
    (tmp_path / "pki" / "bootstrap-server.key").write_bytes(old_leaf.key_pem)
    again = ServicePki.load_or_create(tmp_path)
    assert again.server_ca.cert == first.server_ca.cert  # provisioned devices still trust it
    assert pki.valid_at_epoch(again.bootstrap_server.cert)
    assert pki.issued_by(again.bootstrap_server.cert, first.server_ca.cert)


def test_an_older_server_ca_is_kept_with_one_warning(tmp_path, caplog):
    directory = tmp_path / "pki"
    directory.mkdir()
    old_ca = pki.make_ca("old server CA")
    (directory / "server-ca.crt").write_bytes(old_ca.chain_pem)
    (directory / "server-ca.key").write_bytes(old_ca.key_pem)
    with caplog.at_level("WARNING", logger="harness.cloud.ca"):
        loaded = ServicePki.load_or_create(tmp_path)
    assert loaded.server_ca.cert == old_ca.cert
    [record] = [r for r in caplog.records if r.name == "harness.cloud.ca"]
    assert "renegotiate" in record.getMessage() and str(directory) in record.getMessage()
