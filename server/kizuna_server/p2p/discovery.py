"""mDNS discovery: announce this daemon and browse for others (`_kizuna._tcp.local.`).

python-zeroconf's asyncio API on the daemon's loop. What is found is a hint (`Announcement`),
handed to the peer network, which believes it only once a TLS handshake matched the ID.
Removal reasons: a goodbye packet (the peer stopped) or expiry (nothing confirmed the peer's
records within their TTL, which every daemon sets to its `discovery.timeout_secs`).
Anyone on the LAN can send anything (THREATS #17): a record that does not parse is ignored,
and what is kept is bounded (MAX_SERVICES services, MAX_RESOLVING lookups at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import ifaddr
from zeroconf import (
    BadTypeInNameException,
    IPVersion,
    NonUniqueNameException,
    RecordUpdateListener,
    ServiceStateChange,
    Zeroconf,
)
from zeroconf._dns import DNSRecord
from zeroconf._record_update import RecordUpdate
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf
from zeroconf.const import _TYPE_PTR

from kizuna_server.core.device_id import parse_device_id
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.errors import InvalidArgument

log = logging.getLogger(__name__)

SERVICE_TYPE: Final = "_kizuna._tcp.local."
#: How long to wait for a found service's records.
RESOLVE_TIMEOUT_MS: Final = 3000
#: Kizuna services tracked at once (the default `networking.max_peers`). A new one beyond
#: this pushes out the service heard from least recently, which is reported lost ("expired") so
#: the peer table can let it go too: a flood of fake announcements cannot grow memory or keep
#: fakes "online" for ever, and a real peer pushed out is found again at its next announcement.
MAX_SERVICES: Final = 256
#: Services looked up over the network at once (each sends queries for up to
#: RESOLVE_TIMEOUT_MS); a service found while all are busy is looked up when next announced.
MAX_RESOLVING: Final = 16
#: Addresses kept from one announcement (the peer table keeps fewer).
MAX_ANNOUNCED_ADDRESSES: Final = 16
#: Largest TXT value kept (names are truncated further by the peer table).
_MAX_TXT_VALUE: Final = 256
#: Largest protocol version believed (the API's field is a uint32).
_MAX_PROTOCOL_VERSION: Final = 0xFFFF_FFFF
_TXT_KEYS: Final = frozenset({"id", "name", "type", "pv", "pp"})
#: What an instance name starts with: the first 16 characters of a device ID (base32).
_INSTANCE_PREFIX: Final = re.compile(r"[A-Z2-7]{16}")


@dataclass(frozen=True, slots=True)
class Announcement:
    """What a peer announced; nothing here is believed until its certificate matches `device_id`."""

    service_name: str
    device_id: str
    name: str
    device_type: str
    protocol_version: int
    link_port: int
    pairing_port: int
    addresses: tuple[str, ...]


def instance_name(device_id: str) -> str:
    """The service instance name: the ID's first 16 characters (stable, unique, not personal)."""
    return f"{device_id[:16]}.{SERVICE_TYPE}"


def is_instance_name(name: str) -> bool:
    """Whether `name` has the shape of a Kizuna instance name (see `instance_name`)."""
    prefix, _, service_type = name.partition(".")
    return service_type == SERVICE_TYPE and _INSTANCE_PREFIX.fullmatch(prefix) is not None


def parse_announcement(info: AsyncServiceInfo) -> Announcement | None:
    """The announcement in a resolved service, or None when it is not a usable Kizuna one.

    Everything in it came from the network: values are cut to their limits, numbers are ASCII
    digits in range (anything else counts as absent), and the instance name must be the one the
    announced ID gives.
    """
    props: dict[str, str] = {}
    for key, value in (info.properties or {}).items():
        if isinstance(key, bytes) and (value is None or isinstance(value, bytes)):
            name = key.decode("ascii", "replace").lower()
            if name in _TXT_KEYS:
                props[name] = (value or b"")[:_MAX_TXT_VALUE].decode("utf-8", "replace")
    try:
        device_id = parse_device_id(props.get("id", ""), field="id")
    except InvalidArgument:
        return None
    if info.name != instance_name(device_id):
        return None  # an instance name that does not match the ID it carries
    port = info.port or 0
    pairing = _number(props.get("pp", ""), 65535)
    return Announcement(
        service_name=info.name,
        device_id=device_id,
        name=props.get("name", ""),
        device_type=props.get("type", ""),
        protocol_version=_number(props.get("pv", ""), _MAX_PROTOCOL_VERSION) or 0,
        link_port=port,
        pairing_port=pairing if pairing is not None else (port + 1) % 65536,
        addresses=tuple(info.parsed_scoped_addresses()[:MAX_ANNOUNCED_ADDRESSES]),
    )


def _number(text: str, largest: int) -> int | None:
    """A number written in ASCII digits and at most `largest`, else None.

    `str.isdigit` alone is not enough: it accepts "²", which `int` refuses.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(largest)):
        return None
    value = int(text)
    return value if value <= largest else None


class _PointerWatch(RecordUpdateListener):
    """Watches the PTR records of `SERVICE_TYPE` for what the browser does not report.

    Goodbyes (TTL 0) of tracked services, so that their removal is reported as "goodbye"
    rather than "expired"; and re-announcements (a PTR record already cached, heard again),
    which keep a tracked service fresh or bring back one that was not tracked.
    """

    def __init__(self, discovery: Discovery) -> None:
        self._discovery = discovery
        self.goodbyes: set[str] = set()
        self._heard: list[str] = []

    def async_update_records(self, zc: Zeroconf, now: float, records: list[RecordUpdate]) -> None:
        for update in records:
            record: DNSRecord = update.new
            # The browser matches the type exactly too (zeroconf's possible_types).
            if record.type != _TYPE_PTR or record.name != SERVICE_TYPE:
                continue
            alias = getattr(record, "alias", "")
            if record.ttl == 0:
                if self._discovery._tracks(alias):  # only these: the set stays bounded
                    self.goodbyes.add(alias)
            elif update.old is not None and len(self._heard) < MAX_SERVICES:
                self._heard.append(alias)

    def async_update_records_complete(self) -> None:
        # The cache holds the new records by now.
        heard, self._heard = self._heard, []
        for name in heard:
            self._discovery._heard(name)


class Discovery:
    """Announces this daemon and reports other daemons' announcements.

    `on_found(announcement)` runs when a service appears or changes, `on_lost(device_id,
    reason)` when it said goodbye ("goodbye"), stopped answering, or was pushed out by
    `max_services` services heard from more recently ("expired"). Both run on the event loop,
    often inside zeroconf's handling of a packet: what they raise is logged there. A failure
    to start (no usable interface, multicast refused) leaves the subsystem FAILED with the
    reason; the daemon keeps running for static peers.
    """

    def __init__(
        self,
        *,
        device_id: str,
        name: str,
        device_type: str,
        protocol_version: int,
        link_port: int,
        pairing_port: int,
        interfaces: Sequence[str],
        ipv4: bool,
        ipv6: bool,
        interval: float,
        ttl: int,
        on_found: Callable[[Announcement], None],
        on_lost: Callable[[str, str], None],
        max_services: int = MAX_SERVICES,
    ) -> None:
        self._device_id = device_id
        self._txt = {
            "id": device_id,
            "name": name[:64],
            "type": device_type,
            "pv": str(protocol_version),
            "pp": str(pairing_port),
        }
        self._link_port = link_port
        self._interface_names = tuple(interfaces)
        self._ipv4 = ipv4
        self._ipv6 = ipv6
        self._interval = interval
        self._ttl = ttl
        self._on_found = on_found
        self._on_lost = on_lost
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._info: AsyncServiceInfo | None = None
        self._max_services = max_services
        self._watch = _PointerWatch(self)
        self._zeroconf: Zeroconf | None = None
        #: Service name -> device ID, the service heard from least recently first.
        self._found: dict[str, str] = {}
        #: Service name -> its lookup over the network.
        self._resolving: dict[str, asyncio.Task[None]] = {}
        self._refresh: asyncio.Task[None] | None = None
        self.state = SubsystemState.STARTING
        self.detail = "starting"
        self.announced_at: float | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Opens the mDNS sockets and starts browsing; announcing continues in the background."""
        try:
            interfaces, where = self._interfaces()
        except LookupError as exc:
            self._fail(str(exc))
            return
        version = (
            IPVersion.All
            if self._ipv4 and self._ipv6
            else IPVersion.V4Only
            if self._ipv4
            else IPVersion.V6Only
        )
        try:
            self._zc = AsyncZeroconf(interfaces=interfaces, ip_version=version)
        except OSError as exc:
            self._fail(f"cannot open mDNS sockets on {where}: {exc.strerror or exc}")
            return
        self._browse(self._zc.zeroconf)
        self._info = AsyncServiceInfo(
            SERVICE_TYPE,
            instance_name(self._device_id),
            port=self._link_port,
            properties=self._txt,
            server=f"kizuna-{self._device_id[:16].lower()}.local.",
            addresses=self._own_addresses(interfaces),
            host_ttl=self._ttl,
            other_ttl=self._ttl,
        )
        self.state = SubsystemState.RUNNING
        self.detail = f"browsing {SERVICE_TYPE} on {where}; announcing"
        self._where = where
        self._refresh = asyncio.get_running_loop().create_task(self._announce_and_refresh())

    async def stop(self) -> None:
        """Says goodbye (peers mark this daemon gone at once) and closes the sockets."""
        # Nothing starts lookups once the browser and the watch are gone.
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        if self._zeroconf is not None:
            self._zeroconf.async_remove_listener(self._watch)
            self._zeroconf = None
        tasks = [t for t in (self._refresh, *self._resolving.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._zc is not None:
            if self.announced_at is not None and self._info is not None:
                with contextlib.suppress(Exception):
                    # The goodbye is a task of its own: wait for it to be sent before closing.
                    await (await self._zc.async_unregister_service(self._info))
            await self._zc.async_close()
            self._zc = None
        self.state = SubsystemState.STOPPED

    def subsystem(self) -> Subsystem:
        """The discovery subsystem for NodeService."""
        detail = self.detail
        if self.state is SubsystemState.RUNNING:
            peers = len(self._found)
            detail = f"{detail}; {peers} peer{'s' if peers != 1 else ''} announced"
        return Subsystem("discovery", self.state, detail)

    def _tracks(self, name: str) -> bool:
        """Whether the service `name` is among those found and not lost since."""
        return name in self._found

    def _heard(self, name: str) -> None:
        """A service's PTR record was announced again: keep it fresh, or look it up if new to us."""
        device_id = self._found.pop(name, None)
        if device_id is not None:
            self._found[name] = device_id  # now the most recently heard
        elif self._zeroconf is not None:
            self._look_up(self._zeroconf, name)

    # --- internals ----------------------------------------------------------------------------

    def _browse(self, zc: Zeroconf) -> None:
        """Starts browsing on `zc`, whose sockets are open. Event loop only."""
        self._zeroconf = zc
        zc.async_add_listener(self._watch, None)
        self._browser = AsyncServiceBrowser(zc, SERVICE_TYPE, handlers=[self._on_change])

    def _fail(self, why: str) -> None:
        self.state = SubsystemState.FAILED
        self.detail = f"{why}; peers on other subnets can still be added with 'kizuna peers add'"
        log.error("mDNS discovery is off: %s", why)

    def _interfaces(self) -> tuple[Any, str]:
        """The zeroconf interface choice and a description of it."""
        families = "+".join(f for f, on in (("IPv4", self._ipv4), ("IPv6", self._ipv6)) if on)
        adapters = {a.nice_name: a for a in ifaddr.get_adapters()}
        names = list(self._interface_names)
        if not names:
            # Every interface but loopback: peers are on other machines.
            names = sorted(name for name, a in adapters.items() if not _is_loopback(a))
            if not names:
                raise LookupError("no network interface other than loopback is up")
        chosen: list[Any] = []
        missing = [name for name in names if name not in adapters]
        if missing:
            raise LookupError(
                f"no interface named {', '.join(missing)} (have: {', '.join(sorted(adapters))})"
            )
        for name in names:
            for ip in adapters[name].ips:
                if (isinstance(ip.ip, str) and self._ipv4) or (
                    isinstance(ip.ip, tuple) and self._ipv6
                ):
                    chosen.append(ip.ip)
        if not chosen:
            raise LookupError(f"{', '.join(names)} has no {families} address")
        which = "all interfaces: " if not self._interface_names else ""
        return chosen, f"{which}{', '.join(names)}, {families}"

    def _own_addresses(self, interfaces: list[Any]) -> list[str] | None:
        """The addresses announced: those of the chosen interfaces, link-local ones left out."""
        return [ip if isinstance(ip, str) else ip[0] for ip in interfaces if not _link_local(ip)]

    async def _announce_and_refresh(self) -> None:
        """Registers (RFC 6762 probing first), then every interval re-announces and re-checks."""
        assert self._zc is not None and self._info is not None
        try:
            await (await self._zc.async_register_service(self._info, strict=False))
        except NonUniqueNameException:
            self._fail(f"another device already announces {self._info.name}")
            return
        except (OSError, BadTypeInNameException) as exc:
            self._fail(f"cannot announce: {exc}")
            return
        self.announced_at = time.monotonic()
        self.detail = f"announcing and browsing {SERVICE_TYPE} on {self._where}"
        while True:
            await asyncio.sleep(self._interval)
            with contextlib.suppress(OSError):
                await self._zc.async_update_service(self._info)
            await self._check_expired()

    async def _check_expired(self) -> None:
        """Marks gone the services whose records expired and that no longer answer.

        Those are asked again MAX_RESOLVING at a time, so even MAX_SERVICES silent ones take a
        bounded time (the next announcement of this daemon waits for the check).
        """
        assert self._zc is not None
        zc = self._zc.zeroconf
        missing = [
            name
            for name in self._found
            if not AsyncServiceInfo(SERVICE_TYPE, name).load_from_cache(zc)
        ]
        slots = asyncio.Semaphore(MAX_RESOLVING)

        async def answers(name: str) -> bool:
            async with slots:
                return await AsyncServiceInfo(SERVICE_TYPE, name).async_request(
                    zc, RESOLVE_TIMEOUT_MS
                )

        answered = await asyncio.gather(*(answers(name) for name in missing))
        for name, alive in zip(missing, answered, strict=True):
            if not alive:
                self._forget(name, "expired")

    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            self._forget(name, "goodbye" if name in self._watch.goodbyes else "expired")
            return
        self._watch.goodbyes.discard(name)
        self._look_up(zeroconf, name)

    def _look_up(self, zeroconf: Zeroconf, name: str) -> None:
        """Reads the service `name` from the cache, or asks for it (at most MAX_RESOLVING at once).

        The browser reports any name a PTR record of our type points at: names that are not
        Kizuna instance names are never looked up (nor sent queries for).
        """
        if name in self._resolving or not is_instance_name(name):
            return
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if info.load_from_cache(zeroconf):
            self._accept(name, info)
            return
        if len(self._resolving) >= MAX_RESOLVING:
            return
        task = asyncio.get_running_loop().create_task(self._resolve(zeroconf, name, info))
        self._resolving[name] = task
        task.add_done_callback(lambda done: self._resolved(name, done))

    async def _resolve(self, zeroconf: Zeroconf, name: str, info: AsyncServiceInfo) -> None:
        if await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS):
            self._accept(name, info)

    def _resolved(self, name: str, task: asyncio.Task[None]) -> None:
        if self._resolving.get(name) is task:
            del self._resolving[name]
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("looking up %s failed", name, exc_info=error)

    def _accept(self, name: str, info: AsyncServiceInfo) -> None:
        """Tracks and reports a resolved service, pushing out the least recently heard if full."""
        announcement = parse_announcement(info)
        if announcement is None or announcement.device_id == self._device_id:
            return
        known = self._found.pop(name, None)
        if known is not None and known != announcement.device_id:
            # The same instance name now carries another ID (its first 16 characters match).
            self._report_lost(known, "expired")
        while self._found and len(self._found) >= self._max_services:
            self._forget(next(iter(self._found)), "expired")
        self._found[name] = announcement.device_id
        try:
            self._on_found(announcement)
        except Exception:
            # This runs inside zeroconf's handling of a packet: never let it break that.
            log.exception("handling the announcement of %s failed", announcement.device_id)

    def _forget(self, name: str, reason: str) -> None:
        """Stops tracking `name` and reports its device lost, if it was tracked."""
        self._watch.goodbyes.discard(name)
        device_id = self._found.pop(name, None)
        if device_id is not None:
            self._report_lost(device_id, reason)

    def _report_lost(self, device_id: str, reason: str) -> None:
        try:
            self._on_lost(device_id, reason)
        except Exception:
            log.exception("handling the loss of %s failed", device_id)


def _is_loopback(adapter: Any) -> bool:
    return all(
        (ip.ip if isinstance(ip.ip, str) else ip.ip[0]) in ("::1",)
        or (isinstance(ip.ip, str) and ip.ip.startswith("127."))
        for ip in adapter.ips
    )


def _link_local(ip: Any) -> bool:
    address = ip if isinstance(ip, str) else ip[0]
    return address.startswith("fe80") or address.startswith("169.254.")
