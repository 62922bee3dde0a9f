"""The board's "CPU": boot from flash, run the firmware's application, serve the debug port.

Boot = read flash, check the image header + CRC (harness.sim.firmware), print the banner, then
factory mode: run the provisioning device side on the UART until a session ends (when the store
has no credentials), developer mode: write the compiled-in credentials on first boot; then run
the Device Management client (harness.sim.client.DeviceClient, imported lazily).

Emulation limits (documented for the pyOCD target): the application is an asyncio task, so
`halt` stops it and `resume` after a halt restarts it from its entry point (re-boot), as a
reset would; core registers are not modelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.client import console as words
from harness.errors import HilError
from harness.provisioning import items as it
from harness.provisioning.clock import DeviceClock
from harness.provisioning.store import ItemStore
from harness.sim.firmware import FirmwareError, FirmwareImage, parse_image
from harness.sim.flash import FlashFile
from harness.sim.pty_serial import PtySerial

log = logging.getLogger(__name__)

BOOT_PREFIX = "[BOOT]"
MAX_CLOCK = 253402300799.0  # 9999-12-31T23:59:59Z
_CANCEL_RETRY = 0.05  # s between cancellations of an application that did not stop
CREDENTIAL_ITEMS = (it.BOOTSTRAP_DEVICE_CERT, it.LWM2M_DEVICE_CERT)


class ClientPlatform(Protocol):
    """What the board offers the DM client: reboot, factory reset and the board clock."""

    def reboot(self) -> None:
        """Reboot the board (Execute /3/0/4); returns at once, the reboot happens after."""

    def factory_reset(self) -> None:
        """Factory reset (Execute /3/0/5): store.factory_reset(); the client keeps running."""

    def now(self) -> float:
        """The board clock (UNIX seconds); mbed.CurrentTime sets it."""

    def set_time(self, unix_seconds: float) -> None:
        """Set the board clock."""


@dataclass
class BoardPlatform:
    """ClientPlatform of a running virtual board."""

    runtime: BoardRuntime

    def reboot(self) -> None:
        """Schedule a reboot from flash."""
        self.runtime.schedule(self.runtime.reset())

    def factory_reset(self) -> None:
        """Restore the factory items; no reboot: the real client stays registered until the board
        restarts (its next boot bootstraps again), as pdmc-linux-tcp does after esfs_factory_reset."""
        self.runtime.store.factory_reset()

    def now(self) -> float:
        """The board clock: 0 until provisioning (mbed.CurrentTime) or a TLS server sets it;
        capped at the year 9999 (a provisioned time may be absurd, dates must still work)."""
        return min(self.runtime.clock.now(), MAX_CLOCK)

    def set_time(self, unix_seconds: float) -> None:
        """Set the board clock."""
        self.runtime.clock.set(unix_seconds)


def has_credentials(store: ItemStore) -> bool:
    """True when the store holds an endpoint name and a bootstrap or LwM2M device certificate."""
    return it.ENDPOINT_NAME in store and any(name in store for name in CREDENTIAL_ITEMS)


def provisioning_problem(store: ItemStore, now: float = 0.0) -> str | None:
    """Why the store cannot boot the client (None when it holds a committed, verified set).

    A set counts only when a provisioning session (or the developer flow) committed it as a
    whole, and it still passes the factory verification (fcc_verify_device_configured_4mbed_cloud).
    """
    from harness.provisioning.bundle import BundleError
    from harness.provisioning.verify import verify_device

    if not store.committed:
        return "no committed credential set"
    try:
        verify_device(store, now)
    except BundleError as exc:
        return f"stored credentials fail verification ({exc.info.strip()})"
    return None


def developer_storage_problem(store: ItemStore, now: float) -> str | None:
    """Why a developer image's start-up check refuses the stored set (None when it passes): the
    example application's check reads back the items the developer flow stored (a damaged one
    fails its integrity check) and verifies the set (fcc_verify_device_configured_4mbed_cloud);
    it resets the storage on any failure but an expired certificate."""
    from harness.provisioning.bundle import BundleError
    from harness.provisioning.verify import verify_device

    damaged = [name for name in store.factory_names() if store.is_damaged(name)]
    if damaged:
        return f"stored item {damaged[0]} fails its integrity check"
    try:
        verify_device(store, now)
    except BundleError as exc:
        if exc.status != it.FccStatus.EXPIRED_CERTIFICATE:
            return f"stored credentials fail verification ({exc.info.strip()})"
    return None


def write_developer_credentials(store: ItemStore, creds: dict[str, Any]) -> None:
    """Write compiled-in developer credentials as factory items (the developer flow), atomically."""
    target, store = store, ItemStore()

    def text(name: str, value: str) -> None:
        store.put(name, value.encode(), factory=True)

    store.put(it.USE_BOOTSTRAP, (1).to_bytes(4, "little"), factory=True)
    text(it.ENDPOINT_NAME, creds["endpoint_name"])
    text(it.BOOTSTRAP_SERVER_URI, creds["bootstrap_uri"])
    store.put(it.BOOTSTRAP_DEVICE_CERT, creds["device_cert_der"], factory=True)
    store.put(it.BOOTSTRAP_SERVER_CA_CERT, creds["server_ca_der"], factory=True)
    store.put(it.BOOTSTRAP_DEVICE_PRIVATE_KEY, creds["private_key_der"], factory=True)
    if creds.get("account_id"):
        text(it.ACCOUNT_ID, creds["account_id"])
    text(it.MANUFACTURER, creds.get("manufacturer", "dev_manufacturer"))
    text(it.MODEL_NUMBER, creds.get("model_number", "dev_model_num"))
    text(it.SERIAL_NUMBER, creds.get("serial_number", "0"))
    text(it.DEVICE_TYPE, creds.get("device_type", "dev_device_type"))
    text(it.HARDWARE_VERSION, creds.get("hardware_version", "dev_hardware_version"))
    store.put(it.MEMORY_TOTAL_KB, int(creds.get("memory_total_kb", 0)).to_bytes(4, "little"), factory=True)
    target.commit_provisioning(store)


class BoardRuntime:
    """Boot, halt, reset and power of one virtual board; runs inside the board's asyncio loop."""

    def __init__(self, board_id: str, serial: PtySerial, flash: FlashFile, store: ItemStore) -> None:
        """Wire the runtime to its UART, flash and credential store (nothing runs yet)."""
        self.board_id = board_id
        self.serial = serial
        self.flash = flash
        self.store = store
        self.clock = DeviceClock()
        self.platform = BoardPlatform(self)
        self.state = "off"  # off | booting | running | halted | down
        self.image: FirmwareImage | None = None
        self.boot_error: str | None = None
        self.boots = 0
        self._app: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.client: Any = None  # the running DeviceClient, if any

    def schedule(self, coro: Any) -> None:
        """Run a coroutine in the loop, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- debug-port operations -----------------------------------------------------------------
    async def stop_app(self) -> None:
        """Stop the running application (if any) and stop reading the UART."""
        app, self._app = self._app, None
        self.serial.set_receiver(None)
        # A reset stops the CPU whatever the code was doing: cancel again until the task ends
        # (Python 3.11's asyncio.wait_for can swallow a cancellation that meets its inner
        # future's completion, and the application then runs on).
        while app is not None and not app.done():
            app.cancel()
            await asyncio.wait({app}, timeout=_CANCEL_RETRY)
        if app is not None and not app.cancelled():
            with contextlib.suppress(Exception):
                app.result()

    async def halt(self) -> None:
        """Halt the core: the application stops."""
        await self.stop_app()
        self.state = "halted"

    async def resume(self) -> None:
        """Resume after halt (restarts the application from its entry point)."""
        if self.state == "halted":
            await self.reset()

    async def reset(self, *, halt: bool = False) -> None:
        """Reset: stop, then boot from flash (or stay halted at the reset vector)."""
        await self.stop_app()
        self.serial.discard_output()  # the transmit buffer was RAM
        if halt:
            self.state = "halted"
            return
        self._app = asyncio.get_running_loop().create_task(self._boot())

    async def power_off(self) -> None:
        """Power off: everything stops until power on."""
        await self.stop_app()
        self.serial.discard_output()
        self.state = "off"

    # --- boot ----------------------------------------------------------------------------------
    async def _boot(self) -> None:
        self.state = "booting"
        self.boots += 1
        self.boot_error = None
        try:
            self.image = parse_image(self.flash.content())
        except FirmwareError as exc:
            self.image = None
            self.boot_error = str(exc)
            self.state = "down"
            blank = "blank" in str(exc)
            self.serial.write_line(f"{BOOT_PREFIX} {'No bootable image' if blank else 'Error'}: {exc}")
            return
        self.state = "running"
        image = self.image
        console = self.serial.write_line
        try:
            from harness.sim.tb_client import is_thingsboard_image

            if is_thingsboard_image(image):  # a ThingsBoard device application, not the DM client
                from harness.sim.tb_client.app import run_thingsboard_app

                await run_thingsboard_app(self, image, console)
                return
            console(words.START_CLIENT)
            console(words.VERSION_LINE.format(version=image.client_version))
            if image.mode == "factory":
                problem = provisioning_problem(self.store, self.clock.now())
                while problem is not None:
                    log.info("virtual board %s: factory flow (%s)", self.board_id, problem)
                    if await self._factory_flow(console):
                        problem = None
            else:
                self._developer_flow(image, console)
            await self._run_client(image, console)
        except asyncio.CancelledError:
            raise
        except HilError as exc:
            console(f"{BOOT_PREFIX} Error: {exc}")
            self.state = "down"
        except Exception:
            log.exception("virtual board %s: application crashed", self.board_id)
            console(f"{BOOT_PREFIX} Error: application crashed (HardFault); see the board log.")
            self.state = "down"

    async def _factory_flow(self, console: Callable[[str], None]) -> bool:
        """Serve provisioning frames on the UART until one session ends; True if it committed."""
        from harness.provisioning.device import FactoryDevice
        from harness.sim.tb_client import is_thingsboard_image

        # the DM client's build has PAL_USE_SECURE_TIME (its session end stores the bootstrap
        # CA's id and so needs mbed.UseBootstrap); the ThingsBoard application's build does not
        secure_time = self.image is None or not is_thingsboard_image(self.image)
        traces: list[str] = []  # trace lines of a bundle go out after its response frame
        device = FactoryDevice(self.store, self.clock, secure_time=secure_time, trace=traces.append)
        done = asyncio.Event()

        def receive(data: bytes) -> None:
            out = device.feed(data)
            if out:
                self.serial.write(out)
            for line in traces:
                console(line)
            traces.clear()
            if device.sessions_finished:
                done.set()

        console(words.FACTORY_READY)
        self.serial.set_receiver(receive)
        try:
            await done.wait()
        finally:
            self.serial.set_receiver(None)
        committed = device.sessions_committed > 0
        console(words.FACTORY_DONE if committed else words.FACTORY_FAILED)
        return committed

    def _developer_flow(self, image: FirmwareImage, console: Callable[[str], None]) -> None:
        """First boot of a developer image: store the compiled-in credentials. Later boots check
        the stored set; one that fails (a damaged item) is wiped and stored again, as the example
        application's verify_cloud_configuration() and reset_storage() do."""
        if has_credentials(self.store):
            # the developer flow reads back the stored device certificate only (measured:
            # tests/peers/test_peer_pdmc_corrupt_storage.py); the verification reads the rest
            load_failed = self.store.is_damaged(it.BOOTSTRAP_DEVICE_CERT)
            console(words.DEVELOPER_CREDENTIALS_FAILED if load_failed
                    else words.DEVELOPER_CREDENTIALS_EXIST)
            problem = developer_storage_problem(self.store, self.clock.now())
            if problem is None:
                return
            log.info("virtual board %s: developer storage reset (%s)", self.board_id, problem)
            console(words.STORAGE_RESET)
            self.store.erase_all()
        creds = image.developer_credentials()
        if not creds:
            raise FirmwareError("developer image carries no developer credentials; rebuild it.")
        console(words.STARTING_DEVELOPER_FLOW)
        write_developer_credentials(self.store, creds)

    async def _run_client(self, image: FirmwareImage, console: Callable[[str], None]) -> None:
        from harness.sim.client import DeviceClient  # loaded when a client runs (factory mode waits)

        client = DeviceClient(store=self.store, firmware=image, console=console, platform=self.platform)
        self.client = client
        try:
            await client.run()
        finally:
            self.client = None

    async def unregister(self) -> bool:
        """The application's de-register call (the example app's unregister action); False if idle."""
        if self.client is None:
            return False
        await self.client.deregister()
        return True

    async def close(self) -> None:
        """Stop everything the runtime started."""
        await self.stop_app()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
