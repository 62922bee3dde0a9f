"""Loading the lab config: find the file, parse and validate it, one message per mistake."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness import yamlfile
from harness.config.boards import BOARD_KINDS
from harness.config.common import REPO_ROOT
from harness.config.errors import ConfigError
from harness.config.lab import LabConfig
from harness.config.yaml_lines import LineLoader, key_path, line_of

DEFAULT_LAB_CONFIG = REPO_ROOT / "lab_config.yaml"
LAB_CONFIG_ENV = "HIL_LAB_CONFIG"


def lab_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The lab config to use: the explicit path, else $HIL_LAB_CONFIG, else lab_config.yaml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(LAB_CONFIG_ENV)
    return Path(env) if env else DEFAULT_LAB_CONFIG


def _describe(data: Any, error: dict[str, Any]) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic puts union/literal branches into loc; keep only real keys
    loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
    # a board entry's kind picks its model; pydantic names that tag in loc
    loc = tuple(p for i, p in enumerate(loc)
                if not (i > 0 and isinstance(loc[i - 1], int) and p in BOARD_KINDS))
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "kind")
        msg = f"must be one of {', '.join(BOARD_KINDS)} (the board kind); fix `kind:`"
    line = line_of(data, loc)
    where = key_path(data, loc)
    if error["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling"
    elif error["type"] == "missing":
        msg = "is required; add it"
    at = f" (line {line})" if line else ""
    return f"{where}{at}: {msg}"


def _duplicate_board_ids(data: dict[str, Any]) -> list[str]:
    boards = data.get("boards")
    if not isinstance(boards, list):
        return []
    first: dict[str, int] = {}
    problems = []
    for i, board in enumerate(boards):
        board_id = board.get("id") if isinstance(board, dict) else None
        if not isinstance(board_id, str):
            continue
        if board_id in first:
            line = line_of(data, ("boards", i))
            at = f" (line {line})" if line else ""
            problems.append(
                f"boards[{i}] (id {board_id}){at}: id {board_id!r} is already used by "
                f"boards[{first[board_id]}]; give each board its own id"
            )
        else:
            first[board_id] = i
    return problems


def parse_lab_config(text: str, source: Path | None = None) -> LabConfig:
    """Parse and validate lab config YAML text; raise ConfigError listing every problem."""
    try:
        data = yamlfile.load(text, LineLoader)
    except yamlfile.YamlFileError as exc:
        raise ConfigError([f"the file {exc}"], source) from None
    except yaml.reader.ReaderError as exc:  # a control character: no mark, a position
        line = text[:exc.position].count("\n") + 1
        raise ConfigError([f"line {line}: character {exc.character!r} is not allowed in YAML; "
                           "remove it"], source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{at}YAML syntax error: {problem}; fix the YAML"], source) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(["the top level must be a mapping (service:, boards:, ...)"], source)
    problems = _duplicate_board_ids(data)
    try:
        config = LabConfig.model_validate(data)
    except ValidationError as exc:
        found = [_describe(data, e) for e in exc.errors()]
        # the raw check above already named the duplicate with its line
        problems += [m for m in found if not (problems and "is used twice" in m)]
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)), source)
    return config.model_copy(update={"source": source})


def check_firmware(config: LabConfig, manifest: Any) -> None:
    """Raise ConfigError for boards whose firmware the manifest lacks, or has for another
    target, or whose image file is missing (`manifest`: harness.boards.manifest.FirmwareManifest)."""
    problems = []
    names = ", ".join(sorted(manifest.images)) or "none"
    for i, board in enumerate(config.boards):
        where = f"boards[{i}] (id {board.id}).firmware"
        entry = manifest.images.get(board.firmware)
        if entry is None:
            problems.append(f"{where}: no image {board.firmware!r} in the firmware manifest "
                            f"(images: {names}); use one of those names")
            continue
        if entry.target != board.target:
            problems.append(f"{where}: image {board.firmware!r} is built for target "
                            f"{entry.target!r}, the board is {board.target!r}; choose an image "
                            "for that target")
        path = manifest.image_file(board.firmware)
        if path is not None and not path.is_file():
            problems.append(f"{where}: image file {path} does not exist; build it or fix `file:` "
                            "in the firmware manifest")
    if problems:
        raise ConfigError(problems, config.source)


def load_lab_config(path: str | os.PathLike[str] | None = None) -> LabConfig:
    """Load the lab config (explicit path, $HIL_LAB_CONFIG or lab_config.yaml) and validate it."""
    file = lab_config_path(path)
    try:
        text = yamlfile.read_text(file)
    except yamlfile.YamlFileError as exc:
        raise ConfigError([f"the lab config {exc}"], file) from None
    except FileNotFoundError:
        raise ConfigError(
            [f"lab config file not found; create it or point {LAB_CONFIG_ENV} at one"], file
        ) from None
    except OSError as exc:
        raise ConfigError([f"cannot read the lab config ({exc.strerror})"], file) from None
    return parse_lab_config(text, file.resolve())
