"""The directory keeps the values a device registered (`v="..."`), and nothing else leaks out."""

from __future__ import annotations

from harness.cloud import events as ev
from harness.cloud.rd_state import merge_resources, resource_entries
from harness.cloud.rest.notification_payloads import payload_fragment
from harness.lwm2m.linkformat import parse_links

REGISTER = ('</3/0/0>;v="dev_manufacturer";aobs="414",</3/0/16>;obs,'
            '</14/0/2>;rt="Component Version";v="0.0.0",</3/0/5>')
"""Entries as the real client registers them (tests/peers/test_peer_pdmc_register_values.py)."""


def test_entries_keep_a_registered_value_and_only_where_one_was_sent():
    entries = {e["path"]: e for e in resource_entries(parse_links(REGISTER))}
    assert entries["/3/0/0"] == {"path": "/3/0/0", "rt": "", "ct": "", "obs": False, "if": "",
                                 "v": "dev_manufacturer"}
    assert entries["/14/0/2"]["v"] == "0.0.0" and entries["/14/0/2"]["rt"] == "Component Version"
    assert "v" not in entries["/3/0/16"] and entries["/3/0/16"]["obs"] is True
    assert "v" not in entries["/3/0/5"]


def test_an_empty_value_is_kept_and_a_bare_v_flag_is_not_a_value():
    entries = {e["path"]: e for e in resource_entries(parse_links('</3/0/2>;v="",</3/0/3>;v'))}
    assert entries["/3/0/2"]["v"] == ""
    assert "v" not in entries["/3/0/3"]


def test_an_update_replaces_a_value_keeps_the_others_and_drops_deleted_entries():
    current = resource_entries(parse_links(REGISTER))
    merged = {e["path"]: e for e in merge_resources(
        current, parse_links('</14/0/2>;rt="Component Version";v="1.2.3",</3/0/5>;d'))}
    assert merged["/14/0/2"]["v"] == "1.2.3"
    assert merged["/3/0/0"]["v"] == "dev_manufacturer"
    assert "/3/0/5" not in merged


def test_the_notification_channel_carries_the_documented_resource_keys_only():
    resources = resource_entries(parse_links(REGISTER))
    event = ev.Event(ev.REGISTRATION, "dev-1", "acc-1", {"ep": "dev-1", "original-ep": "n",
                                                          "resources": resources})
    (entry,) = payload_fragment(event)["registrations"]
    assert all(set(r) <= {"path", "rt", "ct", "obs", "if"} for r in entry["resources"]), entry
