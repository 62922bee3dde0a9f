"""An image whose client settings are unusable: the board says which one and how to fix it.

Behaviour: the product standard for bad input ("one clear error sentence that names the thing and
the fix"), met where a lab would meet it: a firmware image built with a bad timing knob boots,
is provisioned, and then its client refuses to start instead of running with a guess.
"""

from __future__ import annotations

import pytest

from tests.e2e.boot_errors import check_boot_error

pytestmark = pytest.mark.area("troubleshooting")



@pytest.mark.parametrize("sentence", [
    pytest.param("Request timeout is 'soon', not a number of seconds; set a number like 0.05.",
                 marks=pytest.mark.firmware("factory", request_timeout="soon"), id="not-a-number"),
    pytest.param("Request timeout is negative (-1.0); set zero or more seconds.",
                 marks=pytest.mark.firmware("factory", request_timeout=-1), id="negative"),
    pytest.param("Back-off cap is 'later', not a number of seconds; set a number like 0.05.",
                 marks=pytest.mark.firmware("factory", backoff_cap="later"), id="cap"),
])
@pytest.mark.scenario("troubleshooting: an image with an unusable timing setting names it at boot")
def test_an_image_with_an_unusable_timing_setting_names_it_and_the_fix(board, factory, device,
                                                                        sentence):
    """The image's manifest sets the client's request timeout or back-off cap to a bad value.
    After factory provisioning the client does not start: the board prints one sentence naming
    the setting, the value and the fix, and the device never reaches the service."""
    factory.bootstrap()
    check_boot_error(board, sentence)
