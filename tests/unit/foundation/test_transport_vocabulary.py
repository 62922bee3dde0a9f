"""One transport vocabulary: the registry, the lab config and the firmware manifest agree, and no
code outside harness/transport/ branches on a transport kind string (issue 9, "Transports")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from harness.boards.manifest import ImageEntry
from harness.config import ServerPorts, TransportName
from harness.transport.registry import KINDS, NETWORKS, TRANSPORTS, kind_for

REPO = Path(__file__).resolve().parents[3]
LITERAL = r"[\"'](?:tls-record|tcp-length|udp|dtls|tcp)[\"']"
BRANCH = re.compile(rf"\b(?:if|elif|while)\b.*(?:(?:==|!=|\bin\b)\s*[(\[]?[^)\]]*?{LITERAL}"
                    rf"|{LITERAL}\s*(?:==|!=))")
SCANNED = ("harness", "fixtures", "tests/e2e", "bench")


def test_config_and_manifest_use_the_registry_vocabulary():
    """Lab config kinds = registry kinds; each kind has its port field; manifests name networks."""
    assert set(get_args(TransportName)) == set(KINDS)
    assert {spec.config_key for spec in TRANSPORTS.values()} <= set(ServerPorts.model_fields)
    manifest_transports = get_args(ImageEntry.model_fields["transport"].annotation)
    assert set(manifest_transports) == set(NETWORKS)
    assert {(n, s): kind_for(n, s) for n in NETWORKS for s in ("coap", "coaps")} == {
        ("tcp", "coap"): "tcp-length", ("tcp", "coaps"): "tls-record",
        ("udp", "coap"): "udp", ("udp", "coaps"): "dtls"}


def test_no_branch_on_a_transport_kind_outside_the_transport_package():
    """`if kind == "tls-record"` and the like live only in harness/transport/ (the registry and
    the modules that implement a kind); everyone else asks the registry."""
    offenders = []
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith("harness/transport/"):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if BRANCH.search(code):
                    offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "ask harness.transport.registry instead:\n" + "\n".join(offenders)
