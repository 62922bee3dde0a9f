"""mbed_cloud_dev_credentials.c: the real symbol names, and a round trip."""

from __future__ import annotations

import pytest

from harness import devcreds, pki
from harness.errors import HilError


def make_creds() -> devcreds.DeveloperCredentials:
    ca = pki.make_ca("developer ca")
    dev = pki.make_bootstrap_device_cert(ca, "016f0b1c2a3d4e5f")
    return devcreds.DeveloperCredentials(
        endpoint_name="016f0b1c2a3d4e5f", account_id="a" * 32,
        bootstrap_uri="coaps://127.0.0.1:5684?aid=" + "a" * 32,
        device_cert_der=dev.cert_der, server_ca_der=ca.cert_der, private_key_der=dev.key_der)


def test_c_file_uses_the_client_symbol_names_and_round_trips(tmp_path):
    creds = make_creds()
    path = devcreds.write_c_file(creds, tmp_path / "mbed_cloud_dev_credentials.c")
    text = path.read_text()
    for symbol in ("MBED_CLOUD_DEV_BOOTSTRAP_ENDPOINT_NAME", "MBED_CLOUD_DEV_BOOTSTRAP_SERVER_URI",
                   "MBED_CLOUD_DEV_BOOTSTRAP_DEVICE_CERTIFICATE[]",
                   "MBED_CLOUD_DEV_BOOTSTRAP_SERVER_ROOT_CA_CERTIFICATE[]",
                   "MBED_CLOUD_DEV_BOOTSTRAP_DEVICE_PRIVATE_KEY[]", "MBED_CLOUD_DEV_MEMORY_TOTAL_KB",
                   "MBED_CLOUD_DEV_BOOTSTRAP_DEVICE_CERTIFICATE_SIZE"):
        assert symbol in text
    assert path.stat().st_mode & 0o077 == 0
    assert devcreds.parse_c_file(text) == creds


def test_repr_hides_private_key():
    assert "private_key_der" not in repr(make_creds())


def test_incomplete_c_file_is_a_clear_error():
    with pytest.raises(HilError, match="lacks MBED_CLOUD_DEV_BOOTSTRAP_ENDPOINT_NAME"):
        devcreds.parse_c_file('const char MBED_CLOUD_DEV_BOOTSTRAP_SERVER_URI[] = "coaps://x";')
