"""How one pass of the virtual client ends when it does not stay registered (control flow)."""

from __future__ import annotations

from harness.client import console as text
from harness.client.errors import ClientError
from harness.client.failures import Failure


class Retry(Exception):
    """Report `failure` (unless quiet) and try again after the back-off."""

    def __init__(self, failure: Failure | None) -> None:
        super().__init__(failure)
        self.failure = failure


class Stop(Exception):
    """Report `failure` and stay down until power-off."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure)
        self.failure = failure


class Rebootstrap(Exception):
    """Drop the LwM2M credentials and bootstrap again; `then` is reported after the client's
    `Re-bootstrapping` report. `factory_reset`: the client first restores its factory credentials,
    and its security object starts afresh (the next bootstrap finds /0/0 empty)."""

    def __init__(self, then: Failure | None = None, *, factory_reset: bool = False) -> None:
        super().__init__(then)
        self.then = then
        self.factory_reset = factory_reset


class Deregistered(Exception):
    """The client de-registered on request; run() returns."""


def unreadable_credentials(details: str = text.DETAILS_READ_FAILED) -> Stop:
    """Stop on stored credentials the client cannot read (ConnectorFailedToReadCredentials, 17)."""
    return Stop(Failure(ClientError.ConnectorFailedToReadCredentials, details, retry=False))


def finish_failed(reason: str) -> Failure:
    """The failure of a Bootstrap-Finish the client refuses (`BS FIN fails :<reason>`)."""
    return Failure(ClientError.ConnectBootstrapFailed,
                   text.DETAILS_BS_FINISH_FAILED.format(reason=reason))
