"""The admin API of bootstrap configurations: per account, stored, validated, removable."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest


@pytest.fixture(scope="module")
def operator(service) -> dict[str, str]:
    """The operator's Authorization header."""
    key = (Path(service.data_dir) / "operator-key").read_text().strip()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def url(base_url, operator) -> str:
    aid = httpx.post(f"{base_url}/admin/v1/accounts", headers=operator,
                     json={"name": "bootstrap-config"}).json()["id"]
    return f"{base_url}/admin/v1/accounts/{aid}/bootstrap-config"


def test_an_account_uses_the_service_configuration_until_it_has_its_own(url, operator, service):
    aid = url.rsplit("/", 2)[-2]
    first = httpx.get(url, headers=operator).json()
    assert first == {"discover": None, "delete": None, "write": "instance", "extra_writes": [],
                     "instance_writes": [], "execute": [], "delete_after_writes": [],
                     "discover_after_writes": [], "rewrite_security": False, "source": "service"}
    config = {"discover": ["/", "/1"], "delete": ["/0/1", "/"], "write": "resources",
              "extra_writes": [{"path": "/3/0/14", "value": "+02:00"},
                               {"path": "/1/0/1", "value": 120}, {"path": "/1/0/6", "value": True}],
              "instance_writes": [{"path": "/3/0", "values": {"13": 1_700_000_000}}],
              "execute": ["/1/0/8"], "delete_after_writes": ["/0"],
              "discover_after_writes": ["/", "/1/0"], "rewrite_security": True}
    put = httpx.put(url, headers=operator, json=config)
    assert put.status_code == 200, put.text
    assert put.json() == {**config, "source": "account"}
    assert httpx.get(url, headers=operator).json() == {**config, "source": "account"}
    stored = service.store.bootstrap_configs.get(aid)
    assert stored is not None and stored.extra_writes[2].value is True
    assert stored.extra_writes[1].ids() == (1, 0, 1)
    assert stored.instance_writes[0].ids() == (3, 0)
    assert stored.instance_writes[0].values == {13: 1_700_000_000}
    assert httpx.delete(url, headers=operator).status_code == 204
    assert httpx.get(url, headers=operator).json()["source"] == "service"
    assert service.store.bootstrap_configs.get(aid) is None


@pytest.mark.parametrize(("body", "words"), [
    ({"delete": ["/2"]}, "delete path '/2' is not /, /0, /1"),
    ({"discover": ["/3/0"]}, "discover path '/3/0' cannot be discovered at bootstrap; use /, /0, /1"),
    ({"delete_after_writes": ["/0/0/1/2"]}, "delete path '/0/0/1/2' is not /, /0, /1"),
    ({"write": "none", "rewrite_security": True}, "rewrite_security needs an account to write again"),
    ({"extra_writes": [{"path": "/5/0/1", "value": 1}]}, "extra write path '/5/0/1' is not a resource"),
    ({"write": "objects"}, "instance"),
    ({"deletes": ["/"]}, "deletes"),
])
def test_a_bad_configuration_is_one_clear_400(url, operator, body, words):
    answer = httpx.put(url, headers=operator, json=body)
    assert answer.status_code == 400, answer.text
    assert words in answer.text


def test_an_unknown_account_is_a_404(base_url, operator):
    answer = httpx.get(f"{base_url}/admin/v1/accounts/nope/bootstrap-config", headers=operator)
    assert answer.status_code == 404 and "No account 'nope'" in answer.json()["message"]
