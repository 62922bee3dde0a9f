"""Probe: the CLI bad-input table, then --count mutated lab configs and manifests.

Runs the table of tests/unit/cli/test_cli_bad_input.py, then `hil config check` on --count
random mutations (flipped, inserted and deleted bytes, re-encodings, nesting, truncation) of
the repository's lab_config.yaml and firmware/manifest.yaml, all in this process. Every answer
must be exit 0 or one `hil: error:` line; anything else (a traceback, several lines, an escaped
exception) is counted and the first few are printed. Prints figures as JSON; exit 1 on any.

    python3 tools/probe_cli_bad_input.py --count 20000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit" / "cli"))

from harness.cli import main as hil  # noqa: E402

LAB = (REPO / "lab_config.yaml").read_bytes()
MANIFEST = (REPO / "firmware" / "manifest.yaml").read_bytes()


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One random mutation of `data`."""
    kind = rng.randrange(8)
    buf = bytearray(data)
    if kind == 0:
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == 1:
        pos = rng.randrange(len(buf))
        buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
    elif kind == 2:
        pos = rng.randrange(len(buf))
        del buf[pos:pos + rng.randint(1, 64)]
    elif kind == 3:
        return data[:rng.randrange(len(data))]
    elif kind == 4:
        return data.decode().encode(rng.choice(["utf-16", "utf-32", "latin-1", "utf-8-sig"]),
                                    errors="replace")
    elif kind == 5:
        depth = rng.choice([10, 60, 1000, 20000])
        return data + b"\nextra: " + b"[" * depth + b"]" * depth + b"\n"
    elif kind == 6:
        pos = rng.randrange(len(buf))
        buf[pos:pos] = rng.choice([b"\t", b": :", b"&a *a", b"!!python/object:os.system",
                                   b"\x00", b"\xef\xbb\xbf", b"- ", b"{", b"'", b"\\u00b2"])
    else:
        lines = data.splitlines(keepends=True)
        rng.shuffle(lines)
        return b"".join(lines)
    return bytes(buf)


def run_case(args: list[str]) -> tuple[int | None, str, float]:
    """(exit code or None if an exception escaped, stderr, seconds) of one in-process `hil`."""
    err = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = hil(args)
    except BaseException as exc:  # noqa: BLE001 - what the probe looks for
        return None, f"{type(exc).__name__}: {exc}", time.perf_counter() - start
    return code, err.getvalue(), time.perf_counter() - start


def one_sentence(code: int | None, err: str) -> bool:
    """Exit 0, or a non-zero exit with one `hil: error:` line (a lab config with several
    mistakes: one line per mistake, each naming the file, as documented)."""
    if code == 0:
        return True
    lines = err.strip().splitlines()
    return code is not None and err.startswith("hil: error:") and "Traceback" not in err \
        and all(line.startswith(("hil: error:", "/")) for line in lines)


def probe(count: int, seed: int) -> dict:
    """The figures of the table and of `count` mutations."""
    import test_cli_bad_input as table  # noqa: PLC0415 - from tests/unit/cli

    rng = random.Random(seed)
    bad: list[str] = []
    slowest, slowest_case = 0.0, ""
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory(prefix="probe-cli-") as tmp:
        root = Path(tmp)
        for n, (case, (make, _word)) in enumerate(table.CASES.items()):
            work = root / f"table-{n}"
            work.mkdir()
            code, err, seconds = run_case(make(work))
            if seconds > slowest:
                slowest, slowest_case = seconds, f"table {case}"
            if code == 0 or not one_sentence(code, err):
                bad.append(f"table {case}: exit {code}: {err[:300]}")
        (root / "firmware").mkdir()
        for n in range(count):
            target = "manifest" if n % 3 == 2 else "lab"
            lab, manifest = LAB, MANIFEST
            if target == "lab":
                lab = mutate(rng, LAB)
            else:
                manifest = mutate(rng, MANIFEST)
            (root / "m.yaml").write_bytes(manifest)
            (root / "lab.yaml").write_bytes(
                lab + b"\nfirmware_manifest: m.yaml\n" if target == "manifest" else lab)
            code, err, seconds = run_case(["config", "check", str(root / "lab.yaml")])
            if seconds > slowest:
                slowest, slowest_case = seconds, f"{target} mutation {n}"
            if not one_sentence(code, err):
                bad.append(f"{target} mutation {n}: exit {code}: {err[:300]}")
    return {"table_cases": len(table.CASES), "mutations": count, "not_one_sentence": len(bad),
            "first": bad[:5], "slowest_s": round(slowest, 3),
            "slowest_case": slowest_case,
            "max_rss_growth_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_start,
            "ok": not bad}


def main() -> int:
    """Parse arguments, run the probe, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="mutated files to check")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    figures = probe(args.count, args.seed)
    print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
