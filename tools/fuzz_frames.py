"""Long run of garbled provisioning frames against both sides; prints figures.

python3 tools/fuzz_frames.py --count 1000000 [--seed 1] [--noise-mb 30]

Device side: mutated corpus requests (re-framed so they reach the bundle handler), broken frames
and console noise fed to a virtual board's factory handler; every answer must be a response frame
with a documented transport status and, with status 0, a documented ReturnStatus. Host side:
mutated response frames through the host reader. Then memory under serial noise. Exit code 1
when anything escaped or was undocumented.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.provisioning.fuzz import (  # noqa: E402
    Tally,
    check_device,
    check_host,
    garbled_stream,
    host_stream,
    new_device,
)

CORPUS = ROOT / "tests/unit/provisioning/data/fcc_corpus.json"


def _seeds() -> tuple[list[bytes], list[bytes]]:
    corpus = json.loads(CORPUS.read_text())
    requests, responses = [], []
    for case in corpus.values():
        for step in case["steps"]:
            requests.append(base64.b64decode(step["request"]))
            if step["response"]:
                responses.append(base64.b64decode(step["response"])[16:-32])
    return requests, [r for r in responses if r]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    """The resident set size now (Linux /proc), not the peak."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzing and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="garbled inputs per side")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--noise-mb", type=int, default=30, help="serial noise for the memory check")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    requests, responses = _seeds()
    device, device_tally, host_tally = new_device(), Tally(), Tally()
    started, rss_start = time.monotonic(), _current_rss_mb()
    for index in range(args.count):
        if index % 500 == 0:
            device = new_device()  # a fresh board now and then: sessions start over
        check_device(device, garbled_stream(requests, rng), device_tally)
        check_host(host_stream(responses, rng), host_tally)
        if index and index % 100_000 == 0:
            print(f"  {index:,} inputs, {time.monotonic() - started:.0f} s, "
                  f"RSS {_current_rss_mb():.1f} MB", flush=True)
    took, rss_end = time.monotonic() - started, _current_rss_mb()
    device = new_device()
    rss_before = _rss_mb()
    chunk = bytes(rng.randrange(256) for _ in range(4096)).replace(b"m", b"n")
    for _ in range(args.noise_mb * 256):
        device.feed(chunk)
    rss_after = _rss_mb()
    print(f"inputs: {args.count:,} per side in {took:.1f} s ({2 * args.count / took:,.0f}/s)")
    print(f"memory: RSS {rss_start:.1f} MB at the start of the fuzzing, {rss_end:.1f} MB at the end")
    print(f"device: {device_tally.frames:,} response frames; transport statuses "
          f"{dict(sorted(device_tally.transport.items()))}")
    print(f"device: bundle statuses {dict(sorted(device_tally.bundle.items()))}")
    print(f"escaped exceptions: device {len(device_tally.escaped)}, host {len(host_tally.escaped)}"
          f"; undocumented answers: {len(device_tally.undocumented)}")
    print(f"memory: {args.noise_mb} MB of serial noise, max RSS {rss_before:.1f} -> "
          f"{rss_after:.1f} MB; reader holds {device._reader.pending} bytes pending")
    bad = device_tally.escaped + host_tally.escaped + device_tally.undocumented
    for line in sorted(set(bad))[:20]:
        print("  ", line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
