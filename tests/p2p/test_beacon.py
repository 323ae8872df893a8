"""The UDP beacon without sockets: its wire format, its parsing of anything (THREATS #16, #17),
its rate limits and bookkeeping, and how the peer network takes what it hears (a hint, as mDNS).

The beacon over real multicast between daemons is tests/e2e/test_beacon_netns.py.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kizuna_server.core.device_id import device_id_from_public_key_der, parse_device_id
from kizuna_server.core.node import Subsystem, SubsystemState
from kizuna_server.core.peers import (
    MAX_CAPABILITIES,
    MAX_HINTS,
    Address,
    PeerEntry,
    PeerLost,
    Source,
    sanitize_capabilities,
)
from kizuna_server.files import ensure_private_directory
from kizuna_server.p2p.beacon import (
    MAGIC,
    MAX_BEACON_BYTES,
    MAX_TTL_SECS,
    MIN_REPORT_SECS,
    SOURCE_BURST,
    TOTAL_BURST,
    Beacon,
    RateLimit,
    encode_beacon,
    parse_beacon,
)
from kizuna_server.p2p.discovery import MAX_ANNOUNCED_ADDRESSES, Announcement
from kizuna_server.p2p.identity import load_or_create_identity
from kizuna_server.p2p.network import PeerNetwork, _discovery_subsystem
from kizuna_server.p2p.ports import PeerPortsUnavailable, bind_hosts
from kizuna_server.p2p.wire import beacon_pb2
from tests.conftest import make_config

#: Deterministic: every property test runs a fixed sequence.
FUZZ: Final[dict[str, Any]] = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}


def some_id(seed: str) -> str:
    return device_id_from_public_key_der(seed.encode())


OWN = some_id("this daemon")
PEER = some_id("peer")
SOURCE = "192.0.2.7"


def beacon_of(device_id: str = PEER, **changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "device_id": device_id,
        "name": "kitchen-laptop",
        "device_type": "laptop",
        "protocol_version": 1,
        "link_port": 47120,
        "pairing_port": 47121,
        "addresses": ["192.0.2.7", "fd00::7"],
        "ttl": 120,
    }
    fields.update(changes)
    return encode_beacon(**fields)


def raw(message: beacon_pb2.Beacon) -> bytes:
    return MAGIC + message.SerializeToString()


# --- the wire format -----------------------------------------------------------------------------


def test_a_beacon_round_trips() -> None:
    data = beacon_of(addresses=["192.0.2.7", "fd00::7", "fe80::7%eth0"])
    assert data.startswith(MAGIC) and len(data) <= MAX_BEACON_BYTES

    heard = parse_beacon(data, SOURCE)

    assert heard is not None
    assert heard.ttl == 120
    assert heard.announcement == Announcement(
        service_name="",
        device_id=PEER,
        name="kitchen-laptop",
        device_type="laptop",
        protocol_version=1,
        link_port=47120,
        pairing_port=47121,
        # The link-local address (meaningless without its scope) is not sent.
        addresses=("192.0.2.7", "fd00::7"),
    )


def test_a_goodbye_has_ttl_zero_and_the_source_stands_in_for_missing_addresses() -> None:
    heard = parse_beacon(beacon_of(addresses=[], ttl=0), "fe80::7%eth0")
    assert heard is not None
    assert heard.ttl == 0
    assert heard.announcement.addresses == ("fe80::7%eth0",)


def test_encoding_cuts_names_and_keeps_the_datagram_small() -> None:
    many = [str(ipaddress.IPv6Address(0xFD00 << 112 | n)) for n in range(1, 200)]
    data = beacon_of(name="n" * 500, addresses=many)
    assert len(data) <= MAX_BEACON_BYTES
    heard = parse_beacon(data, SOURCE)
    assert heard is not None
    assert heard.announcement.name == "n" * 64
    assert len(heard.announcement.addresses) == MAX_ANNOUNCED_ADDRESSES


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"KZB", "shorter than the magic"),
        (b"XXXX" + beacon_of()[4:], "another magic"),
        (beacon_of()[:-5], "truncated"),
        (beacon_of() + b"\0" * (MAX_BEACON_BYTES + 1 - len(beacon_of())), "one byte too large"),
        (MAGIC + b"\x0a\xff\xff\xff\xff\x0f", "a length running past the end"),
        (MAGIC + b"\x12\x02\xff\xfe", "a name that is not UTF-8"),
        (raw(beacon_pb2.Beacon(device_id="not-an-id", link_port=47120)), "not a device ID"),
        (raw(beacon_pb2.Beacon(device_id=PEER)), "no link port"),
        (raw(beacon_pb2.Beacon(device_id=PEER + "A", link_port=47120)), "an ID too long"),
    ],
)
def test_unusable_datagrams_give_nothing(data: bytes, why: str) -> None:
    assert parse_beacon(data, SOURCE) is None, why


def test_fields_out_of_range_are_cut_or_skipped() -> None:
    message = beacon_pb2.Beacon(
        device_id=PEER,
        name="x" * 300,
        device_type="t" * 300,
        link_port=47120,
        pairing_port=0,
        addresses=[b"\x01\x02\x03", b"\xc0\x00\x02\x07", b"\xfe\x80" + bytes(14)]
        + [bytes([10, 0, 0, n]) for n in range(1, 40)],
        ttl_secs=2**32 - 1,
    )
    heard = parse_beacon(raw(message), SOURCE)
    assert heard is not None
    announcement = heard.announcement
    assert heard.ttl == MAX_TTL_SECS
    assert announcement.pairing_port == 47121  # absent: the link port + 1
    assert len(announcement.name) == 256 and len(announcement.device_type) == 16
    # Three bytes, and the link-local IPv6 address, are skipped; at most 16 are read.
    assert announcement.addresses[0] == "192.0.2.7"
    assert len(announcement.addresses) < MAX_ANNOUNCED_ADDRESSES
    assert all(ipaddress.ip_address(a).version == 4 for a in announcement.addresses)


@settings(max_examples=400, **FUZZ)
@given(data=st.binary(max_size=MAX_BEACON_BYTES + 64))
@example(data=MAGIC)
@example(data=MAGIC + b"\x08" * 200)
def test_any_bytes_give_nothing_or_a_valid_beacon(data: bytes) -> None:
    for candidate in (data, MAGIC + data):
        heard = parse_beacon(candidate, SOURCE)
        if heard is not None:
            assert_valid(heard.announcement, heard.ttl)


@st.composite
def beacon_messages(draw: st.DrawFn) -> beacon_pb2.Beacon:
    """Beacon messages with any field values (IDs mostly valid, so the rest gets checked)."""
    return beacon_pb2.Beacon(
        device_id=draw(st.one_of(st.just(PEER), st.text(max_size=80))),
        name=draw(st.text(max_size=300)),
        device_type=draw(st.text(max_size=40)),
        link_port=draw(st.integers(0, 2**32 - 1)),
        pairing_port=draw(st.integers(0, 2**32 - 1)),
        addresses=draw(st.lists(st.binary(max_size=20), max_size=40)),
        ttl_secs=draw(st.integers(0, 2**32 - 1)),
    )


@settings(max_examples=300, **FUZZ)
@given(message=beacon_messages())
def test_any_beacon_message_gives_nothing_or_a_valid_beacon(message: beacon_pb2.Beacon) -> None:
    heard = parse_beacon(raw(message)[:MAX_BEACON_BYTES], SOURCE)
    if heard is not None:
        assert_valid(heard.announcement, heard.ttl)


def assert_valid(announcement: Announcement, ttl: int) -> None:
    assert parse_device_id(announcement.device_id) == announcement.device_id
    assert 1 <= announcement.link_port <= 65535
    assert 0 <= announcement.pairing_port <= 65535
    assert 0 <= ttl <= MAX_TTL_SECS
    assert len(announcement.name) <= 256 and len(announcement.device_type) <= 16
    assert 1 <= len(announcement.addresses) <= MAX_ANNOUNCED_ADDRESSES
    for address in announcement.addresses:
        if address != SOURCE:
            ip = ipaddress.ip_address(address)
            assert not (ip.version == 6 and ip.is_link_local)


# --- rate limits ---------------------------------------------------------------------------------


def test_one_source_gets_a_burst_then_its_rate() -> None:
    limit = RateLimit(rate=4.0, burst=8.0)
    assert sum(limit.allow("192.0.2.1", 100.0) for _ in range(50)) == 8
    assert limit.allow("192.0.2.2", 100.0)  # another source has its own budget
    assert sum(limit.allow("192.0.2.1", 100.5) for _ in range(50)) == 2  # 0.5 s x 4/s
    assert sum(limit.allow("192.0.2.1", 1000.0) for _ in range(50)) == 8  # full, not more


def test_all_sources_together_share_one_budget_and_few_are_tracked() -> None:
    limit = RateLimit(rate=4.0, burst=8.0, total_rate=10.0, total_burst=20.0, max_sources=16)
    allowed = sum(limit.allow(f"198.51.100.{n}", 5.0) for n in range(200))
    assert allowed == 20
    assert len(limit) == 16


# --- the beacon's bookkeeping (no sockets) -------------------------------------------------------


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Heard:
    found: list[Announcement] = field(default_factory=list)
    lost: list[tuple[str, str]] = field(default_factory=list)


def beacon_for(heard: Heard, clock: Clock, *, max_devices: int = 256) -> Beacon:
    return Beacon(
        device_id=OWN,
        name="us",
        device_type="desktop",
        protocol_version=1,
        link_port=47120,
        pairing_port=47121,
        interfaces=["lo"],
        ipv4=True,
        ipv6=False,
        port=47120,
        interval=30,
        ttl=120,
        on_found=heard.found.append,
        on_lost=lambda device_id, reason: heard.lost.append((device_id, reason)),
        max_devices=max_devices,
        clock=clock,
    )


async def test_a_peer_is_found_refreshed_at_a_bounded_rate_and_said_goodbye() -> None:
    heard, clock = Heard(), Clock()
    beacon = beacon_for(heard, clock)
    beacon.received(beacon_of(OWN), SOURCE)  # our own, looped back
    assert heard.found == []

    beacon.received(beacon_of(), SOURCE)
    assert [a.device_id for a in heard.found] == [PEER]
    for _ in range(5):  # a burst of the same: passed on once
        beacon.received(beacon_of(), SOURCE)
    assert len(heard.found) == 1
    clock.now += MIN_REPORT_SECS
    beacon.received(beacon_of(name="renamed"), SOURCE)
    assert [a.name for a in heard.found] == ["kitchen-laptop", "renamed"]
    assert list(beacon._heard) == [PEER]

    beacon.received(beacon_of(ttl=0, addresses=[]), SOURCE)
    assert heard.lost == [(PEER, "goodbye")]
    beacon.received(beacon_of(ttl=0, addresses=[]), SOURCE)  # a second copy: nothing more
    assert heard.lost == [(PEER, "goodbye")]


async def test_a_silent_peer_expires_after_the_ttl_its_beacon_gave() -> None:
    heard, clock = Heard(), Clock()
    beacon = beacon_for(heard, clock)
    beacon.received(beacon_of(ttl=3), SOURCE)
    beacon.received(beacon_of(some_id("other"), ttl=60), "192.0.2.8")
    clock.now += 2.9
    beacon._expire()
    assert heard.lost == []
    clock.now += 0.2
    beacon._expire()
    assert heard.lost == [(PEER, "expired")]
    clock.now += 60
    beacon._expire()
    assert heard.lost == [(PEER, "expired"), (some_id("other"), "expired")]
    await beacon.stop()


async def test_floods_are_bounded_and_garbage_is_counted() -> None:
    heard, clock = Heard(), Clock()
    beacon = beacon_for(heard, clock, max_devices=4)
    for n in range(100):  # one source claiming many devices: its burst, then dropped
        beacon.received(beacon_of(some_id(f"flood {n}")), SOURCE)
    assert len(heard.found) == SOURCE_BURST
    assert beacon.dropped == 100 - SOURCE_BURST
    # Four devices are tracked; the ones pushed out are reported lost ("expired").
    assert len(beacon._heard) == 4
    assert heard.lost == [(some_id(f"flood {n}"), "expired") for n in range(4)]

    clock.now += 100
    beacon.received(b"KZB1\xff\xff garbage", "192.0.2.9")
    assert beacon.ignored == 1
    for n in range(1000):  # spoofed sources share one budget
        beacon.received(beacon_of(some_id(f"spoofed {n}")), f"10.{n // 256}.{n % 256}.1")
    assert len(heard.found) <= SOURCE_BURST + TOTAL_BURST
    assert len(beacon._heard) == 4
    await beacon.stop()


# --- the peer network takes a beacon as a hint ---------------------------------------------------


def network_for(home: Path, **settings: Any) -> tuple[PeerNetwork, list[Any]]:
    config = make_config(home, settings)
    ensure_private_directory(config.paths.data_dir)
    identity = load_or_create_identity(
        home / "identity", device_name="us", now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    published: list[Any] = []
    return PeerNetwork(config, identity, published.append), published


def announcement(*addresses: str, name: str = "kitchen-laptop") -> Announcement:
    heard = parse_beacon(beacon_of(name=name, addresses=list(addresses)), SOURCE)
    assert heard is not None
    return heard.announcement


async def test_a_beacon_makes_an_unverified_udp_peer_until_mdns_also_announces_it(
    tmp_path: Path,
) -> None:
    network, published = network_for(tmp_path)
    network._on_found(announcement("192.0.2.7"), Source.UDP)

    peer = network.snapshot(PEER)
    assert (peer.source, peer.online, peer.name) == (Source.UDP, True, "kitchen-laptop")
    assert peer.addresses == ("192.0.2.7:47120",)
    entry = network.table.get(PEER)
    assert entry is not None and not entry.verified and entry.addresses == []
    assert [type(e).__name__ for e in published] == ["PeerDiscovered"]

    network._on_found(announcement("192.0.2.7", name="from mdns"), Source.MDNS)
    assert network.snapshot(PEER).source is Source.MDNS
    assert not entry.verified

    network._on_lost(PEER, "goodbye", Source.MDNS)
    assert network.snapshot(PEER).online  # the beacon still announces it
    assert not any(isinstance(e, PeerLost) for e in published)
    network._on_lost(PEER, "expired", Source.UDP)
    lost = [e for e in published if isinstance(e, PeerLost)]
    assert [(e.reason, e.peer.online) for e in lost] == [("expired", False)]
    assert entry.hints == []


async def test_beacons_never_point_the_daemon_at_loopback_or_privileged_ports(
    tmp_path: Path,
) -> None:
    network, published = network_for(tmp_path)
    heard = parse_beacon(beacon_of(addresses=["127.0.0.1"], link_port=22, pairing_port=23), SOURCE)
    assert heard is not None
    network._on_found(heard.announcement, Source.UDP)
    assert PEER not in network.table and published == []


async def test_with_ipv6_off_announced_ipv6_addresses_are_not_kept(tmp_path: Path) -> None:
    network, _ = network_for(tmp_path, networking={"enable_ipv6": False})
    network._on_found(announcement("fd00::7"), Source.UDP)
    assert PEER not in network.table
    network._on_found(announcement("fd00::7", "192.0.2.7"), Source.UDP)
    assert network.snapshot(PEER).addresses == ("192.0.2.7:47120",)


def test_hints_from_mdns_and_the_beacon_are_kept_apart() -> None:
    entry = PeerEntry(PEER, Source.UDP)
    assert entry.set_hints([Address("192.0.2.7", 47120, Source.UDP)], expires=100.0)
    assert entry.set_hints([Address("fd00::7", 47120, Source.MDNS)], expires=100.0)
    assert {h.address.host for h in entry.hints} == {"192.0.2.7", "fd00::7"}
    # The beacon's next word replaces only what the beacon said.
    assert not entry.set_hints([Address("192.0.2.7", 47120, Source.UDP)], expires=200.0)
    assert len(entry.hints) == 2
    entry.drop_hints(Source.MDNS)
    assert [h.address.host for h in entry.hints] == ["192.0.2.7"]
    many = [Address(f"192.0.2.{n}", 47120, Source.UDP) for n in range(1, 10)]
    entry.set_hints(many, expires=300.0)
    assert len(entry.hints) == MAX_HINTS


# --- capabilities, bind addresses, the discovery subsystem ---------------------------------------


def test_capabilities_from_peers_are_short_words_kept_once() -> None:
    hostile = ["transfers", "transfers", "TRANSFERS", "\x1b[31mred", "x" * 33, "", "streams"]
    assert sanitize_capabilities(hostile) == ("transfers", "streams")
    assert len(sanitize_capabilities(f"c{n}" for n in range(100))) == MAX_CAPABILITIES


def test_ipv6_off_binds_each_ipv4_address() -> None:
    local = ["10.0.0.2", "127.0.0.1"]
    assert bind_hosts("", ipv6=True, ipv4=local) == [["[::]"], ["0.0.0.0"]]
    # Not "0.0.0.0": grpc makes a wildcard dual-stack, which would listen on IPv6 too.
    assert bind_hosts("", ipv6=False, ipv4=local) == [local]
    assert bind_hosts("127.0.0.1", ipv6=False, ipv4=local) == [["127.0.0.1"]]
    assert bind_hosts("::1", ipv6=True) == [["::1"]]
    with pytest.raises(PeerPortsUnavailable, match="enable_ipv6"):
        bind_hosts("::1", ipv6=False)
    with pytest.raises(PeerPortsUnavailable, match="no IPv4 address"):
        bind_hosts("", ipv6=False, ipv4=[])


async def test_the_discovery_subsystem_tells_mdns_and_the_beacon_apart() -> None:
    off = _discovery_subsystem(None, None)
    assert off.state is SubsystemState.DISABLED
    assert "enable_mdns" in off.detail and "enable_udp" in off.detail

    heard, clock = Heard(), Clock()
    beacon = beacon_for(heard, clock)
    beacon.state, beacon.detail = SubsystemState.RUNNING, "UDP beacon on eth0, IPv4, port 47120"
    alone = _discovery_subsystem(None, beacon)
    assert alone.state is SubsystemState.RUNNING
    assert alone.detail.startswith("mDNS is off (discovery.enable_mdns); UDP beacon on eth0")

    mdns = Subsystem("discovery", SubsystemState.RUNNING, "announcing and browsing")
    both = _discovery_subsystem(mdns, beacon)
    assert both.state is SubsystemState.RUNNING
    assert both.detail.startswith("announcing and browsing; UDP beacon on eth0")
    failed = Subsystem("discovery", SubsystemState.FAILED, "cannot open mDNS sockets")
    assert _discovery_subsystem(failed, beacon).state is SubsystemState.DEGRADED
    beacon.state = SubsystemState.FAILED
    assert _discovery_subsystem(failed, beacon).state is SubsystemState.FAILED


# --- which interfaces and families (read only: nothing is sent from the host's namespace) -------


async def test_a_missing_interface_leaves_the_beacon_failed_with_the_reason() -> None:
    heard, clock = Heard(), Clock()
    beacon = Beacon(
        device_id=OWN,
        name="us",
        device_type="desktop",
        protocol_version=1,
        link_port=47120,
        pairing_port=47121,
        interfaces=["nosuch0"],
        ipv4=True,
        ipv6=True,
        port=47120,
        interval=30,
        ttl=120,
        on_found=heard.found.append,
        on_lost=lambda device_id, reason: heard.lost.append((device_id, reason)),
        clock=clock,
    )
    await beacon.start()
    assert beacon.state is SubsystemState.FAILED
    assert "no interface named nosuch0" in beacon.summary()
    await beacon.stop()
    assert beacon.state is SubsystemState.FAILED


def test_the_chosen_interfaces_and_families_are_the_configured_ones() -> None:
    heard, clock = Heard(), Clock()
    beacon = beacon_for(heard, clock)  # interfaces ["lo"], IPv4 only
    interfaces, where = beacon._choose_interfaces()
    assert [(i.name, i.ipv4, i.ipv6) for i in interfaces] == [("lo", ("127.0.0.1",), ())]
    assert where == "lo, IPv4"
