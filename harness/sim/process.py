"""The virtual board process: pty + control socket + runtime in one asyncio loop.

`python -m harness.sim --id ID [--board-dir DIR] [--baud 115200] [--image FILE]`. The board
publishes DIR/board.json once its pty and control socket are ready and removes it on exit
(SIGTERM/SIGINT). The first boot waits until a host opens the serial port (see pty_serial), so
the boot banner is never lost; later resets boot at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from harness.errors import HilError
from harness.provisioning.store import ItemStore
from harness.sim import registry
from harness.sim.control import b64, serve_control, unb64
from harness.sim.flash import RAM_SIZE, RAM_START, FlashFile, FlashGeometry
from harness.sim.pty_serial import PtySerial
from harness.sim.runtime import BoardRuntime

log = logging.getLogger(__name__)

FIRMWARE_MODULES = (
    "harness.provisioning.device",
    "harness.provisioning.verify",
    "harness.sim.client",
    "harness.sim.tb_client",
)
"""What a boot may run (imported lazily by the runtime): loaded before the board is ready, so no
boot stops the board's loop and UART thread to compile and import them (a firmware is in flash
before the board powers on, not loaded at boot)."""

UART_SWITCH_INTERVAL = 0.0005
"""Seconds the firmware's thread may hold the interpreter before the UART thread gets it (Python's
default, 5 ms, is 58 bytes of line time at 115200 baud)."""

LOG_LEVEL_ENV = "HIL_SIM_LOG_LEVEL"
"""Environment default of --log-level (boards started by the harness inherit it)."""


class BoardProcess:
    """One virtual board: owns its board dir while running."""

    def __init__(self, board_id: str, directory: Path, baud: int | None, target: str,
                 ready_fd: int | None = None) -> None:
        """Prepare (nothing is created until run()); `ready_fd` gets "ready\\n" once published."""
        self.board_id = board_id
        self.ready_fd = ready_fd
        self.dir = directory
        self.baud = baud
        self.target = target
        self.flash = FlashFile(directory / registry.FLASH_FILE, FlashGeometry())
        # a power cut of a virtual board is the end of its process: atomic renames suffice
        self.store = ItemStore(directory / registry.STORE_FILE, durable=False)
        self.ram = bytearray(RAM_SIZE)
        self.stopping = asyncio.Event()

    async def handle(self, req: dict[str, Any]) -> dict[str, Any]:
        """Serve one control request."""
        op = req["op"]
        rt = self.runtime
        if op == "info":
            return self._info()
        if op == "state":
            return {"state": rt.state, "boots": rt.boots, "boot_error": rt.boot_error}
        if op == "halt":
            await rt.halt()
        elif op == "resume":
            await rt.resume()
        elif op == "reset":
            await rt.reset(halt=bool(req.get("halt", False)))
        elif op == "power":
            if req.get("on", True):
                await rt.reset()
            else:
                await rt.power_off()
        elif op == "read":
            return {"data": b64(self._read(int(req["addr"]), int(req["size"])))}
        elif op == "write":
            self._write(int(req["addr"]), unb64(req["data"]))
        elif op == "erase":
            self.flash.erase(int(req["addr"]), int(req["size"]))
        elif op == "erase_all":
            self.flash.erase_all()
            self.store.erase_all()  # KVStore lives in internal flash: a chip erase wipes it too
        elif op == "corrupt_item":
            self.store.damage(str(req["name"]))
        elif op == "unregister":
            return {"state": rt.state, "unregistered": await rt.unregister()}
        elif op == "shutdown":
            self.stopping.set()
        else:
            raise HilError(f"unknown control op {op!r}; use info, state, halt, resume, reset, "
                           "read, write, erase, erase_all, power, corrupt_item, unregister or "
                           "shutdown.")
        return {"state": rt.state}

    def _info(self) -> dict[str, Any]:
        g = self.flash.geometry
        rt = self.runtime
        return {
            "id": self.board_id, "target": self.target, "state": rt.state, "boots": rt.boots,
            "image": rt.image.manifest if rt.image else None, "boot_error": rt.boot_error,
            "flash": {"start": g.start, "size": g.size, "sector_size": g.sector_size,
                      "page_size": g.page_size},
            "ram": {"start": RAM_START, "size": RAM_SIZE}, "tty": self.serial.path,
            "attached": self.serial.attached.is_set(),
        }

    def _in_ram(self, addr: int, size: int) -> bool:
        return addr >= RAM_START and addr + size <= RAM_START + RAM_SIZE

    def _read(self, addr: int, size: int) -> bytes:
        if self._in_ram(addr, size):
            return bytes(self.ram[addr - RAM_START: addr - RAM_START + size])
        return self.flash.read(addr, size)

    def _write(self, addr: int, data: bytes) -> None:
        if self._in_ram(addr, len(data)):
            self.ram[addr - RAM_START: addr - RAM_START + len(data)] = data
        else:
            self.flash.program(addr, data)

    async def run(self) -> None:
        """Run until SIGTERM/SIGINT or a shutdown request; every path cleans up what it made."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        async with contextlib.AsyncExitStack() as cleanup:
            self.serial = PtySerial(self.baud)
            cleanup.push_async_callback(self.serial.close)
            self.runtime = BoardRuntime(self.board_id, self.serial, self.flash, self.store)
            cleanup.push_async_callback(self.runtime.close)
            tty_link = self.dir / registry.TTY_LINK
            self.serial.link(tty_link)
            cleanup.callback(tty_link.unlink, missing_ok=True)
            control = registry.control_socket_path(self.dir)
            server = await serve_control(control, self.handle)
            cleanup.callback(control.unlink, missing_ok=True)
            cleanup.push_async_callback(_close_server, server)
            info = registry.BoardInfo(
                id=self.board_id, pid=os.getpid(), tty=self.serial.path, tty_link=str(tty_link),
                control=str(control), probe_id=registry.probe_id_for(self.board_id),
                target=self.target, board_dir=str(self.dir), baud=self.baud,
            )
            cleanup.callback((self.dir / registry.BOARD_JSON).unlink, missing_ok=True)
            registry.write_board_info(info)
            self._signal_ready()
            log.info("virtual board %s up: tty %s, control %s", self.board_id, self.serial.path,
                     control)
            first_boot = loop.create_task(self._first_boot())
            cleanup.push_async_callback(_cancel, first_boot)
            await self.stopping.wait()

    def _signal_ready(self) -> None:
        """Tell the launcher (through the ready pipe) that board.json is published."""
        if self.ready_fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self.ready_fd, b"ready\n")
        with contextlib.suppress(OSError):
            os.close(self.ready_fd)
        self.ready_fd = None

    async def _first_boot(self) -> None:
        """Power-on: boot once a host has opened the serial port."""
        await self.serial.attached.wait()
        if self.runtime.state == "off":
            await self.runtime.reset()


async def _close_server(server: asyncio.AbstractServer) -> None:
    """Stop accepting control connections."""
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a task and wait until it has ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments of the board process."""
    parser = argparse.ArgumentParser(
        prog="python -m harness.sim",
        description="Run one dm-hil virtual board until SIGTERM/SIGINT: a serial port (a pty, "
                    "linked as BOARD_DIR/tty), a control socket the pyOCD probe plugin uses, and "
                    "the flash + credential store files in BOARD_DIR. `pyocd list` shows it "
                    "while it runs. The harness (hil, pytest) starts and stops boards itself; run "
                    "this by hand only to keep a board up for a bench session.",
        epilog="example: python -m harness.sim --id vboard-1 --baud 115200, then "
               "`hil flash vboard-1 factory` and `hil console vboard-1` in another shell",
    )
    parser.add_argument("--id", required=True, metavar="ID",
                        help="board id; the pyOCD probe id is derived from it")
    parser.add_argument("--board-dir", type=Path, metavar="DIR",
                        help=f"state folder (default: ${registry.SIM_DIR_ENV}/ID, else "
                             "~/.cache/dm-hil/boards/ID)")
    parser.add_argument("--baud", type=int, default=None, metavar="RATE",
                        help="emulate this baud rate: each byte takes 10 bits of line time "
                             "(default: no emulation)")
    parser.add_argument("--target", default=registry.TARGET_TYPE, metavar="TYPE",
                        help="pyOCD target type the probe reports (default: %(default)s)")
    parser.add_argument("--image", type=Path, metavar="FILE",
                        help="erase the flash and program this firmware image before power-on")
    parser.add_argument("--log-level", default=os.environ.get(LOG_LEVEL_ENV, "WARNING").upper(),
                        type=str.upper, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help=f"level of the board's own log on stderr, BOARD_DIR/board.log when "
                             f"the harness starts it (default: ${LOG_LEVEL_ENV} or WARNING)")
    parser.add_argument("--ready-fd", type=int, metavar="FD",
                        help="(for launchers) write 'ready' to this inherited fd once "
                             "BOARD_DIR/board.json is published")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run one board until signalled; exit 2 with one sentence on user errors."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    directory = (args.board_dir or registry.board_dir(args.id)).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(directory / ".board.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"error: virtual board {args.id!r} already runs in {directory}; stop it first.",
              file=sys.stderr)
        return 2
    # the UART thread must get the interpreter within its slice time while the firmware computes
    sys.setswitchinterval(UART_SWITCH_INTERVAL)
    try:
        for module in FIRMWARE_MODULES:
            importlib.import_module(module)
        board = BoardProcess(args.id, directory, args.baud, args.target, args.ready_fd)
        if args.image:
            data = args.image.read_bytes()
            board.flash.erase_all()
            board.flash.program(board.flash.geometry.start, data)
        asyncio.run(board.run())
    except HilError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename} not found; check the path.", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: virtual board {args.id!r} cannot use {exc.filename or directory} "
              f"({exc.strerror or exc}); check that path and its permissions.", file=sys.stderr)
        return 2
    finally:
        lock.release()
    return 0
