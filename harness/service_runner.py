"""Run an asyncio service (its `start()` and `stop()` coroutines) on a daemon thread of its own.

The Device Management service (harness.cloud.service_thread) and the ThingsBoard-style service
(harness.services.thingsboard.service) both run in-process this way: start() returns once the
service listens, call()/run() hand work to its loop, stop() ends it and joins the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar

from harness.errors import HilError

T = TypeVar("T")
START_TIMEOUT = 30.0


class AsyncService(Protocol):
    """A service with async start and stop."""

    async def start(self) -> Any: ...

    async def stop(self) -> Any: ...


S = TypeVar("S", bound=AsyncService)


class ServiceRunner(Generic[S]):
    """`service` on a daemon thread with its own event loop; errors are `error` naming `what`."""

    def __init__(self, service: S, *, what: str, thread_name: str,
                 error: type[HilError] = HilError) -> None:
        self.service = service
        self._what = what
        self._thread_name = thread_name
        self._error_type = error
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._stop: asyncio.Event | None = None

    def start(self, timeout: float = START_TIMEOUT) -> S:
        """Start the thread and the service; raise the service's error if it cannot start."""
        if self._thread is not None:
            raise self._error_type(f"The {self._what} is already started; make a new one to restart.")
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise self._error_type(f"The {self._what} did not start within {timeout:g} s; check its "
                                   "log and raise the start timeout on a slow host.")
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
            raise self._error_type(f"The {self._what} is not running; call start() first.")
        return self._loop

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the service loop and return its result (raises its exception)."""
        if self._thread is None or not self._thread.is_alive():
            coro.close()
            raise self._error_type(f"The {self._what} is not running; call start() first.")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"The call on the {self._what}'s loop did not finish within "
                               f"{timeout:g} s; pass a longer timeout or check its log.") from None

    def run(self, func: Callable[..., T], *args: Any, timeout: float = 30.0) -> T:
        """Run a plain function on the service loop thread (e.g. store access); its result."""
        async def wrapper() -> T:
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
            raise self._error_type(f"The {self._what} thread did not stop within {timeout:g} s; a "
                                   "call on its loop is blocking it, see its log.")

    def __enter__(self) -> S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
