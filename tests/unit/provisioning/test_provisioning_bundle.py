"""Bundle schema and builders: encoding, round trips, no secrets in repr, no ACL."""

from __future__ import annotations

import cbor2
from provisioning_helpers import AID, BS_URI, ENDPOINT

from harness import pki
from harness.provisioning import (
    Bundle,
    BundleError,
    FccStatus,
    Response,
    bootstrap_bundle,
    lwm2m_bundle,
)
from harness.provisioning import items as it
from harness.provisioning.items import fcc_status_name


def test_fcc_status_has_all_38_values():
    assert [s.value for s in FccStatus] == list(range(38))
    assert fcc_status_name(29) == "FCC_STATUS_FIRST_TO_CLAIM_NOT_ALLOWED"
    assert fcc_status_name(99) == "FCC_STATUS_99"


def test_item_names_are_spelled_as_the_client():
    assert it.LWM2M_SERVER_CA_CERT == "mbed.LwM2MServerCACert"
    assert it.TIMEZONE == "mbed.Timezone"
    assert {"mbed.UseBootstrap", "mbed.MemoryTotalKB", "mbed.FirstToClaim"} == it.FOUR_BYTE_INTS


def test_request_is_one_definite_map_and_round_trips(good_bundle):
    data = good_bundle.to_cbor()
    assert 0xA0 <= data[0] <= 0xBB
    back = Bundle.from_cbor(data)
    assert back.to_cbor() == data
    assert back.config_params[it.ENDPOINT_NAME] == ENDPOINT
    assert back.config_params[it.BOOTSTRAP_SERVER_URI] == BS_URI


def test_bundle_never_contains_acl(good_bundle):
    def walk(obj):
        if isinstance(obj, dict):
            assert "ACL" not in obj
            for v in obj.values():
                walk(v)
        elif isinstance(obj, list):
            for v in obj:
                walk(v)
    walk(cbor2.loads(good_bundle.to_cbor()))


def test_repr_hides_key_bytes(good_bundle, device_cert):
    text = repr(good_bundle) + repr(good_bundle.keys)
    assert device_cert.key_der.hex()[:16] not in text
    assert str(device_cert.key_der[:8]) not in text
    assert "mbed.BootstrapDevicePrivateKey" in text


def test_bootstrap_builder_fills_metadata_and_flags(good_bundle, server_ca):
    params = good_bundle.config_params
    for name in it.DEVICE_METADATA:
        assert params[name]
    assert params[it.USE_BOOTSTRAP] == 1 and it.FIRST_TO_CLAIM not in params
    assert isinstance(params[it.CURRENT_TIME], int)
    assert good_bundle.verify is True and good_bundle.keep_alive is None
    ca = next(c for c in good_bundle.certificates if c.name == it.BOOTSTRAP_SERVER_CA_CERT)
    assert ca.data == server_ca.cert_der


def test_builder_options(server_ca, device_cert):
    b = bootstrap_bundle(ENDPOINT, "coaps://h:5684", server_ca.cert_der, device_cert,
                         first_to_claim=True, current_time=1_700_000_000, keep_alive=True,
                         verify=False, metadata={it.SERIAL_NUMBER: "X1"},
                         extra_params={it.CLASS_ID: bytes(16)})
    assert b.config_params[it.FIRST_TO_CLAIM] == 1
    assert b.config_params[it.CURRENT_TIME] == 1_700_000_000
    assert b.config_params[it.SERIAL_NUMBER] == "X1"
    assert b.config_params[it.CLASS_ID] == bytes(16)
    assert cbor2.loads(b.to_cbor())["KpAlvSess"] == 1
    assert cbor2.loads(b.to_cbor())["Verify"] == 0


def test_lwm2m_builder_uses_lwm2m_names(server_ca, device_ca):
    import datetime as dt
    cert = pki.make_lwm2m_device_cert(device_ca, ENDPOINT, AID, "d1", dt.timedelta(days=400))
    b = lwm2m_bundle(ENDPOINT, f"coaps://h?aid={AID}", server_ca.cert_der, cert)
    assert b.config_params[it.USE_BOOTSTRAP] == 0
    assert {c.name for c in b.certificates} == {it.LWM2M_SERVER_CA_CERT, it.LWM2M_DEVICE_CERT}
    assert [k.name for k in b.keys] == [it.LWM2M_DEVICE_PRIVATE_KEY]


def test_from_cbor_raises_bundle_error_with_status():
    try:
        Bundle.from_cbor(cbor2.dumps({"SchemeVersion": "0.0.1", "Nope": 1}))
    except BundleError as exc:
        assert exc.status == FccStatus.BUNDLE_INVALID_GROUP
        assert "Bundle rejected" in str(exc)
    else:
        raise AssertionError("expected BundleError")


def test_scheme_version_as_bytes_is_accepted():
    b = Bundle.from_cbor(cbor2.dumps({"SchemeVersion": b"0.0.1", "Verify": 0}))
    assert b.verify is False


def test_response_round_trip_is_indefinite_and_ordered():
    resp = Response(0, it.SUCCESS_MESSAGE, ["Item not set:mbed.ClassId"], "sid-1")
    data = resp.to_cbor()
    assert data[0] == 0xBF and data[-1] == 0xFF
    assert list(cbor2.loads(data)) == ["SchemeVersion", "SID", "ReturnStatus", "InfoMessage",
                                       "WarningInfo"]
    assert cbor2.loads(data)["WarningInfo"] == "Item not set:mbed.ClassId\n"
    back = Response.from_cbor(data)
    assert back == resp and back.status_name == "FCC_STATUS_SUCCESS"
