"""Standard LwM2M clients at the bench: `hil cloud serve --standard-account/--psk`, device certs.

A standard client (Zephyr, Anjay, wakaama, libcoap's coap-client, the real client's compliant
UDP build) does not name an account: NoSec and PSK devices join the standard account, a PSK
device is let in by its identity and key, and an X.509 device uses a certificate issued here
(`hil cloud device-cert`): the LwM2M server knows it by the certificate, as after a bootstrap.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.config import PskKey, ServiceConfig, StandardMode
from harness.errors import HilError
from harness.services.bench import admin_for


def parse_psk_option(text: str) -> PskKey:
    """`IDENTITY:KEY` (KEY as text, or 0x + hex) as a PskKey, or a clear error."""
    identity, sep, secret = text.partition(":")
    if not sep or not identity or not secret:
        raise HilError(f"--psk {text.split(':')[0]}:... is not IDENTITY:KEY; pass e.g. "
                       "--psk sensor-1:0x00112233445566778899aabbccddeeff")
    if secret.lower().startswith("0x"):
        hex_key = secret[2:]
        try:
            bytes.fromhex(hex_key)
        except ValueError:
            raise HilError(f"--psk {identity}: the key after 0x is not hex; use two hex digits "
                           "per byte") from None
    else:
        hex_key = secret.encode().hex()
    if not 8 <= len(hex_key) // 2 <= 64:
        raise HilError(f"--psk {identity}: the key must be 8 to 64 bytes long")
    return PskKey(identity=identity, key=hex_key)


def with_standard_options(config: ServiceConfig, account: str | None,
                          psk: list[str]) -> ServiceConfig:
    """The service config with `--standard-account` and `--psk` applied on top of the lab's."""
    if not account and not psk:
        return config
    current = config.standard
    keys = [*current.psk, *(parse_psk_option(p) for p in psk)]
    name = account or current.account or "standard"
    return config.model_copy(update={"standard": StandardMode(account=name, psk=keys)})


def write_device_certificate(data_dir: Path, endpoint: str, out_dir: Path,
                             account_name: str = "standard") -> list[Path]:
    """Issue an LwM2M device certificate for `endpoint` from the running service (admin API);
    write ENDPOINT.crt (chain), ENDPOINT.key (owner-only) and server-ca.pem into `out_dir`."""
    if not endpoint or "/" in endpoint:
        raise HilError(f"Endpoint name {endpoint!r} cannot name files; use letters, digits, - _ .")
    with admin_for(Path(data_dir)) as admin:
        account = admin.account_named(account_name) or admin.create_account(account_name)
        issued = admin.device_certificate(account.id, endpoint)
    out_dir.mkdir(parents=True, exist_ok=True)
    crt, key, ca = out_dir / f"{endpoint}.crt", out_dir / f"{endpoint}.key", out_dir / "server-ca.pem"
    crt.write_text(issued["certificate_pem"])
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(issued["private_key_pem"])
    ca.write_text(issued["server_ca_pem"])
    return [crt, key, ca]
