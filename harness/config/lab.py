"""The whole lab config: the service, the boards, the ThingsBoard service, where reports go."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from harness.config.boards import BoardConfig
from harness.config.common import REPO_ROOT, StrictModel
from harness.config.errors import ConfigError
from harness.config.service import ServiceConfig
from harness.config.thingsboard import ThingsBoardConfig


class LabConfig(StrictModel):
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

