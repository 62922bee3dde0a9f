"""A debug mailbox: the virtual board's control requests carried over pyOCD's remote probe protocol.

`pyocd server` shares a probe at the level of the DebugProbe API (open, reset, AP memory
access, ...), so a client on another host never sees the virtual probe's control socket. Like
the debug mailbox access ports of real SoCs, the virtual probe answers memory accesses to a
reserved window outside flash and RAM: the client writes one JSON request there, then reads the
reply's length and bytes. `MailboxMemory` is the probe side, `MailboxControl` the client side
(the same `request(op, **args)` as the control socket's ControlClient).
"""

from __future__ import annotations

import json
from typing import Any

from pyocd.core import exceptions
from pyocd.core.memory_interface import MemoryInterface

from harness.sim.control import ControlClient, ControlError

MAILBOX_REQUEST = 0xF0000000
"""Write the request's JSON bytes here (one block8 write per request)."""
MAILBOX_REPLY_LENGTH = 0xF0001000
"""Read the reply's length (a 32-bit word) here."""
MAILBOX_REPLY = 0xF0002000
"""Read the reply's JSON bytes here."""


class MailboxMemory(MemoryInterface):
    """The probe side: runs requests written to the mailbox on the board's control socket."""

    def __init__(self, control_of: Any) -> None:
        """`control_of()` returns the open probe's ControlClient (None when closed)."""
        self._control_of = control_of
        self._reply = b""

    def _control(self) -> ControlClient:
        control = self._control_of()
        if control is None:
            raise exceptions.ProbeError("the virtual probe is not open")
        return control

    def write_memory_block8(self, addr: int, data: Any, **attrs: Any) -> None:
        """A request written to the mailbox: run it now and keep the reply."""
        if addr != MAILBOX_REQUEST:
            raise exceptions.TransferFaultError(f"address {addr:#x} is not the debug mailbox")
        try:
            request = json.loads(bytes(bytearray(data)))
            op = request.pop("op")
        except (ValueError, KeyError, AttributeError, TypeError) as exc:
            raise exceptions.TransferError(f"bad debug mailbox request ({exc})") from None
        try:
            reply = {"ok": True, **self._control().request(op, **request)}
        except ControlError as exc:
            reply = {"ok": False, "error": str(exc)}
        self._reply = json.dumps(reply).encode()

    def read_memory(self, addr: int, transfer_size: int = 32, now: bool = True, **attrs: Any) -> Any:
        """The reply length (the only word-readable mailbox register)."""
        if addr != MAILBOX_REPLY_LENGTH:
            raise exceptions.TransferFaultError(f"address {addr:#x} is not a debug mailbox register")
        value = len(self._reply)
        return value if now else (lambda: value)

    def read_memory_block8(self, addr: int, size: int, **attrs: Any) -> list[int]:
        """The reply bytes."""
        if addr != MAILBOX_REPLY:
            raise exceptions.TransferFaultError(f"address {addr:#x} is not the debug mailbox reply")
        return list(self._reply[:size])

    def write_memory(self, addr: int, data: int, transfer_size: int = 32, **attrs: Any) -> None:
        """Only block writes reach the mailbox."""
        raise exceptions.TransferFaultError(f"address {addr:#x} is not writable word by word")

    def write_memory_block32(self, addr: int, data: Any, **attrs: Any) -> None:
        """Only byte blocks reach the mailbox."""
        raise exceptions.TransferFaultError(f"address {addr:#x} is not writable word by word")

    def read_memory_block32(self, addr: int, size: int, **attrs: Any) -> list[int]:
        """Only byte blocks are read from the mailbox."""
        raise exceptions.TransferFaultError(f"address {addr:#x} is not readable word by word")


class MailboxControl:
    """The client side: control requests through a (remote) probe's memory interface."""

    def __init__(self, probe: Any) -> None:
        """Use `probe` (a pyOCD DebugProbe, e.g. the `remote:` TCP client probe)."""
        from pyocd.coresight.ap import APv1Address

        memory = probe.get_memory_interface_for_ap(APv1Address(0))
        if memory is None:
            raise exceptions.ProbeError(f"probe {probe.unique_id} has no debug mailbox; target "
                                        "dmhil_vboard needs a dm-hil virtual board probe")
        self.memory = memory

    def request(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one request and return the reply; raise ControlError if the board refused it."""
        self.memory.write_memory_block8(MAILBOX_REQUEST, list(json.dumps({"op": op, **args}).encode()))
        length = self.memory.read_memory(MAILBOX_REPLY_LENGTH, 32)
        reply = json.loads(bytes(self.memory.read_memory_block8(MAILBOX_REPLY, length)))
        if not reply.pop("ok", False):
            raise ControlError(reply.get("error", "the board refused the request"))
        return reply
