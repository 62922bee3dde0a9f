"""ThingsBoard device items in the factory bundle (ConfigParams / Keys / Certificates).

The virtual ThingsBoard firmware (harness.sim.tb_client) reads these items; the host builds
them with `tb_bundle`. Documented in docs/thingsboard.md.

| item                        | group        | meaning                                              |
| tb.ServerURI                | ConfigParams | mqtt://host:port or mqtts://host:port                |
| tb.ServerCACert             | Certificates | CA the device trusts for the server (mqtts)          |
| tb.AccessToken              | ConfigParams | access token (sent as the MQTT user name)            |
| tb.ClientId / tb.UserName / tb.Password | ConfigParams | basic MQTT credentials                   |
| tb.DevicePrivateKey         | Keys         | EC key of the X.509 device certificate               |
| tb.DeviceCert               | Certificates | X.509 device certificate (two-way TLS)               |
| tb.ProvisionDeviceKey / tb.ProvisionDeviceSecret | ConfigParams | device provisioning request     |
| tb.DeviceName               | ConfigParams | name sent in the provisioning request                |
"""

from __future__ import annotations

from harness.pki import Credential
from harness.provisioning import items as it
from harness.provisioning.bundle import Bundle, Certificate, ConfigValue, Key

SERVER_URI = "tb.ServerURI"
SERVER_CA_CERT = "tb.ServerCACert"
ACCESS_TOKEN = "tb.AccessToken"
CLIENT_ID = "tb.ClientId"
USER_NAME = "tb.UserName"
PASSWORD = "tb.Password"
DEVICE_PRIVATE_KEY = "tb.DevicePrivateKey"
DEVICE_CERT = "tb.DeviceCert"
PROVISION_DEVICE_KEY = "tb.ProvisionDeviceKey"
PROVISION_DEVICE_SECRET = "tb.ProvisionDeviceSecret"
DEVICE_NAME = "tb.DeviceName"
SECRET_ITEMS = frozenset({ACCESS_TOKEN, PASSWORD, DEVICE_PRIVATE_KEY, PROVISION_DEVICE_SECRET})


def tb_bundle(server_uri: str, *, server_ca_der: bytes | None = None, access_token: str | None = None,
              client_id: str | None = None, user_name: str | None = None, password: str | None = None,
              device: Credential | None = None, provision_key: str | None = None,
              provision_secret: str | None = None, device_name: str | None = None,
              current_time: int | None = None) -> Bundle:
    """The factory bundle that gives a ThingsBoard device its server and credentials."""
    params: dict[str, ConfigValue] = {SERVER_URI: server_uri}
    for name, value in ((ACCESS_TOKEN, access_token), (CLIENT_ID, client_id), (USER_NAME, user_name),
                        (PASSWORD, password), (PROVISION_DEVICE_KEY, provision_key),
                        (PROVISION_DEVICE_SECRET, provision_secret), (DEVICE_NAME, device_name)):
        if value is not None:
            params[name] = value
    if current_time is not None:
        params[it.CURRENT_TIME] = current_time
    bundle = Bundle(config_params=params, verify=False)
    if server_ca_der is not None:
        bundle.certificates.append(Certificate(SERVER_CA_CERT, server_ca_der))
    if device is not None:
        bundle.keys.append(Key(DEVICE_PRIVATE_KEY, device.key_der))
        bundle.certificates.append(Certificate(DEVICE_CERT, device.cert_der, DEVICE_PRIVATE_KEY))
    return bundle
