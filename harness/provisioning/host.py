"""Host side of factory provisioning (the FCU): send a bundle over serial, read the result."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import serial

from harness.errors import HilError
from harness.provisioning.bundle import Bundle, CsrResult, Response
from harness.provisioning.frame import (
    BadFrame,
    FrameReader,
    FtcdStatus,
    ResponseFrame,
    encode_request,
    ftcd_status_name,
)
from harness.provisioning.items import FccStatus, fcc_status_name

log = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 115200
DEFAULT_TIMEOUT = 10.0


class ProvisioningError(HilError):
    """Provisioning over serial failed (no answer, garbled answer, port problem)."""


@dataclass
class ProvisionResult:
    """What the device answered to one bundle.

    `status` is the bundle-level fcc_status_e, or None when the device sent no CBOR (then
    `transport_status` says why, e.g. 9 = FAILED_TO_PROCESS_DATA for a disabled factory flow).
    `console` holds the text the device printed around the frame.
    """

    status: FccStatus | int | None
    status_name: str
    info: str = ""
    warnings: list[str] = field(default_factory=list)
    transport_status: int = FtcdStatus.SUCCESS
    csrs: list[CsrResult] = field(default_factory=list)
    session_id: str | None = None
    console: str = ""

    @property
    def ok(self) -> bool:
        """True when both the transport and the bundle succeeded."""
        return self.transport_status == FtcdStatus.SUCCESS and self.status == FccStatus.SUCCESS

    def raise_for_status(self, port: str = "the device") -> ProvisionResult:
        """Return self if ok, else raise ProvisioningError with the status and info."""
        if not self.ok:
            detail = f": {self.info.strip()}" if self.info.strip() else ""
            raise ProvisioningError(
                f"Provisioning on {port} failed with {self.status_name}{detail}; "
                "fix the bundle or erase the device and retry."
            )
        return self

    @classmethod
    def from_frame(cls, frame: ResponseFrame, port: str, console: str = "") -> ProvisionResult:
        """Build a result from a response frame; ProvisioningError if its CBOR is garbled."""
        if frame.status != FtcdStatus.SUCCESS or frame.message is None:
            return cls(status=None, status_name=ftcd_status_name(frame.status),
                       transport_status=frame.status, console=console)
        try:
            resp = Response.from_cbor(frame.message)
        except ValueError as exc:
            raise ProvisioningError(
                f"The provisioning response from {port} is garbled ({exc}); check the baud rate "
                "and that only the factory firmware writes to this port."
            ) from None
        try:
            status: FccStatus | int = FccStatus(resp.status)
        except ValueError:
            status = resp.status
        return cls(status=status, status_name=fcc_status_name(resp.status), info=resp.info,
                   warnings=resp.warnings, csrs=resp.csrs, session_id=resp.session_id,
                   console=console)


def _open(port: str | serial.Serial, baudrate: int) -> tuple[serial.Serial, bool, str]:
    if isinstance(port, serial.SerialBase):  # also the rfc2217:// port of a remote board
        return port, False, port.port or "<serial>"
    try:
        return serial.Serial(port, baudrate=baudrate, timeout=0.05, exclusive=True), True, port
    except (serial.SerialException, OSError, ValueError) as exc:
        raise ProvisioningError(
            f"Cannot open serial port {port} ({exc}); check the board is connected and no "
            "other program (console, another test) holds the port."
        ) from None


class Session:
    """A provisioning session on one serial port; several bundles use KpAlvSess."""

    def __init__(self, port: str | serial.Serial, *, timeout: float = DEFAULT_TIMEOUT,
                 baudrate: int = DEFAULT_BAUDRATE) -> None:
        """Open `port` (a path or an already open pyserial port, which is left open)."""
        self._serial, self._owned, self.port_name = _open(port, baudrate)
        self._saved_timeout = self._serial.timeout
        if self._serial.timeout is None or self._serial.timeout > 0.2:
            self._serial.timeout = 0.05  # poll, so our own deadline applies
        self.timeout = timeout
        self._reader = FrameReader("response")

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the port if this session opened it (else restore its read timeout)."""
        try:
            if self._owned and self._serial.is_open:
                self._serial.close()
            elif not self._owned:
                self._serial.timeout = self._saved_timeout
        except (serial.SerialException, OSError):
            pass  # the board went away (reset, power loss): nothing left to restore

    def send(self, bundle: Bundle, *, timeout: float | None = None) -> ProvisionResult:
        """Send one bundle as it is and wait for the device's response frame."""
        return self.send_raw(bundle.to_cbor(), timeout=timeout)

    def send_all(self, bundles: list[Bundle], *, timeout: float | None = None
                 ) -> list[ProvisionResult]:
        """Send bundles as one session (KpAlvSess=1 on all but the last); stop at a failure."""
        results = []
        for index, bundle in enumerate(bundles):
            bundle.keep_alive = True if index < len(bundles) - 1 else None
            result = self.send(bundle, timeout=timeout)
            results.append(result)
            if not result.ok:
                break
        return results

    def send_raw(self, message: bytes, *, timeout: float | None = None) -> ProvisionResult:
        """Frame `message` (CBOR), write it, and read the response (skipping log text)."""
        return self.send_frame(encode_request(message), timeout=timeout)

    def send_frame(self, frame: bytes, *, timeout: float | None = None) -> ProvisionResult:
        """Write an already framed request and read the response (for negative tests)."""
        limit = self.timeout if timeout is None else timeout
        self._reader.reset()
        self._reader.take_text()
        log.debug("provisioning: sending %d-byte frame on %s", len(frame), self.port_name)
        try:
            self._serial.reset_input_buffer()
            self._serial.write(frame)
            self._serial.flush()
        except (serial.SerialException, OSError) as exc:
            raise ProvisioningError(
                f"Cannot write to {self.port_name} ({exc}); check the board is still connected."
            ) from None
        return self._read_response(limit)

    def _read_response(self, limit: float) -> ProvisionResult:
        deadline = time.monotonic() + limit
        console = bytearray()
        while time.monotonic() < deadline:
            try:
                chunk = self._serial.read(max(1, self._serial.in_waiting or 1))
            except (serial.SerialException, OSError) as exc:
                raise ProvisioningError(
                    f"Reading {self.port_name} failed ({exc}); check the board is still "
                    "connected and was not reset during provisioning."
                ) from None
            if not chunk:
                continue
            frames = self._reader.feed(chunk)
            console += self._reader.take_text()
            for frame in frames:
                if isinstance(frame, BadFrame):
                    raise ProvisioningError(
                        f"The provisioning response from {self.port_name} is garbled "
                        f"({frame.detail}); check the baud rate and that nothing else writes to "
                        "the port."
                    )
                text = console.decode("utf-8", errors="replace")
                result = ProvisionResult.from_frame(frame, self.port_name, text)  # type: ignore[arg-type]
                log.debug("provisioning on %s: %s", self.port_name, result.status_name)
                return result
        waiting = " (a response frame had started)" if self._reader.in_frame else ""
        raise ProvisioningError(
            f"No provisioning response from {self.port_name} within {limit:g} s{waiting}; "
            "check the board runs factory firmware, the port and the baud rate."
        )


def provision(port: str | serial.Serial, bundle: Bundle, *, timeout: float = DEFAULT_TIMEOUT,
              baudrate: int = DEFAULT_BAUDRATE) -> ProvisionResult:
    """Send one bundle over `port` and return the device's typed result."""
    with Session(port, timeout=timeout, baudrate=baudrate) as session:
        return session.send(bundle)
