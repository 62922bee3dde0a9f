"""The bootstrap writes the client accepts: PUT/DELETE of /0, /1, /3 and Bootstrap-Finish."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiocoap import Code, Message

from harness.client.console import (
    DETAILS_BS_DELETE_FAILED,
    DETAILS_BS_FINISH_FAILED,
    DETAILS_BS_PUT_FAILED,
    DETAILS_NO_SECURITY_OBJECT,
)
from harness.client.errors import ClientError
from harness.client.failures import Failure
from harness.lwm2m import tlv
from harness.lwm2m.ids import (
    DEVICE,
    SECURITY,
    SERVER,
    ContentFormat,
    Device,
    Security,
)
from harness.sim.client.router import Router, numeric_path, path_of
from harness.sim.client.security_object import TRUE, ObjectModel, Resources, WriteRefused

TLV_FORMATS = (ContentFormat.TLV, ContentFormat.LEGACY_TLV)
DEVICE_STORED = (Device.CURRENT_TIME, Device.UTC_OFFSET, Device.TIMEZONE)
ACCESS_CONTROL = 2
INVALID_SECURITY_OBJECT = "Invalid security object"


@dataclass
class BootstrapData:
    """What the client holds during bootstrap: its /0 and /1 objects and stored /3 values."""

    objects: ObjectModel
    device: Resources = field(default_factory=dict)

    @property
    def security(self) -> dict[int, Resources]:
        """The security instances by id."""
        return self.objects.security

    def lwm2m_instance(self) -> Resources | None:
        """The LwM2M server's security instance (Bootstrap-Server false, with a URI)."""
        return self.objects.lwm2m_instance()

    def bootstrap_instance(self) -> Resources | None:
        """The bootstrap server's security instance."""
        return self.objects.bootstrap_instance()


class BootstrapSite:
    """Serves the bootstrap server's writes and finish; `done` is set on finish or failure."""

    def __init__(self, bootstrap_uri: str, lwm2m_instance: int, network: str) -> None:
        """Start with the instances the client creates itself (/0/<lwm2m_instance> empty, /0/1
        bootstrap)."""
        self.data = BootstrapData(ObjectModel.at_start(bootstrap_uri, lwm2m_instance))
        self.psk = network == "udp"
        """The TCP build's validate_security_object calls PSK (mode 0) an unknown security mode
        (tests/peers/test_peer_pdmc_psk_account.py); the udp build takes it."""
        self.failure: Failure | None = None
        self.done = asyncio.Event()
        self.site = Router(self.handle)

    def _fail(self, failure: Failure) -> None:
        if self.failure is None:
            self.failure = failure
        self.done.set()

    async def handle(self, request: Message) -> Message:
        """Answer one server request."""
        if self.failure is not None:
            # the real client closes the connection after the request it refused: nothing that
            # arrives before the close is answered (tests/peers/test_peer_pdmc_bootstrap_paths.py)
            await asyncio.Event().wait()
        segments = path_of(request)
        text = "/".join(segments)
        if request.code == Code.POST:
            if segments == ("bs",):
                return self._finish()
            # an Execute is no Bootstrap operation: the real client answers 4.00, reports
            # `BS FIN fails :<path>` and closes (tests/peers/test_peer_pdmc_bootstrap_paths.py)
            self._fail(Failure(ClientError.ConnectBootstrapFailed,
                               DETAILS_BS_FINISH_FAILED.format(reason=text)))
            return Message(code=Code.BAD_REQUEST)
        path = numeric_path(segments)
        if request.code == Code.PUT:
            return self._put(request, path, text)
        if request.code == Code.DELETE:
            return self._delete(path, text)
        if request.code == Code.GET and path is not None and len(path) <= 1 \
                and (not path or path[0] in (SECURITY, SERVER)):
            # Bootstrap-Discover (OMA LwM2M 1.1.1 Core §5.2.7.3): the objects and instances
            return Message(code=Code.CONTENT, content_format=ContentFormat.LINK_FORMAT,
                           payload=self.data.objects.discover(path[0] if path else None).encode())
        return Message(code=Code.METHOD_NOT_ALLOWED)

    def _finish(self) -> Message:
        # the real client validates /0 after each security write, not at Finish: a Finish with
        # its own empty /0/0 untouched is answered 2.04 (tests/peers/test_peer_pdmc_bootstrap_config.py);
        # with no LwM2M-server instance left (a Delete of /0 after the writes) it is 4.00
        # (tests/peers/test_peer_pdmc_bootstrap_paths.py)
        if all(r.get(Security.BOOTSTRAP_SERVER) == TRUE for r in self.data.security.values()):
            self._fail(Failure(ClientError.ConnectBootstrapFailed, DETAILS_NO_SECURITY_OBJECT))
            return Message(code=Code.BAD_REQUEST)
        self.done.set()
        return Message(code=Code.CHANGED)

    def _put(self, request: Message, path: tuple[int, ...] | None, text: str) -> Message:
        failure = Failure(ClientError.ConnectBootstrapFailed, DETAILS_BS_PUT_FAILED.format(path=text))
        if not path or len(path) > 3 or request.opt.content_format not in TLV_FORMATS:
            self._fail(failure)
            return Message(code=Code.BAD_REQUEST)
        try:
            self._apply(path, bytes(request.payload))
        except (tlv.TlvError, WriteRefused, ValueError):
            self._fail(failure)
            return Message(code=Code.BAD_REQUEST)
        except LookupError:
            return Message(code=Code.NOT_FOUND)
        if path[0] == SECURITY and not (self.data.objects.valid()
                                        and (self.psk or not self._psk_written())):
            # validate_security_object runs after every security write
            self._fail(Failure(ClientError.ConnectBootstrapFailed,
                               DETAILS_BS_FINISH_FAILED.format(reason=INVALID_SECURITY_OBJECT)))
            return Message(code=Code.BAD_REQUEST)
        return Message(code=Code.CHANGED)

    def _psk_written(self) -> bool:
        """Some security instance holds Security Mode 0 (PSK)."""
        modes = [i.get(Security.SECURITY_MODE) for i in self.data.security.values()]
        return any(isinstance(m, bytes) and m and not any(m) for m in modes)

    def _apply(self, path: tuple[int, ...], payload: bytes) -> None:
        obj = path[0]
        if obj == ACCESS_CONTROL:  # the real client refuses /2 writes: 4.00, BS PUT fails (measured)
            raise WriteRefused("no Access Control object")
        if obj in (SECURITY, SERVER):
            self.data.objects.write(path, payload)
            return
        if obj != DEVICE:
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
        for resources in instances.values():
            self.data.device.update({r: v for r, v in resources.items() if r in DEVICE_STORED})

    def _delete(self, path: tuple[int, ...] | None, text: str) -> Message:
        if path is None or len(path) > 2:
            self._fail(Failure(ClientError.ConnectBootstrapFailed,
                               DETAILS_BS_DELETE_FAILED.format(path=text)))
            return Message(code=Code.BAD_REQUEST)
        # no Delete touches /1/0, / and /1 included: what was written into it stays
        # (tests/peers/test_peer_pdmc_bootstrap_paths.py)
        if not path or (path[0] == SECURITY and len(path) == 1):
            self.data.objects.delete_servers()
        elif path[0] == SECURITY:
            self.data.objects.delete_servers(path[1])
        return Message(code=Code.DELETED)
