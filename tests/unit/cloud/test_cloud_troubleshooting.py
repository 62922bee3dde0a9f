"""The documented troubleshooting errors, with their exact codes and texts, as a device sees them."""

import asyncio

import pytest
from cloud_testkit import WAIT, device, factory_ca, run, running, trusted_account
from lab_client import BootstrapFailed, LabDevice

from harness import pki
from harness.cloud import events as ev
from harness.transport import SecureConnectionError


async def _refused(svc, dev, **kwargs) -> tuple[str, str]:
    with pytest.raises(BootstrapFailed) as info:
        await dev.bootstrap(svc.bootstrap_uri(dev.kind), **kwargs)
    await dev.close()
    return info.value.code, info.value.text


def test_cloud_untrusted_ca_fails_the_tls_handshake(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            acc = svc.create_account("acme")
            dev = device(svc, factory_ca("unknown CA"), "ep-untrusted")
            refused = svc.events.wait_for(lambda e: e.type == ev.BOOTSTRAP_ERROR, WAIT)
            with pytest.raises(SecureConnectionError):
                await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)
            await dev.close()
            assert svc.devices() == []
            event = await refused
            assert event.data["code"] == "tls"
            assert event.data["reason"].startswith("Secure connection failed (bootstrap")
            [denial] = svc.store.list_denials()
            assert denial.reason == event.data["reason"]

    run(scenario())


def test_cloud_trusted_certificate_not_in_account(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            trusted_account(svc, ca)  # trusted by another account: TLS passes
            other = svc.create_account("other")
            waiter = svc.events.wait_for(lambda e: e.type == ev.BOOTSTRAP_ERROR, WAIT)
            assert await _refused(svc, device(svc, ca, "ep-1"), aid=other.id) == (
                "4.03", "Corresponding trusted certificate not in account")
            event = await waiter
            assert event.data["original-ep"] == "ep-1" and event.data["code"] == "4.03"
            [denial] = svc.store.list_denials(account_id=other.id)
            assert denial.reason == "Corresponding trusted certificate not in account"

    run(scenario())


def test_cloud_inactive_trusted_certificate_is_not_trusted_in_account(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            other_ca = factory_ca("second CA")
            tc = svc.add_trusted_certificate(acc.id, "second", other_ca.cert_pem)
            trusted_account(svc, other_ca)  # keeps other_ca in the TLS trust
            svc.store.update_trusted_certificate(tc.id, status="INACTIVE")
            assert await _refused(svc, device(svc, other_ca, "ep-2"), aid=acc.id) == (
                "4.03", "Corresponding trusted certificate not in account")

    run(scenario())


def test_cloud_enrollment_id_not_registered(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            trusted_account(svc, ca, enrollment=True)
            dev = device(svc, ca, "ep-ftc-unknown")
            assert await _refused(svc, dev) == ("4.03", "Enrollment ID not registered")
            [denial] = svc.store.list_denials()
            assert denial.enrollment_identity == pki.enrollment_id(dev.credential.cert)

    run(scenario())


def test_cloud_first_to_claim_needs_enrollment_mode_ca(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca, enrollment=False)
            dev = device(svc, ca, "ep-ftc-2")
            svc.enroll(acc.id, pki.enrollment_id(dev.credential.cert))
            assert await _refused(svc, dev) == (
                "4.03", "Corresponding trusted certificate not in account")

    run(scenario())


def test_cloud_account_device_quota_reached(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca, device_quota=1)
            first = device(svc, ca, "ep-q1")
            await first.bootstrap(svc.bootstrap_uri(), aid=acc.id)
            await first.close()
            assert await _refused(svc, device(svc, ca, "ep-q2"), aid=acc.id) == (
                "4.03", "Account device quota reached")
            again = await first.bootstrap(svc.bootstrap_uri(), aid=acc.id)  # known device: fine
            assert again.device_id is not None
            await first.close()

    run(scenario())


def test_cloud_duplicated_device_endpoint_name(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            first = device(svc, ca, "same-name")
            await first.bootstrap(svc.bootstrap_uri(), aid=acc.id)
            await first.close()
            assert await _refused(svc, device(svc, ca, "same-name"), aid=acc.id) == (
                "4.03", "Duplicated device endpoint name")

    run(scenario())


def test_cloud_internal_error_injection(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            svc.inject_bootstrap_error("5.00", "Internal error #7", count=1)
            dev = device(svc, ca, "ep-int")
            assert await _refused(svc, dev, aid=acc.id) == ("5.00", "Internal error #7")
            prov = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)  # only once
            assert prov.device_id
            await dev.close()

    run(scenario())


@pytest.mark.parametrize(("query", "needle"), [
    ("", "needs ep=<endpoint name>"),
    ("ep=", "needs ep=<endpoint name>"),
    ("ep=a&ep=b", "given twice"),
    ("ep=a&pct=tlv", "pct='tlv'"),
])
def test_cloud_malformed_bootstrap_request_is_4_00(tmp_path, query, needle):
    async def scenario():
        async with running(tmp_path) as svc:
            dev = LabDevice("udp", "x")
            from aiocoap.numbers.codes import Code

            response = await dev.request(Code.POST, f"{svc.bootstrap_uri('udp')}/bs?{query}")
            await dev.close()
            assert str(response.code).startswith("4.00")
            assert needle in response.payload.decode()

    run(scenario())


def test_cloud_nosec_bootstrap_without_aid_is_refused(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            code, text = await _refused(svc, LabDevice("udp", "nosec-x"))
            assert code == "4.00" and "aid=<account id>" in text

    run(scenario())


def test_cloud_client_vanishing_mid_bootstrap_reports_and_keeps_serving(tmp_path):
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            gone = device(svc, ca, "ep-gone")
            error = svc.events.wait_for(
                lambda e: e.type == ev.BOOTSTRAP_ERROR and e.data.get("original-ep") == "ep-gone", WAIT)
            from aiocoap.numbers.codes import Code

            response = await gone.request(Code.POST, f"{svc.bootstrap_uri()}/bs?ep=ep-gone&aid={acc.id}")
            assert str(response.code).startswith("2.04")
            await gone.close()  # before the writes arrive
            event = await error
            assert "failed" in event.data["reason"] or "answered" in event.data["reason"]
            ok = device(svc, ca, "ep-ok")
            prov = await asyncio.wait_for(ok.bootstrap(svc.bootstrap_uri(), aid=acc.id), WAIT)
            assert prov.device_id
            await ok.close()

    run(scenario())


def test_cloud_store_failure_is_answered_as_the_services_own_internal_error(tmp_path):
    """An unavailable store while deciding is Internal error #1, while issuing credentials #2;
    only the named endpoint is affected, and the next request succeeds."""
    async def scenario():
        async with running(tmp_path) as svc:
            ca = factory_ca()
            acc = trusted_account(svc, ca)
            with pytest.raises(ValueError, match="store stage 'disk' is unknown"):
                svc.fail_store("disk")
            for stage, number in (("directory", 1), ("credentials", 2)):
                dev = device(svc, ca, f"ep-store-{stage}")
                svc.fail_store(stage, count=1, endpoint=f"ep-store-{stage}")
                assert await _refused(svc, dev, aid=acc.id) == ("5.00", f"Internal error #{number}")
                provisioned = await dev.bootstrap(svc.bootstrap_uri(), aid=acc.id)
                await dev.close()
                assert provisioned.device_id
            assert svc.store.list_denials()[-1].reason == "Internal error #2"

    run(scenario())
