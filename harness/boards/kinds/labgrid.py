"""A board on another host, shared through a labgrid place.

The lab config names the coordinator and the place. start() acquires the place (as labgrid's
`host/user`), reads its resources and stop() releases it. The console is the place's
NetworkSerialPort (ser2net, RFC 2217: pyserial's `rfc2217://host:port`); flashing, erase and
reset go through its PyOCDProbeServer resource (`pyocd server` on the exporter host, reached
with pyOCD's `remote:host:port` probe type), with the same pyOCD calls as a local board.

A place held by this very `host/user` when the harness already holds the board's local pool
lock can only be left over from a run that died: it is released and acquired again, as
`labgrid-client release` allows its owner. A place held by someone else is waited for, then
the error names `labgrid-client -p PLACE release --kick`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyocd.core.exceptions import Error as PyocdError

from harness.boards.board import BoardUnavailable, Capabilities, Survey
from harness.boards.console import SerialConsole
from harness.boards.flashing import ProbeRef
from harness.boards.kinds.virtual import VirtualBoard
from harness.boards.labgrid_places import (
    Coordinator,
    LabgridError,
    PlaceResource,
    PlaceState,
    coordinator,
)
from harness.boards.manifest import FirmwareManifest
from harness.boards.probe_board import ProbeBoard
from harness.boards.serial_bridge import SerialBridge
from harness.config import LabgridBoardConfig, VirtualBoardConfig
from harness.errors import HilError

log = logging.getLogger(__name__)

SERIAL_CLASS = "NetworkSerialPort"
"""labgrid's resource class of a serial port served by ser2net (also what USBSerialPort and
RawSerialPort become when an exporter serves them)."""
PROBE_CLASS = "PyOCDProbeServer"
"""The resource class (exporter config) of a `pyocd server`: host, port, optional target."""
RESOURCE_WAIT = 10.0
"""Seconds to wait after acquiring for the exporter to publish its resources' ports."""
POLL = 0.5
VIRTUAL_TARGET = VirtualBoardConfig.model_fields["target"].default
"""The pyOCD target of dm-hil virtual boards (exported like real ones in the distributed tests)."""


def _eof_is_an_error() -> None:
    """pyOCD's remote probe client (pyocd.utility.sockets.ClientSocket.readline, 0.36-0.46) spins
    forever when the server's host goes away mid-request (recv() returns b"" at end of file);
    make end of file a ConnectionResetError, which the probe call then reports."""
    from pyocd.utility.sockets import ClientSocket

    if getattr(ClientSocket.read, "dmhil_eof_checked", False):
        return
    plain_read = ClientSocket.read

    def read(self: ClientSocket, packet_size: int | None = None) -> bytes:
        data = plain_read(self, packet_size)
        if not data:
            raise ConnectionResetError(f"pyocd server {self._address[0]}:{self._address[1]} "
                                       "closed the connection")
        return data

    read.dmhil_eof_checked = True  # type: ignore[attr-defined]
    ClientSocket.read = read  # type: ignore[method-assign]


def serial_url(resource: PlaceResource) -> str:
    """pyserial URL of a NetworkSerialPort: rfc2217://host:port, or socket:// for raw TCP."""
    address = f"{resource.params['host']}:{resource.params['port']}"
    if resource.params.get("protocol") == "raw":
        return f"socket://{address}"
    # ser2net does not confirm SET_CONTROL (modem lines) on ports served with `local`
    return f"rfc2217://{address}?ign_set_control"


def probe_unique_id(resource: PlaceResource) -> str:
    """pyOCD unique id of a PyOCDProbeServer resource (`remote:host:port`)."""
    return f"remote:{resource.params['host']}:{resource.params['port']}"


def _first(place: PlaceState, cls: str) -> PlaceResource | None:
    return next((r for r in place.resources if r.cls == cls), None)


def missing_resources(place: PlaceState) -> list[str]:
    """What the place lacks to be a board (empty when its serial port and probe are usable)."""
    problems = []
    for cls in (SERIAL_CLASS, PROBE_CLASS):
        res = _first(place, cls)
        if res is None:
            problems.append(f"place {place.name} has no {cls} resource (add a match for one, "
                            f"`labgrid-client -p {place.name} add-match EXPORTER/GROUP/{cls}`)")
        elif not res.avail or res.params.get("port") in (None, 0):
            problems.append(f"{cls} {res.exporter}/{res.group}/{res.name} of place {place.name} is "
                            "not available (its exporter is gone or has not started it)")
    return problems


def place_status(place: PlaceState) -> str:
    """`free` or `acquired by host/user`, with the exporters it lives on."""
    held = f"acquired by {place.acquired}" if place.acquired else "free"
    hosts = ", ".join(place.exporters) or "no exporter"
    return f"labgrid place {place.name} on {hosts}: {held}"


class LabgridBoard(ProbeBoard):
    """A board behind a labgrid place; acquired in start(), released in stop()."""

    kind = "labgrid"
    config: LabgridBoardConfig

    def __init__(self, config: LabgridBoardConfig, *, emulate_baud: bool = True) -> None:
        """Wrap `config`; nothing is contacted until start()."""
        super().__init__(config, emulate_baud=emulate_baud)
        self.acquired = False
        self.state: PlaceState | None = None
        self.bridge: SerialBridge | None = None

    @property
    def capabilities(self) -> Capabilities:
        """A probe board on another host: halt and reset through pyOCD."""
        return Capabilities(
            has_probe=True, can_halt=True, factory_provisioning=True,
            firmware_modes=frozenset({"factory", "developer"}),
            reasons={"app_calls": "the application's calls are reachable on local virtual "
                                  "boards only, not through a labgrid place",
                     "can_power_cycle": "the labgrid place has no power resource the harness "
                                        "drives"})

    def check(self) -> None:
        """labgrid must be installed to reach the coordinator."""
        if importlib.util.find_spec("labgrid") is None:
            raise BoardUnavailable(f"board {self.id} is a labgrid place but labgrid is not "
                                   "installed; pip install 'dm-hil[test]' (or labgrid).")

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self, timeout: float = 15.0, *, fresh: bool = False) -> None:
        """Acquire the place (recovering our own stale lock) and read its resources."""
        if self.acquired:
            return
        with coordinator(self.config.coordinator) as client:
            self._acquire(client)
            try:
                self.state = self._wait_resources(client)
                self._open_bridge()
            except BaseException:
                self._close_bridge()
                self._release(client)
                raise
        log.info("board %s: acquired labgrid place %s (%s)", self.id, self.config.place,
                 ", ".join(self.state.exporters))

    def _acquire(self, client: Coordinator) -> None:
        place = self.config.place
        deadline = time.monotonic() + self.config.acquire_timeout
        while True:
            holder = client.place(place).acquired
            if holder == client.identity:
                log.warning("board %s: place %s is still acquired by %s from a run that ended "
                            "without releasing it; releasing it", self.id, place, holder)
                client.release(place)
                holder = None
            if holder is None:
                try:
                    with contextlib.redirect_stdout(None):
                        client.acquire(place)
                    self.acquired = True
                    return
                except LabgridError:
                    if client.place(place).acquired is None:
                        raise  # not a race with another user: a real failure
            if time.monotonic() >= deadline:
                holder = client.place(place).acquired
                raise LabgridError(
                    f"board {self.id}: labgrid place {place} stayed acquired by {holder} for "
                    f"{self.config.acquire_timeout:g} s; wait for that user, or if its job died run "
                    f"`labgrid-client -x {self.config.coordinator} -p {place} release --kick`.")
            time.sleep(POLL)
            client.sync()

    def _wait_resources(self, client: Coordinator) -> PlaceState:
        deadline = time.monotonic() + RESOURCE_WAIT
        while True:
            state = client.place(self.config.place)
            problems = missing_resources(state)
            if not problems:
                return state
            if time.monotonic() >= deadline:
                raise LabgridError(f"board {self.id}: {'; '.join(problems)}.")
            time.sleep(POLL)
            client.sync()

    def _open_bridge(self) -> None:
        url = serial_url(self._first(SERIAL_CLASS))
        link = Path(tempfile.mkdtemp(prefix=f"dm-hil-{self.id}-")) / "tty"
        self.bridge = SerialBridge(url, link, self.config.baudrate)
        try:
            self.bridge.open()
        except Exception as exc:  # noqa: BLE001 - pyserial raises several kinds
            raise LabgridError(f"board {self.id}: the serial port {url} of labgrid place "
                               f"{self.config.place} cannot be opened ({exc}); check ser2net on "
                               f"{self.location()}.") from None

    def _close_bridge(self) -> None:
        if self.bridge is not None:
            self.bridge.close()
            shutil.rmtree(self.bridge.link.parent, ignore_errors=True)
            self.bridge = None

    def _release(self, client: Coordinator) -> None:
        if not self.acquired:
            return
        with contextlib.redirect_stdout(None):
            if client.place(self.config.place).acquired == client.identity:
                client.release(self.config.place)
        self.acquired = False

    def stop(self) -> None:
        """Close the console and release the place (also when the coordinator is slow)."""
        super().stop()
        self._close_bridge()
        if not self.acquired:
            return
        try:
            with coordinator(self.config.coordinator) as client:
                self._release(client)
        except LabgridError as exc:
            log.warning("board %s: %s; the next run on this host releases the place", self.id, exc)
        self.acquired = False
        self.state = None

    def _first(self, cls: str) -> PlaceResource:
        assert self.state is not None
        res = _first(self.state, cls)
        assert res is not None  # start() checked it
        return res

    def _resource(self, cls: str) -> PlaceResource:
        self.start()
        return self._first(cls)

    def gone(self) -> str:
        """One sentence on what happened to the place's resources (asked of the coordinator)."""
        try:
            with coordinator(self.config.coordinator, timeout=5.0) as client:
                state = client.place(self.config.place)
                problems = missing_resources(state)
        except LabgridError as exc:
            return str(exc)
        if problems and self.state is not None and not state.resources:
            return (f"labgrid lists no resources of place {self.config.place} any more: its "
                    f"exporter ({self.location()}) has left the coordinator.")
        if problems:
            return "labgrid: " + "; ".join(problems) + "."
        return f"labgrid still lists the resources of place {self.config.place} on {self.location()}."

    # --- console + probe -----------------------------------------------------------------------
    def port(self) -> str | None:
        """A local pty bridged to the place's NetworkSerialPort (rfc2217://host:port)."""
        self.start()
        assert self.bridge is not None
        return str(self.bridge.link)

    def _new_console(self, log_path: str | Path | None) -> SerialConsole:
        assert self.bridge is not None
        if not self.bridge.alive:
            raise LabgridError(f"board {self.id}: its serial port is gone ({self.bridge.error}); "
                               f"{self.gone()}")
        return super()._new_console(log_path)

    def probe_ref(self) -> ProbeRef:
        """The place's `pyocd server` as a pyOCD remote probe."""
        _eof_is_an_error()
        return ProbeRef(self.id, probe_unique_id(self._resource(PROBE_CLASS)), self.config.target)

    def probe_id(self) -> str | None:
        """`remote:host:port` once the place is acquired, else None."""
        res = _first(self.state, PROBE_CLASS) if self.state else None
        return probe_unique_id(res) if res else None

    def location(self) -> str:
        """The exporter host(s) of the place's resources."""
        if self.state is None:
            return f"labgrid place {self.config.place}"
        return ", ".join(self.state.exporters)

    # --- firmware + control --------------------------------------------------------------------
    def image_file(self, name: str, manifest: FirmwareManifest, dest_dir: Path, *,
                   developer_credentials: Any = None, extra: dict[str, Any] | None = None) -> Path:
        """A manifest file; a virtual board behind the place gets the image the virtual kind builds."""
        if manifest.image_file(name) is None and self.config.target == VIRTUAL_TARGET:
            builder = VirtualBoard(VirtualBoardConfig(id=self.id, kind="sim"))
            return builder.image_file(name, manifest, dest_dir,
                                      developer_credentials=developer_credentials, extra=extra)
        return super().image_file(name, manifest, dest_dir,
                                  developer_credentials=developer_credentials, extra=extra)

    @contextlib.contextmanager
    def _at_probe(self) -> Iterator[None]:
        """Probe errors (a `pyocd server` that is gone) get what labgrid knows appended."""
        try:
            yield
        except (HilError, OSError, PyocdError) as exc:
            raise LabgridError(f"board {self.id}: the probe of labgrid place {self.config.place} "
                               f"failed ({exc}); {self.gone()}") from None

    # --- discovery -----------------------------------------------------------------------------
    def survey(self, ports: list[Any], probe_seen: bool) -> Survey:
        """The place's holder and its serial URL, asked of the coordinator."""
        try:
            with coordinator(self.config.coordinator, timeout=5.0) as client:
                state = client.place(self.config.place)
        except LabgridError as exc:
            return Survey(None, "labgrid place unreachable", [str(exc)])
        serial = _first(state, SERIAL_CLASS)
        url = serial_url(serial) if serial and serial.params.get("port") else None
        return Survey(url, place_status(state), missing_resources(state))


def other_places(configs: list[LabgridBoardConfig]) -> list[str]:
    """`hil boards` lines for the places of the lab's coordinators that no board entry names."""
    named: dict[str, set[str]] = {}
    for config in configs:
        named.setdefault(config.coordinator, set()).add(config.place)
    lines = []
    for address, places in named.items():
        try:
            with coordinator(address, timeout=5.0) as client:
                lines += [place_status(client.place(name)) + f" (coordinator {address})"
                          for name in client.place_names() if name not in places]
        except LabgridError as exc:
            lines.append(str(exc))
    return lines
