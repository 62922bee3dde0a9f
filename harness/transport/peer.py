"""Who is at the other end of a request: the identity a secure transport established.

Every request's remote answers `peer_identity(remote)`; the servers' policies read that and
never guess from the transport kind (a DTLS peer without a certificate is a PSK peer, not NoSec).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IdentityKind = Literal["certificate", "psk", "none"]


@dataclass(frozen=True)
class PeerIdentity:
    """How the peer authenticated: an X.509 certificate (DER), a PSK identity, or nothing (NoSec)."""

    kind: IdentityKind
    certificate: bytes | None = None
    psk_identity: str | None = None

    @property
    def is_nosec(self) -> bool:
        """True only for a peer on an unsecured transport."""
        return self.kind == "none"

    def __repr__(self) -> str:  # no certificate bytes in logs
        extra = f", psk_identity={self.psk_identity!r}" if self.psk_identity else ""
        return f"PeerIdentity({self.kind}{extra})"


NOSEC = PeerIdentity("none")


def peer_identity(remote: object) -> PeerIdentity:
    """The identity a request's remote carries (remotes of plain udp/tcp-length: NoSec)."""
    identity = getattr(remote, "identity", None)
    return identity if isinstance(identity, PeerIdentity) else NOSEC
