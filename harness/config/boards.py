"""The `boards:` section: one model per board kind, each validating its own fields."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, model_validator

from harness.config.common import REPO_ROOT, Seconds, StrictModel


class BoardConfigBase(StrictModel):
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

