"""TLS for the peer ports: credentials, channel options, and reading a peer's certificate.

Facts this builds on (FACTS.md): grpcio's server credentials either verify client certificates
against a root list or do not request them, so the link port lists the pinned certificates as
roots (and changes that list between handshakes) while the pairing port asks for none; the
caller's leaf certificate is in the auth context; clients pin one peer certificate and use its
device ID (the SAN) as the TLS target name.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any, Final

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from kizuna_server.core.device_id import format_device_id
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.identity import (
    Identity,
    certificate_fingerprint,
    check_device_certificate,
    device_id_of_certificate,
)

#: A TLS handshake (or a plain certificate fetch) that takes longer is abandoned.
HANDSHAKE_TIMEOUT_SECS: Final = 5.0
#: Keepalive: a ping every 10 s on an idle link, dead after 5 s without an answer.
KEEPALIVE_TIME_MS: Final = 10_000
KEEPALIVE_TIMEOUT_MS: Final = 5_000
#: Largest message between daemons on the link port (transfers send 1 MiB chunks).
MAX_LINK_MESSAGE_BYTES: Final = 8 * 1024 * 1024


class PeerUnreachable(KizunaError):
    """Nothing answered at the peer's addresses, or the handshake failed (metadata: `address`)."""

    reason = "PEER_UNREACHABLE"


class PeerIdentityMismatch(KizunaError):
    """A device presented a certificate that does not belong to the ID it was expected to have."""

    reason = "PEER_IDENTITY_MISMATCH"


class PeerCertificate:
    """A peer's certificate, checked to be a device certificate, with the ID it proves."""

    def __init__(self, der: bytes) -> None:
        try:
            self.certificate = x509.load_der_x509_certificate(der)
        except ValueError as exc:
            raise PeerIdentityMismatch(f"the peer's certificate cannot be parsed: {exc}") from exc
        check_device_certificate(self.certificate)  # IdentityError names the defect
        self.der = der
        self.device_id = device_id_of_certificate(self.certificate)
        self.fingerprint = certificate_fingerprint(self.certificate)
        self.pem = self.certificate.public_bytes(Encoding.PEM).decode()

    def expect(self, device_id: str, address: str) -> None:
        """Raises PeerIdentityMismatch unless this certificate proves `device_id`."""
        if self.device_id != device_id:
            raise PeerIdentityMismatch(
                f"the device at {address} is {format_device_id(self.device_id)}, not "
                f"{format_device_id(device_id)}",
                peer_id=device_id,
                presented_id=self.device_id,
                address=address,
            )


def caller_certificate(context: Any) -> PeerCertificate | None:
    """The certificate the caller presented in the TLS handshake, or None (or IdentityError)."""
    auth = context.auth_context()
    pems = auth.get("x509_pem_cert") or []
    return _parsed(bytes(pems[0])) if pems else None


def caller_id(context: Any) -> str:
    """The device ID of a link call's caller. Only for calls the link guard let through, which
    checked the certificate against the pins."""
    cert = caller_certificate(context)
    assert cert is not None  # the link guard let only pinned callers through
    return cert.device_id


@functools.lru_cache(maxsize=256)
def _parsed(pem: bytes) -> PeerCertificate | None:
    """Each link call names its caller's certificate; parsing it once per certificate (not per
    call) halves the cost of the per-call pin check. Keyed by the exact bytes, so a different
    certificate is always parsed and checked afresh."""
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return None
    return PeerCertificate(cert.public_bytes(Encoding.DER))


async def fetch_certificate(
    host: str, port: int, *, limit: float = HANDSHAKE_TIMEOUT_SECS, ipv4_only: bool = False
) -> bytes:
    """The certificate a peer port presents, read with a plain TLS handshake (nothing is sent).

    Works on the link port too: TLS 1.3 servers send their certificate before they see ours.
    `ipv4_only` (networking.enable_ipv6 false) resolves a host name to IPv4 addresses only.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the certificate is checked against the ID afterwards
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.set_alpn_protocols(["h2"])
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        async with asyncio.timeout(limit):
            reader, writer = await asyncio.open_connection(
                host,
                port,
                ssl=context,
                ssl_handshake_timeout=limit,
                family=socket.AF_INET if ipv4_only else socket.AF_UNSPEC,
            )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise PeerUnreachable(
            f"no Kizuna peer answered at {address}: {exc or 'timed out'}", address=address
        ) from exc
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
        try:
            async with asyncio.timeout(1):
                await writer.wait_closed()
        except (OSError, TimeoutError, ssl.SSLError):
            pass
    del reader
    if not der:
        raise PeerUnreachable(f"the service at {address} presented no certificate", address=address)
    return bytes(der)


def pairing_server_credentials(identity: Identity) -> grpc.ServerCredentials:
    """The pairing port: server authentication only."""
    return grpc.ssl_server_credentials(
        [(identity.private_key_pem, identity.certificate_pem)], require_client_auth=False
    )


def link_server_credentials(
    identity: Identity, roots: Callable[[], tuple[int, bytes]]
) -> grpc.ServerCredentials:
    """The link port: client certificates required, verified against `roots()`.

    `roots()` returns (generation, concatenated PEM certificates of the pinned peers); it is
    called on gRPC's threads before each handshake, and a new root list is built only when the
    generation changed. The device's own certificate is always listed, so the list is never
    empty (and it cannot sign anything: KeyUsage forbids it).
    """
    key_pair = [(identity.private_key_pem, identity.certificate_pem)]
    current = [-1]

    def configuration(pems: bytes) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            key_pair, root_certificates=identity.certificate_pem + pems
        )

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        generation, pems = roots()
        if generation == current[0]:
            return None
        current[0] = generation
        return configuration(pems)

    generation, pems = roots()
    current[0] = generation
    # The stubs say the fetcher may not return None; grpc documents None as "no change".
    fetcher: Any = fetch
    return grpc.dynamic_ssl_server_credentials(
        configuration(pems), fetcher, require_client_authentication=True
    )


def link_channel_options(device_id: str) -> Sequence[tuple[str, Any]]:
    """Options for a channel to a peer's link port."""
    return (
        ("grpc.ssl_target_name_override", device_id.lower()),
        ("grpc.default_authority", device_id.lower()),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_receive_message_length", MAX_LINK_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_LINK_MESSAGE_BYTES),
        # One connection per peer: a channel of its own, never shared with another peer's.
        ("grpc.use_local_subchannel_pool", 1),
        ("grpc.enable_retries", 0),
        ("grpc.initial_reconnect_backoff_ms", 500),
        ("grpc.max_reconnect_backoff_ms", 10_000),
    )


def link_channel_credentials(identity: Identity, peer_pem: str) -> grpc.ChannelCredentials:
    """Mutual TLS to one peer: only its pinned certificate is accepted."""
    return grpc.ssl_channel_credentials(
        root_certificates=peer_pem.encode(),
        private_key=identity.private_key_pem,
        certificate_chain=identity.certificate_pem,
    )


def pairing_channel_credentials(peer_pem: str) -> grpc.ChannelCredentials:
    """TLS to a peer's pairing port, pinned to the certificate read from it."""
    return grpc.ssl_channel_credentials(root_certificates=peer_pem.encode())
