"""The bootstrap writes the client accepts: PUT/DELETE of /0, /1, /3 and Bootstrap-Finish."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiocoap import Code, Message

from harness.lwm2m import tlv
from harness.lwm2m.ids import DEVICE, SECURITY, SERVER, ContentFormat, Device, Security
from harness.sim.client.error_map import Failure
from harness.sim.client.router import Router, numeric_path, path_of
from harness.sim.console_text import (
    DETAILS_BS_DELETE_FAILED,
    DETAILS_BS_PUT_FAILED,
    ClientError,
)

TLV_FORMATS = (ContentFormat.TLV, ContentFormat.LEGACY_TLV)
DEVICE_STORED = (Device.CURRENT_TIME, Device.UTC_OFFSET, Device.TIMEZONE)
ACCESS_CONTROL = 2

Resources = dict[int, "bytes | dict[int, bytes]"]


@dataclass
class BootstrapData:
    """What the bootstrap server wrote so far (raw TLV values per resource)."""

    # the client's own bootstrap-server instance /0/0 exists before any write (made from its
    # factory credentials), so a PUT /0/0/0 (First-to-Claim: new bootstrap URI) updates it
    security: dict[int, Resources] = field(
        default_factory=lambda: {0: {Security.BOOTSTRAP_SERVER: b"\x01"}})
    server: Resources = field(default_factory=dict)
    device: Resources = field(default_factory=dict)

    def bootstrap_instance(self) -> int | None:
        """The security instance of the bootstrap server (resource 1 true), if written."""
        for iid, res in self.security.items():
            if res.get(Security.BOOTSTRAP_SERVER) == b"\x01":
                return iid
        return None

    def lwm2m_instance(self) -> Resources | None:
        """The security instance of the LwM2M server (resource 1 false or absent, with a URI)."""
        for _iid, res in sorted(self.security.items()):
            if res.get(Security.BOOTSTRAP_SERVER) != b"\x01" and res.get(Security.SERVER_URI):
                return res
        return None


class BootstrapSite:
    """Serves the bootstrap server's writes and finish; `done` is set on finish or failure."""

    def __init__(self) -> None:
        """Start with nothing written."""
        self.data = BootstrapData()
        self.finished = False
        self.failure: Failure | None = None
        self.done = asyncio.Event()
        self.site = Router(self.handle)

    def _fail(self, failure: Failure) -> None:
        if self.failure is None:
            self.failure = failure
        self.done.set()

    async def handle(self, request: Message) -> Message:
        """Answer one server request."""
        segments = path_of(request)
        if request.code == Code.POST and segments == ("bs",):
            self.finished = True
            self.done.set()
            return Message(code=Code.CHANGED)
        path = numeric_path(segments)
        text = "/".join(segments)
        if request.code == Code.PUT:
            return self._put(request, path, text)
        if request.code == Code.DELETE:
            return self._delete(path, text)
        return Message(code=Code.METHOD_NOT_ALLOWED)

    def _put(self, request: Message, path: tuple[int, ...] | None, text: str) -> Message:
        failure = Failure(ClientError.ConnectBootstrapFailed, DETAILS_BS_PUT_FAILED.format(path=text))
        if not path or len(path) > 3 or request.opt.content_format not in TLV_FORMATS:
            self._fail(failure)
            return Message(code=Code.BAD_REQUEST)
        try:
            self._apply(path, bytes(request.payload))
        except (tlv.TlvError, KeyError, ValueError):
            self._fail(failure)
            return Message(code=Code.BAD_REQUEST)
        except LookupError:
            return Message(code=Code.NOT_FOUND)
        return Message(code=Code.CHANGED)

    def _apply(self, path: tuple[int, ...], payload: bytes) -> None:
        obj = path[0]
        if obj == ACCESS_CONTROL:
            return  # accepted and ignored, like a client without ACL enforcement
        if obj not in (SECURITY, SERVER, DEVICE):
            raise LookupError(obj)
        if len(path) == 1:
            instances = tlv.decode_instances(payload)
        else:
            resources = tlv.decode_resources(payload)
            if len(path) == 3:
                if path[2] not in resources:
                    raise KeyError(path[2])
                resources = {path[2]: resources[path[2]]}
            instances = {path[1]: resources}
        for iid, resources in instances.items():
            if obj == SECURITY:
                self.data.security.setdefault(iid, {}).update(resources)
            elif obj == SERVER:
                self.data.server.update(resources)
            else:
                self.data.device.update({r: v for r, v in resources.items() if r in DEVICE_STORED})

    def _delete(self, path: tuple[int, ...] | None, text: str) -> Message:
        if path is None or len(path) > 2:
            self._fail(Failure(ClientError.ConnectBootstrapFailed,
                               DETAILS_BS_DELETE_FAILED.format(path=text)))
            return Message(code=Code.BAD_REQUEST)
        if not path:
            self.data.security = {iid: res for iid, res in self.data.security.items()
                                  if res.get(Security.BOOTSTRAP_SERVER) == b"\x01"}
            self.data.server = {}
        elif path[0] == SECURITY and len(path) == 1:
            self.data.security = {iid: res for iid, res in self.data.security.items()
                                  if res.get(Security.BOOTSTRAP_SERVER) == b"\x01"}
        elif path[0] == SECURITY:
            self.data.security.pop(path[1], None)
        elif path[0] == SERVER:
            self.data.server = {}
        return Message(code=Code.DELETED)
