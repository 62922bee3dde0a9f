"""Developer credentials and the `mbed_cloud_dev_credentials.c` file the client build compiles in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HilError
from harness.pki import Credential

# Symbol names as the client's developer flow (fcc_dev_flow.c) declares them.
ENDPOINT_NAME = "MBED_CLOUD_DEV_BOOTSTRAP_ENDPOINT_NAME"
ACCOUNT_ID = "MBED_CLOUD_DEV_ACCOUNT_ID"
SERVER_URI = "MBED_CLOUD_DEV_BOOTSTRAP_SERVER_URI"
DEVICE_CERTIFICATE = "MBED_CLOUD_DEV_BOOTSTRAP_DEVICE_CERTIFICATE"
SERVER_CA_CERTIFICATE = "MBED_CLOUD_DEV_BOOTSTRAP_SERVER_ROOT_CA_CERTIFICATE"
DEVICE_PRIVATE_KEY = "MBED_CLOUD_DEV_BOOTSTRAP_DEVICE_PRIVATE_KEY"
MANUFACTURER = "MBED_CLOUD_DEV_MANUFACTURER"
MODEL_NUMBER = "MBED_CLOUD_DEV_MODEL_NUMBER"
SERIAL_NUMBER = "MBED_CLOUD_DEV_SERIAL_NUMBER"
DEVICE_TYPE = "MBED_CLOUD_DEV_DEVICE_TYPE"
HARDWARE_VERSION = "MBED_CLOUD_DEV_HARDWARE_VERSION"
MEMORY_TOTAL_KB = "MBED_CLOUD_DEV_MEMORY_TOTAL_KB"

_BYTES_RE = re.compile(r"const\s+uint8_t\s+(\w+)\s*\[\s*\]\s*=\s*\{([^}]*)\}", re.S)
_TEXT_RE = re.compile(r'const\s+char\s+(\w+)\s*\[\s*\]\s*=\s*"((?:[^"\\]|\\.)*)"')
_INT_RE = re.compile(r"const\s+uint32_t\s+(\w+)\s*=\s*(\d+)\s*;")


@dataclass
class DeveloperCredentials:
    """What the service's developer flow hands out for one developer certificate."""

    endpoint_name: str
    account_id: str
    bootstrap_uri: str
    device_cert_der: bytes
    server_ca_der: bytes
    private_key_der: bytes = field(repr=False)
    manufacturer: str = "dev_manufacturer"
    model_number: str = "dev_model_num"
    serial_number: str = "0"
    device_type: str = "dev_device_type"
    hardware_version: str = "dev_hardware_version"
    memory_total_kb: int = 0


def _c_bytes(name: str, data: bytes) -> str:
    rows = [", ".join(f"0x{b:02x}" for b in data[i : i + 16]) for i in range(0, len(data), 16)]
    body = ",\n    ".join(rows)
    return (
        f"const uint8_t {name}[] = {{\n    {body}\n}};\n"
        f"const uint32_t {name}_SIZE = sizeof({name});\n"
    )


def _c_text(name: str, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'const char {name}[] = "{escaped}";\n'


def render_c_file(creds: DeveloperCredentials) -> str:
    """Render the credentials as the C source the client's developer build expects."""
    parts = [
        "// Developer credentials made by dm-hil's local Device Management service.\n"
        "// Contains a private key: keep it out of version control.\n",
        "#ifndef __MBED_CLOUD_DEV_CREDENTIALS_H__\n#define __MBED_CLOUD_DEV_CREDENTIALS_H__\n\n"
        "#include <inttypes.h>\n\n",
        _c_text(ENDPOINT_NAME, creds.endpoint_name),
        _c_text(ACCOUNT_ID, creds.account_id),
        _c_text(SERVER_URI, creds.bootstrap_uri),
        "\n",
        _c_bytes(DEVICE_CERTIFICATE, creds.device_cert_der),
        "\n",
        _c_bytes(SERVER_CA_CERTIFICATE, creds.server_ca_der),
        "\n",
        _c_bytes(DEVICE_PRIVATE_KEY, creds.private_key_der),
        "\n",
        _c_text(MANUFACTURER, creds.manufacturer),
        _c_text(MODEL_NUMBER, creds.model_number),
        _c_text(SERIAL_NUMBER, creds.serial_number),
        _c_text(DEVICE_TYPE, creds.device_type),
        _c_text(HARDWARE_VERSION, creds.hardware_version),
        f"const uint32_t {MEMORY_TOTAL_KB} = {creds.memory_total_kb};\n",
        "\n#endif //__MBED_CLOUD_DEV_CREDENTIALS_H__\n",
    ]
    return "".join(parts)


def parse_c_file(text: str, source: str = "mbed_cloud_dev_credentials.c") -> DeveloperCredentials:
    """Read developer credentials back from a `mbed_cloud_dev_credentials.c` source text."""
    blobs = {m.group(1): bytes(int(x, 0) for x in m.group(2).replace("\n", " ").split(",") if x.strip())
             for m in _BYTES_RE.finditer(text)}
    texts = {m.group(1): bytes(m.group(2), "utf-8").decode("unicode_escape") for m in _TEXT_RE.finditer(text)}
    ints = {m.group(1): int(m.group(2)) for m in _INT_RE.finditer(text)}
    required = [ENDPOINT_NAME, SERVER_URI]
    missing = [n for n in required if n not in texts]
    missing += [n for n in (DEVICE_CERTIFICATE, SERVER_CA_CERTIFICATE, DEVICE_PRIVATE_KEY) if n not in blobs]
    if missing:
        raise HilError(
            f"{source} lacks {', '.join(missing)}; download a fresh developer certificate "
            "(`hil cloud dev-cert`)."
        )
    return DeveloperCredentials(
        endpoint_name=texts[ENDPOINT_NAME],
        account_id=texts.get(ACCOUNT_ID, ""),
        bootstrap_uri=texts[SERVER_URI],
        device_cert_der=blobs[DEVICE_CERTIFICATE],
        server_ca_der=blobs[SERVER_CA_CERTIFICATE],
        private_key_der=blobs[DEVICE_PRIVATE_KEY],
        manufacturer=texts.get(MANUFACTURER, ""),
        model_number=texts.get(MODEL_NUMBER, ""),
        serial_number=texts.get(SERIAL_NUMBER, ""),
        device_type=texts.get(DEVICE_TYPE, ""),
        hardware_version=texts.get(HARDWARE_VERSION, ""),
        memory_total_kb=ints.get(MEMORY_TOTAL_KB, 0),
    )


def write_c_file(creds: DeveloperCredentials, path: Path) -> Path:
    """Write `mbed_cloud_dev_credentials.c` with owner-only permissions (it holds a private key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(render_c_file(creds))
    return path


@dataclass(frozen=True)
class DeveloperCertificate:
    """What a developer needs to build a developer-mode client (holds a private key: keep it safe)."""

    id: str
    account_id: str
    endpoint_name: str
    credential: Credential
    bootstrap_uri: str
    server_ca_pem: bytes
    server_ca_der: bytes

    def c_credentials(self) -> DeveloperCredentials:
        """The credentials as the client's `mbed_cloud_dev_credentials.c` carries them."""
        return DeveloperCredentials(
            endpoint_name=self.endpoint_name, account_id=self.account_id,
            bootstrap_uri=self.bootstrap_uri, device_cert_der=self.credential.cert_der,
            server_ca_der=self.server_ca_der, private_key_der=self.credential.key_der)

    def __repr__(self) -> str:
        return (f"DeveloperCertificate(id={self.id!r}, account_id={self.account_id!r}, "
                f"endpoint_name={self.endpoint_name!r}, key=<redacted>)")
