"""Fixtures for the REST API tests: one real service (thread) per module, one account per test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from rest_test_support import self_signed

from harness.cloud.rest import RetryPolicy
from harness.cloud.service import DeviceManagementService
from harness.cloud.service_thread import ServiceThread
from harness.config import ServiceConfig
from harness.rest_client import RestClient


@pytest.fixture(scope="module")
def service_thread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    """A started service with the REST API on 127.0.0.1, port 0; webhook retries shortened."""
    config = ServiceConfig(transports=["udp"])
    thread = ServiceThread(config, tmp_path_factory.mktemp("svc"))
    thread.service.rest_retry_policy = RetryPolicy(initial=0.05, max_delay=0.2, give_up_after=2.0,
                                                   request_timeout=2.0)
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture(scope="module")
def service(service_thread: ServiceThread) -> DeviceManagementService:
    """The running service."""
    return service_thread.service


@pytest.fixture(scope="module")
def base_url(service: DeviceManagementService) -> str:
    """The REST API's base URL."""
    assert service.rest is not None, "the service did not start the REST API"
    return service.rest.url


@dataclass
class TestAccount:
    """A fresh account with its admin key and a client using it."""

    id: str
    api_key: str
    admin: RestClient


@pytest.fixture
def account(service_thread: ServiceThread, base_url: str) -> Iterator[TestAccount]:
    """A new account (admin API key) and an admin RestClient on it."""
    key = "ak_" + secrets.token_hex(16)
    acc = service_thread.run(lambda: service_thread.service.create_account(
        f"acc-{secrets.token_hex(3)}", admin_api_key=key))
    with RestClient(base_url, key) as client:
        yield TestAccount(acc.id, key, client)


@dataclass
class JwtApp:
    """An application with one verification key whose private key the test holds."""

    id: str
    key_id: str
    private_key: object
    alg: str


@pytest.fixture
def make_jwt_app(account: TestAccount):
    """Create an application + verification key for a key (default EC P-256 / ES256)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    def make(private_key=None, alg: str = "ES256", name: str | None = None) -> JwtApp:
        key = private_key or ec.generate_private_key(ec.SECP256R1())
        app = account.admin.create_application(name or f"app-{secrets.token_hex(3)}")
        vk = account.admin.create_verification_key(app.id, f"vk-{secrets.token_hex(3)}", self_signed(key))
        return JwtApp(app.id, vk.id, key, alg)
    return make
