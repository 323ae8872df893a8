"""Who is calling on a peer port: the caller's address and certificate, read from grpc's
servicer context.

The link port's guard, Hello, Introduce and Pair all start here; these readers never raise on
what a caller sends (a missing or malformed certificate is "nobody"), except where the
certificate is an argument of the call (`certificate_from_peer`).
"""

from __future__ import annotations

from typing import Any

from kizuna_server.errors import IdentityError, InvalidArgument, KizunaError
from kizuna_server.p2p.tls import PeerCertificate, PeerIdentityMismatch, caller_certificate


def caller(context: Any) -> PeerCertificate | None:
    """The certificate the caller showed in the mutual-TLS handshake, None if none usable."""
    try:
        return caller_certificate(context)
    except (KizunaError, IdentityError):
        return None


def peer_host(context: Any) -> str:
    """The caller's IP address from grpc's peer string ("ipv4:1.2.3.4:5", "ipv6:[::1]:5")."""
    peer = context.peer() or ""
    kind, _, rest = peer.partition(":")
    if kind == "ipv6" and rest.startswith("["):
        return rest[1:].partition("]")[0]
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    return ""


def certificate_from_peer(der: bytes, field: str) -> PeerCertificate:
    """A certificate sent as a message field; INVALID_ARGUMENT (naming `field`) if it is not
    a device certificate."""
    try:
        return PeerCertificate(der)
    except (IdentityError, PeerIdentityMismatch) as exc:
        raise InvalidArgument(f"{field}: not a device certificate ({exc})", field=field) from exc
