"""Regenerate the provisioning regression corpus by running the real factory client.

python3 tools/fcc_corpus.py [--out tests/unit/provisioning/data/fcc_corpus.json] [--only NAME]

Every case of tests/unit/provisioning/fcc_cases.py is sent to a fresh factory-client.elf
process (its storage in a temp dir); the request CBOR and the real response frame of each step
are written to the corpus. The keys in the corpus are test keys made by this run.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests/unit/provisioning")]

import fcc_cases  # noqa: E402
from fcc_runner import run_real, run_virtual  # noqa: E402

DEFAULT_OUT = ROOT / "tests/unit/provisioning/data/fcc_corpus.json"


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def main(argv: list[str] | None = None) -> int:
    """Run every case on the real client, write the corpus, print where ours differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", action="append", help="case name (repeatable)")
    args = parser.parse_args(argv)
    material = fcc_cases.Material.make()
    names = args.only or list(fcc_cases.CASES)
    corpus = {}
    if args.out.exists() and args.only:
        corpus = json.loads(args.out.read_text())
    same = 0
    started = time.monotonic()
    for name in names:
        steps = fcc_cases.build(name, material)
        real, code = run_real(steps)
        ours = run_virtual(steps)
        corpus[name] = {"steps": [{"request": _b64(s), "response": _b64(r)}
                                  for s, r in zip(steps, real, strict=True)],
                        "exit_code": code}
        equal = real == ours
        same += equal
        print(f"{'same' if equal else 'DIFF'}  {name}  exit={code}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(corpus, indent=1, sort_keys=True) + "\n")
    print(f"{same}/{len(names)} cases answered alike; {time.monotonic() - started:.1f} s; "
          f"corpus: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
