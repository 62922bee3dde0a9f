"""Certificate chains in the item store: DER certificates concatenated, leaf first."""

from __future__ import annotations


def split_der_chain(data: bytes) -> list[bytes]:
    """Split concatenated DER SEQUENCEs (a stored cert or chain); ValueError if malformed."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if data[pos] != 0x30 or pos + 2 > len(data):
            raise ValueError(f"no DER SEQUENCE at offset {pos}")
        first = data[pos + 1]
        header = 2
        if first & 0x80:
            n = first & 0x7F
            if n == 0 or n > 4 or pos + 2 + n > len(data):
                raise ValueError(f"bad DER length at offset {pos}")
            length = int.from_bytes(data[pos + 2: pos + 2 + n], "big")
            header += n
        else:
            length = first
        end = pos + header + length
        if end > len(data):
            raise ValueError(f"DER element at offset {pos} is truncated")
        out.append(data[pos:end])
        pos = end
    if not out:
        raise ValueError("no certificate")
    return out


def join_der_chain(certs: list[bytes]) -> bytes:
    """Store form of a chain: the DER certificates concatenated, leaf first."""
    return b"".join(certs)
