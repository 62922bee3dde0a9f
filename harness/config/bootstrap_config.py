"""A bootstrap configuration: what the bootstrap server does to a client before Bootstrap-Finish.

The vocabulary of the well-known LwM2M bootstrap servers (Leshan's BootstrapConfig: toDelete,
security / servers, autoIdForSecurityObject; Wakaama's bootstrap server config: `boot
deleting` then `server` sections) and OMA LwM2M 1.1.1 Core §5.2.7:

- `discover`: Bootstrap-Discover of `/`, `/0` or `/1` (§5.2.7.3), in order; an instance or a
  resource of /0 or /1 (`/0/<i>`, `/1/<i>/<r>`) too, which §5.2.7.3 does not allow (a client's
  answer to a server that sends one);
- `delete`: Bootstrap-Delete of `/`, `/0`, `/1` or one instance `/0/<i>`, `/1/<i>` (§5.2.7.5); a
  resource (`/0/<i>/<r>`, `/1/<i>/<r>`) too, which §5.2.7.5 does not allow;
- `write`: how the LwM2M server account is written (§5.2.7.4): `instance` = PUT /0/<i> and
  /1/0 with an object-instance TLV (updates the listed resources); `resources` = the same paths
  with a bare resource list (a client replaces the instance with it); `none` = no account;
- `extra_writes`: further Bootstrap-Writes of one resource each, e.g. `/3/0/14` (UTC offset) or
  `/1/0/1` (lifetime), sent after the account and before Bootstrap-Finish;
- `instance_writes`: Bootstrap-Writes of one object instance each (`/0/<i>` Security, `/1/<i>`
  Server, `/2/<i>` Access Control or `/3/0` Device) with an object-instance TLV of the listed
  resources, after the extra writes;
- `delete_after_writes`: Bootstrap-Delete these paths (as `delete`) once the writes are done;
- `discover_after_writes`: Bootstrap-Discover these paths (as `discover`) after that, before
  Bootstrap-Finish: what the client now holds (its answer is in the bootstrap event);
- `rewrite_security`: then write the account's security instance (`/0/<i>`) once more, so a
  client whose account a `delete_after_writes` removed has one again at Bootstrap-Finish.

Unset (`discover`/`delete` None, `write: instance`, no extra writes) is the service's default
sequence: nothing before the writes for the Device Management Client (it sends `mccv=`), and for
a standard client Discover `/0`, Delete the LwM2M accounts found and `/1`
(harness/cloud/bootstrap_standard.py). A configuration is chosen per account (admin API
`PUT /admin/v1/accounts/{aid}/bootstrap-config`) or per service (`service: bootstrap_config:`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from harness.config.common import StrictModel

DISCOVER_PATHS = ("/", "/0", "/1")
"""The paths OMA LwM2M Core §5.2.7.3 lets a Bootstrap-Discover name."""
_DISCOVER = re.compile(r"^/(?:[01](?:/\d{1,5}){0,2})?$")
_DELETE = re.compile(r"^/(?:[01](?:/\d{1,5}){0,2})?$")
_RESOURCE = re.compile(r"^/([0-3])/(\d{1,5})/(\d{1,5})$")
_ANY_RESOURCE = re.compile(r"^/\d{1,5}/\d{1,5}/\d{1,5}$")
_INSTANCE = re.compile(r"^/([0-3])/(\d{1,5})$")
Scalar = StrictBool | StrictInt | StrictStr


class ExtraWrite(StrictModel):
    """One Bootstrap-Write of one resource: `/obj/inst/res` (objects 0 to 3) and its value."""

    path: str
    value: Scalar

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _RESOURCE.match(value):
            raise ValueError(f"extra write path {value!r} is not a resource of /0, /1, /2 or /3; "
                             "write it as /<object>/<instance>/<resource>, e.g. /3/0/14")
        return value

    def ids(self) -> tuple[int, int, int]:
        """(object, instance, resource)."""
        match = _RESOURCE.match(self.path)
        assert match is not None  # checked when the model was made
        obj, instance, resource = (int(g) for g in match.groups())
        return obj, instance, resource


class InstanceWrite(StrictModel):
    """One Bootstrap-Write of one object instance, `/0/<i>`, `/1/<i>`, `/2/<i>` or `/3/0`: resource
    id -> value."""

    path: str
    values: dict[int, Scalar] = Field(min_length=1)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _INSTANCE.match(value):
            raise ValueError(f"instance write path {value!r} is not an instance of /0, /1, /2 or /3; "
                             "write it as /<object>/<instance>, e.g. /3/0")
        return value

    def ids(self) -> tuple[int, int]:
        """(object, instance)."""
        match = _INSTANCE.match(self.path)
        assert match is not None  # checked when the model was made
        return int(match.group(1)), int(match.group(2))


class BootstrapConfig(StrictModel):
    """What the bootstrap server sends before Bootstrap-Finish (unset = the default sequence)."""

    discover: list[str] | None = Field(None, description="Bootstrap-Discover these paths first "
                                       "(/, /0, /1); none = the default for the client")
    delete: list[str] | None = Field(None, description="Bootstrap-Delete these paths (/, /0, /1, "
                                     "/0/<i>, /1/<i>, or a resource of them); none = the default "
                                     "for the client")
    write: Literal["instance", "resources", "none"] = Field(
        "instance", description="the LwM2M account as object-instance TLV, as bare resource "
                                "lists, or not at all")
    extra_writes: list[ExtraWrite] = Field([], description="one-resource writes after the account")
    instance_writes: list[InstanceWrite] = Field([], description="object-instance writes of /0/<i>, "
                                                 "/1/<i>, /2/<i> or /3/0 after the extra writes")
    execute: list[str] = Field([], description="Execute (POST) these resources after the writes "
                               "(/<object>/<instance>/<resource>): not an operation of the "
                               "Bootstrap interface, a negative test of the client")
    delete_after_writes: list[str] = Field([], description="Bootstrap-Delete these paths (as "
                                           "`delete`) after the writes")
    discover_after_writes: list[str] = Field([], description="Bootstrap-Discover these paths "
                                             "(as `discover`) after the writes, before Finish")
    rewrite_security: StrictBool = Field(False, description="write the account's security "
                                         "instance once more after those, before Finish")

    @field_validator("discover", "discover_after_writes")
    @classmethod
    def _discover(cls, value: list[str] | None) -> list[str] | None:
        for path in value or []:
            if not _DISCOVER.match(path):
                raise ValueError(f"discover path {path!r} cannot be discovered at bootstrap; use "
                                 f"{', '.join(DISCOVER_PATHS)} or an instance or resource of /0 "
                                 "or /1 (/0/<i>, /1/<i>/<r>)")
        return value

    @field_validator("execute")
    @classmethod
    def _execute(cls, value: list[str]) -> list[str]:
        for path in value:
            if not _ANY_RESOURCE.match(path):
                raise ValueError(f"execute path {path!r} is not a resource; write it as "
                                 "/<object>/<instance>/<resource>, e.g. /1/0/8")
        return value

    @field_validator("delete", "delete_after_writes")
    @classmethod
    def _delete(cls, value: list[str] | None) -> list[str] | None:
        for path in value or []:
            if not _DELETE.match(path):
                raise ValueError(f"delete path {path!r} is not /, /0, /1 or an instance or "
                                 "resource of them (/0/<i>, /1/<i>/<r>); use one of those")
        return value

    @model_validator(mode="after")
    def _rewrite(self) -> BootstrapConfig:
        if self.rewrite_security and self.write == "none":
            raise ValueError("rewrite_security needs an account to write again; set write to "
                             "instance or resources, or drop rewrite_security")
        return self

    @property
    def is_default(self) -> bool:
        """True when this is the service's default sequence."""
        return self == BootstrapConfig()
