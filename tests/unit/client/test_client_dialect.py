"""One dialect format: the firmware manifest's regexes read every line the virtual board prints."""

from __future__ import annotations

import pytest

from harness.boards.dialect import dialect_for_image
from harness.boards.manifest import load_manifest
from harness.client import console
from harness.client.dialect import Dialect
from harness.client.errors import ClientError, error_lines
from harness.errors import HilError

VIRTUAL_IMAGES = [name for name, image in load_manifest().images.items()
                  if image.target == "dmhil_vboard" and image.dialect != "thingsboard_device"]
"""The virtual images of the Device Management Client (the ThingsBoard device has its own words)."""


@pytest.mark.parametrize("image", VIRTUAL_IMAGES)
def test_the_dialect_of_each_virtual_image_reads_what_the_board_prints(image: str) -> None:
    dialect = dialect_for_image(image)
    assert dialect.match("registered", console.REGISTERED)
    assert dialect.match("endpoint", console.ENDPOINT_NAME.format(name="ep-1")).group(1) == "ep-1"
    assert dialect.match("device_id", console.DEVICE_ID.format(device_id="016f00")).group(1) == "016f00"
    assert dialect.match("device_id", "Device Id: 016f00").group(1) == "016f00"  # older example apps
    assert dialect.match("boot", console.START_CLIENT)
    assert dialect.match("version", console.VERSION_LINE.format(version="4.13.4")).group(1) == "4.13.4"
    assert dialect.match("factory_ready", console.FACTORY_READY)
    assert dialect.match("factory_done", console.FACTORY_DONE)
    _, occurred, code, details = error_lines(ClientError.ConnectNotAllowed, "response-forbidden:x")
    assert dialect.match("error", occurred).group(1) == "ConnectNotAllowed"
    assert dialect.match("error_code", code).group(1) == "11"
    assert dialect.match("error_details", details).group(1) == "response-forbidden:x"


@pytest.mark.parametrize("image", [*VIRTUAL_IMAGES, "native-developer"])
def test_an_error_the_app_cannot_name_is_read_as_unknown(image: str) -> None:
    occurred = error_lines(ClientError.ConnectorInvalidCredentials, "d")[1]
    assert occurred == "Error occurred : UNKNOWN"
    assert dialect_for_image(image).match("error", occurred).group(1) == "UNKNOWN"


def test_a_regex_that_does_not_compile_is_one_clear_error() -> None:
    with pytest.raises(HilError, match=r"dialect 'broken': regex error: .* fix it in the firmware"):
        Dialect.from_regexes("broken", {"error": "Error occurred : (\\w+"})
    with pytest.raises(KeyError, match="has no regex 'nope'"):
        Dialect.from_regexes("ok", {"a": "a"})["nope"]
