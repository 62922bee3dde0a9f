"""Command output in a log or pipe: `hil boards` keeps paths whole however narrow COLUMNS is."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from rich.table import Table

from harness.terminal import output_console

REPO_ROOT = Path(__file__).resolve().parents[3]
LONG_PORT = ("/dev/serial/by-id/usb-ARM_DAPLink_CMSIS-DAP_"
             "0240000032044e4500257009997b00386781000097969900-if01")
LONG_PROBE = "0240000032044e4500257009997b00386781000097969900"


def test_hil_boards_piped_to_a_file_prints_every_path_whole_on_one_line(tmp_path: Path) -> None:
    """A real board's long serial port path and probe id survive a 40-column, non-tty stdout."""
    lab = tmp_path / "lab.yaml"
    lab.write_text(
        "boards:\n"
        f"  - {{id: k64f-bench-1, kind: pyocd, target: k64f, probe_id: '{LONG_PROBE}', "
        f"serial_port: '{LONG_PORT}', firmware: factory}}\n"
        f"firmware_manifest: {REPO_ROOT / 'firmware' / 'manifest.yaml'}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "COLUMNS": "40", "HIL_SIM_DIR": str(tmp_path / "sim"),
           "HIL_LOCK_DIR": str(tmp_path / "locks")}
    out = tmp_path / "boards.txt"
    with out.open("w") as handle:
        done = subprocess.run([sys.executable, "-m", "harness.cli", "--lab-config", str(lab), "boards"],
                              stdout=handle, stderr=subprocess.PIPE, text=True, env=env, timeout=120,
                              stdin=subprocess.DEVNULL)
    text = out.read_text()
    assert done.returncode == 1, done.stderr  # the probe is missing: the board is reported missing
    assert "…" not in text, f"a cell was cut:\n{text}"
    row = next(line for line in text.splitlines() if "k64f-bench-1" in line)
    assert LONG_PROBE in row, text
    assert f"serial port {LONG_PORT} not found" in row, text
    assert "\x1b[" not in text


def test_output_console_wraps_on_a_narrow_terminal_without_cutting_folded_cells() -> None:
    """On a terminal the table fits the width; a fold column keeps every character of a path."""
    buffer = io.StringIO()
    console = output_console(buffer)
    assert console.width == 1000  # not a terminal: wide enough for any path
    narrow = type(console)(file=buffer, width=40, force_terminal=True, color_system=None)
    table = Table()
    table.add_column("serial port", overflow="fold")
    table.add_row(LONG_PORT)
    narrow.print(table)
    joined = "".join(line.strip("│ ") for line in buffer.getvalue().splitlines()[3:-1])
    assert LONG_PORT in joined
