"""The objects the example application and the client library register besides /3/0.

Seen in the Register body of the real client (EX 4.13.2, developer mode, TCP): enrollment
(35011), components (14), update (10252, 10255), the app's button / LED / blink (3200, 3201, 5000)
and the server object /1/0. With them the board's Register body is ~1.1 KB like the real one, so
it travels as 512-byte Block1 blocks and a service that mishandles block-wise Register fails on a
virtual board too. The board lists them only; reading them answers 4.04.
"""

from __future__ import annotations

from harness.lwm2m.linkformat import Link

_ZEROS = "AAAAAAAAAAAAAAAAAAAAAA=="


def _obs(path: str) -> Link:
    return Link(path, {"obs": True})


def _rt(path: str, rt: str, value: str | None = None) -> Link:
    attrs: dict[str, str | bool] = {"rt": rt}
    if value is not None:
        attrs["v"] = value
    return Link(path, attrs)


APP_LINKS: tuple[Link, ...] = (
    Link("/35011"), Link("/35011/0"), _rt("/35011/0/27002", "Enroll"),
    Link("/14"), Link("/14/1"), _rt("/14/1/2", "Component Version", "0.0.0"),
    _rt("/14/1/0", "Component Identity", "METER"), Link("/14/0"),
    _rt("/14/0/2", "Component Version", "0.0.0"), _rt("/14/0/0", "Component Identity", "MAIN"),
    Link("/10255"), Link("/10255/0"), _rt("/10255/0/4", "Class", _ZEROS),
    _rt("/10255/0/3", "Vendor", _ZEROS), _rt("/10255/0/0", "ProtocolSupported", "4"),
    Link("/10252"), Link("/10252/0"), _rt("/10252/0/6", "PkgVersion"),
    _rt("/10252/0/5", "PkgName"), _rt("/10252/0/4", "CustomerUpdateResult"),
    _rt("/10252/0/3", "UpdateResult", "-1"), _rt("/10252/0/2", "State", "1"),
    _rt("/10252/0/1", "Package"),
    Link("/5000"), Link("/5000/0"), _obs("/5000/0/2"),
    Link("/3201"), Link("/3201/0"), _obs("/3201/0/5850"), _obs("/3201/0/5853"),
    Link("/3200"), Link("/3200/0"), _obs("/3200/0/5501"),
    Link("/1"), Link("/1/0"), Link("/1/0/8"), _obs("/1/0/7"), _obs("/1/0/6"), Link("/1/0/4"),
    _obs("/1/0/1"), _obs("/1/0/0"),
)
"""Links after the /3/0 entries of a full Register body."""
