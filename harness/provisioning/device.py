"""Device side of factory provisioning (the factory-configurator-client + FCE serial loop).

It answers like the real client (checked against it: tests/unit/provisioning/data/), and it
never loses the credentials a board already has: a session works on a staged copy of the store
(erased at the session's first frame, as FCE does) that is committed in one atomic write only
when the session ends with a successful bundle. A refused or interrupted session leaves the old
store as it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness.provisioning import items as it
from harness.provisioning import kcm
from harness.provisioning import parse as p
from harness.provisioning.bundle import Bundle, BundleError, CsrRequest, CsrResult, Response
from harness.provisioning.clock import DeviceClock
from harness.provisioning.frame import (
    BadFrame,
    FrameReader,
    FtcdStatus,
    Parsed,
    RequestFrame,
    encode_response,
)
from harness.provisioning.items import FccStatus
from harness.provisioning.store import ItemStore
from harness.provisioning.verify import bootstrap_mode, ca_identifier, verify_device

log = logging.getLogger(__name__)

MAX_RESPONSE_WITHOUT_CSRS = 512
MAX_RESPONSE_WITH_CSRS = 512 * 5
DEVICE_TEXT_LIMIT = 4096  # console text kept between frames (the device never reads it)


class FactoryDevice:
    """Handles provisioning bundles like a board running the factory configurator client.

    `store` is the board's committed item store, `clock` its wall clock (mbed.CurrentTime sets
    it), `production` enables the production-build checks (clientAuth EKU). `trace` receives
    short mbed-trace-like lines (never item contents) that a board may print on its console.
    """

    def __init__(
        self,
        store: ItemStore,
        clock: DeviceClock | None = None,
        *,
        production: bool = True,
        secure_time: bool = True,
        trace: Callable[[str], None] | None = None,
    ) -> None:
        """Make a device handler over `store` (`secure_time`: a build with
        PAL_USE_SECURE_TIME, whose last bundle of a session stores the bootstrap CA's id)."""
        self.store = store
        self.clock = clock or DeviceClock()
        self.production = production
        self.secure_time = secure_time
        self._trace = trace or (lambda line: None)
        self._reader = FrameReader("request", max_text=DEVICE_TEXT_LIMIT)
        self.staged: ItemStore | None = None  # the session's storage, None between sessions
        self.session_finished = True  # g_is_session_finished: only a completed loop changes it
        self.sessions_finished = 0
        self.sessions_committed = 0
        self.internal_errors = 0  # bundles that hit the catch-all (a handler bug): fuzzing wants 0
        self.last_response: Response | None = None
        self._lock = threading.Lock()

    @property
    def in_session(self) -> bool:
        """True between the first frame of a session and its last bundle."""
        return self.staged is not None

    @property
    def factory_disabled(self) -> bool:
        """True once a bundle with Disable=1 succeeded in this session's storage."""
        storage = self.staged if self.staged is not None else self.store
        return storage.get(it.RBP_FACTORY_DISABLED) == b"\x01"

    # --- bundle level ---------------------------------------------------------------------------
    def handle(self, request_cbor: bytes) -> tuple[FtcdStatus, bytes | None]:
        """Process one bundle; (SUCCESS, response CBOR) or (FAILED_TO_PROCESS_DATA, None)."""
        with self._lock:
            if self.staged is None:
                # fcc_storage_delete at the first frame: on Linux storage it also wipes entropy,
                # RoT and the disable flag. The committed store is untouched until commit.
                self.staged = ItemStore()
                self.session_finished = True
            try:
                response, send = self._process(request_cbor)
            except Exception:  # noqa: BLE001 - a handler bug must still answer, never hang
                self.internal_errors += 1
                log.exception("factory device: unexpected error in the bundle handler")
                response = Response(FccStatus.ERROR, it.GENERAL_ERROR)
                send = True
            self.last_response = response
            if self.session_finished:
                self._end_session(response.status == FccStatus.SUCCESS)
            limit = MAX_RESPONSE_WITH_CSRS if response.csrs else MAX_RESPONSE_WITHOUT_CSRS
            encoded = response.to_cbor() if send else None
            if encoded is not None and len(encoded) > limit:
                self._trace(f"[ERR ][fcbh]: response of {len(encoded)} bytes exceeds {limit}")
                encoded = None
            self._trace(f"[INFO][fcbh]: bundle processed, status {response.status}")
            if encoded is None:
                return FtcdStatus.FAILED_TO_PROCESS_DATA, None
            return FtcdStatus.SUCCESS, encoded

    def _end_session(self, success: bool) -> None:
        """The session is over; commit its storage only when its last bundle succeeded."""
        staged, self.staged = self.staged, None
        self.sessions_finished += 1
        if success and staged is not None:
            self.store.commit_provisioning(staged)
            self.sessions_committed += 1
            self._trace("[INFO][fcc ]: storage committed")
        elif staged is not None:
            self._trace("[INFO][fcc ]: session failed, storage left as it was")

    def _process(self, data: bytes) -> tuple[Response, bool]:
        """Run the bundle handler (fcc_bundle_handler order); the response and whether to send."""
        assert self.staged is not None
        store = self.staged
        warnings: list[str] = []
        bundle = Bundle()
        try:
            pairs = p.decode_top_pairs(data)
            p.check_scheme(pairs)
            for group, name, status, item in (
                    (it.GROUP_ENTROPY, it.RBP_ENTROPY, FccStatus.ENTROPY_ERROR, it.RBP_ENTROPY_NAME),
                    (it.GROUP_ROT, it.RBP_ROT, FccStatus.ROT_ERROR, it.RBP_ROT_NAME)):
                value = p.rbp_buffer(pairs, group)
                if value is not None:
                    if store.get(name) is not None or (group == it.GROUP_ROT and _has_items(store)):
                        # written once per storage (PAL_ERR_ITEM_EXIST); the first KCM item
                        # stored without a RoT makes the storage derive its own
                        raise BundleError(status, item)
                    store.put(name, value, factory=True)
            if self.factory_disabled:
                return Response(FccStatus.FACTORY_DISABLED_ERROR,
                                it.error_message(FccStatus.FACTORY_DISABLED_ERROR)), False
            csr_value = self._walk(pairs, bundle, store)
            self.session_finished = not bundle.keep_alive
            p.check_flags(bundle)
            csrs = self._make_csrs(csr_value, store) if bundle.csr_requests else []
            if self.session_finished and self.secure_time:
                self._set_trusted_ca_id(store, warnings)
            if bundle.effective_verify:
                verify_device(store, self.clock.now(), production=self.production,
                              warnings=warnings)
            if bundle.disable:
                store.put(it.RBP_FACTORY_DISABLED, b"\x01", factory=True)
            return Response(FccStatus.SUCCESS, it.SUCCESS_MESSAGE, warnings,
                            bundle.session_id, csrs), True
        except BundleError as exc:
            return Response(exc.status, exc.info, warnings, bundle.session_id), True

    def _walk(self, pairs: p.Pairs, bundle: Bundle, store: ItemStore) -> Any:
        """The loop over the top map: store each group as it comes; returns the CsrReqs value."""
        csr_value = None
        for key, value in pairs:
            group = p.match_group(key)
            if group == it.GROUP_KEYS:
                for entry in p.entries(value, group):
                    k = p.key_entry(entry)
                    kcm.store_key(store, k.name, k.data, k.type)
            elif group == it.GROUP_CERTIFICATES:
                for entry in p.entries(value, group):
                    c = p.certificate_entry(entry)
                    kcm.store_certificate(store, c.name, c.data, c.private_key_name)
            elif group == it.GROUP_CERTIFICATE_CHAINS:
                for entry in p.entries(value, group):
                    chain = p.chain_entry(entry)
                    kcm.store_chain(store, chain.name, chain.certs)
            elif group == it.GROUP_CONFIG_PARAMS:
                for entry in p.entries(value, group):
                    kcm.store_param(store, self.clock, *p.config_entry(entry))
            elif group == it.GROUP_VERIFY:
                bundle.verify = p.flag(value, group)
            elif group == it.GROUP_DISABLE:
                bundle.disable = p.flag(value, group)
            elif group == it.GROUP_KEEP_ALIVE:
                bundle.keep_alive = p.flag(value, group)
            elif group == it.GROUP_SESSION_ID:
                bundle.session_id = p.session_id(value)
            elif group == it.GROUP_CSR_REQUESTS:
                csr_value = value
                bundle.csr_requests = [CsrRequest("", "")]  # parsed after the loop
        return csr_value

    @staticmethod
    def _set_trusted_ca_id(store: ItemStore, warnings: list[str]) -> None:
        """fcc_trust_ca_cert_id_set at a session's last bundle: read the mode, keep the CA's id.

        It runs before verification, so a missing or bad mbed.UseBootstrap (or bootstrap CA)
        fails here, without the time warnings verification would have made first; its
        "Bootstrap mode not activated" warning stays when the bundle has Verify=0.
        """
        if not bootstrap_mode(store, warnings):
            return
        ca_der = store.get(it.BOOTSTRAP_SERVER_CA_CERT)
        if ca_der is None:
            raise BundleError(FccStatus.ITEM_NOT_EXIST, it.BOOTSTRAP_SERVER_CA_CERT)
        if store.get(it.RBP_TRUSTED_CA_ID) is None:
            store.put(it.RBP_TRUSTED_CA_ID, ca_identifier(ca_der), factory=True)

    def _make_csrs(self, value: Any, store: ItemStore) -> list[CsrResult]:
        return [self._make_csr(r, store) for r in p.csr_requests(value)]

    @staticmethod
    def _make_csr(request: CsrRequest, store: ItemStore) -> CsrResult:
        """Generate a key pair on the device, store the key, return a CSR for it."""
        key = ec.generate_private_key(ec.SECP256R1())
        key_der = key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        kcm.put_new(store, request.private_key_name, key_der)
        try:
            subject = x509.Name.from_rfc4514_string(request.subject.strip().strip(","))
            csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(
                key, hashes.SHA256())
        except Exception:  # noqa: BLE001 - a subject the builder refuses is a bundle error
            raise p.structural("CSR subject is not usable") from None
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


def _has_items(store: ItemStore) -> bool:
    """True once a KCM item (not a root-of-trust buffer) is stored."""
    return any(not name.startswith(it.RBP_PREFIX) for name in store.names())
