"""The UDP multicast beacon: announce this daemon and hear others beside mDNS (enable_udp).

For networks that filter mDNS: a small datagram ("KZB1" + kizuna.peer.v1.Beacon) to 239.255.71.20
and ff02::4b20 on discovery.udp_port, every discovery.interval_secs, at start and as a goodbye at
stop. What is heard is the same hint an mDNS announcement is (`Announcement`), handed to the peer
network, which believes the ID only once a TLS handshake matched it. Anyone on the LAN can send
anything (THREATS #16, #17): datagrams are size-capped and read at a bounded rate per source and
in all, parsing never raises, our own beacons are ignored, and what is tracked is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import struct
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import ifaddr

from kizuna_server.core.device_id import parse_device_id
from kizuna_server.core.node import SubsystemState
from kizuna_server.errors import InvalidArgument
from kizuna_server.p2p.discovery import MAX_ANNOUNCED_ADDRESSES, MAX_SERVICES, Announcement
from kizuna_server.p2p.wire import beacon_pb2

log = logging.getLogger(__name__)

GROUP_V4: Final = "239.255.71.20"
GROUP_V6: Final = "ff02::4b20"
#: What every beacon datagram starts with (then the Beacon message).
MAGIC: Final = b"KZB1"
#: Largest datagram read (and sent): a beacon with 16 IPv6 addresses and a 64-character name is
#: about 500 bytes. Larger ones are dropped unread.
MAX_BEACON_BYTES: Final = 1024
#: Longest time a beacon may ask to be kept (the configuration's largest timeout_secs).
MAX_TTL_SECS: Final = 86_400
#: Datagrams read per second from one source address (a burst of SOURCE_BURST is allowed): a
#: daemon sends one per interval per interface and family, and answers a newcomer at once.
SOURCE_RATE: Final = 4.0
SOURCE_BURST: Final = 8.0
#: Datagrams read per second from all sources together (spoofed sources share this budget).
TOTAL_RATE: Final = 200.0
TOTAL_BURST: Final = 400.0
#: Source addresses whose rate is tracked; the one heard from least recently makes room.
MAX_SOURCES: Final = 1024
#: A device already heard is passed on to the peer network at most this often (its hints are
#: refreshed, a trusted peer in backoff is re-dialled): a flood of beacons claiming one ID
#: cannot make this daemon dial at the flood's rate.
MIN_REPORT_SECS: Final = 1.0
#: A newcomer's beacon is answered with ours at once, at most this often (so two daemons find
#: each other without waiting an interval, and fake newcomers cannot make us flood the LAN).
ANSWER_SECS: Final = 1.0
#: Goodbyes are sent this many times (a lost one would leave peers waiting for the TTL).
GOODBYE_COPIES: Final = 2
_MAX_NAME: Final = 256
_MAX_TYPE: Final = 16
# Linux: a socket bound to the port would otherwise also get groups other sockets joined.
_IP_MULTICAST_ALL: Final = getattr(socket, "IP_MULTICAST_ALL", 49)
_IPV6_MULTICAST_ALL: Final = getattr(socket, "IPV6_MULTICAST_ALL", 29)


# --- the wire format (bytes in, values out; no sockets) -----------------------------------------


@dataclass(frozen=True, slots=True)
class Heard:
    """One parsed beacon: what it announces and for how long (`ttl` 0: a goodbye)."""

    announcement: Announcement
    ttl: int


def encode_beacon(
    *,
    device_id: str,
    name: str,
    device_type: str,
    protocol_version: int,
    link_port: int,
    pairing_port: int,
    addresses: Sequence[str],
    ttl: int,
) -> bytes:
    """A beacon datagram. Link-local IPv6 addresses (meaningless without a scope) are left out;
    addresses are dropped from the end until the datagram fits MAX_BEACON_BYTES."""
    packed = [
        ip.packed
        for ip in (ipaddress.ip_address(a.partition("%")[0]) for a in addresses)
        if not (ip.version == 6 and ip.is_link_local)
    ][:MAX_ANNOUNCED_ADDRESSES]
    message = beacon_pb2.Beacon(
        device_id=device_id,
        name=name[:64],
        device_type=device_type[:_MAX_TYPE],
        protocol_version=protocol_version,
        link_port=link_port,
        pairing_port=pairing_port,
        addresses=packed,
        ttl_secs=ttl,
    )
    data = MAGIC + message.SerializeToString()
    while len(data) > MAX_BEACON_BYTES and message.addresses:
        del message.addresses[-1]
        data = MAGIC + message.SerializeToString()
    return data


def parse_beacon(data: bytes, source: str) -> Heard | None:
    """The beacon in a datagram from `source` (an IP address), or None when it is not a usable
    one. Never raises: anything on the LAN can reach this.

    Strings are cut to their limits, the ID must be a device ID, the link port 1-65535, and at
    most MAX_ANNOUNCED_ADDRESSES well-formed addresses are read (link-local IPv6 ones, which
    need a scope, are skipped); a beacon naming none is taken to come from `source`.
    """
    if len(data) > MAX_BEACON_BYTES or not data.startswith(MAGIC):
        return None
    message = beacon_pb2.Beacon()
    try:
        message.ParseFromString(data[len(MAGIC) :])
    except Exception:  # DecodeError, and whatever else garbage may provoke: never crash here
        return None
    try:
        device_id = parse_device_id(message.device_id[:64], field="device_id")
    except InvalidArgument:
        return None
    if not 1 <= message.link_port <= 65535:
        return None
    pairing = message.pairing_port
    addresses: list[str] = []
    for raw in message.addresses[:MAX_ANNOUNCED_ADDRESSES]:
        if len(raw) not in (4, 16):
            continue
        ip = ipaddress.ip_address(raw)
        if not (ip.version == 6 and ip.is_link_local):
            addresses.append(str(ip))
    return Heard(
        Announcement(
            service_name="",
            device_id=device_id,
            name=message.name[:_MAX_NAME],
            device_type=message.device_type[:_MAX_TYPE],
            protocol_version=message.protocol_version,
            link_port=message.link_port,
            pairing_port=pairing if 1 <= pairing <= 65535 else (message.link_port + 1) % 65536,
            addresses=tuple(addresses) or (source,),
        ),
        min(message.ttl_secs, MAX_TTL_SECS),
    )


class RateLimit:
    """Token buckets per source address and for all sources together; time is passed in.

    At most `max_sources` sources are tracked: a new one pushes out the one heard from least
    recently (which then starts again with a full bucket; the total budget still holds).
    """

    def __init__(
        self,
        *,
        rate: float = SOURCE_RATE,
        burst: float = SOURCE_BURST,
        total_rate: float = TOTAL_RATE,
        total_burst: float = TOTAL_BURST,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        self._rate, self._burst = rate, burst
        self._total_rate, self._total_burst = total_rate, total_burst
        self._max_sources = max_sources
        self._sources: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._total: tuple[float, float] | None = None

    def __len__(self) -> int:
        return len(self._sources)

    def allow(self, source: str, now: float) -> bool:
        """Whether one more datagram from `source` may be read now (and counts it if so)."""
        total = _refill(self._total, now, self._total_rate, self._total_burst)
        own = _refill(self._sources.pop(source, None), now, self._rate, self._burst)
        while len(self._sources) >= self._max_sources:
            self._sources.popitem(last=False)
        allowed = total[0] >= 1.0 and own[0] >= 1.0
        if allowed:
            total, own = (total[0] - 1.0, now), (own[0] - 1.0, now)
        self._total = total
        self._sources[source] = own
        return allowed


def _refill(
    bucket: tuple[float, float] | None, now: float, rate: float, burst: float
) -> tuple[float, float]:
    """(tokens, when) after refilling `bucket` up to `now`; a new bucket is full."""
    if bucket is None:
        return burst, now
    tokens, then = bucket
    return min(burst, tokens + max(0.0, now - then) * rate), now


# --- the beacon ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Device:
    """A device whose beacon was heard: until when it counts as there, what it said, and when
    it was last passed on to the peer network."""

    expires: float
    announcement: Announcement
    reported: float


@dataclass(frozen=True, slots=True)
class _Interface:
    name: str
    index: int
    ipv4: tuple[str, ...]
    ipv6: tuple[str, ...]


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, beacon: Beacon) -> None:
        self._beacon = beacon

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        try:
            self._beacon.received(data, str(addr[0]))
        except Exception:  # a bug here must not stop the transport from reading
            log.exception("handling a beacon from %s failed", addr[0])

    def error_received(self, exc: Exception) -> None:
        log.debug("beacon socket: %s", exc)


class Beacon:
    """Sends this daemon's beacon and reports the beacons of others.

    `on_found(announcement)` runs for a device heard for the first time, and again at most every
    MIN_REPORT_SECS while it keeps sending; `on_lost(device_id, reason)` when it said goodbye
    ("goodbye"), was not heard within the TTL its beacon gave ("expired"), or was pushed out by
    `max_devices` devices heard from more recently ("expired"). Both run on the event loop. A
    failure to start (no usable interface, the port or the group refused) leaves the beacon
    FAILED with the reason; the daemon keeps running.
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
        port: int,
        interval: float,
        ttl: int,
        on_found: Callable[[Announcement], None],
        on_lost: Callable[[str, str], None],
        max_devices: int = MAX_SERVICES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._device_id = device_id
        self._clock = clock
        self._encode = functools.partial(
            encode_beacon,
            device_id=device_id,
            name=name,
            device_type=device_type,
            protocol_version=protocol_version,
            link_port=link_port,
            pairing_port=pairing_port,
        )
        self._interface_names = tuple(interfaces)
        self._ipv4 = ipv4
        self._ipv6 = ipv6
        self.port = port
        self._interval = interval
        self._ttl = ttl
        self._on_found = on_found
        self._on_lost = on_lost
        self._max_devices = max_devices
        self._limit = RateLimit()
        #: Device ID -> what it said; the device heard from least recently first.
        self._heard: OrderedDict[str, _Device] = OrderedDict()
        self._interfaces: list[_Interface] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._senders: dict[int, socket.socket] = {}
        self._payload = b""
        self._task: asyncio.Task[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._expiry_at = 0.0
        self._answered = -ANSWER_SECS
        self._where = ""
        self.state = SubsystemState.STARTING
        self.detail = "starting"
        #: Datagrams dropped by the rate limit, and those read that were not usable beacons.
        self.dropped = 0
        self.ignored = 0

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Opens the sockets, joins the groups, sends the first beacon and starts listening."""
        try:
            self._interfaces, self._where = self._choose_interfaces()
        except LookupError as exc:
            self._fail(str(exc))
            return
        loop = asyncio.get_running_loop()
        receivers: list[socket.socket] = []
        try:
            for family in self._families():
                receivers.append(self._receiver(family))
                self._senders[family] = self._sender(family)
        except OSError as exc:
            for sock in (*receivers, *self._senders.values()):
                sock.close()
            self._senders.clear()
            self._fail(f"cannot open the UDP beacon on {self._where}: {exc.strerror or exc}")
            return
        for sock in receivers:
            transport, _ = await loop.create_datagram_endpoint(lambda: _Receiver(self), sock=sock)
            self._transports.append(transport)
        addresses = [a for i in self._interfaces for a in (*i.ipv4, *i.ipv6)]
        self._payload = self._encode(addresses=addresses, ttl=self._ttl)
        self.state = SubsystemState.RUNNING
        self.detail = f"UDP beacon on {self._where}, port {self.port}"
        self._task = loop.create_task(self._announce())

    async def stop(self) -> None:
        """Says goodbye (peers mark this daemon gone at once) and closes the sockets."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self.state in (SubsystemState.RUNNING, SubsystemState.DEGRADED):
            goodbye = self._encode(addresses=(), ttl=0)
            for _ in range(GOODBYE_COPIES):
                self._send(goodbye)
        for transport in self._transports:
            transport.close()
        self._transports.clear()
        for sock in self._senders.values():
            sock.close()
        self._senders.clear()
        if self.state is not SubsystemState.FAILED:
            self.state = SubsystemState.STOPPED

    def summary(self) -> str:
        """What the beacon does now, for the discovery subsystem's detail."""
        if self.state not in (SubsystemState.RUNNING, SubsystemState.DEGRADED):
            return self.detail
        heard = len(self._heard)
        return f"{self.detail}; {heard} peer{'s' if heard != 1 else ''} heard"

    # --- receiving ----------------------------------------------------------------------------

    def received(self, data: bytes, source: str) -> None:
        """One datagram from `source` (an IP address). Event loop only."""
        now = self._clock()
        if not self._limit.allow(source, now):
            self.dropped += 1
            return
        heard = parse_beacon(data, source)
        if heard is None:
            self.ignored += 1
            return
        announcement = heard.announcement
        if announcement.device_id == self._device_id:
            return  # our own, looped back
        if heard.ttl == 0:
            if self._heard.pop(announcement.device_id, None) is not None:
                self._report_lost(announcement.device_id, "goodbye")
            return
        known = self._heard.pop(announcement.device_id, None)
        while len(self._heard) >= self._max_devices:
            oldest, _ = self._heard.popitem(last=False)
            self._report_lost(oldest, "expired")
        report = known is None or now - known.reported >= MIN_REPORT_SECS
        reported = now if report or known is None else known.reported
        device = _Device(now + heard.ttl, announcement, reported)
        self._heard[announcement.device_id] = device
        self._schedule_expiry(device.expires)
        if known is None and now - self._answered >= ANSWER_SECS:
            self._answered = now
            self._send(self._payload)  # a newcomer learns of us without waiting an interval
        if report:
            try:
                self._on_found(announcement)
            except Exception:
                log.exception("handling the beacon of %s failed", announcement.device_id)

    def _schedule_expiry(self, when: float) -> None:
        """Makes sure `_expire` runs by `when` (clock time)."""
        if self._expiry is not None and self._expiry_at <= when:
            return
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry_at = when
        delay = max(0.0, when - self._clock())
        self._expiry = asyncio.get_running_loop().call_later(delay, self._expire)

    def _expire(self) -> None:
        """Reports the devices whose beacons were not heard within their TTL."""
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = None
        now = self._clock()
        for device_id in [d for d, device in self._heard.items() if device.expires <= now]:
            del self._heard[device_id]
            self._report_lost(device_id, "expired")
        if self._heard:
            self._schedule_expiry(min(device.expires for device in self._heard.values()))

    def _report_lost(self, device_id: str, reason: str) -> None:
        try:
            self._on_lost(device_id, reason)
        except Exception:
            log.exception("handling the loss of %s failed", device_id)

    # --- sending ------------------------------------------------------------------------------

    async def _announce(self) -> None:
        """The first beacon now, then one every interval."""
        while True:
            self._send(self._payload)
            await asyncio.sleep(self._interval)

    def _send(self, payload: bytes) -> None:
        """Sends `payload` out of every chosen interface, in every family. Never blocks: a
        datagram the kernel cannot take now is dropped (the next interval sends another)."""
        failures: list[str] = []
        sent = 0
        for interface in self._interfaces:
            sender = self._senders.get(socket.AF_INET)
            if sender is not None and interface.ipv4:
                try:
                    sender.setsockopt(
                        socket.IPPROTO_IP,
                        socket.IP_MULTICAST_IF,
                        socket.inet_aton(interface.ipv4[0]),
                    )
                    sender.sendto(payload, (GROUP_V4, self.port))
                    sent += 1
                except OSError as exc:
                    failures.append(f"{interface.name} IPv4: {exc.strerror or exc}")
            sender = self._senders.get(socket.AF_INET6)
            if sender is not None and interface.ipv6:
                try:
                    sender.sendto(payload, (GROUP_V6, self.port, 0, interface.index))
                    sent += 1
                except OSError as exc:
                    failures.append(f"{interface.name} IPv6: {exc.strerror or exc}")
        if self.state not in (SubsystemState.RUNNING, SubsystemState.DEGRADED):
            return
        if failures:
            why = "; ".join(failures)
            if self.detail.endswith(why):
                return
            log.warning("the UDP beacon cannot be sent on %s (%d sent)", why, sent)
            # Still listening: peers' beacons are heard even when ours cannot go out.
            self.state = SubsystemState.DEGRADED
            self.detail = f"UDP beacon on {self._where}, port {self.port}; cannot send on {why}"
        elif self.state is not SubsystemState.RUNNING:
            self.state = SubsystemState.RUNNING
            self.detail = f"UDP beacon on {self._where}, port {self.port}"

    # --- sockets ------------------------------------------------------------------------------

    def _families(self) -> list[socket.AddressFamily]:
        families = []
        if self._ipv4 and any(i.ipv4 for i in self._interfaces):
            families.append(socket.AF_INET)
        if self._ipv6 and any(i.ipv6 for i in self._interfaces):
            families.append(socket.AF_INET6)
        return families

    def _receiver(self, family: socket.AddressFamily) -> socket.socket:
        """A socket on the beacon port that has joined the group on every chosen interface."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setblocking(False)
            if family == socket.AF_INET:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
                # Bound to the group: datagrams to the port for any other address are not read.
                sock.bind((GROUP_V4, self.port))
                group = socket.inet_aton(GROUP_V4)
                self._join(
                    sock,
                    socket.IPPROTO_IP,
                    socket.IP_ADD_MEMBERSHIP,
                    {
                        i.name: struct.pack("=4s4si", group, bytes(4), i.index)
                        for i in self._interfaces
                        if i.ipv4
                    },
                )
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_MULTICAST_ALL, 0)
                sock.bind(("::", self.port))
                group = socket.inet_pton(socket.AF_INET6, GROUP_V6)
                self._join(
                    sock,
                    socket.IPPROTO_IPV6,
                    socket.IPV6_JOIN_GROUP,
                    {
                        i.name: struct.pack("=16sI", group, i.index)
                        for i in self._interfaces
                        if i.ipv6
                    },
                )
        except OSError:
            sock.close()
            raise
        return sock

    @staticmethod
    def _join(sock: socket.socket, level: int, option: int, requests: dict[str, bytes]) -> None:
        """Joins the group on each interface; one that refuses is logged, all refusing raises."""
        refused: list[OSError] = []
        for name, request in requests.items():
            try:
                sock.setsockopt(level, option, request)
            except OSError as exc:
                log.warning("the UDP beacon cannot join its group on %s: %s", name, exc)
                refused.append(exc)
        if refused and len(refused) == len(requests):
            raise refused[0]

    def _sender(self, family: socket.AddressFamily) -> socket.socket:
        """A socket beacons are sent from: link scope only (TTL / hop limit 1)."""
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
        except OSError:
            sock.close()
            raise
        return sock

    def _choose_interfaces(self) -> tuple[list[_Interface], str]:
        """The interfaces to use (discovery.interfaces, default every one but loopback) with
        their addresses of the enabled families, and a description for people."""
        families = "+".join(f for f, on in (("IPv4", self._ipv4), ("IPv6", self._ipv6)) if on)
        adapters = {a.nice_name: a for a in ifaddr.get_adapters()}
        names = list(self._interface_names)
        if not names:
            names = sorted(n for n, a in adapters.items() if not _is_loopback(a))
            if not names:
                raise LookupError("no network interface other than loopback is up")
        missing = [name for name in names if name not in adapters]
        if missing:
            raise LookupError(
                f"no interface named {', '.join(missing)} (have: {', '.join(sorted(adapters))})"
            )
        chosen = []
        for name in names:
            adapter = adapters[name]
            ipv4 = tuple(ip.ip for ip in adapter.ips if isinstance(ip.ip, str) and self._ipv4)
            ipv6 = tuple(ip.ip[0] for ip in adapter.ips if isinstance(ip.ip, tuple) and self._ipv6)
            if (ipv4 or ipv6) and adapter.index is not None:
                chosen.append(_Interface(name, adapter.index, ipv4, ipv6))
        if not chosen:
            raise LookupError(f"{', '.join(names)} has no {families} address")
        which = "all interfaces: " if not self._interface_names else ""
        return chosen, f"{which}{', '.join(i.name for i in chosen)}, {families}"

    def _fail(self, why: str) -> None:
        self.state = SubsystemState.FAILED
        self.detail = f"UDP beacon off: {why}"
        log.error("the UDP beacon is off: %s", why)


def _is_loopback(adapter: Any) -> bool:
    return all(
        (ip.ip if isinstance(ip.ip, str) else ip.ip[0]) == "::1"
        or (isinstance(ip.ip, str) and ip.ip.startswith("127."))
        for ip in adapter.ips
    )
