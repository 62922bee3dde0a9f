"""Benchmark: the e2e suite with -n 1, -n 2 (2 boards) and -n 4 (4 boards), same run.

Run: python3 bench/bench_parallel.py [--runs 3] [--tests tests/e2e] [--workers 1,2,4]
Each pytest run gets a lab config with as many virtual boards as workers (one worker leases one
board), its own board and lock folders, and the worker clock of this module (loaded with
`-p bench_parallel`), which records when each worker process was created, when pytest
configured it (imports done) and when its first test started. Runs
alternate between the worker counts. Per count it prints the median wall time, the CPU seconds
the run used (every process of it), the per-worker start-up (process created -> first test
call), and the per-worker efficiency T1 / (n x Tn). The CPU ceiling of that efficiency on this
machine is T1 x cores / (n x CPU_n): n workers cannot finish faster than their CPU seconds
spread over the cores, so on a 2-core machine -n 4 is bounded by CPU, not by the harness.
The runs share one pytest cache folder, as a lab's repeated runs do: each run deals out the
scenarios that took longest in the run before it first (fixtures/scheduling.py); the first run
of the benchmark has no durations yet.
"""

from __future__ import annotations

import json
import os
import time

CLOCK_ENV = "BENCH_PARALLEL_CLOCK_DIR"
"""Where the worker clock writes one JSON file per pytest process (unset: the clock is off)."""

_MARKS: dict[str, float | str] = {}


def _process_created() -> float:
    """When this process was created, in time.time() seconds (from /proc)."""
    with open("/proc/self/stat") as stat:
        ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as uptime:
        since_boot = float(uptime.read().split()[0])
    return time.time() - since_boot + ticks / os.sysconf("SC_CLK_TCK")


# --- the worker clock: pytest hooks, active only when CLOCK_ENV is set --------------------------
def pytest_configure(config) -> None:  # noqa: ANN001 - pytest hook, no pytest import here
    """Note when pytest is configured (conftest and fixture modules imported)."""
    if os.environ.get(CLOCK_ENV):
        _MARKS.update(created=_process_created(), configured=time.time())


def pytest_runtest_call(item) -> None:  # noqa: ANN001
    """Note when the first test's call starts (session fixtures are up)."""
    if _MARKS and "first_call" not in _MARKS:
        _MARKS.update(first_call=time.time(), first_test=item.nodeid)


def pytest_sessionfinish(session) -> None:  # noqa: ANN001
    """Write this process's marks (workers only: the controller runs no test)."""
    folder = os.environ.get(CLOCK_ENV)
    if folder and "first_call" in _MARKS:
        with open(os.path.join(folder, f"{os.getpid()}.json"), "w") as out:
            json.dump(_MARKS, out)


# --- the benchmark -------------------------------------------------------------------------------
def run_suite(workers: int, tests: list[str], work) -> dict:  # noqa: ANN001
    """One pytest run with `workers` workers on as many boards: wall, CPU, start-ups, results."""
    import resource
    import subprocess
    import sys
    import xml.etree.ElementTree as ET
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parent.parent
    work.mkdir(parents=True)
    (work / "clock").mkdir()
    boards = [{"id": f"pb-{i}", "kind": "sim", "target": "dmhil_vboard", "firmware": "factory",
               "tags": ["virtual"]} for i in range(1, max(workers, 1) + 1)]
    lab = yaml.safe_load((repo / "lab_config.yaml").read_text())
    lab["boards"] = boards
    config = work / "lab.yaml"
    config.write_text(yaml.safe_dump(lab, sort_keys=False))
    junit = work / "junit.xml"
    env = {**os.environ, "PYTHONPATH": f"{repo}{os.pathsep}{repo / 'bench'}",
           "HIL_LOCK_DIR": str(work / "locks"), "HIL_SIM_DIR": str(work / "boards"),
           CLOCK_ENV: str(work / "clock")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", *tests, "-n", str(workers), "-q",
                    "-o", f"cache_dir={work.parent / 'pytest-cache'}", "-p", "bench_parallel",
                    "--lab-config", str(config),
                    "--junitxml", str(junit), "--hil-log-dir", str(work / "logs")], cwd=repo, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cases = list(ET.parse(junit).getroot().iter("testcase")) if junit.exists() else []
    failed = [c.get("name") for c in cases if c.find("failure") is not None or c.find("error") is not None]
    clocks = [json.loads(p.read_text()) for p in (work / "clock").glob("*.json")]
    return {"wall": wall, "cpu": cpu, "tests": len(cases), "failed": failed,
            "imports": [c["configured"] - c["created"] for c in clocks],
            "startup": [c["first_call"] - c["created"] for c in clocks]}


def main() -> None:
    """Alternate the worker counts; print medians, efficiencies and the CPU ceiling."""
    import argparse
    import statistics
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per worker count (default 3)")
    parser.add_argument("--tests", nargs="+", default=["tests/e2e"], help="test files or ids")
    parser.add_argument("--workers", default="1,2,4", help="worker counts (default 1,2,4; 1 first)")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()
    print(f"{cores} cores, load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}",
          flush=True)
    results: dict[int, list[dict]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp:
        for run in range(args.runs):
            order = counts[run % len(counts):] + counts[:run % len(counts)]
            for n in order:
                r = run_suite(n, args.tests, Path(tmp) / f"n{n}-{run}")
                results[n].append(r)
                start = statistics.median(r["startup"]) if r["startup"] else float("nan")
                print(f"run {run + 1} -n {n}: {r['wall']:6.1f} s wall, {r['cpu']:6.1f} s CPU, "
                      f"{r['tests']} tests, worker start-up {start:.1f} s (median), "
                      f"failed: {', '.join(r['failed']) or 'none'}", flush=True)
    load_after = os.getloadavg()
    med = {n: {k: statistics.median(r[k] for r in results[n]) for k in ("wall", "cpu")}
           for n in counts}
    print(f"\n{'workers':>7} {'wall s':>7} {'CPU s':>7} {'imports s':>9} {'start-up s':>10} "
          f"{'efficiency':>10} {'CPU ceiling':>11}")
    t1 = med[1]["wall"] if 1 in med else None
    for n in counts:
        imports = statistics.median(x for r in results[n] for x in r["imports"])
        startup = statistics.median(x for r in results[n] for x in r["startup"])
        eff = f"{t1 / (n * med[n]['wall']):10.2f}" if t1 else f"{'-':>10}"
        ceiling = f"{min(1.0, t1 * cores / (n * med[n]['cpu'])):11.2f}" if t1 else f"{'-':>11}"
        print(f"{n:>7} {med[n]['wall']:7.1f} {med[n]['cpu']:7.1f} {imports:9.1f} {startup:10.1f} "
              f"{eff} {ceiling}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    if t1:
        summary = ", ".join(f"-n {n}: {t1 / (n * med[n]['wall']):.2f}" for n in counts if n > 1)
        print(f"per-worker efficiency T1/(n x Tn), medians of {args.runs}: {summary}")


if __name__ == "__main__":
    main()
