"""BoardPool: selection, and cross-process leases released on process death."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.boards.pool import BoardPool, PoolError
from harness.config import LabConfig, board_config

HOLDER = textwrap.dedent("""
    import sys
    from harness.config import LabConfig, board_config
    from harness.boards.pool import BoardPool
    lab = LabConfig(boards=[board_config(id="vb-a", kind="sim")])
    with BoardPool(lab, sys.argv[1]).lease(timeout=5) as board:
        print("leased", board.id, flush=True)
        sys.stdin.readline()  # hold until killed or told
""")


def test_selection_by_target_and_tags(lab: LabConfig, tmp_path: Path) -> None:
    pool = BoardPool(lab, tmp_path / "locks")
    assert [b.id for b in pool.candidates(tags=["udp"])] == ["vb-b"]
    assert [b.id for b in pool.candidates(target="k64f")] == ["real-1"]
    with pytest.raises(PoolError, match="no board in the lab config matches"), \
            pool.lease(tags=["nope"], timeout=0.1):
        pass


def test_two_leases_in_one_process_get_different_boards(lab: LabConfig, tmp_path: Path) -> None:
    pool = BoardPool(lab, tmp_path / "locks")
    with pool.lease(tags=["fast"]) as first, pool.lease(tags=["fast"]) as second:
        assert {first.id, second.id} == {"vb-a", "vb-b"}
        with pytest.raises(PoolError, match="stayed leased"), pool.lease(tags=["fast"], timeout=0.3):
            pass


def test_lease_held_by_other_process_until_it_dies(tmp_path: Path) -> None:

    lab = LabConfig(boards=[board_config(id="vb-a", kind="sim")])
    locks = tmp_path / "locks"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(locks)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "leased vb-a"
        pool = BoardPool(lab, locks)
        with pytest.raises(PoolError, match="stayed leased"), pool.lease(timeout=0.3):
            pass
        holder.kill()  # a crashed test process: the OS drops its lock
        holder.wait(5)
        with pool.lease(timeout=5) as board:
            assert board.id == "vb-a"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(5)
        holder.stdin.close()
        holder.stdout.close()
