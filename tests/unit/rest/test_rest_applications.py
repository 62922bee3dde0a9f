"""/v3/applications and their verification keys over real HTTP."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from rest_test_support import self_signed

from harness.rest_client import ApiError


def test_application_crud(account) -> None:
    app = account.admin.create_application("billing", description="bills")
    assert (app.object, app.status, app.account_id) == ("application", "ACTIVE", account.id)
    assert account.admin.get_application(app.id).name == "billing"
    renamed = account.admin.update_application(app.id, name="billing-2")
    assert renamed.name == "billing-2" and renamed.description == "bills"
    assert [a.id for a in account.admin.list_applications().data] == [app.id]
    account.admin.delete_application(app.id)
    with pytest.raises(ApiError) as err:
        account.admin.get_application(app.id)
    assert err.value.status == 404


def test_verification_key_crud_and_cascade(account, service_thread) -> None:
    app = account.admin.create_application("keys")
    key = ec.generate_private_key(ec.SECP256R1())
    vk = account.admin.create_verification_key(app.id, "k1", self_signed(key), description="d")
    assert (vk.object, vk.key_type, vk.key_bits, vk.status) == ("verification-key", "EC", 256, "ACTIVE")
    assert "PRIVATE" not in vk.certificate
    assert account.admin.get_verification_key(app.id, vk.id).name == "k1"
    renamed = account.admin.update_verification_key(app.id, vk.id, name="k1-renamed", description="e")
    assert (renamed.name, renamed.description) == ("k1-renamed", "e")
    off = account.admin.update_verification_key(app.id, vk.id, status="INACTIVE")
    assert off.status == "INACTIVE"
    new_cert = account.admin.update_verification_key(app.id, vk.id, certificate=self_signed(
        rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    assert (new_cert.key_type, new_cert.key_bits) == ("RSA", 2048)
    assert account.admin.list_verification_keys(app.id).total_count == 1
    account.admin.delete_application(app.id)
    storage = service_thread.service.rest.ctx.storage
    assert service_thread.run(lambda: storage.get_verification_key(vk.id)) is None


def test_delete_verification_key(account) -> None:
    app = account.admin.create_application("del")
    vk = account.admin.create_verification_key(app.id, "k", self_signed(ec.generate_private_key(
        ec.SECP256R1())))
    account.admin.delete_verification_key(app.id, vk.id)
    with pytest.raises(ApiError) as err:
        account.admin.get_verification_key(app.id, vk.id)
    assert err.value.status == 404


@pytest.mark.parametrize("key, reason", [
    (rsa.generate_private_key(public_exponent=65537, key_size=1024), "1024 bits"),
    (ec.generate_private_key(ec.SECP224R1()), "224 bits"),
])
def test_weak_keys_are_refused(account, key, reason: str) -> None:
    app = account.admin.create_application("weak")
    with pytest.raises(ApiError) as err:
        account.admin.create_verification_key(app.id, "weak", self_signed(key))
    assert err.value.status == 400 and reason in err.value.message


def test_certificate_rules(account) -> None:
    app = account.admin.create_application("rules")
    key = ec.generate_private_key(ec.SECP256R1())
    pem = self_signed(key)
    with pytest.raises(ApiError) as err:
        account.admin.create_verification_key(app.id, "long", pem + "\n" * 10 + pem)
    assert err.value.status == 400
    big = self_signed(key, dns_names=80)
    assert len(big) > 2000
    with pytest.raises(ApiError) as err:
        account.admin.create_verification_key(app.id, "big", big)
    assert err.value.status == 400 and "2000" in err.value.message
    with pytest.raises(ApiError) as err:
        account.admin.create_verification_key(app.id, "junk", "hello")
    assert err.value.status == 400 and "PEM" in err.value.message
    account.admin.create_verification_key(app.id, "same-name", pem)
    other = account.admin.create_application("rules-2")
    with pytest.raises(ApiError) as err:
        account.admin.create_verification_key(other.id, "same-name", self_signed(
            ec.generate_private_key(ec.SECP256R1())))
    assert err.value.status == 409 and "name" in err.value.message
    with pytest.raises(ApiError) as err:
        account.admin.create_verification_key(other.id, "same-cert", pem)
    assert err.value.status == 409 and "already uploaded" in err.value.message
