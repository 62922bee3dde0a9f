"""Run the Device Management service in a background thread with its own event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from harness.cloud.service import DeviceManagementService, ServiceError
from harness.config import ServiceConfig

T = TypeVar("T")
START_TIMEOUT = 30.0


class ServiceThread:
    """A DeviceManagementService on a daemon thread; start() returns once it listens."""

    def __init__(self, config: ServiceConfig | None = None, data_dir: Path | None = None,
                 **service_kwargs: Any) -> None:
        self.service = DeviceManagementService(config, data_dir, **service_kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None

    def start(self, timeout: float = START_TIMEOUT) -> DeviceManagementService:
        """Start the thread and the service; raise the service's error if it cannot start."""
        if self._thread is not None:
            raise ServiceError("This ServiceThread is already started; make a new one to restart.")
        self._thread = threading.Thread(target=self._run, name="dm-service", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise ServiceError(f"The Device Management service did not start within {timeout:g} s; "
                               "check the service log and raise the start timeout on a slow host.")
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error
        return self.service

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            await self.service.start()
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await self.service.stop()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The service's event loop."""
        if self._loop is None:
            raise ServiceError("The service thread is not running; call start() first.")
        return self._loop

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the service loop and return its result (raises its exception)."""
        if self._thread is None or not self._thread.is_alive():
            coro.close()
            raise ServiceError("The service thread is not running; call start() first.")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"The call on the service loop did not finish within {timeout:g} s; "
                               "pass a longer timeout or check the service log.") from None

    def run(self, func, *args: Any, timeout: float = 30.0) -> Any:
        """Run a plain function on the service loop thread (e.g. store access) and return its result."""
        async def wrapper() -> Any:
            return func(*args)
        return self.call(wrapper(), timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the service and join the thread (idempotent)."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise ServiceError(f"The service thread did not stop within {timeout:g} s; a call on its "
                               "loop is blocking it, see the service log.")

    def __enter__(self) -> DeviceManagementService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
