"""Item store: persistence, atomic writes, factory vs runtime items, factory reset."""

from __future__ import annotations

import json

import pytest

from harness.errors import HilError
from harness.provisioning import ItemStore, StoreError


def test_put_get_persist_and_reload(tmp_path):
    path = tmp_path / "kv.json"
    store = ItemStore(path)
    store.put("mbed.EndpointName", b"ep-1", factory=True)
    store.put("mbed.UseBootstrap", (1).to_bytes(4, "little"), factory=True)
    again = ItemStore(path)
    assert again.get("mbed.EndpointName") == b"ep-1"
    assert again.get_str("mbed.EndpointName") == "ep-1"
    assert again.get_int("mbed.UseBootstrap") == 1
    assert again.names() == ["mbed.EndpointName", "mbed.UseBootstrap"]
    assert again.get("missing") is None and again.get_int("missing") is None


def test_no_temp_files_are_left_behind(tmp_path):
    store = ItemStore(tmp_path / "kv.json")
    for i in range(5):
        store.put(f"k{i}", b"v", factory=False)
    assert [p.name for p in tmp_path.iterdir()] == ["kv.json"]
    assert (tmp_path / "kv.json").stat().st_mode & 0o777 == 0o600


def test_factory_reset_restores_factory_items_and_drops_runtime(tmp_path):
    store = ItemStore(tmp_path / "kv.json")
    store.put("mbed.EndpointName", b"ep-1", factory=True)
    store.put("mbed.InternalEndpoint", b"dev-id", factory=False)
    store.put("mbed.EndpointName", b"runtime-override", factory=False)
    assert not store.is_factory("mbed.EndpointName")
    store.factory_reset()
    assert ItemStore(tmp_path / "kv.json").names() == ["mbed.EndpointName"]
    assert store.get("mbed.EndpointName") == b"ep-1"
    assert store.is_factory("mbed.EndpointName")


def test_delete_and_erase_all(tmp_path):
    store = ItemStore(tmp_path / "kv.json")
    store.put("a", b"1", factory=True)
    store.put("b", b"2", factory=False)
    store.delete("a")
    store.factory_reset()
    assert store.names() == []
    store.put("c", b"3", factory=True)
    store.erase_all()
    assert ItemStore(tmp_path / "kv.json").factory_names() == []


def test_eight_byte_ints_read_back():
    store = ItemStore()
    store.put("n", (-5).to_bytes(8, "little", signed=True), factory=False)
    assert store.get_int("n") == -5


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "kv.json"
    path.write_text("{not json")
    with pytest.raises(StoreError, match="delete the file") as info:
        ItemStore(path)
    assert isinstance(info.value, HilError)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(StoreError):
        ItemStore(path)


def test_put_rejects_text():
    with pytest.raises(TypeError):
        ItemStore().put("x", "text", factory=True)  # type: ignore[arg-type]


def test_damage_erases_the_second_half_of_the_working_value_and_keeps_the_factory_copy(tmp_path):
    """A bad flash sector or a write cut by a power loss (Board.corrupt_item on virtual boards)."""
    store = ItemStore(tmp_path / "kv.json")
    store.put("mbed.BootstrapDeviceCert", b"0123456789", factory=True)
    store.put("mbed.LwM2MDeviceCert", b"abcd", factory=False)
    store.damage("mbed.BootstrapDeviceCert")
    again = ItemStore(tmp_path / "kv.json")
    assert again.get("mbed.BootstrapDeviceCert") == b"01234" + b"\xff" * 5
    assert again.is_damaged("mbed.BootstrapDeviceCert") and not again.is_damaged("mbed.LwM2MDeviceCert")
    assert not store.is_factory("mbed.BootstrapDeviceCert")
    store.factory_reset()
    assert store.get("mbed.BootstrapDeviceCert") == b"0123456789"
    assert not store.is_damaged("mbed.BootstrapDeviceCert")
    store.damage("mbed.BootstrapDeviceCert")
    store.put("mbed.BootstrapDeviceCert", b"rewritten", factory=False)  # a new write, a new CMAC
    assert not ItemStore(tmp_path / "kv.json").is_damaged("mbed.BootstrapDeviceCert")
    with pytest.raises(StoreError, match=r"^Item mbed.LwM2MDeviceCert is not in the store; damage "
                                         r"one it holds \(mbed.BootstrapDeviceCert\)\.$"):
        store.damage("mbed.LwM2MDeviceCert")
