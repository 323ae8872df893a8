"""Who is trusted, and with which certificate: the trust store read through the trust mode, the
link port's root list, pin checks and identity alerts.

Every other part of the peer network asks here before it believes a certificate, dials a peer
or serves a call, so the rules live in one place: a device is trusted when the store has it
(and, in allowlist_only, the allowlist still names it); a certificate is believed only if it
is the one pinned for its ID, and a different one raises an alert and is never let in. Writing
the store is the caller's (`save`): the network owns the file and its lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from kizuna_server.config import TrustMode
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import Payload
from kizuna_server.core.peers import PeerIdentityAlert
from kizuna_server.core.trust import (
    PeerNotTrusted,
    Permissions,
    PinCheck,
    TrustedPeer,
    TrustSource,
    TrustStore,
)
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.callers import caller, peer_host
from kizuna_server.p2p.tls import PeerCertificate, PeerIdentityMismatch

log = logging.getLogger(__name__)


class TrustGate:
    """The trust store under the trust mode, and the checks made against it. Loop-only, except
    `roots`, which grpc reads on its own threads."""

    def __init__(
        self,
        mode: TrustMode,
        allowlist: Iterable[str],
        publish: Callable[[Payload], None],
        save: Callable[[TrustStore], Awaitable[None]],
    ) -> None:
        self.mode = mode
        self._allowlist = frozenset(allowlist)
        self._publish = publish
        self._save = save
        #: Replaced by the store read from disk at start.
        self.store = TrustStore()
        #: The link port's root list: (generation, PEM certificates of the pinned, trusted
        #: peers); see `tls.link_server_credentials`.
        self.roots: tuple[int, bytes] = (0, b"")
        #: Peers paired in this run that have not yet shown they trust us: the other side may
        #: still be completing the pairing, so "not trusted" from them is not "forgotten".
        self.newly_paired: set[str] = set()

    def is_trusted(self, device_id: str) -> bool:
        if device_id not in self.store:
            return False
        return self.mode is not TrustMode.ALLOWLIST_ONLY or device_id in self._allowlist

    def linkable(self, device_id: str) -> bool:
        """Whether this daemon keeps a link to the device: a trusted one, or anyone in
        trust_all (where a link is how a stranger gets trusted)."""
        return self.is_trusted(device_id) or self.mode is TrustMode.TRUST_ALL

    def permissions_of(self, device_id: str) -> Permissions | None:
        """A trusted peer's permissions; None for a device that is not trusted."""
        peer = self.store.get(device_id)
        return peer.permissions if peer is not None and self.is_trusted(device_id) else None

    def trust_allowlist(self) -> None:
        """In allowlist_only, trusts each listed ID the store does not have yet (its
        certificate is pinned at first contact)."""
        if self.mode is TrustMode.ALLOWLIST_ONLY:
            for device_id in self._allowlist - {p.device_id for p in self.store}:
                self.store.trust(
                    TrustedPeer(device_id, "", TrustSource.ALLOWLIST, time.time(), Permissions())
                )

    def refresh_roots(self) -> None:
        pems = b"".join(
            p.certificate_pem.encode()
            for p in self.store
            if p.pinned and self.is_trusted(p.device_id)
        )
        self.roots = (self.roots[0] + 1, pems)

    async def changed(self) -> None:
        """Re-lists the link port's roots and saves the store (atomically, off the loop)."""
        self.refresh_roots()
        await self._save(TrustStore(list(self.store)))

    def alert(self, peer_id: str, pinned: str, presented: str, address: str) -> None:
        log.warning(
            "peer %s at %s presented certificate %s but %s is pinned: refused",
            peer_id,
            address,
            presented,
            pinned,
        )
        self._publish(PeerIdentityAlert(peer_id, pinned, presented, address))

    def refuse_impostor(self, cert: PeerCertificate, address: str) -> None:
        """Raises PeerIdentityMismatch (and alerts) when `cert` is not the pinned one of its ID;
        nothing is sent to such a device."""
        if self.store.check(cert.device_id, cert.fingerprint) is PinCheck.MISMATCH:
            pinned = self.store.require(cert.device_id).fingerprint
            self.alert(cert.device_id, pinned, cert.fingerprint, address)
            raise PeerIdentityMismatch(
                f"the device at {address} claims to be {format_device_id(cert.device_id)} but "
                "its certificate differs from the pinned one; the pin was kept",
                peer_id=cert.device_id,
                address=address,
            )

    async def accept(self, cert: PeerCertificate, address: str, *, name: str) -> bool:
        """Checks a certificate against the trust store; pins it where the store allows.

        Raises PeerNotTrusted (or PeerIdentityMismatch) when it is not let in. Returns whether
        the device was trusted just now (trust_all: a stranger, kept under `name`), which its
        peer-table entry then reports.
        """
        check = self.store.check(cert.device_id, cert.fingerprint)
        if check is PinCheck.TRUSTED and self.is_trusted(cert.device_id):
            return False
        if check is PinCheck.MISMATCH:
            self.refuse_impostor(cert, address)
        if check is PinCheck.UNPINNED and self.is_trusted(cert.device_id):
            self.store.pin(cert.device_id, certificate_pem=cert.pem, fingerprint=cert.fingerprint)
            await self.changed()
            return False
        if check is PinCheck.UNKNOWN and self.mode is TrustMode.TRUST_ALL:
            self.store.trust(
                TrustedPeer(
                    cert.device_id,
                    name,
                    TrustSource.AUTO,
                    time.time(),
                    Permissions(),
                    cert.pem,
                    cert.fingerprint,
                )
            )
            await self.changed()
            return True
        raise PeerNotTrusted(cert.device_id)

    def authorize(self, context: Any) -> KizunaError | None:
        """The link port's check on every call: the caller's certificate is a pinned one."""
        cert = caller(context)
        if cert is None:
            return PeerNotTrusted("")
        check = self.store.check(cert.device_id, cert.fingerprint)
        if check is PinCheck.TRUSTED and self.is_trusted(cert.device_id):
            return None
        if check is PinCheck.MISMATCH:
            pinned = self.store.require(cert.device_id).fingerprint
            self.alert(cert.device_id, pinned, cert.fingerprint, peer_host(context))
            return PeerIdentityMismatch("the certificate differs from the pinned one")
        return PeerNotTrusted(cert.device_id)
