"""Factory provisioning over serial (FCU <-> factory-configurator-client, 'FTCD' protocol).

Host side: provision(), Session, ProvisionResult. Device side: FactoryDevice over an ItemStore.
Both share the frame codec (frame.py) and the bundle schema (bundle.py, items.py).
"""

from harness.provisioning.bundle import (
    Bundle,
    BundleError,
    Certificate,
    CertificateChain,
    CsrRequest,
    CsrResult,
    Key,
    Response,
    bootstrap_bundle,
    default_metadata,
    lwm2m_bundle,
)
from harness.provisioning.clock import DeviceClock
from harness.provisioning.der import join_der_chain, split_der_chain
from harness.provisioning.device import FactoryDevice
from harness.provisioning.frame import (
    TOKEN,
    BadFrame,
    FrameReader,
    FtcdStatus,
    RequestFrame,
    ResponseFrame,
    encode_request,
    encode_response,
)
from harness.provisioning.host import ProvisioningError, ProvisionResult, Session, provision
from harness.provisioning.items import FccStatus
from harness.provisioning.store import ItemStore, StoreError

__all__ = [
    "TOKEN", "BadFrame", "Bundle", "BundleError", "Certificate", "CertificateChain",
    "CsrRequest", "CsrResult", "DeviceClock", "FactoryDevice", "FccStatus", "FrameReader",
    "FtcdStatus", "ItemStore", "Key", "ProvisionResult", "ProvisioningError", "RequestFrame",
    "Response", "ResponseFrame", "Session", "StoreError", "bootstrap_bundle", "default_metadata",
    "encode_request", "encode_response", "join_der_chain", "lwm2m_bundle", "provision",
    "split_der_chain",
]
