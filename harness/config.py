"""The lab configuration: schema, loading, and one clear message per mistake."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from harness import yamlfile
from harness.errors import HilError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LAB_CONFIG = REPO_ROOT / "lab_config.yaml"
LAB_CONFIG_ENV = "HIL_LAB_CONFIG"

Port = Annotated[int, Field(ge=0, le=65535, description="TCP/UDP port; 0 = the OS picks a free one")]
Seconds = Annotated[float, Field(gt=0, description="a duration in seconds")]
TransportName = Literal["tls-record", "tcp-length", "udp"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Strict):
    """Registration rate limit: more than `count` operations in `window` s -> held `hold` s."""

    count: int = Field(10, ge=1)
    window: Seconds = 10.0
    hold: Seconds = 60.0


class Timing(_Strict):
    """Timings the real service fixes, configurable so tests can shorten them."""

    lifetime_min: Seconds = 60.0
    lifetime_max: Seconds = 72 * 3600.0
    lifetime_default: Seconds = 86400.0
    rate_limit: RateLimit = RateLimit()
    lwm2m_credential_validity: Seconds = 30 * 86400.0
    expiry_check_interval: Seconds = 1.0

    @model_validator(mode="after")
    def _bounds(self) -> Timing:
        if self.lifetime_min > self.lifetime_max:
            raise ValueError("lifetime_min must not exceed lifetime_max")
        return self


class ServerPorts(_Strict):
    """Ports of one CoAP server (bootstrap or LwM2M), one per transport."""

    tls_record: Port = 0
    tcp_length: Port | None = None
    udp: Port | None = 0


class StreamConfig(_Strict):
    """Bounds on tls-record and tcp-length connections (harness.transport.limits)."""

    idle_timeout: Seconds = Field(1350.0, description="close a connection silent this long "
                                  "(the real client pings every 540 s)")
    first_message_timeout: Seconds = Field(30.0, description="close a connection that sent no "
                                           "CoAP message this long after it opened")
    max_connections: int | None = Field(None, ge=1, description="open connections over all "
                                        "stream listeners; default: half the open-file limit")


class Retention(_Strict):
    """What peers can make the service write, and how long it keeps it (harness.cloud.retention)."""

    refusals_per_minute: int = Field(600, ge=1, description="refusals recorded as a denial + "
                                     "an event; more are counted in one summary denial")
    refusal_burst: int = Field(30, ge=1, description="refusals recorded at once before the rate "
                               "applies")
    log_lines_per_minute: int = Field(60, ge=1, description="lines per message template a minute "
                                      "from the loggers peers can trigger")
    max_denials: int = Field(10000, ge=1, description="denial rows kept (oldest deleted first)")
    max_events: int = Field(100000, ge=1, description="event rows kept (oldest deleted first)")
    max_age_days: float = Field(30.0, gt=0, description="denials and events older are deleted")
    prune_interval: Seconds = 60.0


class ServiceConfig(_Strict):
    """The Device Management service: how `hil cloud serve` and the in-process service run, and
    which one the suite uses (`kind`: local = in-process, remote = one started elsewhere)."""

    kind: Literal["local", "remote"] = Field(
        "local", description="local: the suite starts the service in-process; remote: it uses a "
                             "running `hil cloud serve` (url + operator_key_file, or data_dir)")
    url: str | None = Field(None, description="remote: the REST API base URL, http://host:port")
    operator_key_file: Path | None = Field(
        None, description="remote: the service's operator-key file (default <data_dir>/operator-key)")
    host: str = "127.0.0.1"
    transports: list[TransportName] = ["tls-record", "udp"]
    bootstrap: ServerPorts = ServerPorts()
    lwm2m: ServerPorts = ServerPorts()
    rest_port: Port = 0
    stream: StreamConfig = StreamConfig()
    retention: Retention = Retention()
    data_dir: Path | None = Field(None, description="SQLite + CA keys; default: a per-run temp dir")
    timing: Timing = Timing()

    @field_validator("transports")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a transport twice")
        if not value:
            raise ValueError("needs at least one transport")
        return value

    @model_validator(mode="after")
    def _service_kind(self) -> ServiceConfig:
        if self.kind == "local" and (self.url or self.operator_key_file):
            raise ValueError("url and operator_key_file are for a remote service; set kind: remote "
                             "or remove them")
        if self.kind == "remote":
            if not self.url and self.data_dir is None:
                raise ValueError("a remote service needs url (its REST API) or data_dir (where "
                                 "`hil cloud serve` keeps its state on this host); add one")
            if self.url and not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url {self.url!r} is not an http:// or https:// URL; give the "
                                 "REST API base URL `hil cloud serve` prints")
            if self.url and self.operator_key_file is None and self.data_dir is None:
                raise ValueError("a remote service at url needs operator_key_file (the "
                                 "operator-key file in the service's data dir); add it")
        return self


class BoardConfigBase(_Strict):
    """What every lab board has; each kind below adds and validates its own fields."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str
    target: str = Field(description="the target type (pyOCD target of a probe board)")
    baudrate: int = Field(115200, gt=0)
    firmware: str = Field("factory", description="image name in firmware/manifest.yaml")
    tags: list[str] = []


class PyocdBoardConfig(BoardConfigBase):
    """A real board behind a pyOCD probe, with a USB serial console."""

    kind: Literal["pyocd"]
    target: str = Field(description="pyOCD target type (`pyocd list --targets`)")
    probe_id: str = Field(description="pyOCD probe unique id (`pyocd list`)")
    serial_port: str | None = Field(None, description="e.g. /dev/ttyACM0")
    usb_serial_number: str | None = Field(None, description="find the port by USB serial number")

    @model_validator(mode="after")
    def _port(self) -> PyocdBoardConfig:
        if not (self.serial_port or self.usb_serial_number):
            raise ValueError("a pyocd board needs serial_port or usb_serial_number")
        return self


class VirtualBoardConfig(BoardConfigBase):
    """A virtual board: a simulated board process with a pty console and a pyOCD probe plugin."""

    kind: Literal["sim"]
    target: str = Field("dmhil_vboard", description="the virtual board's pyOCD target type")


KIT_ENV = "HIL_PDMC_KIT"
"""Environment variable naming the real client kit (overrides a native board's `kit:`)."""
DEFAULT_KIT = Path("../shared/peers/pdmc-linux-tcp")
"""The real client kit, relative to the repository (a sibling checkout of the peers)."""


class NativeBoardConfig(BoardConfigBase):
    """The real Device Management Client linked from a kit and run as a local process."""

    kind: Literal["native"]
    target: str = Field("pdmc-linux-tcp", description="the image target of the kit's client")
    firmware: str = Field("native-developer", description="image name in firmware/manifest.yaml")
    kit: Path | None = Field(None, description=f"the client kit (default ${KIT_ENV}, else "
                                               f"{DEFAULT_KIT} relative to the repository)")
    transport: Literal["tls-record", "tcp-length"] = Field(
        "tls-record", description="the service transport its bootstrap URI names")

    def kit_path(self) -> Path:
        """The kit folder: $HIL_PDMC_KIT, else `kit:` (relative to the repository), else the default."""
        env = os.environ.get(KIT_ENV)
        path = Path(env) if env else (self.kit or DEFAULT_KIT)
        return path if path.is_absolute() else REPO_ROOT / path


FCC_CLIENT_ENV = "HIL_FCC_CLIENT"
"""Environment variable naming the real factory client binary (overrides an fcc board's `binary:`)."""
DEFAULT_FCC_CLIENT = Path("../shared/peers/fcc-linux/factory-client.elf")
"""The real factory configurator client, relative to the repository (a sibling checkout)."""


class FactoryClientBoardConfig(BoardConfigBase):
    """The real factory configurator client (Linux, TCP) as a board: its socket bridged to a pty."""

    kind: Literal["fcc"]
    target: str = Field("fcc-linux", description="the image target of the real factory client")
    firmware: str = Field("fcc-factory", description="image name in firmware/manifest.yaml")
    binary: Path | None = Field(None, description=f"factory-client.elf (default ${FCC_CLIENT_ENV}, "
                                                  f"else {DEFAULT_FCC_CLIENT} beside the repository "
                                                  "or a parent folder)")

    def binary_path(self) -> Path:
        """The client binary: $HIL_FCC_CLIENT, else `binary:` (repository-relative), else found."""
        env = os.environ.get(FCC_CLIENT_ENV)
        if env or self.binary:
            path = Path(env) if env else Path(self.binary or "")
            return path if path.is_absolute() else REPO_ROOT / path
        from harness.provisioning.real_client import find_binary

        return find_binary() or REPO_ROOT / DEFAULT_FCC_CLIENT


class LabgridBoardConfig(BoardConfigBase):
    """A board on another host: a labgrid place (serial over RFC 2217, probe over `pyocd server`)."""

    kind: Literal["labgrid"]
    target: str = Field(description="pyOCD target type of the board behind the place's probe")
    coordinator: str = Field(pattern=r"^[^\s:]+:\d{1,5}$",
                             description="HOST:PORT of labgrid-coordinator (labgrid-client -x)")
    place: str = Field(min_length=1, description="the labgrid place holding the board's resources")
    acquire_timeout: Seconds = Field(60.0, description="wait this long for a place another user holds")


BoardConfig = Annotated[PyocdBoardConfig | VirtualBoardConfig | NativeBoardConfig
                        | FactoryClientBoardConfig | LabgridBoardConfig, Field(discriminator="kind")]
"""One lab board; `kind` chooses the model (and the Board implementation, harness.boards.registry)."""
BOARD_KINDS: tuple[str, ...] = ("pyocd", "sim", "native", "fcc", "labgrid")


def board_config(**fields: Any) -> BoardConfig:
    """Validate one board entry (the model its `kind` names)."""
    return TypeAdapter(BoardConfig).validate_python(fields)


# --- the ThingsBoard-style device service (harness.services.thingsboard) ------------------------
class ThingsBoardConfig(_Strict):
    """The local ThingsBoard-style device service: MQTT (plain + TLS) and its REST subset."""

    enabled: bool = Field(True, description="start it in `hil run` and the ThingsBoard scenarios")
    host: str = "127.0.0.1"
    mqtt_port: Port = Field(0, description="plain MQTT (ThingsBoard: 1883)")
    mqtts_port: Port = Field(0, description="MQTT over TLS, one-way or two-way (ThingsBoard: 8883)")
    rest_port: Port = 0
    data_dir: Path | None = Field(None, description="SQLite + CA keys; default: a per-run temp dir")
    tenant_username: str = Field("tenant@thingsboard.org", min_length=1)
    tenant_password: str = Field("tenant", min_length=1, repr=False)

    @model_validator(mode="after")
    def _distinct_ports(self) -> ThingsBoardConfig:
        fixed = [p for p in (self.mqtt_port, self.mqtts_port, self.rest_port) if p]
        if len(fixed) != len(set(fixed)):
            raise ValueError("mqtt_port, mqtts_port and rest_port must differ (or be 0)")
        return self


class LabConfig(_Strict):
    """The whole lab: the service, the boards, where reports go."""

    service: ServiceConfig = ServiceConfig()
    thingsboard: ThingsBoardConfig | None = Field(None, description="the ThingsBoard-style service")
    boards: list[BoardConfig] = []
    reports_dir: Path = Path("reports")
    every_board: bool = Field(False, description="`hil run` runs each scenario on every board "
                                                 "(pytest-xdist --dist each), not once on any")
    firmware_manifest: Path | None = Field(
        None, description="firmware manifest (default: firmware/manifest.yaml of this checkout)")
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique_boards(self) -> LabConfig:
        seen: set[str] = set()
        for board in self.boards:
            if board.id in seen:
                raise ValueError(f"board id {board.id!r} is used twice; give each board its own id")

            seen.add(board.id)
        return self

    def board(self, board_id: str) -> BoardConfig:
        """The board with this id, or a clear error listing the ids there are."""
        for board in self.boards:
            if board.id == board_id:
                return board
        ids = ", ".join(b.id for b in self.boards) or "none"
        raise ConfigError(
            [f"no board {board_id!r} in the lab config (boards: {ids}); use one of those ids"],
            self.source,
        )

    def manifest_path(self) -> Path:
        """The firmware manifest file: as configured (relative to this file), else the checkout's."""
        if self.firmware_manifest is None:
            return REPO_ROOT / "firmware" / "manifest.yaml"
        return self.resolve(self.firmware_manifest)

    def resolve(self, path: Path) -> Path:
        """A path from the config, relative to the config file's folder."""
        base = self.source.parent if self.source else REPO_ROOT
        return path if path.is_absolute() else base / path


class ConfigError(HilError):
    """The lab config has mistakes; one message per mistake."""

    def __init__(self, problems: list[str], source: Path | None = None) -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__("\n".join(where + p for p in problems))


def lab_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The lab config to use: the explicit path, else $HIL_LAB_CONFIG, else lab_config.yaml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(LAB_CONFIG_ENV)
    return Path(env) if env else DEFAULT_LAB_CONFIG


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers the line of each mapping key."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
    return _Mapping(mapping, lines)


class _Mapping(dict):
    """A dict that knows the YAML line of each key."""

    def __init__(self, data: dict[str, Any], lines: dict[str, int]) -> None:
        super().__init__(data)
        self.lines = lines


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line_of(data: Any, loc: tuple[int | str, ...]) -> int | None:
    line = None
    node = data
    for part in loc:
        if isinstance(node, _Mapping) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, _Mapping) and node.lines:
                line = min(node.lines.values())
        else:
            break
    return line


def _key_path(data: Any, loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                board_id = node[part].get("id")
                label = f"[{part}] (id {board_id})" if board_id else label
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
        if isinstance(node, dict | list):
            try:
                node = node[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                node = None
    return "".join(parts) or "(top level)"


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
    line = _line_of(data, loc)
    where = _key_path(data, loc)
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
            line = _line_of(data, ("boards", i))
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
        data = yamlfile.load(text, _LineLoader)
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
