"""mDNS discovery: announce this daemon and browse for others (`_kizuna._tcp.local.`).

python-zeroconf's asyncio API on the daemon's loop. What is found is a hint (`Announcement`),
handed to the peer network, which believes it only once a TLS handshake matched the ID.
Removal reasons: a goodbye packet (the peer stopped) or expiry (nothing confirmed the peer's
records within their TTL, which every daemon sets to its `discovery.timeout_secs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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

from kizuna_server.core.device_id import DEVICE_ID_LENGTH, parse_device_id
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.errors import InvalidArgument

log = logging.getLogger(__name__)

SERVICE_TYPE: Final = "_kizuna._tcp.local."
#: How long to wait for a found service's records.
RESOLVE_TIMEOUT_MS: Final = 3000
#: Largest TXT value kept (names are truncated further by the peer table).
_MAX_TXT_VALUE: Final = 256


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


def parse_announcement(info: AsyncServiceInfo) -> Announcement | None:
    """The announcement in a resolved service, or None when it is not a usable Kizuna one."""
    props: dict[str, str] = {}
    for key, value in (info.properties or {}).items():
        if isinstance(key, bytes) and (value is None or isinstance(value, bytes)):
            props[key.decode("ascii", "replace").lower()] = (value or b"")[:_MAX_TXT_VALUE].decode(
                "utf-8", "replace"
            )
    try:
        device_id = parse_device_id(props.get("id", ""), field="id")
    except InvalidArgument:
        return None
    if not info.name.startswith(device_id[:16]):
        return None  # an instance name that does not match the ID it carries
    port = info.port or 0
    pairing = props.get("pp", "")
    return Announcement(
        service_name=info.name,
        device_id=device_id,
        name=props.get("name", ""),
        device_type=props.get("type", ""),
        protocol_version=int(props["pv"]) if props.get("pv", "").isdigit() else 0,
        link_port=port,
        pairing_port=int(pairing) if pairing.isdigit() and int(pairing) < 65536 else port + 1,
        addresses=tuple(info.parsed_scoped_addresses()),
    )


class _GoodbyeListener(RecordUpdateListener):
    """Notes which Kizuna instances sent a goodbye (a PTR record with TTL 0)."""

    def __init__(self) -> None:
        self.goodbyes: set[str] = set()

    def async_update_records(self, zc: Zeroconf, now: float, records: list[RecordUpdate]) -> None:
        for update in records:
            record: DNSRecord = update.new
            if record.type == _TYPE_PTR and record.ttl == 0 and record.name == SERVICE_TYPE:
                self.goodbyes.add(getattr(record, "alias", ""))


class Discovery:
    """Announces this daemon and reports other daemons' announcements.

    `on_found(announcement)` runs when a service appears or changes, `on_lost(device_id,
    reason)` when it said goodbye ("goodbye") or stopped answering ("expired"). Both run on the
    event loop. A failure to start (no usable interface, multicast refused) leaves the
    subsystem FAILED with the reason; the daemon keeps running for static peers.
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
        self._goodbyes = _GoodbyeListener()
        self._found: dict[str, str] = {}  # service name -> device ID
        self._resolving: set[asyncio.Task[None]] = set()
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
        zc = self._zc.zeroconf
        zc.async_add_listener(self._goodbyes, None)
        self._browser = AsyncServiceBrowser(zc, SERVICE_TYPE, handlers=[self._on_change])
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
        tasks = [t for t in (self._refresh, *self._resolving) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._zc is not None:
            if self._browser is not None:
                await self._browser.async_cancel()
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

    # --- internals ----------------------------------------------------------------------------

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
        """Marks gone the services whose records expired and that no longer answer."""
        assert self._zc is not None
        for service_name, device_id in list(self._found.items()):
            info = AsyncServiceInfo(SERVICE_TYPE, service_name)
            if info.load_from_cache(self._zc.zeroconf):
                continue
            if await info.async_request(self._zc.zeroconf, RESOLVE_TIMEOUT_MS):
                continue
            if self._found.pop(service_name, None) is not None:
                self._on_lost(device_id, "expired")

    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            device_id = self._found.pop(name, None)
            reason = "goodbye" if name in self._goodbyes.goodbyes else "expired"
            self._goodbyes.goodbyes.discard(name)
            if device_id is not None:
                self._on_lost(device_id, reason)
            return
        self._goodbyes.goodbyes.discard(name)
        task = asyncio.get_running_loop().create_task(self._resolve(zeroconf, name))
        self._resolving.add(task)
        task.add_done_callback(self._resolving.discard)

    async def _resolve(self, zeroconf: Zeroconf, name: str) -> None:
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(zeroconf, RESOLVE_TIMEOUT_MS):
            return
        announcement = parse_announcement(info)
        if announcement is None or announcement.device_id == self._device_id:
            return
        if len(announcement.device_id) != DEVICE_ID_LENGTH:
            return
        self._found[name] = announcement.device_id
        self._on_found(announcement)


def _is_loopback(adapter: Any) -> bool:
    return all(
        (ip.ip if isinstance(ip.ip, str) else ip.ip[0]) in ("::1",)
        or (isinstance(ip.ip, str) and ip.ip.startswith("127."))
        for ip in adapter.ips
    )


def _link_local(ip: Any) -> bool:
    address = ip if isinstance(ip, str) else ip[0]
    return address.startswith("fe80") or address.startswith("169.254.")
