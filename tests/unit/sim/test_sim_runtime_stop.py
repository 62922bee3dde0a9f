"""A reset or halt of the virtual board stops its application even when the application's code
swallowed the cancellation (as Python 3.11's asyncio.wait_for can), like a CPU that halts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness.provisioning.store import ItemStore
from harness.sim.flash import FlashFile
from harness.sim.pty_serial import PtySerial
from harness.sim.runtime import BoardRuntime


def test_halt_stops_an_application_that_swallowed_a_cancellation(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, str, int]:
        uart = PtySerial()
        runtime = BoardRuntime("vboard-t", uart, FlashFile(tmp_path / "flash.bin"), ItemStore(None))
        cancellations = 0
        running = asyncio.Event()

        async def app() -> None:
            nonlocal cancellations
            running.set()
            while True:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    cancellations += 1
                    if cancellations > 1:
                        raise  # the second cancellation is let through

        runtime._app = asyncio.get_running_loop().create_task(app())
        await running.wait()
        halting = asyncio.ensure_future(runtime.halt())
        try:
            done, _ = await asyncio.wait({halting}, timeout=5)  # waits, never cancels the halt
            return bool(done), runtime.state, cancellations
        finally:
            for task in (halting, runtime._app):
                if task is not None:
                    task.cancel()
            await uart.close()

    halted, state, cancellations = asyncio.run(scenario())
    assert halted, "the halt did not return: the application ran on"
    assert state == "halted"
    assert cancellations == 2, "the halt returned without stopping the application"
