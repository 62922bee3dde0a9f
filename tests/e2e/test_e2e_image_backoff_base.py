"""An image whose back-off base is unusable: the board says which setting and how to fix it.

Behaviour: the product standard for bad input ("one clear error sentence that names the thing and
the fix"), met where a lab would meet it: a firmware image built with a bad back-off base boots,
is provisioned, and then its client refuses to start instead of retrying on a guess.

The lab gives every virtual board it starts a short back-off base in its environment
(HIL_SIM_BACKOFF_BASE, harness.boards.registry.TEST_ENVIRONMENT), and that setting wins over the
image's manifest. So the scenario restarts the session's board process without it, as a board
outside the test lab runs, and restarts it with the lab's environment afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from harness.boards.board import Board
from harness.boards.manifest import FirmwareManifest
from harness.boards.registry import BACKOFF_ENV, TEST_ENVIRONMENT
from tests.e2e.boot_errors import check_boot_error

pytestmark = pytest.mark.area("troubleshooting")

IMAGE = "factory"


@pytest.fixture
def board_without_lab_backoff(leased_board: Board,
                              firmware_manifest: FirmwareManifest) -> Iterator[Board]:
    """The session's board, restarted without the lab's back-off base (so the image's own value
    counts), and restarted with the session's environment after the test."""
    name = firmware_manifest.image_for(IMAGE, leased_board.config.target)
    built = firmware_manifest.image(name).file if name is not None else None
    if built is not None:
        pytest.skip(f"board {leased_board.id} runs a built image ({built}); the lab sets the "
                    f"back-off base ({BACKOFF_ENV}) of virtual-board images only")
    with pytest.MonkeyPatch.context() as env:
        env.delenv(BACKOFF_ENV, raising=False)
        leased_board.stop()
        leased_board.start()
    try:
        yield leased_board
    finally:
        with pytest.MonkeyPatch.context() as env:
            for name, value in TEST_ENVIRONMENT.items():  # as fixtures.boards.sim_environment
                if not os.environ.get(name):
                    env.setenv(name, value)
            leased_board.stop()
            leased_board.start()


@pytest.mark.parametrize("sentence", [
    pytest.param("Back-off base is 'soon', not a number of seconds; set a number like 0.05.",
                 marks=pytest.mark.firmware(IMAGE, backoff_base="soon"), id="not-a-number"),
    pytest.param("Back-off base is negative (-1.0); set zero or more seconds.",
                 marks=pytest.mark.firmware(IMAGE, backoff_base=-1), id="negative"),
])
@pytest.mark.scenario("troubleshooting: an image with an unusable back-off base names it at boot")
def test_an_image_with_an_unusable_backoff_base_names_it_and_the_fix(board_without_lab_backoff,
                                                                     board, factory, device,
                                                                     sentence):
    """The image's manifest sets the client's back-off base to a bad value and nothing overrides
    it. After factory provisioning the client does not start: the board prints one sentence
    naming the setting, the value and the fix, and the device never reaches the service."""
    assert board.board is board_without_lab_backoff
    factory.bootstrap()
    check_boot_error(board, sentence)
