"""What every section of the lab config shares: the strict model base, port and duration types."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this harness runs from (relative config paths resolve against it)."""

Port = Annotated[int, Field(ge=0, le=65535, description="TCP/UDP port; 0 = the OS picks a free one")]
Seconds = Annotated[float, Field(gt=0, description="a duration in seconds")]
TransportName = Literal["tls-record", "tcp-length", "udp", "dtls"]
"""The transport kinds of harness.transport.registry (tests check the two lists agree)."""


class StrictModel(BaseModel):
    """A config section: unknown keys are mistakes, values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)
