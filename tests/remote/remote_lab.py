"""A labgrid lab on this machine: a coordinator and exporter "hosts" with virtual boards.

Each host is one process group on its own loopback address (127.0.0.2, 127.0.0.3, ...): per
board a virtual board process (`python -m harness.sim`, its own HIL_SIM_DIR), its pty served by
ser2net (RFC 2217, bound to the host's address) and its probe by `pyocd server`, plus one
`labgrid-exporter` publishing them as NetworkSerialPort + PyOCDProbeServer resources. Killing a
host's process group is what losing that machine looks like. Everything stops on exit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness.boards.labgrid_places import coordinator
from harness.boards.registry import TEST_ENVIRONMENT

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 90.0
"""Seconds each part of the lab may take to come up (a loaded CI machine starts Python slowly)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


RECHECK = 0.05
"""Seconds between checks of a process that announces nothing (a port, a file it makes)."""


def wait_for(check, timeout: float, what: str, process: subprocess.Popen) -> None:
    """Wait until `check()` is true, on the `process` that makes it so: its exit ends the wait at
    once (with its exit code), else `check` is asked again every RECHECK s; fails naming `what`
    after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready within {timeout:g} s")
        try:
            code = process.wait(RECHECK)
        except subprocess.TimeoutExpired:
            continue
        if not check():
            raise RuntimeError(f"{what} ended (exit code {code}) before it was ready; see its log")


def port_open(host: str, port: int) -> bool:
    """True if something accepts TCP connections on host:port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def tools_missing() -> list[str]:
    """The programs a remote lab needs that are not installed."""
    missing = [t for t in ("ser2net", "labgrid-coordinator", "labgrid-exporter")
               if not (shutil.which(t) or os.path.exists(f"/usr/sbin/{t}"))]
    with contextlib.suppress(ImportError):
        import labgrid  # noqa: F401
        return missing
    return [*missing, "labgrid (python)"]


@dataclass
class Host:
    """One exporter host: its process group and its boards."""

    name: str
    address: str
    boards: list[str]
    dir: Path
    pgid: int | None = None
    procs: list[subprocess.Popen] = field(default_factory=list)
    probe_servers: dict[str, subprocess.Popen] = field(default_factory=dict)
    ser2net: subprocess.Popen | None = None
    exporter: subprocess.Popen | None = None

    def spawn(self, args: list[str], env: dict[str, str], log: str) -> subprocess.Popen:
        """Start a process in this host's process group."""
        out = (self.dir / log).open("ab")
        kwargs = {"process_group": self.pgid or 0}  # the first process leads the group
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=self.dir, **kwargs)
        out.close()
        if self.pgid is None:
            self.pgid = proc.pid
        self.procs.append(proc)
        return proc

    def kill(self) -> None:
        """The machine is gone: SIGKILL its whole process group."""
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    def stop(self) -> None:
        """Orderly shutdown (SIGTERM, then SIGKILL what is left)."""
        if self.pgid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            for proc in self.procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(max(0.1, deadline - time.monotonic()))
        self.kill()


@dataclass
class RemoteLab:
    """The coordinator address, the hosts and the lab config entries of their places."""

    coordinator: str
    hosts: list[Host]
    baud: int | None

    def board_entries(self) -> list[dict]:
        """Lab config `boards:` entries, one labgrid place per remote board."""
        return [{"id": board, "kind": "labgrid", "target": "dmhil_vboard", "firmware": "factory",
                 "coordinator": self.coordinator, "place": board, "tags": ["remote"]}
                for host in self.hosts for board in host.boards]

    def write_lab_config(self, path: Path, local_boards: list[dict] | None = None,
                         **extra: object) -> Path:
        """A lab config with the remote boards (and `local_boards`)."""
        data = {"boards": [*(local_boards or []), *self.board_entries()], **extra}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def host(self, name: str) -> Host:
        """The host called `name`."""
        return next(h for h in self.hosts if h.name == name)


def _start_host(host: Host, coordinator_address: str, baud: int | None) -> dict[str, dict]:
    """Start the host's boards, ser2net and probe servers (in parallel); its exporter config."""
    env = host_env(host)
    resources: dict[str, dict] = {}
    ser2net: list[str] = []
    for board in host.boards:
        args = [sys.executable, "-m", "harness.sim", "--id", board, "--board-dir",
                str(host.dir / "boards" / board)]
        host.spawn([*args, *(["--baud", str(baud)] if baud else [])], env, f"{board}.log")
    for board, process in zip(host.boards, list(host.procs), strict=True):
        board_dir = host.dir / "boards" / board
        tty = board_dir / "tty"
        wait_for(lambda t=tty, d=board_dir: t.exists() and (d / "board.json").exists(),
                 READY_TIMEOUT, f"virtual board {board}", process)
        serial_port, probe_port = free_port(host.address), free_port()
        ser2net += [f"connection: &{board.replace('-', '_')}",
                    f"  accepter: telnet(rfc2217,mode=server),tcp,{host.address},{serial_port}",
                    f"  connector: serialdev(nouucplock=true),{os.path.realpath(tty)},"
                    f"{baud or 115200}n81,local",
                    "  options:", "    max-connections: 1", "    chardelay: false", ""]
        host.probe_servers[board] = host.spawn(
            ["pyocd", "server", "-u", f"dmhil-{board}", "--port", str(probe_port)], env,
            f"pyocd-{board}.log")
        resources[board] = {
            "NetworkSerialPort": {"host": host.address, "port": serial_port, "speed": baud or 115200},
            "PyOCDProbeServer": {"host": "127.0.0.1", "port": probe_port, "target": "dmhil_vboard"},
        }
    (host.dir / "ser2net.yaml").write_text("\n".join(ser2net))
    ser2net_bin = shutil.which("ser2net") or "/usr/sbin/ser2net"
    host.ser2net = host.spawn([ser2net_bin, "-n", "-d", "-c", str(host.dir / "ser2net.yaml")], env,
                              "ser2net.log")
    (host.dir / "exporter.yaml").write_text(yaml.safe_dump(resources, sort_keys=False))
    return resources


def host_env(host: Host) -> dict[str, str]:
    """The environment of a host's processes (this checkout, the host's own board folder)."""
    # the settings a test session gives the virtual boards it starts (short client back-offs)
    env = {**os.environ, **TEST_ENVIRONMENT, "PYTHONPATH": str(REPO),
           "HIL_SIM_DIR": str(host.dir / "boards")}
    env.pop("HIL_LAB_CONFIG", None)
    return env


def _start_exporter(host: Host, coordinator_address: str, resources: dict[str, dict]) -> None:
    assert host.ser2net is not None
    for board, group in resources.items():
        serial, probe = group["NetworkSerialPort"], group["PyOCDProbeServer"]
        wait_for(lambda s=serial: port_open(s["host"], s["port"]), READY_TIMEOUT, "ser2net",
                 host.ser2net)
        wait_for(lambda p=probe: port_open(p["host"], p["port"]), READY_TIMEOUT, "pyocd server",
                 host.probe_servers[board])
    host.exporter = host.spawn(["labgrid-exporter", "-c", coordinator_address, "-n", host.name, "--hostname",
                host.address, str(host.dir / "exporter.yaml")], host_env(host), "exporter.log")


@contextlib.contextmanager
def remote_lab(workdir: Path, boards_per_host: dict[str, list[str]],
               baud: int | None = 115200) -> Iterator[RemoteLab]:
    """Start a coordinator and one exporter host per entry (name -> board ids); stop all on exit."""
    workdir.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    coord_log = (workdir / "coordinator.log").open("ab")
    coord = subprocess.Popen(["labgrid-coordinator", "-l", address], cwd=workdir, stdout=coord_log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    coord_log.close()
    hosts = [Host(name, f"127.0.0.{i + 2}", boards, workdir / name)
             for i, (name, boards) in enumerate(boards_per_host.items())]
    try:
        host, port = address.split(":")
        wait_for(lambda: port_open(host, int(port)), READY_TIMEOUT, "labgrid-coordinator", coord)
        for h in hosts:
            h.dir.mkdir(parents=True, exist_ok=True)
        started = {h.name: _start_host(h, address, baud) for h in hosts}
        for h in hosts:
            _start_exporter(h, address, started[h.name])
        with coordinator(address) as client:
            for h in hosts:
                for board in h.boards:
                    client.create_place(board, [f"{h.name}/{board}/*"])

            def exported() -> bool:
                client.sync()
                return all(client.place(b).resources != [] and
                           all(r.avail for r in client.place(b).resources)
                           for h in hosts for b in h.boards)
            for h in hosts:
                assert h.exporter is not None
                wait_for(exported, READY_TIMEOUT, f"exported resources of {h.name}", h.exporter)
        yield RemoteLab(address, hosts, baud)
    finally:
        for h in hosts:
            h.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(coord.pid, signal.SIGTERM)
        try:
            coord.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(coord.pid, signal.SIGKILL)
            coord.wait(5)
