"""Board commands behind `hil boards|flash|provision|console` (return an exit code)."""

from __future__ import annotations

import os
import select
import sys
import termios
import tty
from pathlib import Path

from rich.table import Table

from harness.boards.board import Board
from harness.boards.discovery import discover
from harness.boards.kinds.labgrid import other_places
from harness.boards.manifest import load_manifest
from harness.boards.registry import make_board
from harness.config import LabConfig, LabgridBoardConfig
from harness.errors import HilError
from harness.terminal import output_console

FIRMWARE_CACHE = Path.home() / ".cache" / "dm-hil" / "firmware"


def boards_table(lab: LabConfig) -> int:
    """Print the lab's boards with their probe and port, then unclaimed probes/ports; 0 if all found."""
    found = discover(lab)
    out = output_console()  # piped to a file: full width, paths are never cut
    table = Table(title="lab boards", title_justify="left")
    for col in ("board", "kind", "target", "probe", "serial port", "status"):
        table.add_column(col, overflow="fold")  # a narrow terminal wraps paths, never cuts them
    for st in found.boards:
        status = "; ".join(st.problems) or st.status
        table.add_row(st.board.id, st.board.kind, st.board.target,
                      st.probe.unique_id if st.probe else "-", st.port or "-", status)
    out.print(table)
    if found.unclaimed_probes:
        out.print("probes not in the lab config: " +
                  ", ".join(f"{p.unique_id} ({p.description})" for p in found.unclaimed_probes))
    if found.unclaimed_ports:
        out.print("serial ports not in the lab config: " + ", ".join(found.unclaimed_ports))
    remote = [b for b in lab.boards if isinstance(b, LabgridBoardConfig)]
    for line in other_places(remote) if remote else []:
        out.print(f"not in the lab config: {line}")
    missing = [st for st in found.boards if st.problems]
    return 1 if missing else 0


def _resolve_image(lab: LabConfig, board: Board, image: Path,
                   dev_credentials: Path | None = None) -> Path:
    """A path as given, or an image name of the firmware manifest (built if virtual; a developer
    image compiles in the credentials of `dev_credentials`, a mbed_cloud_dev_credentials.c)."""
    if image.exists():
        board.check_image(image)
        return image
    manifest = load_manifest(lab.manifest_path())
    if str(image) in manifest.images:
        creds = None
        if dev_credentials is not None:
            from harness.devcreds import parse_c_file

            try:
                creds = parse_c_file(dev_credentials.read_text(), str(dev_credentials))
            except OSError as exc:
                raise HilError(f"cannot read {dev_credentials} ({exc.strerror}); make it with "
                               "`hil cloud dev-cert --out FILE`.") from None
            except UnicodeDecodeError:
                raise HilError(f"{dev_credentials} is not a C source file; pass the "
                               "mbed_cloud_dev_credentials.c that `hil cloud dev-cert` wrote.") from None
        elif manifest.image(str(image)).mode == "developer":
            raise HilError(f"image {image} is a developer image: pass --dev-credentials "
                           "mbed_cloud_dev_credentials.c (from `hil cloud dev-cert`).")
        return board.image_file(str(image), manifest, FIRMWARE_CACHE, developer_credentials=creds)
    raise HilError(f"firmware image {image} does not exist and is no image name of the manifest; "
                   "give a file or one of: " + ", ".join(sorted(manifest.images)) + ".")


def flash_board(lab: LabConfig, board_id: str, image: Path, *, chip_erase: bool = False,
                dev_credentials: Path | None = None) -> int:
    """Flash `image` (a file or a manifest image name) onto a board; virtual boards stay running."""
    board = make_board(lab.board(board_id))
    path = _resolve_image(lab, board, Path(image), dev_credentials)  # before anything starts
    board.check()
    seconds = board.flash(path, progress=True, chip_erase=chip_erase)
    print(f"{board_id}: flashed {image} in {seconds:.1f} s")
    return 0


def console_session(lab: LabConfig, board_id: str) -> int:
    """Print the board's console until Ctrl-C; typed input goes to the board."""
    board = make_board(lab.board(board_id))
    board.check()
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
                    data_dir: str | Path = ".hil/cloud", *, account: str = "developer",
                    timeout: float = 30.0, follow: float = 30.0) -> int:
    """Provision credentials for the local service on `data_dir` over the board's serial port,
    then follow the console until the board registers or reports an error (`follow` seconds)."""
    from harness.boards.dialect import dialect_for_image
    from harness.factory import bench_bundle
    from harness.provisioning.host import ProvisioningError, provision

    config = lab.board(board_id)  # every check before the service is asked to create anything
    dialect = dialect_for_image(config.firmware, load_manifest(lab.manifest_path()))
    board = make_board(config)
    if not board.capabilities.factory_provisioning:
        raise HilError(f"board {board_id}: {board.capabilities.why_not('factory_provisioning')}; "
                       "provision a board that runs a factory image.")
    bundle, device = bench_bundle(Path(data_dir), board_id, mode, account_name=account)
    console = board.open_console()
    try:
        try:
            with console.handed_over() as port:
                result = provision(port, bundle, timeout=timeout)
                console.feed(result.console)
        except ProvisioningError as exc:
            raise ProvisioningError(
                f"{exc} A board that already holds credentials does not listen for the factory "
                f"tool: `hil flash {board_id} {config.firmware} --erase` makes it factory-new."
            ) from None
        print(f"{board_id}: {result.status_name}: {result.info.strip()}")
        for warning in result.warnings:
            print(f"  warning: {warning}")
        print(f"  endpoint name {device.endpoint_name}, account {device.account_id}, URI {device.uri}")
        if mode == "first-to-claim":
            print(f"  enrollment id {device.enrollment_id} (enrolled in account {device.account_id})")
        if not result.ok:
            return 1
        if follow > 0:
            # a client registers; the real factory client alone ends its factory flow
            done = "registered" if "registered" in dialect.patterns else "factory_done"
            failed = "error_details" if "error_details" in dialect.patterns else "error"
            outcome = f"{dialect[done].pattern}|{dialect[failed].pattern}"
            for line in console.readlines_until(outcome, follow):
                print(f"  | {line}")
            return 0 if any(dialect.match(done, line) for line in console.lines) else 1
        return 0
    finally:
        board.close_console()
