"""Device-side handler: storage, verify rules in order, statuses and messages."""

from __future__ import annotations

import datetime as dt

import cbor2
import pytest
from provisioning_helpers import AID, BS_URI, ENDPOINT, key_der, run, self_signed_device_cert

from harness import pki
from harness.provisioning import (
    Bundle,
    CsrRequest,
    FactoryDevice,
    FccStatus,
    ItemStore,
    Key,
    bootstrap_bundle,
    lwm2m_bundle,
    split_der_chain,
)
from harness.provisioning import items as it
from harness.provisioning.frame import FtcdStatus
from harness.provisioning.items import RBP_ENTROPY


def test_success_stores_items_and_says_so(device, store, good_bundle, device_cert):
    resp = run(device, good_bundle)
    assert resp.status == FccStatus.SUCCESS
    assert resp.info == "The Factory process succeeded\n"
    assert resp.warnings == ["Item not set:mbed.UpdateAuthCert", "Item not set:mbed.ClassId",
                             "Item not set:mbed.VendorId"]
    assert store.get(it.ENDPOINT_NAME) == ENDPOINT.encode()
    assert store.get(it.USE_BOOTSTRAP) == b"\x01\x00\x00\x00"
    assert store.get(it.MEMORY_TOTAL_KB) == (512).to_bytes(4, "little")
    assert store.get(it.BOOTSTRAP_DEVICE_CERT) == device_cert.cert_der
    assert store.get(it.BOOTSTRAP_DEVICE_PRIVATE_KEY) == device_cert.key_der
    assert store.get(it.CURRENT_TIME) is None  # sets the clock instead
    assert device.clock.is_set
    assert all(store.is_factory(n) for n in store.names())


def test_other_ints_are_stored_as_eight_bytes(device, store, good_bundle):
    good_bundle.config_params["mbed.CustomCounter"] = 7
    assert run(device, good_bundle).status == FccStatus.SUCCESS
    assert store.get("mbed.CustomCounter") == (7).to_bytes(8, "little")


def test_chain_is_stored_leaf_first(device, store, server_ca, device_cert):
    bundle = bootstrap_bundle(ENDPOINT, BS_URI, server_ca.cert_der, device_cert, send_chain=True)
    assert bundle.certificate_chains and not any(
        c.name == it.BOOTSTRAP_DEVICE_CERT for c in bundle.certificates)
    assert run(device, bundle).status == FccStatus.SUCCESS
    parts = split_der_chain(store.get(it.BOOTSTRAP_DEVICE_CERT))
    assert parts[0] == device_cert.cert_der and len(parts) == 2


def test_first_valid_frame_erases_old_storage(device, store, good_bundle):
    store.put("mbed.Leftover", b"x", factory=False)
    run(device, good_bundle)
    assert store.get("mbed.Leftover") is None


def test_session_id_is_echoed(device, good_bundle):
    good_bundle.session_id = "sess-42"
    assert run(device, good_bundle).session_id == "sess-42"


def test_response_is_an_indefinite_length_map(device, good_bundle):
    status, message = device.handle(good_bundle.to_cbor())
    assert status == 0 and message[0] == 0xBF and message[-1] == 0xFF


# --- top-level schema errors ------------------------------------------------------------------

def test_bad_scheme_version_is_24(device, good_bundle):
    good_bundle.scheme_version = "0.0.2"
    assert run(device, good_bundle).status == FccStatus.BUNDLE_INVALID_SCHEME == 24


def test_missing_scheme_version_is_24(device, good_bundle):
    raw = good_bundle.to_dict()
    del raw["SchemeVersion"]
    assert run(device, raw).status == 24


def test_unknown_group_is_23(device, good_bundle):
    raw = good_bundle.to_dict()
    raw["Bogus"] = 1
    assert run(device, raw).status == FccStatus.BUNDLE_INVALID_GROUP == 23


@pytest.mark.parametrize("group", ["Keys", "Certificates", "ConfigParams"])
def test_acl_field_is_not_supported_37(device, good_bundle, group):
    raw = good_bundle.to_dict()
    raw[group][0]["ACL"] = b"\x00"
    assert run(device, raw).status == FccStatus.NOT_SUPPORTED == 37


def test_format_field_in_config_param_is_37(device, good_bundle):
    raw = good_bundle.to_dict()
    raw["ConfigParams"][0]["Format"] = "int"
    assert run(device, raw).status == 37


def test_rsa_key_type_is_37(device, good_bundle):
    raw = good_bundle.to_dict()
    raw["Keys"][0]["Type"] = "RSAPrivate"
    assert run(device, raw).status == 37


def test_indefinite_request_map_or_trailing_bytes_is_bundle_error(device, good_bundle):
    data = good_bundle.to_cbor()
    assert run(device, data + b"\x00").status == FccStatus.BUNDLE_ERROR
    assert run(device, b"\xbf\x61a\x01\xff").status == FccStatus.BUNDLE_ERROR
    assert run(device, b"\x01").status == FccStatus.BUNDLE_ERROR


def test_more_than_twelve_groups_is_bundle_error(device, good_bundle):
    raw = good_bundle.to_dict()
    raw.update({f"X{i}": 1 for i in range(12)})
    assert run(device, raw).status == FccStatus.BUNDLE_ERROR


def test_wrong_entropy_and_rot_sizes_are_3_like_the_real_client(device, good_bundle):
    good_bundle.entropy = bytes(47)
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (FccStatus.INVALID_PARAMETER, "General error:entropy")
    good_bundle.entropy, good_bundle.rot = bytes(48), bytes(15)
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (FccStatus.INVALID_PARAMETER, "General error:rot")


def test_entropy_and_rot_are_stored_with_the_session(device, store, good_bundle):
    good_bundle.entropy, good_bundle.rot = bytes(range(48)), bytes(16)
    assert run(device, good_bundle).status == 0
    assert run(device, good_bundle).status == 0  # new session: erase, store again
    assert store.get(RBP_ENTROPY) == bytes(range(48))


def test_keep_alive_with_disable_is_35(device, good_bundle):
    good_bundle.keep_alive, good_bundle.disable = True, True
    assert run(device, good_bundle).status == FccStatus.BUNDLE_INVALID_KEEP_ALIVE_SESSION_STATUS


def test_bad_keep_alive_value_is_35(device, good_bundle):
    raw = good_bundle.to_dict()
    raw["KpAlvSess"] = 2
    assert run(device, raw).status == 35


def test_disable_is_wiped_by_the_next_session_erase_like_the_linux_client(device, good_bundle):
    good_bundle.disable = True
    assert run(device, good_bundle).status == FccStatus.SUCCESS
    assert device.store.get(it.RBP_FACTORY_DISABLED) == b"\x01"
    good_bundle.disable = None
    assert run(device, good_bundle).status == FccStatus.SUCCESS  # protocol-facts 1.6
    assert device.store.get(it.RBP_FACTORY_DISABLED) is None


def test_keep_alive_session_keeps_items_between_bundles(device, store, good_bundle):
    extra = Bundle(config_params={it.CLASS_ID: bytes(16), it.VENDOR_ID: bytes(16)})
    extra.keep_alive, extra.verify = True, False
    assert run(device, extra).status == 0
    assert device.in_session
    resp = run(device, good_bundle)
    assert resp.status == 0 and not device.in_session
    assert "Item not set:mbed.ClassId" not in resp.warnings
    assert store.get(it.CLASS_ID) == bytes(16)


def test_same_item_twice_in_a_session_is_file_exist(device, good_bundle):
    first = Bundle(config_params={it.ENDPOINT_NAME: ENDPOINT}, keep_alive=True, verify=False)
    assert run(device, first).status == 0
    resp = run(device, good_bundle)
    assert resp.status == FccStatus.KCM_FILE_EXIST_ERROR
    assert resp.info == "Data already exists:mbed.EndpointName"


def test_csr_request_returns_a_csr_for_a_new_device_key(device, store):
    bundle = Bundle(session_id="s1", verify=False, keep_alive=True,  # CSRs come mid-session
                    csr_requests=[CsrRequest("mbed.LwM2MDevicePrivateKey", "CN=ep-9,O=acme")])
    resp = run(device, bundle)
    store = device.staged
    assert resp.status == 0 and resp.session_id == "s1"
    (csr,) = resp.csrs
    from cryptography import x509
    req = x509.load_der_x509_csr(csr.data)
    assert req.is_signature_valid
    key = pki.load_private_key(store.get("mbed.LwM2MDevicePrivateKey"))
    assert key.public_key().public_numbers() == req.public_key().public_numbers()


def test_csr_request_needs_sid_and_verify_off(device):
    no_sid = Bundle(verify=False, csr_requests=[CsrRequest("k", "CN=a")])
    assert run(device, no_sid).status == FccStatus.BUNDLE_ERROR
    with_verify = Bundle(session_id="s", csr_requests=[CsrRequest("k", "CN=a")])
    assert run(device, with_verify).status == FccStatus.BUNDLE_ERROR
    too_many = Bundle(session_id="s", verify=False,
                      csr_requests=[CsrRequest(f"k{i}", "CN=a") for i in range(6)])
    assert run(device, too_many).status == FccStatus.TOO_MANY_CSR_REQUESTS


# --- verify rules -----------------------------------------------------------------------------

def _without(bundle: Bundle, name: str) -> Bundle:
    bundle.config_params.pop(name, None)
    bundle.certificates = [c for c in bundle.certificates if c.name != name]
    bundle.keys = [k for k in bundle.keys if k.name != name]
    return bundle


@pytest.mark.parametrize("name", [it.USE_BOOTSTRAP, it.ENDPOINT_NAME, *it.DEVICE_METADATA,
                                  it.BOOTSTRAP_SERVER_CA_CERT, it.BOOTSTRAP_SERVER_URI,
                                  it.BOOTSTRAP_DEVICE_PRIVATE_KEY])
def test_missing_mandatory_item_is_25_with_its_name(device, good_bundle, name):
    resp = run(device, _without(good_bundle, name))
    # a PrKN naming the missing key fails at store time: 34 (the real client's answer)
    status = 34 if name == it.BOOTSTRAP_DEVICE_PRIVATE_KEY else FccStatus.ITEM_NOT_EXIST
    assert resp.status == status
    assert resp.info == f"Item does not exist:{name}"


def test_missing_device_cert_is_25(device, good_bundle):
    good_bundle.certificates = [c for c in good_bundle.certificates
                                if c.name != it.BOOTSTRAP_DEVICE_CERT]
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (25, "Item does not exist:mbed.BootstrapDeviceCert")


def test_checks_run_in_order_time_first(device, good_bundle):
    _without(good_bundle, it.ENDPOINT_NAME)
    good_bundle.config_params[it.UTC_OFFSET] = "5 hours"
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (33, "UTC offset incorrect:mbed.UTCOffset")


def test_empty_endpoint_name_is_26(device, good_bundle):
    good_bundle.config_params[it.ENDPOINT_NAME] = ""
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (26, "Item empty:mbed.EndpointName")


def test_use_bootstrap_is_read_as_its_first_4_bytes(device, good_bundle):
    good_bundle.config_params[it.USE_BOOTSTRAP] = (1).to_bytes(8, "little")
    assert run(device, good_bundle).status == 0  # the real client reads a uint32
    good_bundle.config_params[it.USE_BOOTSTRAP] = b"\x01"
    resp = run(FactoryDevice(ItemStore()), good_bundle)
    assert (resp.status, resp.info) == (30, "Bootstrap mode value incorrect:mbed.UseBootstrap")


def test_use_bootstrap_value_2_is_30(device, good_bundle):
    good_bundle.config_params[it.USE_BOOTSTRAP] = 2
    assert run(device, good_bundle).status == FccStatus.BOOTSTRAP_MODE_ERROR == 30


def test_class_id_wrong_size_is_27(device, good_bundle):
    good_bundle.config_params[it.CLASS_ID] = bytes(15)
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (27, "Item size is wrong:mbed.ClassId")


@pytest.mark.parametrize("uri", ["https://x?aid=1", "coaps://127.0.0.1:5684",
                                 "coaps://h?account=1"])
def test_bad_uri_is_28(device, good_bundle, uri):
    good_bundle.config_params[it.BOOTSTRAP_SERVER_URI] = uri
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (28, "URI format incorrect:mbed.BootstrapServerURI")


def test_first_to_claim_with_aid_in_uri_is_29(server_ca, device_cert, device):
    bundle = bootstrap_bundle(ENDPOINT, BS_URI, server_ca.cert_der, device_cert,
                              first_to_claim=True)
    resp = run(device, bundle)
    assert (resp.status, resp.info) == (29, "first to claim not allowed:mbed.BootstrapServerURI")


def test_first_to_claim_without_aid_succeeds(server_ca, device_cert, device, store):
    bundle = bootstrap_bundle(ENDPOINT, "coaps://127.0.0.1:5684", server_ca.cert_der,
                              device_cert, first_to_claim=True)
    assert run(device, bundle).status == 0
    assert store.get(it.FIRST_TO_CLAIM) == b"\x01\x00\x00\x00"


def test_cn_mismatch_is_14(device, server_ca, device_cert):
    bundle = bootstrap_bundle("other-name", BS_URI, server_ca.cert_der, device_cert)
    resp = run(device, bundle)
    assert (resp.status, resp.info) == (
        14, "Certificate CN attribute invalid:mbed.BootstrapDeviceCert")


def test_key_mismatch_is_34(device, good_bundle):
    good_bundle.keys = [Key(it.BOOTSTRAP_DEVICE_PRIVATE_KEY, key_der(pki.new_private_key()))]
    for cert in good_bundle.certificates:
        cert.private_key_name = None
    resp = run(device, good_bundle)
    assert (resp.status, resp.info) == (
        34, "Certificate public key validation failed:mbed.BootstrapDeviceCert")


def test_key_mismatch_with_prkn_is_34_at_store_time(device, good_bundle):
    good_bundle.keys = [Key(it.BOOTSTRAP_DEVICE_PRIVATE_KEY, key_der(pki.new_private_key()))]
    assert run(device, good_bundle).status == 34


def test_expired_certificate_is_13(device, server_ca, device_ca):
    old = pki.make_device_cert(device_ca, ENDPOINT, validity=dt.timedelta(days=1),
                               not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    resp = run(device, bootstrap_bundle(ENDPOINT, BS_URI, server_ca.cert_der, old))
    assert (resp.status, resp.info) == (13, "Certificate expired:mbed.BootstrapDeviceCert")


def test_short_validity_and_self_signed_warn(device, server_ca):
    selfie = self_signed_device_cert(ENDPOINT, 365)
    resp = run(device, bootstrap_bundle(ENDPOINT, BS_URI, server_ca.cert_der, selfie))
    assert resp.status == 0
    assert "Certificate is self signed:mbed.BootstrapDeviceCert" in resp.warnings
    assert "Certificate validity is less than 10 years:mbed.BootstrapDeviceCert" in resp.warnings


def test_no_eku_extension_is_accepted_like_mbed_tls(server_ca, device_ca, tmp_path):
    cert = pki.make_bootstrap_device_cert(device_ca, ENDPOINT, client_auth=False)
    bundle = bootstrap_bundle(ENDPOINT, BS_URI, server_ca.cert_der, cert)
    assert run(FactoryDevice(ItemStore()), bundle).status == 0


def test_unset_clock_warns_instead_of_checking_expiry(device, good_bundle):
    del good_bundle.config_params[it.CURRENT_TIME]
    resp = run(device, good_bundle)
    assert resp.status == 0
    assert "Item not set:mbed.CurrentTime" in resp.warnings
    assert "Certificate validity cannot be checked:mbed.BootstrapDeviceCert" in resp.warnings


def test_verify_0_skips_checks(device):
    assert run(device, Bundle(verify=False, keep_alive=True, config_params={"x": 1})).status == 0


def test_last_bundle_reads_the_bootstrap_mode_even_with_verify_0(device):
    # fcc_trust_ca_cert_id_set runs at the session's last bundle, before (and without) verify
    resp = run(device, Bundle(verify=False, config_params={"x": 1}))
    assert (resp.status, resp.info) == (25, "Item does not exist:mbed.UseBootstrap")


def test_lwm2m_mode_success_and_ou_check(device_ca, server_ca):
    uri = f"coaps://127.0.0.1:5684?aid={AID}"
    good = pki.make_lwm2m_device_cert(device_ca, ENDPOINT, AID, "dev-1",
                                      dt.timedelta(days=30 * 365))
    resp = run(FactoryDevice(ItemStore()), lwm2m_bundle(ENDPOINT, uri, server_ca.cert_der, good))
    assert resp.status == 0
    assert "Bootstrap mode not activated:mbed.UseBootstrap" in resp.warnings
    wrong = pki.make_lwm2m_device_cert(device_ca, ENDPOINT, "another-aid", "dev-1",
                                       dt.timedelta(days=30 * 365))
    resp = run(FactoryDevice(ItemStore()), lwm2m_bundle(ENDPOINT, uri, server_ca.cert_der, wrong))
    assert (resp.status, resp.info) == (14, "Certificate CN attribute invalid:mbed.LwM2MDeviceCert")


def test_first_to_claim_in_lwm2m_mode_is_29_on_the_ftc_item(device_ca, server_ca):
    cert = pki.make_lwm2m_device_cert(device_ca, ENDPOINT, AID, "d", dt.timedelta(days=3650))
    bundle = lwm2m_bundle(ENDPOINT, f"coaps://h?aid={AID}", server_ca.cert_der, cert,
                          extra_params={it.FIRST_TO_CLAIM: 1})
    resp = run(FactoryDevice(ItemStore()), bundle)
    assert (resp.status, resp.info) == (29, "first to claim not allowed:mbed.FirstToClaim")


def test_redundant_other_mode_items_warn(device, good_bundle):
    good_bundle.config_params[it.LWM2M_SERVER_URI] = "coaps://x?aid=1"
    resp = run(device, good_bundle)
    assert resp.status == 0
    assert "Item redundant:mbed.LwM2MServerURI" in resp.warnings


def test_oversized_response_is_transport_status_9(device, good_bundle):
    good_bundle.session_id = "s" * 600
    assert device.handle(good_bundle.to_cbor()) == (FtcdStatus.FAILED_TO_PROCESS_DATA, None)


def test_unknown_group_response_is_a_general_error(device, good_bundle):
    raw = good_bundle.to_dict()
    raw["Bogus"] = 1
    resp = run(device, cbor2.dumps(raw))
    assert resp.info.startswith("General error:")


def test_prkn_naming_a_non_key_item_is_34(device, good_bundle):
    for cert in good_bundle.certificates:
        cert.private_key_name = it.ENDPOINT_NAME if cert.private_key_name else None
    raw = good_bundle.to_dict()
    raw["ConfigParams"], raw["Certificates"] = raw["ConfigParams"], raw.pop("Certificates")
    assert run(device, raw).status == 34


def test_chain_out_of_order_is_rejected_at_store_time(device, server_ca, device_cert):
    bundle = bootstrap_bundle(ENDPOINT, BS_URI, server_ca.cert_der, device_cert, send_chain=True)
    bundle.certificate_chains[0].certs.insert(1, server_ca.cert_der)
    resp = run(device, bundle)
    assert (resp.status, resp.info) == (18, "Chain validation error:mbed.BootstrapDeviceCert")
