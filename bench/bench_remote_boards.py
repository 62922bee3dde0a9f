"""Benchmark: the e2e suite on 4 remote boards (labgrid places) vs 4 local boards, same run.

Run: python3 bench/bench_remote_boards.py [--runs 3] [--tests tests/e2e/...]
Starts a labgrid coordinator and two exporter hosts on loopback (127.0.0.2, 127.0.0.3), each
with two virtual boards behind ser2net (RFC 2217) and `pyocd server`, as tests/remote does.
Then, alternating, runs the scenarios with 4 xdist workers on 4 local virtual boards and on
the 4 remote boards; per scenario it takes the median time (setup + call + teardown, from
JUnit) and prints the remote overhead in %. A worker's first scenario also pays for starting
its board (and service): those are reported apart, as the first scenario of each board per run
(median of their times, local vs remote), next to the median overhead of the other scenarios.
Last the median wall times and overall overhead. Needs ser2net and labgrid (.ci/run installs
them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests" / "remote")]

from remote_lab import RemoteLab, remote_lab  # noqa: E402

DEFAULT_TESTS = ["tests/e2e/test_e2e_onboarding.py", "tests/e2e/test_e2e_troubleshooting.py",
                 "tests/e2e/test_e2e_identity.py"]
LOCAL_BOARDS = [{"id": f"lb-{i}", "kind": "sim", "target": "dmhil_vboard", "firmware": "factory"}
                for i in range(1, 5)]


def run_suite(config: Path, work: Path, tests: list[str]
              ) -> tuple[float, dict[str, float], list[str], set[str]]:
    """One pytest run with 4 workers: wall seconds, seconds per scenario, failed scenarios, and
    the scenarios each board (worker) ran first."""
    junit = work / "junit.xml"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HIL_LOCK_DIR": str(work / "locks"),
           "HIL_SIM_DIR": str(work / "local-boards")}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", *tests, "-n", "4", "-q", "-p",
                    "no:cacheprovider", "--lab-config", str(config), "--junitxml", str(junit),
                    "--hil-log-dir", str(work / "logs")], cwd=REPO, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    times, failures, first_on_board = {}, [], {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        times[case.get("name")] = float(case.get("time", 0))
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        if problem is not None:
            first = (problem.get("message") or "").strip().splitlines()[:1]
            failures.append(f"{case.get('name')} ({first[0][:160] if first else 'no message'})")
        board = next((p.get("value") for p in case.iter("property") if p.get("name") == "board"), None)
        if board is not None:  # cases arrive in the order each worker ran them
            first_on_board.setdefault(board, case.get("name"))
    return wall, times, failures, set(first_on_board.values())


def main() -> None:
    """Alternate local and remote runs; print per-scenario and overall overhead."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per board set (default 3)")
    parser.add_argument("--tests", nargs="+", default=DEFAULT_TESTS, help="test files or ids")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        root = Path(tmp)
        with remote_lab(root / "lab", {"hostA": ["rb-a1", "rb-a2"],
                                       "hostB": ["rb-b1", "rb-b2"]}) as lab:
            configs = {"local": lab_file(lab, root / "local.yaml", LOCAL_BOARDS, remote=False),
                       "remote": lab_file(lab, root / "remote.yaml", [], remote=True)}
            walls: dict[str, list[float]] = {"local": [], "remote": []}
            per: dict[str, dict[str, list[float]]] = {"local": {}, "remote": {}}
            firsts: dict[str, list[float]] = {"local": [], "remote": []}
            for run in range(args.runs):
                for kind in ("local", "remote") if run % 2 == 0 else ("remote", "local"):
                    wall, times, failures, first = run_suite(configs[kind], root / f"{kind}-{run}",
                                                             args.tests)
                    walls[kind].append(wall)
                    for name, seconds in times.items():
                        (firsts[kind] if name in first else
                         per[kind].setdefault(name, [])).append(seconds)
                    print(f"run {run + 1} {kind:6}: {wall:6.1f} s wall, {len(times)} scenarios, "
                          f"first on each board: {', '.join(f'{times[n]:.1f}' for n in sorted(first))} s, "
                          f"failed: {', '.join(failures) or 'none'}", flush=True)
    report(walls, per, firsts)


def report(walls: dict[str, list[float]], per: dict[str, dict[str, list[float]]],
           firsts: dict[str, list[float]]) -> None:
    """Per scenario (not first on its board) and first scenarios, medians and overheads."""
    print(f"\n{'scenario (not first on its board)':80} {'local s':>8} {'remote s':>8} {'overhead':>9}")
    overheads = []
    for name in sorted(per["local"]):
        if name not in per["remote"]:
            continue
        local, remote = statistics.median(per["local"][name]), statistics.median(per["remote"][name])
        overheads.append(remote / local - 1)
        print(f"{name[:80]:80} {local:8.2f} {remote:8.2f} {100 * (remote / local - 1):+8.1f}%")
    if overheads:
        print(f"\nmedian overhead per scenario: {100 * statistics.median(overheads):+.1f}% "
              f"({len(overheads)} scenarios)")
    if firsts["local"] and firsts["remote"]:
        local, remote = statistics.median(firsts["local"]), statistics.median(firsts["remote"])
        print(f"first scenario of each worker (board + service start), median of "
              f"{len(firsts['remote'])}: local {local:.2f} s, remote {remote:.2f} s, overhead "
              f"{100 * (remote / local - 1):+.1f}%")
    local, remote = statistics.median(walls["local"]), statistics.median(walls["remote"])
    print(f"median wall time: local {local:.1f} s, remote {remote:.1f} s, "
          f"overhead {100 * (remote / local - 1):+.1f}%")


def lab_file(lab: RemoteLab, path: Path, local: list[dict], *, remote: bool) -> Path:
    """A lab config with the local boards, or with the remote places only."""
    if remote:
        return lab.write_lab_config(path)
    import yaml

    path.write_text(yaml.safe_dump({"boards": local}, sort_keys=False))
    return path


if __name__ == "__main__":
    main()
