"""The firmware manifest (firmware/manifest.yaml): images per target and console dialects."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from harness import yamlfile
from harness.config import REPO_ROOT
from harness.errors import HilError

DEFAULT_MANIFEST = REPO_ROOT / "firmware" / "manifest.yaml"


class ManifestError(HilError):
    """The firmware manifest is missing or wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageEntry(_Strict):
    """One firmware image: a file (real boards) or built at run time (virtual boards)."""

    target: str = "dmhil_vboard"
    file: str | None = None
    client_version: str = "4.13.4"
    mode: Literal["factory", "developer"] = "factory"
    transport: Literal["tcp", "udp"] = "tcp"
    dialect: str = "pdmc_example"


class FirmwareManifest(_Strict):
    """The whole manifest; `source` is the file it came from."""

    dialects: dict[str, dict[str, str]]
    images: dict[str, ImageEntry]
    source: Path | None = None

    def image(self, name: str) -> ImageEntry:
        """The image called `name`, or a clear error listing the names there are."""
        try:
            return self.images[name]
        except KeyError:
            names = ", ".join(sorted(self.images)) or "none"
            raise ManifestError(
                f"no firmware image {name!r} in {self.source} (images: {names}); use one of those."
            ) from None

    def image_for(self, name: str, target: str) -> str | None:
        """Image `name` if it is built for `target`, else that target's image of the same mode
        (the first by name), else None."""
        entry = self.image(name)
        if entry.target == target:
            return name
        same = sorted(n for n, e in self.images.items() if e.target == target and e.mode == entry.mode)
        return same[0] if same else None

    def dialect(self, name: str) -> dict[str, str]:
        """The regexes of dialect `name`."""
        try:
            return self.dialects[name]
        except KeyError:
            raise ManifestError(
                f"no console dialect {name!r} in {self.source}; add it under `dialects:`."
            ) from None

    def image_file(self, name: str) -> Path | None:
        """The absolute path of a file-backed image, or None for a built image."""
        entry = self.image(name)
        if entry.file is None:
            return None
        path = Path(entry.file)
        base = self.source.parent if self.source else REPO_ROOT
        return path if path.is_absolute() else base / path


def load_manifest(path: str | Path | None = None) -> FirmwareManifest:
    """Load and validate the firmware manifest (default firmware/manifest.yaml)."""
    file = Path(path) if path else DEFAULT_MANIFEST
    try:
        data = yamlfile.load(yamlfile.read_text(file))
    except FileNotFoundError:
        raise ManifestError(f"firmware manifest {file} not found; create it or fix the path.") from None
    except OSError as exc:
        raise ManifestError(f"cannot read the firmware manifest {file} ({exc.strerror}); fix its "
                            "permissions or the path.") from None
    except yamlfile.YamlFileError as exc:
        raise ManifestError(f"firmware manifest {file} {exc}.") from None
    except yaml.reader.ReaderError as exc:
        raise ManifestError(f"firmware manifest {file} holds character {exc.character!r}, which "
                            "YAML does not allow; remove it.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ManifestError(f"firmware manifest {file} is not valid YAML{at} "
                            f"({getattr(exc, 'problem', None) or 'syntax error'}); fix it.") from None
    if data is not None and not isinstance(data, dict):
        raise ManifestError(f"firmware manifest {file} holds a {type(data).__name__}, not a mapping "
                            "with `dialects:` and `images:`; fix its top level.")
    try:
        manifest = FirmwareManifest.model_validate({**(data or {}), "source": file.resolve()})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ManifestError(f"firmware manifest {file}: {where}: {first['msg']}; fix it.") from None
    for name, entry in manifest.images.items():
        if entry.dialect not in manifest.dialects:
            raise ManifestError(
                f"firmware manifest {file}: image {name!r} names unknown dialect {entry.dialect!r}; "
                "add it under `dialects:`."
            )
    return manifest
