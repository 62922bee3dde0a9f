"""Firmware image files for a run: built virtual-board images or the manifest's files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.boards.manifest import FirmwareManifest, ManifestError, load_manifest
from harness.sim.firmware import build_image


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def image_path(
    name: str,
    dest_dir: str | Path,
    *,
    manifest: FirmwareManifest | None = None,
    developer_credentials: Mapping[str, Any] | Any | None = None,
) -> Path:
    """The file of image `name`: a file from the manifest, or built into `dest_dir`."""
    manifest = manifest or load_manifest()
    entry = manifest.image(name)
    file = manifest.image_file(name)
    if file is not None:
        if not file.is_file():
            raise ManifestError(f"firmware image file {file} (image {name!r}) is missing; build or copy it.")
        return file
    if entry.mode == "developer" and developer_credentials is None:
        raise ManifestError(
            f"image {name!r} is a developer image; pass developer credentials to build it."
        )
    data = build_image(
        name,
        client_version=entry.client_version,
        mode=entry.mode,
        transport=entry.transport,
        dialect=entry.dialect,
        developer_credentials=developer_credentials,
    )
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}.bin"
    if not path.exists() or path.read_bytes() != data:
        _write_atomic(path, data)
    return path


def ensure_images(dest_dir: str | Path, manifest: FirmwareManifest | None = None) -> dict[str, Path]:
    """Build every non-developer virtual image into `dest_dir`; name -> path (files too)."""
    manifest = manifest or load_manifest()
    return {
        name: image_path(name, dest_dir, manifest=manifest)
        for name, entry in manifest.images.items()
        if entry.mode != "developer"
    }
