"""Named LwM2M constants: content formats, object ids and resource ids (OMA LwM2M 1.0/1.1)."""

from __future__ import annotations

from enum import IntEnum


class ContentFormat(IntEnum):
    """CoAP Content-Format numbers used by LwM2M."""

    TEXT = 0
    LINK_FORMAT = 40
    OPAQUE = 42
    CBOR = 60
    LEGACY_TLV = 99
    SENML_JSON = 110
    SENML_CBOR = 112
    TLV = 11542
    JSON = 11543


SECURITY = 0
SERVER = 1
ACCESS_CONTROL = 2
DEVICE = 3


class Security(IntEnum):
    """Resource ids of the Security object /0."""

    SERVER_URI = 0
    BOOTSTRAP_SERVER = 1
    SECURITY_MODE = 2
    PUBLIC_KEY_OR_IDENTITY = 3
    SERVER_PUBLIC_KEY = 4
    SECRET_KEY = 5
    SMS_SECURITY_MODE = 6
    SMS_BINDING_KEY_PARAMETERS = 7
    SMS_BINDING_SECRET_KEYS = 8
    SERVER_SMS_NUMBER = 9
    SHORT_SERVER_ID = 10
    CLIENT_HOLD_OFF = 11
    BOOTSTRAP_SERVER_ACCOUNT_TIMEOUT = 12


class SecurityMode(IntEnum):
    """Values of /0/x/2 (EST is Pelion-specific)."""

    PSK = 0
    RPK = 1
    CERTIFICATE = 2
    NOSEC = 3
    EST = 4


class Server(IntEnum):
    """Resource ids of the Server object /1."""

    SHORT_SERVER_ID = 0
    LIFETIME = 1
    PMIN = 2
    PMAX = 3
    DISABLE = 4
    DISABLE_TIMEOUT = 5
    STORING = 6
    BINDING = 7
    UPDATE_TRIGGER = 8


class Device(IntEnum):
    """Resource ids of the Device object /3."""

    MANUFACTURER = 0
    MODEL_NUMBER = 1
    SERIAL_NUMBER = 2
    FIRMWARE_VERSION = 3
    REBOOT = 4
    FACTORY_RESET = 5
    AVAILABLE_POWER_SOURCES = 6
    POWER_SOURCE_VOLTAGE = 7
    POWER_SOURCE_CURRENT = 8
    BATTERY_LEVEL = 9
    MEMORY_FREE = 10
    ERROR_CODE = 11
    RESET_ERROR_CODE = 12
    CURRENT_TIME = 13
    UTC_OFFSET = 14
    TIMEZONE = 15
    SUPPORTED_BINDINGS = 16
    DEVICE_TYPE = 17
    HARDWARE_VERSION = 18
    SOFTWARE_VERSION = 19
    BATTERY_STATUS = 20
    MEMORY_TOTAL = 21
