"""The bootstrap writes have the layout the Device Management Client needs (facts 3.1, points 4-5).

LwM2M server credentials to /0/0, the server object to /1/0, a First-to-Claim bootstrap URI to
the bootstrap instance /0/1 (after /0/0), every TLV payload one OBJECT-INSTANCE entry so the
client updates the listed resources only (a bare resource list would remove the others).
"""

from __future__ import annotations

from harness import pki
from harness.cloud.bootstrap_writes import bootstrap_writes
from harness.lwm2m import tlv
from harness.lwm2m.ids import ContentFormat
from harness.lwm2m.senml import decode_senml

AID = "0a0b0c0d0e0f00000000000000000001"


def _writes(**overrides):
    args = dict(lwm2m_uri="coaps://127.0.0.1:5684", account_id=AID, credential=None,
                server_ca_der=b"ca", lifetime=300, binding="T")
    args.update(overrides)
    return bootstrap_writes(**args)


def _instance(write) -> tuple[int, dict]:
    entries = tlv.decode(write.payload)
    assert [e.kind for e in entries] == [tlv.TlvKind.OBJECT_INSTANCE], "one object-instance entry"
    return entries[0].id, tlv.resources_of(entries[0].children)


def test_lwm2m_credentials_go_to_0_0_as_an_object_instance():
    ca = pki.make_ca("writes CA")
    credential = pki.make_device_cert(ca, "ep-1", organizational_unit=AID, locality="dev-1")
    security, server = _writes(credential=credential, server_ca_der=ca.cert_der)
    assert security.path == (0, 0) and security.content_format == ContentFormat.TLV
    iid, resources = _instance(security)
    assert iid == 0
    assert tlv.as_str(resources[0]) == f"coaps://127.0.0.1:5684?aid={AID}"
    assert resources[1] == b"\x00" and tlv.as_int(resources[2]) == 2
    assert resources[3] == credential.cert_der and resources[4] == ca.cert_der
    assert resources[5] == credential.key_der
    assert server.path == (1, 0)
    iid, resources = _instance(server)
    assert iid == 0 and tlv.as_int(resources[1]) == 300 and resources[7] == b"T"


def test_nosec_writes_name_no_key_material():
    security, _server = _writes()
    _iid, resources = _instance(security)
    assert tlv.as_int(resources[2]) == 3 and not {3, 4, 5} & set(resources)


def test_first_to_claim_uri_goes_to_the_bootstrap_instance_0_1_after_0_0():
    writes = _writes(bootstrap_uri="coaps://127.0.0.1:5685?aid=old")
    assert [w.path for w in writes] == [(0, 0), (1, 0), (0, 1)]
    iid, resources = _instance(writes[2])
    assert iid == 1 and set(resources) == {0}
    assert tlv.as_str(resources[0]) == f"coaps://127.0.0.1:5685?aid={AID}"


def test_senml_writes_use_the_same_instances():
    writes = _writes(bootstrap_uri="coap://127.0.0.1:5683", senml=True)
    assert [w.path for w in writes] == [(0, 0), (1, 0), (0, 1)]
    assert decode_senml(writes[0].payload)["/0/0/0"] == f"coaps://127.0.0.1:5684?aid={AID}"
    assert decode_senml(writes[2].payload) == {"/0/1/0": f"coap://127.0.0.1:5683?aid={AID}"}
