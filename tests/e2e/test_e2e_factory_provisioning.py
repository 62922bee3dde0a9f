"""Factory provisioning on the device side: the bundle the factory tool sends is accepted.

Behaviour: seeds "Device credentials" (factory provisioning with the FCU and the FCC). Runs on
every board with factory provisioning, including the real factory configurator client (lab board
kind `fcc`, tests/peers/test_fcc_board.py), whose trace then shows in the JUnit system-out.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.area("provisioning")


@pytest.mark.scenario("provisioning: production bootstrap credentials, factory CA")
def test_production_bootstrap_bundle_is_accepted_and_ends_the_factory_flow(board, factory):
    """"The factory configurator client (FCC) ... verifies the device is configured for Device
    Management" (fcc_verify_device_configured_4mbed_cloud): a production bootstrap bundle gets
    ReturnStatus 0 with only the documented "Item not set" warnings, and the factory flow ends."""
    made = factory.bootstrap()
    result = made.result
    assert result is not None and result.ok, result
    assert result.info == "The Factory process succeeded\n"
    assert set(result.warnings) <= {"Item not set:mbed.UpdateAuthCert",
                                    "Item not set:mbed.ClassId", "Item not set:mbed.VendorId"}
    board.expect("factory_done", 15)


@pytest.mark.scenario("provisioning: a certificate for another endpoint is refused")
def test_bundle_whose_certificate_names_another_endpoint_is_refused(board, factory):
    """fcc_verification: the device certificate's CN must equal mbed.EndpointName, else
    FCC_STATUS_INVALID_LWM2M_CN_ATTR (14) naming the certificate."""
    from harness.pki import make_device_cert

    cert = make_device_cert(factory.factory_ca, "someone-else")
    made = factory.bootstrap(credential=cert, check=False)
    assert made.result is not None
    assert (made.result.status, made.result.info) == (
        14, "Certificate CN attribute invalid:mbed.BootstrapDeviceCert")
