"""The console dialect of a firmware image, from the firmware manifest (see harness.client.dialect)."""

from __future__ import annotations

from harness.boards.manifest import FirmwareManifest, load_manifest
from harness.client.dialect import Dialect

__all__ = ["Dialect", "dialect_for_image", "dialect_named"]


def dialect_named(name: str, manifest: FirmwareManifest | None = None) -> Dialect:
    """The dialect `name` from the manifest."""
    manifest = manifest or load_manifest()
    return Dialect.from_regexes(name, manifest.dialect(name))


def dialect_for_image(image: str, manifest: FirmwareManifest | None = None) -> Dialect:
    """The dialect of firmware image `image`."""
    manifest = manifest or load_manifest()
    return dialect_named(manifest.image(image).dialect, manifest)
