"""The lab configuration: one model per section, loading with one clear message per mistake.

Sections: common (shared types), service, boards, thingsboard, lab (the whole file);
loading reads and validates it, yaml_lines keeps each key's line for the messages.
"""

from harness.config.boards import (
    BOARD_KINDS,
    DEFAULT_FCC_CLIENT,
    DEFAULT_KIT,
    FCC_CLIENT_ENV,
    KIT_ENV,
    BoardConfig,
    BoardConfigBase,
    FactoryClientBoardConfig,
    LabgridBoardConfig,
    NativeBoardConfig,
    PyocdBoardConfig,
    VirtualBoardConfig,
    board_config,
)
from harness.config.common import REPO_ROOT, Port, Seconds, TransportName
from harness.config.errors import ConfigError
from harness.config.lab import LabConfig
from harness.config.loading import (
    DEFAULT_LAB_CONFIG,
    LAB_CONFIG_ENV,
    check_firmware,
    lab_config_path,
    load_lab_config,
    parse_lab_config,
)
from harness.config.service import (
    PskKey,
    RateLimit,
    Retention,
    ServerPorts,
    ServiceConfig,
    StandardMode,
    StreamConfig,
    Timing,
)
from harness.config.thingsboard import ThingsBoardConfig

__all__ = [
    "BOARD_KINDS", "DEFAULT_FCC_CLIENT", "DEFAULT_KIT", "DEFAULT_LAB_CONFIG", "FCC_CLIENT_ENV",
    "KIT_ENV", "LAB_CONFIG_ENV", "REPO_ROOT", "BoardConfig", "BoardConfigBase", "ConfigError",
    "FactoryClientBoardConfig", "LabConfig", "LabgridBoardConfig", "NativeBoardConfig", "Port",
    "PskKey", "PyocdBoardConfig", "RateLimit", "Retention", "Seconds", "ServerPorts",
    "ServiceConfig", "StandardMode", "StreamConfig", "ThingsBoardConfig", "Timing",
    "TransportName", "VirtualBoardConfig", "board_config", "check_firmware", "lab_config_path",
    "load_lab_config", "parse_lab_config",
]
