"""Long run of schemathesis against the REST API's /openapi.json; prints figures as JSON.

    python3 tools/fuzz_rest.py --examples 100 [--seed 1] [--operation "POST /v3/devices"]

Starts a service (REST on 127.0.0.1, port 0) in a temporary directory, an account with an API
key and a local webhook receiver, then runs tests/unit/rest/rest_schema_fuzz.py: --examples
schema-valid and --examples schema-invalid requests per operation. Exit 1 on any 5xx or check
failure (status code, content type, headers or body not as documented; invalid data accepted).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "unit" / "rest"))

from rest_schema_fuzz import Credentials, fuzz  # noqa: E402 - tests/unit/rest/
from rest_test_support import Receiver  # noqa: E402

from harness.cloud.rest.api_keys import load_or_create_operator_key  # noqa: E402
from harness.cloud.service_thread import ServiceThread  # noqa: E402
from harness.config import ServiceConfig  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run the fuzzing and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100,
                        help="valid and invalid requests each, per operation")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--operation", action="append", default=[],
                        help="only this operation ('METHOD /path'); repeatable")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz-rest-") as tmp:
        service = ServiceThread(ServiceConfig(transports=["udp"]), Path(tmp))
        service.start()
        receiver = Receiver()
        try:
            key = "ak_" + secrets.token_hex(16)
            service.run(lambda: service.service.create_account("fuzz", admin_api_key=key))
            creds = Credentials(key, load_or_create_operator_key(Path(tmp)), receiver.url)
            started = time.monotonic()
            report = fuzz(service.service.rest.url, creds, examples=args.examples,
                          seed=args.seed, only=args.operation)
            took = time.monotonic() - started
        finally:
            receiver.close()
            service.stop()
    figures = {**report.figures(), "seconds": round(took, 1),
               "examples_per_operation": 2 * args.examples, "seed": args.seed,
               "server_error_samples": report.server_errors[:10]}
    print(json.dumps(figures, indent=2))
    return 1 if report.server_errors or report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
