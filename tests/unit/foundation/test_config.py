"""The lab config: the default file is valid, and each kind of mistake gets a clear message."""

from __future__ import annotations

import pytest

from harness.boards.manifest import load_manifest
from harness.cli import main
from harness.config import ConfigError, check_firmware, load_lab_config, parse_lab_config


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_lab_config(text)
    return info.value.problems


def test_default_lab_has_four_virtual_boards_and_the_local_service():
    lab = load_lab_config()
    assert [b.kind for b in lab.boards] == ["sim"] * 4
    assert lab.service.host == "127.0.0.1"
    assert lab.service.timing.rate_limit.count == 10


def test_yaml_syntax_error_names_line():
    [msg] = problems("service:\n  host: [127.0.0.1\n")
    assert "YAML syntax error" in msg and "line" in msg


def test_unknown_key_names_key_path_and_line():
    [msg] = problems("service:\n  host: 127.0.0.1\n  hots: x\n")
    assert msg.startswith("service.hots (line 3)") and "unknown key" in msg


def test_wrong_type_names_key_path():
    [msg] = problems("service:\n  timing:\n    rate_limit: {count: many}\n")
    assert "service.timing.rate_limit.count" in msg and "integer" in msg


def test_each_problem_gets_its_own_message():
    msgs = problems("reports_dir: [1]\nboards:\n  - {id: a, kind: sim, baudrate: -1}\n")
    assert len(msgs) == 2
    assert any(m.startswith("boards[0] (id a).baudrate") for m in msgs)


def test_duplicate_board_id():
    msgs = problems("boards:\n  - {id: b1, kind: sim}\n  - {id: b1, kind: sim}\n")
    assert msgs == ["boards[1] (id b1) (line 3): id 'b1' is already used by boards[0]; "
                    "give each board its own id"]


def test_real_board_needs_probe_and_port():
    [msg] = problems("boards:\n  - {id: r1, kind: pyocd, target: k64f, probe_id: 066E}\n")
    assert "serial_port or usb_serial_number" in msg


def test_real_board_needs_its_target_and_probe():
    msgs = problems("boards:\n  - {id: r1, kind: pyocd, serial_port: /dev/ttyACM0}\n")
    assert msgs == ["boards[0] (id r1).target (line 2): is required; add it",
                    "boards[0] (id r1).probe_id (line 2): is required; add it"]


def test_missing_firmware_image_wrong_target_and_missing_file(tmp_path):
    manifest_file = tmp_path / "manifest.yaml"
    manifest_file.write_text(
        "dialects: {d: {registered: 'Client registered'}}\n"
        "images:\n  factory: {dialect: d}\n  k64f-app: {target: k64f, file: app.bin, dialect: d}\n")
    lab = parse_lab_config(
        "boards:\n  - {id: b1, kind: sim, firmware: nope}\n"
        "  - {id: b2, kind: sim, firmware: k64f-app}\n"
        "  - {id: b3, kind: pyocd, target: k64f, probe_id: '0240', serial_port: /dev/ttyACM0,"
        " firmware: k64f-app}\n")
    with pytest.raises(ConfigError) as info:
        check_firmware(lab, load_manifest(manifest_file))
    first, second, third, fourth = info.value.problems
    assert first.startswith("boards[0] (id b1).firmware: no image 'nope'")
    assert "built for target 'k64f', the board is 'dmhil_vboard'" in second
    assert "app.bin does not exist" in third and third.startswith("boards[1]")
    assert fourth.startswith("boards[2] (id b3).firmware: image file")


def test_missing_file_is_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match="lab config file not found"):
        load_lab_config(tmp_path / "absent.yaml")


def test_env_var_chooses_the_file(tmp_path, monkeypatch):
    path = tmp_path / "lab.yaml"
    path.write_text("boards:\n  - {id: only, kind: sim}\n")
    monkeypatch.setenv("HIL_LAB_CONFIG", str(path))
    assert [b.id for b in load_lab_config().boards] == ["only"]


def test_hil_config_check_exit_codes(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("boards:\n  - {id: x, kind: fpga}\n")
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "boards[0] (id x).kind (line 2)" in err and "Traceback" not in err
    good = tmp_path / "good.yaml"
    good.write_text("boards: []\n")
    assert main(["config", "check", str(good)]) == 0
    unknown_image = tmp_path / "fw.yaml"
    unknown_image.write_text("boards:\n  - {id: x, kind: sim, firmware: nope}\n")
    assert main(["config", "check", str(unknown_image)]) == 2
    assert "no image 'nope'" in capsys.readouterr().err
