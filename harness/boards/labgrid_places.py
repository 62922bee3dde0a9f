"""A client of a labgrid coordinator: list places, acquire and release one, read its resources.

Built on labgrid's own client session (`labgrid.remote.client`). gRPC's asyncio layer binds to
one event loop per process, so every session runs on one loop in a background thread; each
call has a timeout, so a dead coordinator ends in one clear sentence, never a hang. The
identity is labgrid's: `host/user` (LG_HOSTNAME, LG_USERNAME override them).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.errors import HilError

CONNECT_TIMEOUT = 10.0
"""Seconds to reach the coordinator and receive its places and resources."""


class LabgridError(HilError):
    """The coordinator is unreachable, or a place is missing, taken or incomplete."""


@dataclass(frozen=True)
class PlaceResource:
    """One resource a place matches: where it is and what labgrid says about it."""

    exporter: str
    group: str
    cls: str
    name: str
    params: dict[str, Any]
    avail: bool
    acquired: str | None


@dataclass(frozen=True)
class PlaceState:
    """A place as `hil boards` shows it."""

    name: str
    acquired: str | None
    """`host/user` of the holder, or None when free."""
    resources: list[PlaceResource] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    comment: str = ""

    @property
    def exporters(self) -> list[str]:
        """The exporters (hosts) its resources are on."""
        return sorted({r.exporter for r in self.resources})


_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _grpc_loop() -> asyncio.AbstractEventLoop:
    """The process's event loop for labgrid sessions (started on first use, a daemon thread)."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="labgrid-client", daemon=True).start()
        return _loop


def import_client() -> type:
    """labgrid's client session class (importing labgrid takes a second or more: it loads every
    driver and resource class)."""
    from labgrid.remote.client import ClientSession

    return ClientSession


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "extra"}


class Coordinator:
    """One connection to a labgrid coordinator (use as a context manager)."""

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT) -> None:
        """Connect to `address` (HOST:PORT of labgrid-coordinator)."""
        ClientSession = import_client()  # noqa: N806 - labgrid's class

        self.address = address
        self.timeout = timeout
        self.loop = _grpc_loop()
        logging.getLogger("labgrid").setLevel(logging.WARNING)
        async def connect() -> ClientSession:  # grpc.aio binds its channel to the running loop
            session = ClientSession(address, self.loop, prog="dm-hil",
                                    args=argparse.Namespace(place=None, kick=False,
                                                            allow_unmatched=False))
            await session.start()
            return session

        self.session = self._run(connect(), "connect")

    def _run(self, coro: Any, what: str) -> Any:
        try:
            future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, self.timeout), self.loop)
            return future.result(self.timeout + 5)
        except (TimeoutError, concurrent.futures.TimeoutError):
            raise LabgridError(f"labgrid coordinator {self.address} did not answer ({what}) within "
                               f"{self.timeout:g} s; start labgrid-coordinator there or fix "
                               "`coordinator:` in the lab config.") from None
        except Exception as exc:
            text = " ".join(str(a) for a in getattr(exc, "args", ())) or str(exc)
            if type(exc).__module__.startswith(("labgrid", "grpc")):
                raise LabgridError(f"labgrid coordinator {self.address}: {what} failed "
                                   f"({text.removeprefix('Error: ')}).") from None
            raise

    @property
    def identity(self) -> str:
        """This client's `host/user` token (what a place's `acquired` shows)."""
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    def close(self) -> None:
        """Close the session (the shared loop stays for the next one)."""
        for step in (self.session.stop, self.session.close):
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(asyncio.wait_for(step(), 5), self.loop).result(6)

    def __enter__(self) -> Coordinator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- places --------------------------------------------------------------------------------
    def place_names(self) -> list[str]:
        """Every place the coordinator knows."""
        return sorted(self.session.places)

    def place(self, name: str) -> PlaceState:
        """A place's holder and the resources it matches."""
        place = self.session.places.get(name)
        if place is None:
            known = ", ".join(self.place_names()) or "none"
            raise LabgridError(f"labgrid place {name!r} does not exist on {self.address} (places: "
                               f"{known}); create it (`labgrid-client -p {name} create`) or fix "
                               "`place:` in the lab config.")
        resources = []
        for exporter, groups in sorted(self.session.resources.items()):
            for group_name, group in sorted(groups.items()):
                for res_name, res in sorted(group.items()):
                    if place.hasmatch((exporter, group_name, res.cls, res_name)):
                        resources.append(PlaceResource(exporter, group_name, res.cls, res_name,
                                                       _plain(res.params), bool(res.avail),
                                                       res.acquired or None))
        return PlaceState(name, place.acquired or None, resources, dict(place.tags or {}),
                          place.comment or "")

    def acquire(self, name: str) -> None:
        """Acquire the place for this client (fails if someone holds it)."""
        self.place(name)
        self.session.args.place = name
        self._run(self.session.acquire(), f"acquiring place {name}")

    def release(self, name: str, *, kick: bool = False) -> None:
        """Release the place (`kick`: even if another user holds it, as `release --kick`)."""
        self.session.args.place = name
        self.session.args.kick = kick
        try:
            self._run(self.session.release(), f"releasing place {name}")
        finally:
            self.session.args.kick = False

    def create_place(self, name: str, matches: list[str]) -> None:
        """Create a place matching `matches` (EXPORTER/GROUP/CLASS patterns), as
        `labgrid-client -p NAME create` + `add-match`."""
        from labgrid.remote.generated import labgrid_coordinator_pb2 as pb2

        stub = self.session.stub

        async def add() -> None:  # grpc aio calls are made on the client's own loop
            await stub.AddPlace(pb2.AddPlaceRequest(name=name))
            for pattern in matches:
                await stub.AddPlaceMatch(pb2.AddPlaceMatchRequest(placename=name, pattern=pattern))

        self._run(add(), f"creating place {name} matching {', '.join(matches)}")
        self.sync()

    def sync(self) -> None:
        """Wait until the coordinator sent every update it had (resources, places)."""
        self._run(self.session.sync_with_coordinator(), "sync")


@contextlib.contextmanager
def coordinator(address: str, timeout: float = CONNECT_TIMEOUT) -> Iterator[Coordinator]:
    """A connected Coordinator, closed on exit."""
    client = Coordinator(address, timeout)
    try:
        yield client
    finally:
        client.close()
