"""schemathesis against a running service's /openapi.json (shared by the CI test and
tools/fuzz_rest.py; unique module name: imported by path).

Every operation of the document gets `examples` schema-valid and `examples` schema-invalid
generated requests, authenticated as the REST
expects (an account's API key on /v3 and /v2, the operator key on /admin/v1); a webhook URL in a
generated body is replaced by a local receiver's so the service never calls out. Each response
goes through schemathesis's checks (no 5xx, status code, content type, headers and body as
documented...); failures are collected per operation and check, not raised.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from dataclasses import dataclass, field

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.errors import FailureGroup

WEBHOOK_OPERATION = "PUT /v2/notification/callback"
CREDENTIAL_HEADERS = {"authorization", "x-application-id", "x-account-id"}
"""Generated from the security schemes; dropped: the fuzzer sends its own credentials."""
EXCLUDED_CHECKS = [positive_data_acceptance]
"""Not run: the API checks more than a JSON schema can say (a PEM must parse, `after` must be an
id of the list, a device must be registered, an account must exist), so schema-valid requests
are rightly refused with a 400 or 404."""


def _excluded(case: schemathesis.Case) -> list:
    """EXCLUDED_CHECKS, and negative_data_rejection unless the JSON body or the path was made
    invalid: in a query string and a multipart form every value is text on the wire (an
    "integer" for a string is the string of its digits), unknown query parameters are ignored,
    as by the real API, and the only headers (the credentials) are the fuzzer's own."""
    components = case.meta.components if case.meta is not None else {}
    negative = {location for location, info in components.items()
                if info.mode == GenerationMode.NEGATIVE}
    json_body = case.media_type is not None and case.media_type.endswith("json")
    if ParameterLocation.PATH in negative or (
            ParameterLocation.BODY in negative and json_body):
        return EXCLUDED_CHECKS
    return [*EXCLUDED_CHECKS, negative_data_rejection]


@dataclass
class FuzzReport:
    """What the run sent and what came back."""

    requests: int = 0
    operations: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # "<operation> <check>" -> first message

    def figures(self) -> dict:
        """The report as JSON-ready figures."""
        return {"operations": self.operations, "requests": self.requests,
                "statuses": dict(sorted(self.statuses.items())),
                "server_errors": len(self.server_errors), "failures": self.failures}


@dataclass
class Credentials:
    """How the fuzzer authenticates and where webhooks go."""

    account_key: str
    operator_key: str
    receiver_url: str


def _headers(path: str, creds: Credentials) -> dict[str, str]:
    key = creds.operator_key if path.startswith("/admin/") else creds.account_key
    return {"Authorization": f"Bearer {key}"}


def _record(report: FuzzReport, label: str, group: FailureGroup, case: schemathesis.Case,
            response: requests.Response) -> None:
    for failure in group.exceptions:
        name = f"{label} [{type(failure).__name__}]"
        sent = {k: v for k, v in (("path", case.path_parameters), ("query", case.query),
                                   ("body", case.body)) if v not in (None, {}, [])}
        report.failures.setdefault(name, f"{getattr(failure, 'title', failure)}; sent {sent!r:.300}"
                                   f"; answered {response.status_code} {response.text[:300]}")


def _fuzz_operation(operation: schemathesis.APIOperation, base_url: str, creds: Credentials,
                    session: requests.Session, report: FuzzReport, examples: int,
                    seed: int | None, mode: GenerationMode) -> None:
    headers = _headers(operation.path, creds)
    label = operation.label

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: schemathesis.Case) -> None:
        if case.headers:
            case.headers = {k: v for k, v in case.headers.items()
                            if k.lower() not in CREDENTIAL_HEADERS}
        excluded = _excluded(case)
        if label == WEBHOOK_OPERATION and isinstance(case.body, dict) \
                and isinstance(case.body.get("url"), str):
            case.body["url"] = creds.receiver_url  # never call out; the request may be valid now
            excluded = [*excluded, negative_data_rejection]
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        report.requests += 1
        report.statuses[response.status_code] += 1
        if response.status_code >= 500:
            report.server_errors.append(f"{label}: {response.status_code} {response.text[:200]}")
        try:
            case.validate_response(response, headers=headers, excluded_checks=excluded,
                                   transport_kwargs={"base_url": base_url, "headers": headers,
                                                     "session": session})
        except FailureGroup as group:
            _record(report, label, group, case, response)

    if seed is not None:
        one = hypothesis.seed(seed)(one)
    one()


def fuzz(base_url: str, creds: Credentials, *, examples: int, seed: int | None = None,
         only: Iterable[str] = (), alternate: bool = False) -> FuzzReport:
    """Run 2 x `examples` generated requests per operation (or per operation of `only`);
    `alternate`: `examples` valid ones for every other operation, invalid ones for the rest."""
    session = requests.Session()
    # The first request builds the document: ~1 s of CPU, far more on a loaded machine.
    answer = session.get(f"{base_url}/openapi.json", timeout=300)
    answer.raise_for_status()
    schema = schemathesis.openapi.from_dict(answer.json())
    report = FuzzReport()
    wanted = set(only)
    for result in schema.get_all_operations():
        operation = result.ok()
        if wanted and operation.label not in wanted:
            continue
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        if alternate:
            modes = [modes[report.operations % 2]]
        report.operations += 1
        for mode in modes:
            _fuzz_operation(operation, base_url, creds, session, report, examples, seed, mode)
    session.close()
    return report
