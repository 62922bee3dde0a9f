"""Names and status codes of the factory provisioning bundle (protocol-facts.md 1.2-1.5)."""

from __future__ import annotations

from enum import IntEnum

SCHEME_VERSION = "0.0.1"


class FccStatus(IntEnum):
    """`fcc_status_e`: the bundle-level result the device puts in ReturnStatus."""

    SUCCESS = 0
    ERROR = 1
    MEMORY_OUT = 2
    INVALID_PARAMETER = 3
    STORE_ERROR = 4
    INTERNAL_ITEM_ALREADY_EXIST = 5
    CA_ERROR = 6
    ROT_ERROR = 7
    ENTROPY_ERROR = 8
    FACTORY_DISABLED_ERROR = 9
    INVALID_CERTIFICATE = 10
    INVALID_CERT_ATTRIBUTE = 11
    INVALID_CA_CERT_SIGNATURE = 12
    EXPIRED_CERTIFICATE = 13
    INVALID_LWM2M_CN_ATTR = 14
    KCM_ERROR = 15
    KCM_STORAGE_ERROR = 16
    KCM_FILE_EXIST_ERROR = 17
    KCM_CRYPTO_ERROR = 18
    NOT_INITIALIZED = 19
    BUNDLE_ERROR = 20
    BUNDLE_RESPONSE_ERROR = 21
    BUNDLE_UNSUPPORTED_GROUP = 22
    BUNDLE_INVALID_GROUP = 23
    BUNDLE_INVALID_SCHEME = 24
    ITEM_NOT_EXIST = 25
    EMPTY_ITEM = 26
    WRONG_ITEM_DATA_SIZE = 27
    URI_WRONG_FORMAT = 28
    FIRST_TO_CLAIM_NOT_ALLOWED = 29
    BOOTSTRAP_MODE_ERROR = 30
    OUTPUT_INFO_ERROR = 31
    WARNING_CREATE_ERROR = 32
    UTC_OFFSET_WRONG_FORMAT = 33
    CERTIFICATE_PUBLIC_KEY_CORRELATION_ERROR = 34
    BUNDLE_INVALID_KEEP_ALIVE_SESSION_STATUS = 35
    TOO_MANY_CSR_REQUESTS = 36
    NOT_SUPPORTED = 37


def fcc_status_name(value: int) -> str:
    """`FCC_STATUS_<NAME>` for a known status, else `FCC_STATUS_<value>`."""
    try:
        return f"FCC_STATUS_{FccStatus(value).name}"
    except ValueError:
        return f"FCC_STATUS_{value}"


# --- top-level groups of the request map -------------------------------------------------
GROUP_SCHEME_VERSION = "SchemeVersion"
GROUP_KEYS = "Keys"
GROUP_CERTIFICATES = "Certificates"
GROUP_CERTIFICATE_CHAINS = "CertificateChains"
GROUP_CONFIG_PARAMS = "ConfigParams"
GROUP_CSR_REQUESTS = "CsrReqs"
GROUP_VERIFY = "Verify"
GROUP_DISABLE = "Disable"
GROUP_KEEP_ALIVE = "KpAlvSess"
GROUP_ENTROPY = "Entropy"
GROUP_ROT = "ROT"
GROUP_SESSION_ID = "SID"
REQUEST_GROUPS = frozenset({
    GROUP_SCHEME_VERSION, GROUP_KEYS, GROUP_CERTIFICATES, GROUP_CERTIFICATE_CHAINS,
    GROUP_CONFIG_PARAMS, GROUP_CSR_REQUESTS, GROUP_VERIFY, GROUP_DISABLE, GROUP_KEEP_ALIVE,
    GROUP_ENTROPY, GROUP_ROT, GROUP_SESSION_ID,
})
ENTROPY_SIZE = 48
ROT_SIZE = 16
MAX_CSR_REQUESTS = 5
MAX_CHAIN_LENGTH = 5

# --- fields inside groups -------------------------------------------------------------------
FIELD_NAME = "Name"
FIELD_TYPE = "Type"
FIELD_FORMAT = "Format"
FIELD_DATA = "Data"
FIELD_DATA_ARRAY = "DataArray"
FIELD_PRIVATE_KEY_NAME = "PrKN"
FIELD_ACL = "ACL"  # rejected with 37 by clients >= 3.4.0; never emitted
KEY_TYPE_ECC_PRIVATE = "ECCPrivate"
KEY_TYPE_ECC_PUBLIC = "ECCPublic"
FORMAT_DER = "der"
KEY_FIELDS = frozenset({FIELD_NAME, FIELD_TYPE, FIELD_FORMAT, FIELD_DATA})
CERTIFICATE_FIELDS = frozenset({FIELD_NAME, FIELD_FORMAT, FIELD_DATA, FIELD_PRIVATE_KEY_NAME})
CHAIN_FIELDS = frozenset({FIELD_NAME, FIELD_FORMAT, FIELD_DATA_ARRAY})
CONFIG_PARAM_FIELDS = frozenset({FIELD_NAME, FIELD_DATA})
CSR_FIELDS = frozenset({FIELD_PRIVATE_KEY_NAME, "Subj", "MD", "Ext", "SM"})

# --- response map keys ----------------------------------------------------------------------
RESP_SCHEME_VERSION = "SchemeVersion"
RESP_SESSION_ID = "SID"
RESP_RETURN_STATUS = "ReturnStatus"
RESP_INFO_MESSAGE = "InfoMessage"
RESP_WARNING_INFO = "WarningInfo"
RESP_CSRS = "Csrs"
SUCCESS_MESSAGE = "The Factory process succeeded\n"

# --- item names (factory_configurator_client.c) ---------------------------------------------
USE_BOOTSTRAP = "mbed.UseBootstrap"
ENDPOINT_NAME = "mbed.EndpointName"
MANUFACTURER = "mbed.Manufacturer"
MODEL_NUMBER = "mbed.ModelNumber"
DEVICE_TYPE = "mbed.DeviceType"
HARDWARE_VERSION = "mbed.HardwareVersion"
SERIAL_NUMBER = "mbed.SerialNumber"
MEMORY_TOTAL_KB = "mbed.MemoryTotalKB"
BOOTSTRAP_SERVER_URI = "mbed.BootstrapServerURI"
BOOTSTRAP_SERVER_CA_CERT = "mbed.BootstrapServerCACert"
BOOTSTRAP_DEVICE_CERT = "mbed.BootstrapDeviceCert"
BOOTSTRAP_DEVICE_PRIVATE_KEY = "mbed.BootstrapDevicePrivateKey"
BOOTSTRAP_SERVER_CRL = "mbed.BootstrapServerCRL"
LWM2M_SERVER_URI = "mbed.LwM2MServerURI"
LWM2M_SERVER_CA_CERT = "mbed.LwM2MServerCACert"
LWM2M_DEVICE_CERT = "mbed.LwM2MDeviceCert"
LWM2M_DEVICE_PRIVATE_KEY = "mbed.LwM2MDevicePrivateKey"
LWM2M_SERVER_CRL = "mbed.LwM2MServerCRL"
FIRST_TO_CLAIM = "mbed.FirstToClaim"
CURRENT_TIME = "mbed.CurrentTime"
TIMEZONE = "mbed.Timezone"
UTC_OFFSET = "mbed.UTCOffset"
UPDATE_AUTH_CERT = "mbed.UpdateAuthCert"
CLASS_ID = "mbed.ClassId"
VENDOR_ID = "mbed.VendorId"
INTERNAL_ENDPOINT = "mbed.InternalEndpoint"
ACCOUNT_ID = "mbed.AccountID"

DEVICE_METADATA = (MANUFACTURER, MODEL_NUMBER, DEVICE_TYPE, HARDWARE_VERSION, MEMORY_TOTAL_KB,
                   SERIAL_NUMBER)  # the order the real client checks them in
FOUR_BYTE_INTS = frozenset({USE_BOOTSTRAP, MEMORY_TOTAL_KB, FIRST_TO_CLAIM})
UUID_ITEMS = (CLASS_ID, VENDOR_ID)
UUID_SIZE = 16


def int_storage_size(name: str) -> int:
    """Bytes an integer config param occupies in storage: 4 for the 3 flags, else 8."""
    return 4 if name in FOUR_BYTE_INTS else 8


# --- InfoMessage / WarningInfo prefixes (fcc_output_info_handler.c) --------------------------
ERROR_PREFIXES: dict[FccStatus, str] = {
    FccStatus.ERROR: "General error:",
    FccStatus.MEMORY_OUT: "General error:",
    FccStatus.INVALID_PARAMETER: "General error:",
    FccStatus.KCM_ERROR: "General error:",
    FccStatus.BUNDLE_ERROR: "General error:",
    FccStatus.BUNDLE_RESPONSE_ERROR: "General error:",
    FccStatus.BUNDLE_UNSUPPORTED_GROUP: "General error:",
    FccStatus.BUNDLE_INVALID_SCHEME: "General error:",
    FccStatus.BUNDLE_INVALID_KEEP_ALIVE_SESSION_STATUS: "General error:",
    FccStatus.BUNDLE_INVALID_GROUP: "General error:",
    FccStatus.KCM_STORAGE_ERROR: "General error:",
    FccStatus.KCM_FILE_EXIST_ERROR: "General error:",
    FccStatus.NOT_INITIALIZED: "General error:",
    FccStatus.OUTPUT_INFO_ERROR: "General error:",
    FccStatus.WARNING_CREATE_ERROR: "General error:",
    FccStatus.INVALID_CERT_ATTRIBUTE: "General error:",
    FccStatus.INTERNAL_ITEM_ALREADY_EXIST: "General error:",
    FccStatus.NOT_SUPPORTED: "General error:",
    FccStatus.TOO_MANY_CSR_REQUESTS: "General error:",
    FccStatus.CA_ERROR: "CA error:",
    FccStatus.ROT_ERROR: "Root of trust error:",
    FccStatus.STORE_ERROR: "Internal storage error:",
    FccStatus.KCM_CRYPTO_ERROR: "KCM crypto error:",
    FccStatus.INVALID_CERTIFICATE: "Certificate invalid:",
    FccStatus.INVALID_LWM2M_CN_ATTR: "Certificate CN attribute invalid:",
    FccStatus.ENTROPY_ERROR: "Entropy error:",
    FccStatus.FACTORY_DISABLED_ERROR: "Factory disabled error:",
    FccStatus.ITEM_NOT_EXIST: "Item does not exist:",
    FccStatus.WRONG_ITEM_DATA_SIZE: "Item size is wrong:",
    FccStatus.EMPTY_ITEM: "Item empty:",
    FccStatus.URI_WRONG_FORMAT: "URI format incorrect:",
    FccStatus.FIRST_TO_CLAIM_NOT_ALLOWED: "first to claim not allowed:",
    FccStatus.BOOTSTRAP_MODE_ERROR: "Bootstrap mode value incorrect:",
    FccStatus.UTC_OFFSET_WRONG_FORMAT: "UTC offset incorrect:",
    FccStatus.INVALID_CA_CERT_SIGNATURE: "Validation of CA certificate failed:",
    FccStatus.EXPIRED_CERTIFICATE: "Certificate expired:",
    FccStatus.CERTIFICATE_PUBLIC_KEY_CORRELATION_ERROR:
        "Certificate public key validation failed:",
}

WARN_ITEM_NOT_SET = "Item not set:"
WARN_BOOTSTRAP_MODE_FALSE = "Bootstrap mode not activated:"
WARN_SELF_SIGNED = "Certificate is self signed:"
WARN_ITEM_EMPTY = "Item empty:"
WARN_REDUNDANT = "Item redundant:"
WARN_TIME_VALIDITY = "Certificate validity cannot be checked:"
WARN_LESS_THAN_10_YEARS = "Certificate validity is less than 10 years:"
WARN_CA_IDENTIFIER = "CA identifier wasn't set properly:"

# --- InfoMessage texts of KCM / crypto failures (fcc_output_info_handler.c, seen on the real
# client): they replace the status prefix --------------------------------------------------------
GENERAL_ERROR = "General error:"
ERR_DATA_EXISTS = "Data already exists:"
ERR_DATA_EMPTY = "Item data empty:"
ERR_PRIVATE_KEY_FORMAT = "Public key format invalid:"
ERR_PUBLIC_KEY_PARSE = "Public key parse failed:"
ERR_CERT_PARSE = "Certificate parse failed:"
ERR_CHAIN_VALIDATION = "Chain validation error:"
ERR_SELF_GENERATED_CERT = "Self-generated certificate validation failed:"
ERR_TOO_MANY_CSRS = ("Too many CSR requests. Maximum CSR requests supported is "
                     "CSR_MAX_NUMBER_OF_CSRS")
RBP_ENTROPY_NAME = "entropy"  # the item names the real client reports for Entropy / ROT errors
RBP_ROT_NAME = "rot"

# --- root-of-trust items (kept outside the KCM namespace; erased with the storage on Linux) ---
RBP_PREFIX = "rbp."
RBP_ENTROPY = "rbp.Entropy"
RBP_ROT = "rbp.ROT"
RBP_FACTORY_DISABLED = "rbp.FactoryDisabled"
RBP_TRUSTED_CA_ID = "rbp.TrustedCaId"


def error_message(status: FccStatus, item: str = "") -> str:
    """The InfoMessage the device sends for a failed bundle: `<prefix>:<item name>`."""
    return ERROR_PREFIXES.get(status, "General error:") + item
