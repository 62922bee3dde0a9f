"""Reading the plaintext parts of a TLS 1.2 handshake (ClientHello, ServerHello) in tests."""

from __future__ import annotations

from dataclasses import dataclass, field

EXT_SERVER_NAME = 0
EXT_SUPPORTED_GROUPS = 10
EXT_SIGNATURE_ALGORITHMS = 13
EXT_ALPN = 16
EXT_SUPPORTED_VERSIONS = 43
EXT_RENEGOTIATION_INFO = 0xFF01
SUITE_CCM8 = 0xC0AE
SCSV_RENEGOTIATION = 0x00FF
GROUP_SECP256R1 = 23


@dataclass
class ClientHello:
    """What a ClientHello offers."""

    version: int
    suites: list[int]
    extensions: dict[int, bytes] = field(default_factory=dict)

    def u16_list(self, ext: int, skip: int = 2) -> list[int]:
        """A list of 16-bit values inside an extension (after its length prefix)."""
        data = self.extensions[ext][skip:]
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


def first_handshake_message(records: bytes) -> bytes:
    """The body of the first handshake message in a run of TLS records (type byte first)."""
    assert records[0] == 22, f"not a handshake record: {records[:5].hex()}"
    length = int.from_bytes(records[3:5], "big")
    return records[5:5 + length]


def parse_client_hello(records: bytes) -> ClientHello:
    """Parse the ClientHello at the start of `records`."""
    msg = first_handshake_message(records)
    assert msg[0] == 1, "not a ClientHello"
    body = msg[4:]
    version = int.from_bytes(body[0:2], "big")
    pos = 2 + 32
    pos += 1 + body[pos]  # session id
    n = int.from_bytes(body[pos:pos + 2], "big")
    suites = [int.from_bytes(body[pos + 2 + i:pos + 4 + i], "big") for i in range(0, n, 2)]
    pos += 2 + n
    pos += 1 + body[pos]  # compression methods
    extensions: dict[int, bytes] = {}
    end = pos + 2 + int.from_bytes(body[pos:pos + 2], "big")
    pos += 2
    while pos < end:
        kind = int.from_bytes(body[pos:pos + 2], "big")
        size = int.from_bytes(body[pos + 2:pos + 4], "big")
        extensions[kind] = body[pos + 4:pos + 4 + size]
        pos += 4 + size
    return ClientHello(version, suites, extensions)


def server_hello_time(records: bytes) -> tuple[int, int]:
    """(gmt_unix_time from ServerHello.random[0:4], chosen suite) of a server's first flight."""
    msg = first_handshake_message(records)
    assert msg[0] == 2, "not a ServerHello"
    body = msg[4:]
    random = body[2:34]
    sid = body[34]
    suite = int.from_bytes(body[35 + sid:37 + sid], "big")
    return int.from_bytes(random[:4], "big"), suite
