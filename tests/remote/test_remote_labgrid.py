"""The distributed path: e2e scenarios on four labgrid places of two exporter hosts (loopback).

A real labgrid-coordinator and labgrid-exporter per host, ser2net (RFC 2217) for the consoles
and `pyocd server` for the probes of virtual boards; pytest runs as a separate process with
one xdist worker per remote board, as `hil run` would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from remote_lab import REPO, RemoteLab, wait_for

from harness.boards.kinds.labgrid import LabgridBoard
from harness.boards.labgrid_places import LabgridError, coordinator
from harness.boards.pool import BoardPool
from harness.config import board_config, load_lab_config

SUITE = ["tests/e2e/test_e2e_onboarding.py", "tests/e2e/test_e2e_troubleshooting.py"]
"""A representative subset of the e2e suite (every onboarding path, every documented error)."""
RUN_TIMEOUT = 240
"""Seconds one inner pytest run may take (its own tests time out after 120 s each)."""
pytestmark = pytest.mark.timeout(RUN_TIMEOUT + 60)


@pytest.fixture
def inner_runs() -> Iterator[list[subprocess.Popen]]:
    """Inner pytest runs of a test; any still running at teardown is killed with its workers."""
    runs: list[subprocess.Popen] = []
    yield runs
    for proc in runs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def start_suite(lab: RemoteLab, tmp_path: Path, runs: list[subprocess.Popen], *tests: str
                ) -> tuple[subprocess.Popen, Path, Path]:
    """Start pytest on the remote boards (one worker each); its JUnit file and log folder."""
    config = lab.write_lab_config(tmp_path / "lab.yaml")
    junit, logs = tmp_path / "junit.xml", tmp_path / "logs"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIL_LOCK_DIR": str(tmp_path / "locks"),
           "HIL_SIM_DIR": str(tmp_path / "local-boards")}
    args = [sys.executable, "-m", "pytest", *(tests or SUITE), "-n", "4", "-q", "-p",
            "no:cacheprovider", "--lab-config", str(config), "--junitxml", str(junit),
            "--hil-log-dir", str(logs), "-o", "junit_family=xunit1",
            "-o", "faulthandler_timeout=90"]  # a stuck scenario dumps its threads into pytest.out
    out = (tmp_path / "pytest.out").open("wb")
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its xdist workers share its process group
    out.close()
    runs.append(proc)
    return proc, junit, logs


def results(junit: Path) -> list[dict]:
    """Each testcase: name, outcome, failure text and its properties."""
    cases = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        error = case.find("error")
        bad = failure if failure is not None else error
        outcome = "skipped" if case.find("skipped") is not None else "failed" if bad is not None \
            else "passed"
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if "board" not in props and bad is None:  # a scenario that needs no board (a light client)
            continue  # (one whose board failed in its setup has no board property: it is kept)
        text = "" if bad is None else f"{bad.get('message', '')}\n{bad.text or ''}"
        cases.append({"name": case.get("name"), "outcome": outcome, "text": text, "props": props})
    return cases


def finish(proc: subprocess.Popen, tmp_path: Path) -> str:
    """Wait for the pytest run; its output."""
    try:
        proc.wait(RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the remote suite did not finish in {RUN_TIMEOUT} s; see {tmp_path}/pytest.out")
    return (tmp_path / "pytest.out").read_text(errors="replace")


def place_holders(lab: RemoteLab) -> dict[str, str | None]:
    """Who holds each place now."""
    with coordinator(lab.coordinator) as client:
        return {b["place"]: client.place(b["place"]).acquired for b in lab.board_entries()}


def test_hil_run_spreads_its_workers_over_local_and_remote_boards(labgrid_lab: RemoteLab,
                                                                 tmp_path: Path) -> None:
    local = [{"id": "here-1", "kind": "sim", "target": "dmhil_vboard", "firmware": "factory"}]
    remote = [_entry(labgrid_lab, "rb-a2"), _entry(labgrid_lab, "rb-b2")]
    config = tmp_path / "lab.yaml"
    config.write_text(yaml.safe_dump({"boards": local + remote, "reports_dir": str(tmp_path)}))
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIL_LOCK_DIR": str(tmp_path / "locks"),
           "HIL_SIM_DIR": str(tmp_path / "local-boards")}
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--lab-config", str(config),
                           "--", "-k", "test_device_appears_in_the_directory or "
                           "test_production_device_with_own_ca or test_direct_lwm2m_registers",
                           "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    cases = results(tmp_path / "junit.xml")
    assert cases and all(c["outcome"] == "passed" for c in cases)
    hosts = {c["props"]["board"]: c["props"]["board_host"] for c in cases}
    assert hosts == {"here-1": socket.gethostname(), "rb-a2": "hostA", "rb-b2": "hostB"}


def test_e2e_scenarios_run_on_four_remote_boards_and_a_lost_host_fails_only_its_own(
        doomed_lab: RemoteLab, tmp_path: Path, inner_runs: list[subprocess.Popen]) -> None:
    proc, junit, logs = start_suite(doomed_lab, tmp_path, inner_runs)
    doomed = doomed_lab.host("hostB")
    try:
        # mid-run: once each of hostB's boards finished a scenario and started its next one
        wait_for(lambda: proc.poll() is not None or
                 all(len(list(logs.glob(f"*/{b}/console.log"))) >= 2 for b in doomed.boards),
                 RUN_TIMEOUT, "a second scenario on each board of hostB", proc)
        assert proc.poll() is None, "the run ended before each board of hostB ran two scenarios"
        killed_at = time.time()
        doomed.kill()
    finally:
        output = finish(proc, tmp_path)
    assert proc.returncode == 1, output[-3000:]
    cases = results(junit)
    passed = [c for c in cases if c["outcome"] == "passed"]
    failed = [c for c in cases if c["outcome"] == "failed"]
    # the scenarios ran on all four places, on both exporter hosts, through the remote probes
    assert {c["props"]["board"] for c in passed} == {b["id"] for b in doomed_lab.board_entries()}
    assert {c["props"]["board_host"] for c in passed} == {"hostA", "hostB"}
    assert all(c["props"]["probe_id"].startswith("remote:127.0.0.1:") for c in passed)
    # losing hostB failed its boards' scenarios, each saying so; hostA's all passed, to the end
    assert failed, output[-3000:]
    for case in failed:
        assert any(b in case["text"] for b in doomed.boards), case["text"][-2000:]
    assert not [c for c in cases if c["props"].get("board_host") == "hostA" and c not in passed]
    assert os.path.getmtime(junit) > killed_at
    holders = place_holders(doomed_lab)
    assert all(holders[b] is None for b in doomed_lab.host("hostA").boards)  # released


def _entry(lab: RemoteLab, board_id: str, **extra: object) -> dict:
    return {**next(b for b in lab.board_entries() if b["id"] == board_id), **extra}


def test_place_left_acquired_by_a_crashed_run_is_recovered(labgrid_lab: RemoteLab,
                                                           tmp_path: Path) -> None:
    entry = _entry(labgrid_lab, "rb-a1")
    crash = ("import os, sys; from harness.boards.registry import make_board; "
             "from harness.config import board_config; "
             f"b = make_board(board_config(**{entry!r})); b.start(); os._exit(9)")
    done = subprocess.run([sys.executable, "-c", crash], cwd=REPO, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 9
    with coordinator(labgrid_lab.coordinator) as client:
        me = client.identity
        assert client.place("rb-a1").acquired == me  # the dead run still holds it
    pool = BoardPool(load_lab_config(labgrid_lab.write_lab_config(tmp_path / "lab.yaml")),
                     tmp_path / "locks")
    with pool.lease(board_id="rb-a1") as config:
        board = LabgridBoard(config)
        board.start()
        try:
            assert board.acquired and place_holders(labgrid_lab)["rb-a1"] == me
        finally:
            board.stop()
    assert place_holders(labgrid_lab)["rb-a1"] is None


def test_place_held_by_another_user_is_waited_for_then_named(labgrid_lab: RemoteLab,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LG_USERNAME", "nightly")
    with coordinator(labgrid_lab.coordinator) as client:
        client.acquire("rb-b2")
    monkeypatch.delenv("LG_USERNAME")
    board = LabgridBoard(board_config(**_entry(labgrid_lab, "rb-b2", acquire_timeout=1.0)))
    try:
        with pytest.raises(LabgridError, match=r"acquired by \S+/nightly .*release --kick"):
            board.start()
        assert not board.acquired
    finally:
        with coordinator(labgrid_lab.coordinator) as client:
            client.release("rb-b2", kick=True)
    assert place_holders(labgrid_lab)["rb-b2"] is None


def test_hil_boards_shows_each_place_free_or_acquired_by_whom(labgrid_lab: RemoteLab, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture) -> None:
    from harness.boards.cli import boards_table

    monkeypatch.setenv("LG_USERNAME", "nightly")
    with coordinator(labgrid_lab.coordinator) as client:
        client.acquire("rb-b1")
    monkeypatch.delenv("LG_USERNAME")
    monkeypatch.setenv("COLUMNS", "250")
    try:
        entries = [_entry(labgrid_lab, "rb-a1"), _entry(labgrid_lab, "rb-b1")]
        lab = load_lab_config(labgrid_lab.write_lab_config(tmp_path / "lab.yaml"))
        lab = lab.model_copy(update={"boards": [board_config(**e) for e in entries]})
        assert boards_table(lab) == 0
        out = capsys.readouterr().out
        assert "labgrid place rb-a1 on hostA: free" in out
        assert "labgrid place rb-b1 on hostB: acquired by" in out and "/nightly" in out
        assert "not in the lab config: labgrid place rb-a2 on hostA: free" in out
        assert "not in the lab config: labgrid place rb-b2 on hostB: free" in out
    finally:
        with coordinator(labgrid_lab.coordinator) as client:
            client.release("rb-b1", kick=True)
