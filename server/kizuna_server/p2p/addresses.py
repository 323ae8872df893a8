"""Addresses people gave: static peers (discovery.static_peers) and AddPeer's, kept in
DATA/addresses.json when asked to persist.

Unlike an announcement, such an address may name any host and port: a person chose it (the
never-dial rules of #16 are for announcements). What answers there is believed once its
certificate hashes to a device ID (and is not an impostor of a pinned one): it becomes a
verified address of that device, and a link follows when the device is trusted. Static and
persisted addresses are resolved in the background at start, retrying with backoff until
something answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from kizuna_server.config import Config, parse_host_port
from kizuna_server.core.device_id import format_device_id
from kizuna_server.core.events import Payload
from kizuna_server.core.peers import (
    Address,
    PeerAddressInvalid,
    PeerLost,
    PeerSnapshot,
    Source,
    format_address,
)
from kizuna_server.core.trust import PeerNotFound
from kizuna_server.errors import KizunaError
from kizuna_server.files import write_file_atomically
from kizuna_server.p2p.links import FIRST_BACKOFF_SECS, Links, jitter
from kizuna_server.p2p.ports import may_dial
from kizuna_server.p2p.roster import Roster
from kizuna_server.p2p.tls import PeerIdentityMismatch
from kizuna_server.p2p.trust_gate import TrustGate

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 47120
ADDRESSES_FILE: Final = "addresses.json"


class PeerAlreadyExists(KizunaError):
    """AddPeer of an address already known for that peer."""

    reason = "PEER_ALREADY_EXISTS"


class AddressBook:
    """Static and added peer addresses, and the file that keeps the added ones. Loop-only.

    While `stopping()`, a static address that has not answered yet is no longer retried.
    """

    def __init__(
        self,
        config: Config,
        *,
        own_id: str,
        roster: Roster,
        gate: TrustGate,
        links: Links,
        publish: Callable[[Payload], None],
        stopping: Callable[[], bool],
    ) -> None:
        self._config = config
        self._own_id = own_id
        self._roster = roster
        self._gate = gate
        self._links = links
        self._publish = publish
        self._stopping = stopping
        self._ipv6 = config.networking.enable_ipv6
        self._path = config.paths.data_dir / ADDRESSES_FILE
        self._persisted: list[str] = []

    async def load(self) -> None:
        """Reads the added addresses kept by earlier runs (off the loop)."""
        self._persisted = await asyncio.to_thread(_load_addresses, self._path)

    def to_resolve(self) -> list[tuple[str, Source]]:
        """What to resolve at start: the static peers, then the added addresses kept."""
        static = [(text, Source.STATIC) for text in self._config.discovery.static_peers]
        return static + [(text, Source.MANUAL) for text in self._persisted]

    async def resolve(self, text: str, source: Source) -> None:
        """Learns which device listens at a static or persisted address, retrying with backoff."""
        try:
            host, port = parse_host_port(text, default_port=DEFAULT_PORT)
        except ValueError as exc:
            log.warning("peer address %r: %s", text, exc)
            return
        if not may_dial(host, ipv6=self._ipv6):
            log.warning(
                "peer address %s is IPv6 and networking.enable_ipv6 is false; ignored", text
            )
            return
        delay = FIRST_BACKOFF_SECS
        while not self._stopping():
            try:
                cert = await self._links.identify(host, port)
            except KizunaError as exc:
                log.info("static peer %s: %s; retrying in %.1fs", text, exc.message, delay)
                await asyncio.sleep(delay * jitter())
                delay = min(delay * 2, self._config.discovery.interval_secs)
                continue
            if cert.device_id == self._own_id:
                log.warning("static peer %s is this device; ignored", text)
                return
            try:
                self._gate.refuse_impostor(cert, text)
            except PeerIdentityMismatch as exc:
                log.warning("static peer %s: %s", text, exc.message)
                return
            try:
                entry = self._roster.entry(cert.device_id, source)
            except KizunaError as exc:
                log.warning("peer table: %s", exc.message)
                return
            entry.verified = True
            entry.reachable = True
            entry.last_seen = time.time()
            if entry.add_address(Address(host, port, source)) or not entry.reported:
                self._roster.updated(cert.device_id)
            with contextlib.suppress(KizunaError):  # to learn its name
                await self._links.introduce(Address(host, port, source), cert)
            self._links.want(cert.device_id)
            return

    async def add(self, text: str, *, persist: bool) -> PeerSnapshot:
        """AddPeer: dials the address, learns the device there, keeps the address."""
        try:
            host, port = parse_host_port(text.strip(), default_port=DEFAULT_PORT)
        except ValueError as exc:
            raise PeerAddressInvalid(f"address {text[:100]!r}: {exc}", address=text[:100]) from exc
        if not 1 <= port <= 65534:
            raise PeerAddressInvalid(f"address {text[:100]!r}: port out of range", address=text)
        if not may_dial(host, ipv6=self._ipv6):
            raise PeerAddressInvalid(
                f"address {text[:100]!r} is IPv6 and networking.enable_ipv6 is false",
                address=text[:100],
            )
        cert = await self._links.identify(host, port)
        if cert.device_id == self._own_id:
            raise PeerAddressInvalid(f"{text} is this device", address=text)
        self._gate.refuse_impostor(cert, format_address(host, port))
        entry = self._roster.entry(cert.device_id, Source.MANUAL)
        known = any((a.host, a.port) == (host, port) for a in entry.addresses)
        if known and any(
            (a.host, a.port, a.source) == (host, port, Source.MANUAL) for a in entry.addresses
        ):
            raise PeerAlreadyExists(
                f"{format_address(host, port)} is already added for "
                f"{format_device_id(cert.device_id)}",
                peer_id=cert.device_id,
            )
        entry.addresses = [a for a in entry.addresses if (a.host, a.port) != (host, port)]
        entry.add_address(Address(host, port, Source.MANUAL))
        entry.verified = True
        entry.reachable = True
        entry.last_seen = time.time()
        with contextlib.suppress(KizunaError):  # only to learn its name; the link checks again
            await self._links.introduce(Address(host, port, Source.MANUAL), cert)
        if persist and format_address(host, port) not in self._persisted:
            self._persisted.append(format_address(host, port))
            await asyncio.to_thread(_save_addresses, self._path, list(self._persisted))
        self._roster.updated(cert.device_id)
        self._links.want(cert.device_id)
        return self._roster.snapshot(cert.device_id)

    async def remove(self, device_id: str) -> None:
        """RemovePeer: drops the entry and its added addresses; trust is kept."""
        entry = self._roster.table.get(device_id)
        if entry is None:
            raise PeerNotFound(device_id)
        await self._links.close(device_id)
        snapshot = self._roster.snapshot(device_id)
        self._roster.table.remove(device_id)
        mine = {str(a) for a in entry.addresses if a.source is Source.MANUAL}
        if mine & set(self._persisted):
            self._persisted = [a for a in self._persisted if a not in mine]
            await asyncio.to_thread(_save_addresses, self._path, list(self._persisted))
        self._publish(PeerLost(snapshot, "removed"))


def _load_addresses(path: Path) -> list[str]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        log.warning("%s cannot be read (%s); added peer addresses are not restored", path, exc)
        return []
    addresses = document.get("addresses") if isinstance(document, dict) else None
    if not isinstance(addresses, list):
        return []
    return [a for a in addresses if isinstance(a, str)][:256]


def _save_addresses(path: Path, addresses: list[str]) -> None:
    data = json.dumps({"version": 1, "addresses": addresses}, indent=2) + "\n"
    write_file_atomically(path, data.encode(), mode=0o600)
