"""The wiretap's cheap peer text is aiocoap's own hostinfo for every udp6 address shape."""

import pytest
from aiocoap.transports.udp6 import UDP6EndpointAddress

from harness.cloud.wiretap import _peer


@pytest.mark.parametrize("sockaddr", [("::ffff:127.0.0.1", 40000, 0, 0), ("::ffff:10.1.2.3", 5683, 0, 0),
                                      ("::1", 40000, 0, 0), ("2001:db8::1", 61616, 0, 0)])
def test_peer_text_matches_aiocoaps_hostinfo(sockaddr):
    class Interface:  # hostinfo only needs the address; the remote keeps a weak reference
        pass

    interface = Interface()
    remote = UDP6EndpointAddress(sockaddr, interface)
    assert _peer(remote) == remote.hostinfo
