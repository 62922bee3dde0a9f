"""Synthetic JUnit nights for the HTML report tests, written with ElementTree (not our JUnit code)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness.report.timeline import build_timeline


@dataclass
class Case:
    """One test case of a synthetic night."""

    name: str
    scenario: str
    outcome: str = "passed"  # passed | failed | skipped
    firmware: str = "factory-4.13.4"
    board: str = "vboard-1"
    time_s: float = 2.0
    phases: dict[str, float] = field(default_factory=lambda: {"flash": 0.3, "provision": 0.4,
                                                              "bootstrap": 0.2, "register": 0.1})
    timeline: str | None = None


def story_timeline(t0: float = 1_800_000_000.0) -> str:
    """The timeline of a bootstrap refused with 4.03, failing in the register phase."""

    class Wire:  # the fields harness.cloud.wiretap.WireRecord has
        def __init__(self, t, direction, kind, code, path, detail=""):
            self.t, self.server, self.direction, self.peer = t, "bootstrap", direction, "127.0.0.1:5000"
            self.kind, self.code, self.path, self.size = kind, code, path, 0
            self.block1 = self.block2 = ""
            self.detail = detail

    class Event:
        def __init__(self, t, type_, data):
            self.t, self.type, self.device_id, self.data = t, type_, None, data

    wire = [Wire(t0 + 0.50, "in", "tls", "ok", "", "TLS session, client certificate CN=hil-7"),
            Wire(t0 + 0.51, "in", "CON", "POST", "/bs"),
            Wire(t0 + 0.52, "out", "ACK", "4.03", "/bs", "Corresponding trusted certificate not in account")]
    events = [Event(t0 + 0.515, "bootstrap-error",
                    "{'code': '4.03', 'reason': 'Corresponding trusted certificate not in account'}")]
    console = [(t0 + 0.45, "Client bootstrapping to coaps://127.0.0.1:5000"),
               (t0 + 0.56, "Error occurred : MbedCloudClient::ConnectNotAllowed"),
               (t0 + 0.56, "Error details : response-forbidden:Corresponding trusted certificate not in acc")]
    spans = [("step", "setup", t0, t0 + 0.3), ("phase", "provision", t0 + 0.3, t0 + 0.45),
             ("step", "call", t0 + 0.3, t0 + 5.5), ("phase", "register", t0 + 0.45, t0 + 5.45)]
    return build_timeline(t0, spans=spans, consoles=[("vboard-1", console)], wire=wire, events=events,
                          failure=(t0 + 5.45, "call: OnboardingTimeout: waiting for the device to register"),
                          ).to_property()


def write_night(path: Path, cases: list[Case], *, timestamp: str, suite: str = "pytest") -> Path:
    """Write one night's JUnit file (pytest's layout: testsuites/testsuite/testcase)."""
    root = ET.Element("testsuites")
    failures = sum(c.outcome == "failed" for c in cases)
    skipped = sum(c.outcome == "skipped" for c in cases)
    node = ET.SubElement(root, "testsuite", name=suite, errors="0", failures=str(failures),
                         skipped=str(skipped), tests=str(len(cases)), timestamp=timestamp,
                         time=f"{sum(c.time_s for c in cases):.3f}", hostname="lab-host")
    for case in cases:
        element = ET.SubElement(node, "testcase", classname="tests.e2e.test_e2e_nightly",
                                name=case.name, time=f"{case.time_s:.3f}")
        props = ET.SubElement(element, "properties")
        values = {"board": case.board, "firmware": case.firmware, "scenario": case.scenario,
                  **{f"phase.{k}_s": f"{v:.3f}" for k, v in case.phases.items()}}
        if case.timeline:
            values["hil.timeline"] = case.timeline
        for name, value in values.items():
            ET.SubElement(props, "property", name=name, value=value)
        if case.outcome == "failed":
            ET.SubElement(element, "failure", message="OnboardingTimeout: waiting for the device to "
                          "register").text = "the device did not register within 5 s"
        elif case.outcome == "skipped":
            ET.SubElement(element, "skipped", message="no board")
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


FLAKY = "onboarding: First-to-Claim (flaky)"
BROKEN = "troubleshooting: always broken"
REGRESSED = "onboarding: own CA (regressed with a new firmware)"
STEADY = "onboarding: developer certificate"
SKIPPED = "identity: skipped every night"


def seven_nights(directory: Path) -> list[Path]:
    """Seven nights: exactly one scenario passes and fails on the same firmware (flaky); one always
    fails; one turns from pass to fail when the firmware changes; one always passes; one is skipped."""
    paths = []
    flaky_pattern = ["passed", "failed", "passed", "passed", "failed", "passed", "passed"]
    for night in range(7):
        new_firmware = "factory-4.14.0" if night >= 4 else "factory-4.13.4"
        cases = [
            Case("test_steady", STEADY, time_s=2.0 + night * 0.1),
            Case("test_flaky", FLAKY, flaky_pattern[night], time_s=3.0,
                 timeline=story_timeline() if flaky_pattern[night] == "failed" else None),
            Case("test_broken", BROKEN, "failed", board="vboard-2", timeline=story_timeline()),
            Case("test_regressed", REGRESSED, "failed" if night >= 4 else "passed",
                 firmware=new_firmware, board="vboard-2"),
            Case("test_skipped", SKIPPED, "skipped", time_s=0.0, phases={}),
        ]
        paths.append(write_night(directory / f"night-{night + 1}.xml", cases,
                                 timestamp=f"2026-11-{20 + night:02d}T02:00:00"))
    return paths
