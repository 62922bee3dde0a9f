"""Board commands behind `hil boards|flash|provision|console` (return an exit code)."""

from __future__ import annotations

import os
import select
import sys
import termios
import tty
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.boards.board import Board
from harness.boards.discovery import discover
from harness.boards.images import image_path
from harness.boards.manifest import load_manifest
from harness.config import LabConfig
from harness.errors import HilError

FIRMWARE_CACHE = Path.home() / ".cache" / "dm-hil" / "firmware"
BOOTSTRAP_URI_ENV = "HIL_BOOTSTRAP_URI"


def boards_table(lab: LabConfig) -> int:
    """Print the lab's boards with their probe and port, then unclaimed probes/ports; 0 if all found."""
    found = discover(lab)
    out = Console()
    table = Table(title="lab boards")
    for col in ("board", "kind", "target", "probe", "serial port", "status"):
        table.add_column(col)
    for st in found.boards:
        status = "; ".join(st.problems) or ("running" if st.board.kind == "sim" else "ok")
        table.add_row(st.board.id, st.board.kind, st.board.target,
                      st.probe.unique_id if st.probe else "-", st.port or "-", status)
    out.print(table)
    if found.unclaimed_probes:
        out.print("probes not in the lab config: " +
                  ", ".join(f"{p.unique_id} ({p.description})" for p in found.unclaimed_probes))
    if found.unclaimed_ports:
        out.print("serial ports not in the lab config: " + ", ".join(found.unclaimed_ports))
    missing = [st for st in found.boards if st.board.kind != "sim" and st.problems]
    return 1 if missing else 0


def _resolve_image(lab: LabConfig, image: Path) -> Path:
    """A path as given, or an image name of the firmware manifest (built if virtual)."""
    if image.exists():
        return image
    manifest = load_manifest(lab.resolve(lab.firmware_manifest))
    if str(image) in manifest.images:
        return image_path(str(image), FIRMWARE_CACHE, manifest=manifest)
    raise HilError(f"firmware image {image} does not exist and is no image name of the manifest; "
                   "give a file or one of: " + ", ".join(sorted(manifest.images)) + ".")


def flash_board(lab: LabConfig, board_id: str, image: Path) -> int:
    """Flash `image` (a file or a manifest image name) onto a board; virtual boards stay running."""
    board = Board(lab.board(board_id))
    seconds = board.flash(_resolve_image(lab, Path(image)), progress=True)
    print(f"{board_id}: flashed {image} in {seconds:.1f} s")
    return 0


def console_session(lab: LabConfig, board_id: str) -> int:
    """Print the board's console until Ctrl-C; typed input goes to the board."""
    board = Board(lab.board(board_id))
    console = board.open_console()
    printed = 0
    stdin_tty = sys.stdin.isatty()
    saved = termios.tcgetattr(sys.stdin) if stdin_tty else None
    print(f"[{board_id} console on {board.port()}; Ctrl-C to quit]", file=sys.stderr)
    try:
        if stdin_tty:
            tty.setcbreak(sys.stdin.fileno())
        while True:
            lines = console.lines
            for line in lines[printed:]:
                print(line, flush=True)
            printed = len(lines)
            ready, _, _ = select.select([sys.stdin], [], [], 0.1)
            if ready:
                data = os.read(sys.stdin.fileno(), 1024)
                if not data:
                    break
                console.write(data)
    except KeyboardInterrupt:
        pass
    finally:
        if saved is not None:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)
        board.close_console()
    return 0


def provision_board(lab: LabConfig, board_id: str, mode: str = "bootstrap",
                    data_dir: str | Path = ".hil/cloud", *, uri: str | None = None,
                    timeout: float = 30.0) -> int:
    """Provision a bootstrap / first-to-claim bundle over the board's serial port (thin).

    The server CA comes from the local service's data dir; the bootstrap URI from `uri` or
    $HIL_BOOTSTRAP_URI. Device certificates come from a factory CA kept in DATA_DIR/factory.
    """
    from harness import pki
    from harness.cloud.ca import ServicePki
    from harness.provisioning.bundle import bootstrap_bundle
    from harness.provisioning.host import provision

    if mode == "lwm2m":
        raise HilError("`hil provision --mode lwm2m` needs LwM2M credentials from the service; "
                       "use the test fixtures (factory) for direct LwM2M bundles.")
    uri = uri or os.environ.get(BOOTSTRAP_URI_ENV)
    if not uri:
        raise HilError(f"no bootstrap URI; set {BOOTSTRAP_URI_ENV} (e.g. coaps://127.0.0.1:5684?aid=...) "
                       "to the running local service.")
    service = ServicePki.load_or_create(Path(data_dir), lab.service.host)
    factory_ca = _factory_ca(Path(data_dir) / "factory")
    endpoint = f"{board_id}-{os.urandom(4).hex()}"
    cert = pki.make_bootstrap_device_cert(factory_ca, endpoint)
    bundle = bootstrap_bundle(endpoint, uri, service.server_ca.cert_der, cert,
                              first_to_claim=(mode == "first-to-claim"))
    board = Board(lab.board(board_id))
    console = board.open_console()
    try:
        with console.handed_over() as port:
            result = provision(port, bundle, timeout=timeout)
    finally:
        board.close_console()
    print(f"{board_id}: {result.status_name} {result.info.strip()} (endpoint {endpoint}, "
          f"enrollment id {pki.enrollment_id(cert.cert)})")
    return 0 if result.ok else 1


def _factory_ca(directory: Path):
    """The OEM factory CA of this bench (made once, kept in `directory`)."""
    from cryptography.hazmat.primitives import serialization

    from harness import pki

    cert_file, key_file = directory / "factory-ca.pem", directory / "factory-ca.key"
    if cert_file.exists() and key_file.exists():
        return pki.Credential(pki.load_certificate(cert_file.read_bytes()),
                              pki.load_private_key(key_file.read_bytes()))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = pki.make_ca("dm-hil bench factory CA")
    key_file.write_bytes(ca.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    os.chmod(key_file, 0o600)
    cert_file.write_bytes(ca.cert_pem)
    return ca
