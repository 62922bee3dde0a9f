"""A webhook with a header no HTTP client can send is a 400 with one sentence, not a 500."""

from __future__ import annotations

import pytest

from harness.rest_client import ApiError


@pytest.mark.parametrize("headers", [{"x-note": "caf\u00e9"}, {"x-\u00fcber": "1"},
                                     {"x-split": "a\r\nInjected: 1"}])
def test_webhook_header_must_be_http(account, headers) -> None:
    with pytest.raises(ApiError) as caught:
        account.admin.set_webhook("http://127.0.0.1:9/hook", headers)
    assert caught.value.status == 400
    assert "is not a valid HTTP header" in str(caught.value)
