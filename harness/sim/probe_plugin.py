"""pyOCD probe plugin (entry point group "pyocd.probe"): running virtual boards as debug probes.

Each running board (a board.json under $HIL_SIM_DIR or ~/.cache/dm-hil/boards) is one probe
with unique id `dmhil-<board id>`; its associated target type is `dmhil_vboard`, which loading
the plugin registers in pyocd.target.TARGET. Like a USB probe, a virtual probe can be opened by
one session at a time (a lock file in the board dir); a second opener gets "busy".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pyocd.board.board_ids import BoardInfo as PyocdBoardInfo
from pyocd.core import exceptions
from pyocd.core.plugin import Plugin
from pyocd.probe.debug_probe import DebugProbe

from harness.sim import registry
from harness.sim.control import ControlClient, ControlError
from harness.sim.probe_mailbox import MailboxMemory


class VirtualProbe(DebugProbe):
    """The debug port of one running virtual board."""

    @classmethod
    def get_all_connected_probes(cls, unique_id: str | None = None,
                                 is_explicit: bool = False) -> list[VirtualProbe]:
        """One probe per running virtual board."""
        return [cls(info) for info in registry.running_boards()]

    @classmethod
    def get_probe_with_id(cls, unique_id: str, is_explicit: bool = False) -> VirtualProbe | None:
        """The probe whose unique id (or board id) is exactly `unique_id`."""
        for info in registry.running_boards():
            if unique_id in (info.probe_id, info.id):
                return cls(info)
        return None

    def __init__(self, info: registry.BoardInfo) -> None:
        """A probe for the board described by `info` (not opened)."""
        super().__init__()
        self.info = info
        self.control: ControlClient | None = None
        self._lock = FileLock(str(Path(info.board_dir) / ".probe.lock"))
        self._is_open = False
        self._protocol: DebugProbe.Protocol | None = None
        self._reset_asserted = False

    @property
    def description(self) -> str:
        """Shown by `pyocd list`."""
        return f"dm-hil virtual board {self.info.id}"

    @property
    def vendor_name(self) -> str:
        """Vendor."""
        return "dm-hil"

    @property
    def product_name(self) -> str:
        """Product."""
        return "Virtual Board"

    @property
    def supported_wire_protocols(self) -> set[DebugProbe.Protocol]:
        """SWD (nominal: the wire is not modelled)."""
        return {DebugProbe.Protocol.DEFAULT, DebugProbe.Protocol.SWD}

    @property
    def unique_id(self) -> str:
        """`dmhil-<board id>`."""
        return self.info.probe_id

    @property
    def wire_protocol(self) -> DebugProbe.Protocol | None:
        """The connected protocol."""
        return self._protocol

    @property
    def is_open(self) -> bool:
        """True between open() and close()."""
        return self._is_open

    @property
    def capabilities(self) -> set[DebugProbe.Capability]:
        """No DAP-level capabilities."""
        return set()

    @property
    def associated_board_info(self) -> PyocdBoardInfo:
        """The board behind this probe, with its target type."""
        return PyocdBoardInfo(name="dm-hil virtual board", target=self.info.target, vendor="dm-hil")

    def open(self) -> None:
        """Open the probe (exclusive, like a USB probe)."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise exceptions.ProbeError(
                f"virtual probe {self.unique_id} is busy (another session has it open)"
            ) from None
        self.control = ControlClient(self.info.control)
        try:
            self.control.connect()  # refused unless the board process listens
        except ControlError as exc:
            self.close()
            raise exceptions.ProbeError(str(exc)) from None
        self._is_open = True

    def close(self) -> None:
        """Close the probe."""
        if self.control is not None:
            self.control.close()
        self.control = None
        if self._lock.is_locked:
            self._lock.release()
        self._is_open = False

    def connect(self, protocol: DebugProbe.Protocol | None = None) -> None:
        """Connect the (nominal) wire."""
        self._protocol = DebugProbe.Protocol.SWD

    def disconnect(self) -> None:
        """Disconnect the wire."""
        self._protocol = None

    def swj_sequence(self, length: int, bits: int) -> None:
        """No wire model."""

    def set_clock(self, frequency: float) -> None:
        """No wire model."""

    def _request(self, op: str, **args: Any) -> dict[str, Any]:
        if self.control is None:
            raise exceptions.ProbeError(f"virtual probe {self.unique_id} is not open")
        try:
            return self.control.request(op, **args)
        except ControlError as exc:
            raise exceptions.TransferError(str(exc)) from None

    def reset(self) -> None:
        """Hardware reset (nRESET pulse): the board reboots from flash."""
        self._request("reset")

    def assert_reset(self, asserted: bool) -> None:
        """Hold the board in reset, or release it (then it boots)."""
        self._reset_asserted = asserted
        self._request("reset", halt=asserted)

    def is_reset_asserted(self) -> bool:
        """Whether nRESET is held."""
        return self._reset_asserted

    def get_memory_interface_for_ap(self, ap_address: Any) -> MailboxMemory:
        """The debug mailbox (control requests from `pyocd server` clients, see probe_mailbox)."""
        return MailboxMemory(lambda: self.control)


class VirtualProbePlugin(Plugin):
    """Registers VirtualProbe and the `dmhil_vboard` target type with pyOCD."""

    def load(self) -> type[VirtualProbe]:
        """Register the target type and return the probe class."""
        from pyocd.target import TARGET

        from harness.sim.pyocd_target import VirtualBoardTarget

        TARGET.setdefault(registry.TARGET_TYPE, VirtualBoardTarget)
        return VirtualProbe

    @property
    def name(self) -> str:
        """Probe type name (usable as `dmhil_vboard:<id>`)."""
        return "dmhil_vboard"

    @property
    def description(self) -> str:
        """Shown by `pyocd list --plugins`."""
        return "dm-hil virtual boards"
