"""Device side of factory provisioning (the factory-configurator-client + FCE serial loop)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness import pki
from harness.provisioning import items as it
from harness.provisioning.bundle import Bundle, BundleError, CsrResult, Response
from harness.provisioning.clock import DeviceClock
from harness.provisioning.der import join_der_chain
from harness.provisioning.frame import (
    BadFrame,
    FrameReader,
    FtcdStatus,
    Parsed,
    RequestFrame,
    encode_response,
)
from harness.provisioning.items import FccStatus
from harness.provisioning.parse import check_scheme, decode_top_map, parse_groups, rbp_buffer
from harness.provisioning.store import ItemStore
from harness.provisioning.verify import verify_device

log = logging.getLogger(__name__)

RBP_PREFIX = "rbp."  # root-of-trust / entropy / disable flag: survive fcc_storage_delete
RBP_ENTROPY = "rbp.Entropy"
RBP_ROT = "rbp.ROT"
RBP_FACTORY_DISABLED = "rbp.FactoryDisabled"
MAX_RESPONSE_WITHOUT_CSRS = 512
MAX_RESPONSE_WITH_CSRS = 512 * 5


class FactoryDevice:
    """Handles provisioning bundles like a board running the factory configurator client.

    `store` is the board's item store, `clock` its wall clock (mbed.CurrentTime sets it),
    `production` enables the production-build checks (clientAuth EKU). `trace` receives short
    mbed-trace-like lines (never item contents) that a board may print on its console.
    """

    def __init__(
        self,
        store: ItemStore,
        clock: DeviceClock | None = None,
        *,
        production: bool = True,
        trace: Callable[[str], None] | None = None,
    ) -> None:
        """Make a device handler over `store`."""
        self.store = store
        self.clock = clock or DeviceClock()
        self.production = production
        self._trace = trace or (lambda line: None)
        self._reader = FrameReader("request")
        self.in_session = False
        self.sessions_finished = 0
        self.last_response: Response | None = None
        self._lock = threading.Lock()

    # --- state ---------------------------------------------------------------------------------
    @property
    def factory_disabled(self) -> bool:
        """True once a bundle with Disable=1 succeeded."""
        return self.store.get(RBP_FACTORY_DISABLED) == b"\x01"

    def _erase_storage(self) -> None:
        """fcc_storage_delete: drop every item except the root-of-trust buffers."""
        keep = {n: self.store.get(n) for n in self.store.names() if n.startswith(RBP_PREFIX)}
        self.store.erase_all()
        for name, data in keep.items():
            if data is not None:
                self.store.put(name, data, factory=True)

    # --- bundle level ---------------------------------------------------------------------------
    def handle(self, request_cbor: bytes) -> tuple[FtcdStatus, bytes | None]:
        """Process one bundle; (SUCCESS, response CBOR) or (FAILED_TO_PROCESS_DATA, None)."""
        with self._lock:
            if not self.in_session:
                if not self.factory_disabled:  # a disabled device keeps its credentials
                    self._erase_storage()
                self.in_session = True
            response, send = self._process(request_cbor)
            self.last_response = response
            limit = MAX_RESPONSE_WITH_CSRS if response.csrs else MAX_RESPONSE_WITHOUT_CSRS
            encoded = response.to_cbor() if send else None
            if encoded is not None and len(encoded) > limit:
                self._trace(f"[ERR ][fcbh]: response of {len(encoded)} bytes exceeds {limit}")
                encoded = None
            self._trace(f"[INFO][fcbh]: bundle processed, status {response.status}")
            if encoded is None:
                return FtcdStatus.FAILED_TO_PROCESS_DATA, None
            return FtcdStatus.SUCCESS, encoded

    def _process(self, data: bytes) -> tuple[Response, bool]:
        """Run the bundle handler; returns the response and whether to send it."""
        session_id: str | None = None
        keep_alive = False
        warnings: list[str] = []
        csrs: list[CsrResult] = []
        try:
            top = decode_top_map(data)
            sid = top.get(it.GROUP_SESSION_ID)
            session_id = sid if isinstance(sid, str) else None
            check_scheme(top)
            self._apply_rbp(top)
            if self.factory_disabled:
                self._end_session()
                return Response(FccStatus.FACTORY_DISABLED_ERROR,
                                it.error_message(FccStatus.FACTORY_DISABLED_ERROR)), False
            bundle = parse_groups(top)
            keep_alive = bool(bundle.keep_alive)
            self._store_groups(top, bundle)
            csrs = [self._make_csr(r) for r in bundle.csr_requests]
            if bundle.effective_verify:
                warnings = verify_device(self.store, self.clock.now(), production=self.production)
            if bundle.disable:
                self.store.put(RBP_FACTORY_DISABLED, b"\x01", factory=True)
            response = Response(FccStatus.SUCCESS, it.SUCCESS_MESSAGE, warnings, session_id, csrs)
        except BundleError as exc:
            response = Response(exc.status, exc.info, [], session_id)
        if not keep_alive or response.status != FccStatus.SUCCESS:
            self._end_session()
        return response, True

    def _end_session(self) -> None:
        """The session is over: the next valid frame starts a new one (and erases storage)."""
        self.in_session = False
        self.sessions_finished += 1

    def _apply_rbp(self, top: dict[Any, Any]) -> None:
        """Entropy then ROT, before anything else touches storage."""
        for group, name in ((it.GROUP_ENTROPY, RBP_ENTROPY), (it.GROUP_ROT, RBP_ROT)):
            value = rbp_buffer(top, group)
            if value is not None:
                self.store.put(name, value, factory=True)

    def _store_groups(self, top: dict[Any, Any], bundle: Bundle) -> None:
        """Store Keys/Certificates/CertificateChains/ConfigParams in the map's order."""
        for group in top:
            if group == it.GROUP_KEYS:
                for key in bundle.keys:
                    self._store_key(key.name, key.data, key.type)
            elif group == it.GROUP_CERTIFICATES:
                for cert in bundle.certificates:
                    self._store_certificates(cert.name, [cert.data], cert.private_key_name)
            elif group == it.GROUP_CERTIFICATE_CHAINS:
                for chain in bundle.certificate_chains:
                    self._store_certificates(chain.name, chain.certs, None)
            elif group == it.GROUP_CONFIG_PARAMS:
                for name, value in bundle.config_params.items():
                    self._store_param(name, value)

    def _put_new(self, name: str, data: bytes) -> None:
        if self.store.get(name) is not None:
            raise BundleError(FccStatus.KCM_FILE_EXIST_ERROR, name,
                              info=f"Data already exists:{name}")
        self.store.put(name, data, factory=True)

    def _store_key(self, name: str, data: bytes, key_type: str) -> None:
        try:
            if key_type == it.KEY_TYPE_ECC_PRIVATE:
                key = serialization.load_der_private_key(data, None)
            else:
                key = serialization.load_der_public_key(data)
        except (ValueError, TypeError):
            raise BundleError(FccStatus.KCM_CRYPTO_ERROR, name,
                              info=f"Private key parse failed:{name}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
            raise BundleError(FccStatus.NOT_SUPPORTED, name)
        self._put_new(name, data)

    def _store_certificates(self, name: str, certs: list[bytes], key_name: str | None) -> None:
        try:
            parsed = [x509.load_der_x509_certificate(c) for c in certs]
        except ValueError:
            raise BundleError(FccStatus.KCM_CRYPTO_ERROR, name,
                              info=f"Certificate parse failed:{name}") from None
        for cert, issuer in zip(parsed, parsed[1:], strict=False):
            if not pki.issued_by(cert, issuer):
                raise BundleError(FccStatus.INVALID_CERTIFICATE, name,
                                  info=f"Chain validation error:{name}")
        if key_name is not None:
            key_der = self.store.get(key_name)
            if key_der is None:
                raise BundleError(FccStatus.ITEM_NOT_EXIST, key_name)
            try:
                key = pki.load_private_key(key_der)
            except pki.CertificateError:
                raise BundleError(FccStatus.CERTIFICATE_PUBLIC_KEY_CORRELATION_ERROR,
                                  name) from None
            if not pki.key_matches_cert(key, parsed[0]):
                raise BundleError(FccStatus.CERTIFICATE_PUBLIC_KEY_CORRELATION_ERROR, name)
        self._put_new(name, join_der_chain(certs))

    def _store_param(self, name: str, value: str | bytes | int) -> None:
        if name == it.CURRENT_TIME:
            if not isinstance(value, int) or value < 0:
                raise BundleError(FccStatus.BUNDLE_ERROR, name)
            self.clock.set(value)
            return
        if isinstance(value, int):
            size = it.int_storage_size(name)
            try:
                data = value.to_bytes(size, "little", signed=value < 0)
            except OverflowError:
                raise BundleError(FccStatus.WRONG_ITEM_DATA_SIZE, name) from None
        elif isinstance(value, str):
            data = value.encode("utf-8")
        else:
            data = value
        self._put_new(name, data)

    def _make_csr(self, request: Any) -> CsrResult:
        """Generate a key pair on the device, store the key, return a CSR for it."""
        key = ec.generate_private_key(ec.SECP256R1())
        key_der = key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        self._put_new(request.private_key_name, key_der)
        try:
            subject = x509.Name.from_rfc4514_string(request.subject.strip().strip(","))
        except ValueError:
            raise BundleError(FccStatus.BUNDLE_ERROR, request.private_key_name) from None
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(
            key, hashes.SHA256())
        return CsrResult(request.private_key_name, csr.public_bytes(serialization.Encoding.DER))

    # --- transport level ------------------------------------------------------------------------
    def handle_frame(self, frame: Parsed) -> bytes:
        """The response frame bytes for one parsed request (or bad) frame."""
        if isinstance(frame, BadFrame):
            self._trace(f"[ERR ][fcbs]: bad frame: {frame.detail}")
            return encode_response(frame.status)
        if not isinstance(frame, RequestFrame):
            return encode_response(FtcdStatus.FAILED_TO_PROCESS_MESSAGE)
        status, message = self.handle(frame.message)
        return encode_response(status, message)

    def feed(self, data: bytes) -> bytes:
        """Feed serial RX bytes; return the bytes to send back (possibly empty)."""
        return b"".join(self.handle_frame(f) for f in self._reader.feed(data))

    def serve(
        self,
        read: Callable[[int], bytes],
        write: Callable[[bytes], Any],
        *,
        stop: threading.Event | None = None,
        until_session_end: bool = False,
        before_response: Callable[[], bytes] | None = None,
    ) -> None:
        """Loop: read() bytes (b'' = nothing yet), write() responses, until stop or EOF.

        `before_response` may return console text to write just before each response (log
        lines interleaved with frames, as mbed-trace does on a real UART).
        """
        stop = stop or threading.Event()
        finished_before = self.sessions_finished
        while not stop.is_set():
            try:
                data = read(4096)
            except (OSError, EOFError):
                return
            if not data:
                continue
            out = self.feed(data)
            if out:
                if before_response is not None:
                    write(before_response())
                write(out)
            if until_session_end and self.sessions_finished > finished_before:
                return
