"""The pyOCD target type "dmhil_vboard": a SoC whose core and flash are reached via the probe.

What is emulated, and at which layer: the virtual probe does not model SWD/DAP or CoreSight
(no DP/AP registers, no ROM table, no core registers). The target instead talks to the board at
the level of a debug probe's memory and run control: memory reads/writes, flash erase/program
(a Flash subclass replacing the RAM-resident flash algorithm), halt, resume, reset and
reset-and-halt, all through the board's control socket. That is the surface pyOCD's Session,
FileProgrammer/FlashBuilder and `pyocd flash`/`pyocd reset` use.
"""

from __future__ import annotations

from typing import Any

from pyocd.core import exceptions
from pyocd.core.core_target import CoreTarget
from pyocd.core.memory_map import FlashRegion, MemoryMap, MemoryType, RamRegion
from pyocd.core.soc_target import SoCTarget
from pyocd.core.target import Target
from pyocd.flash.flash import Flash
from pyocd.utility.sequencer import CallSequence

from harness.sim.control import ControlClient, ControlError, b64, unb64
from harness.sim.flash import RAM_SIZE, RAM_START, FlashGeometry
from harness.sim.probe_mailbox import MailboxControl

_GEOMETRY = FlashGeometry()
_STATES = {
    "running": Target.State.RUNNING,
    "booting": Target.State.RUNNING,
    "down": Target.State.LOCKUP,
    "halted": Target.State.HALTED,
    "off": Target.State.RESET,
}


def _control(target: Target) -> ControlClient | MailboxControl:
    probe = target.session.probe
    control = getattr(probe, "control", None)
    if control is None:  # a probe shared by `pyocd server`: requests go through the debug mailbox
        control = getattr(probe, "dmhil_mailbox", None)
        if control is None:
            control = probe.dmhil_mailbox = MailboxControl(probe)
    return control


def _call(target: Target, op: str, **args: Any) -> dict[str, Any]:
    try:
        reply = _control(target).request(op, **args)
    except ControlError as exc:
        raise exceptions.TransferError(str(exc)) from None
    if "state" in reply:  # every run-control reply says where the core is now
        target.session.probe.dmhil_last_state = reply["state"]
    return reply


class VirtualFlash(Flash):
    """Flash operations done by the board itself (no flash algorithm is loaded into RAM)."""

    def __init__(self, target: Target) -> None:
        """Flash of the virtual board behind `target`."""
        super().__init__(target, None)
        self.is_valid = True

    @property
    def is_erase_all_supported(self) -> bool:
        """Chip erase is supported."""
        return True

    def init(self, operation: Any, address: int | None = None, clock: int = 0, reset: bool = False) -> None:
        """Halt the core before flash operations (reset-and-halt if asked)."""
        if self._active_operation is None:
            _call(self.target, "reset", halt=True) if reset else _call(self.target, "halt")
        self._active_operation = operation

    def uninit(self) -> None:
        """End the flash operation."""
        self._active_operation = None

    def cleanup(self) -> None:
        """Nothing to restore (no algorithm was loaded)."""
        self._active_operation = None

    def erase_all(self) -> None:
        """Erase the whole flash."""
        _call(self.target, "erase_all")

    def erase_sector(self, address: int) -> None:
        """Erase the sector at `address`."""
        _call(self.target, "erase", addr=address, size=self.region.sector_size)

    def program_page(self, address: int, bytes: Any) -> None:  # noqa: A002 - pyOCD's name
        """Program one page."""
        _call(self.target, "write", addr=address, data=b64(bytearray(bytes)))


class VirtualCore(CoreTarget):
    """The board's CPU as seen through the probe: run control and memory access."""

    def __init__(self, session: Any, memory_map: MemoryMap) -> None:
        """Core #0 of the virtual board."""
        super().__init__(session, memory_map)
        self.node_name = "core0"
        self._context: Any = None
        self._elf: Any = None

    @property
    def name(self) -> str:
        """CPU type name."""
        return "dm-hil virtual core"

    @property
    def core_number(self) -> int:
        """Always core 0."""
        return 0

    @property
    def elf(self) -> Any:
        """No ELF support."""
        return self._elf

    @elf.setter
    def elf(self, value: Any) -> None:
        self._elf = value

    @property
    def supported_security_states(self) -> Any:
        """Only non-secure."""
        return (Target.SecurityState.NONSECURE,)

    def set_target_context(self, context: Any) -> None:
        """Keep the debug context pyOCD hands us."""
        self._context = context

    def get_target_context(self, core: int | None = None) -> Any:
        """The debug context."""
        return self._context

    def set_reset_catch(self, reset_type: Any) -> None:
        """Reset catch is implicit in reset(halt=True)."""

    def clear_reset_catch(self, reset_type: Any) -> None:
        """See set_reset_catch."""

    def exception_number_to_name(self, exc_num: int) -> str | None:
        """No exception model."""
        return None

    # --- run control ---------------------------------------------------------------------------
    def halt(self) -> None:
        """Halt the core."""
        _call(self, "halt")

    def resume(self) -> None:
        """Resume the core."""
        _call(self, "resume")

    def reset(self, reset_type: Any = None) -> None:
        """Reset and run from flash."""
        self.session.notify(Target.Event.PRE_RESET, self)
        _call(self, "reset")
        self.session.notify(Target.Event.POST_RESET, self)

    def reset_and_halt(self, reset_type: Any = None) -> None:
        """Reset and stay halted at the reset vector."""
        _call(self, "reset", halt=True)

    def get_state(self) -> Target.State:
        """RUNNING, HALTED, RESET (powered off) or LOCKUP (no bootable image)."""
        return _STATES.get(_call(self, "state")["state"], Target.State.RUNNING)

    def get_halt_reason(self) -> Target.HaltReason:
        """Halts come from the debugger."""
        return Target.HaltReason.DEBUG

    def disconnect(self, resume: bool = True) -> None:
        """Resume on disconnect if asked and halted (asked only when this session may have
        halted it: a core that last reported running stays so, only a debugger halts it)."""
        last = getattr(self.session.probe, "dmhil_last_state", None)
        if resume and last in (None, "halted") and self.get_state() == Target.State.HALTED:
            self.resume()

    # --- memory --------------------------------------------------------------------------------
    def read_memory_block8(self, addr: int, size: int) -> list[int]:
        """Read bytes."""
        return list(unb64(_call(self, "read", addr=addr, size=size)["data"]))

    def write_memory_block8(self, addr: int, data: Any) -> None:
        """Write bytes (flash: programs, NOR semantics)."""
        _call(self, "write", addr=addr, data=b64(bytes(bytearray(data))))

    def read_memory_block32(self, addr: int, size: int) -> list[int]:
        """Read `size` little-endian words."""
        raw = bytes(self.read_memory_block8(addr, size * 4))
        return [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]

    def write_memory_block32(self, addr: int, data: Any) -> None:
        """Write little-endian words."""
        self.write_memory_block8(addr, b"".join(int(w).to_bytes(4, "little") for w in data))

    def read_memory(self, addr: int, transfer_size: int = 32, now: bool = True) -> Any:
        """Read one 8/16/32-bit value."""
        raw = bytes(self.read_memory_block8(addr, transfer_size // 8))
        value = int.from_bytes(raw, "little")
        return value if now else (lambda: value)

    def write_memory(self, addr: int, data: int, transfer_size: int = 32) -> None:
        """Write one 8/16/32-bit value."""
        self.write_memory_block8(addr, int(data).to_bytes(transfer_size // 8, "little"))

    def read_core_register(self, id: Any) -> Any:  # noqa: A002 - pyOCD's name
        """Core registers are not modelled."""
        raise exceptions.CoreRegisterAccessError("the dm-hil virtual core has no register model")

    read_core_register_raw = read_core_register
    read_core_registers_raw = read_core_register


class VirtualBoardTarget(SoCTarget):
    """pyOCD target type `dmhil_vboard`."""

    VENDOR = "dm-hil"
    PART_NUMBER = "DMHIL_VBOARD"
    MEMORY_MAP = MemoryMap(
        FlashRegion(start=_GEOMETRY.start, length=_GEOMETRY.size, blocksize=_GEOMETRY.sector_size,
                    page_size=_GEOMETRY.page_size, is_boot_memory=True, flash_class=VirtualFlash,
                    erased_byte_value=0xFF, erase_sector_weight=0.001, program_page_weight=0.001,
                    erase_all_weight=0.01),
        RamRegion(start=RAM_START, length=RAM_SIZE),
    )

    def __init__(self, session: Any) -> None:
        """A target bound to `session` (the probe is only used after open)."""
        super().__init__(session, self.MEMORY_MAP)

    def create_init_sequence(self) -> CallSequence:
        """Add the core and create the flash objects."""
        return CallSequence(("add_core", self._add_core), ("create_flash", self._create_flash))

    def _add_core(self) -> None:
        core = VirtualCore(self.session, self.memory_map)
        core.set_target_context(core)
        self._cores[0] = core
        self.add_child(core)
        self._selected_core = 0

    def _create_flash(self) -> None:
        for region in self.memory_map.iter_matching_regions(type=MemoryType.FLASH):
            flash = region.flash_class(self)
            flash.region = region
            region.flash = flash
