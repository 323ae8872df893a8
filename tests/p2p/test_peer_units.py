"""Unit tests of the peer layer's rules: names, announced addresses, the peer table, mDNS
announcements, pairing limits, and the peer network's certificate checks without a network.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from zeroconf.asyncio import AsyncServiceInfo

from kizuna_server.config import Config
from kizuna_server.core.device_id import device_id_from_public_key_der, format_device_id
from kizuna_server.core.pairing import PairingProtocolError, PairingSession, Request
from kizuna_server.core.peers import (
    MAX_ADDRESSES,
    MAX_HINTS,
    MAX_NAME,
    Address,
    Connection,
    PeerEntry,
    PeerIdentityAlert,
    PeerTable,
    Source,
    refuse_announced,
    sanitize_name,
)
from kizuna_server.core.trust import PeerNotTrusted, Permissions, TrustedPeer, TrustSource
from kizuna_server.errors import LimitExceeded
from kizuna_server.files import ensure_private_directory
from kizuna_server.p2p.discovery import (
    SERVICE_TYPE,
    Announcement,
    instance_name,
    parse_announcement,
)
from kizuna_server.p2p.identity import CERTIFICATE_FILE, Identity, load_or_create_identity
from kizuna_server.p2p.network import PeerNetwork
from kizuna_server.p2p.pairings import (
    MAX_OPEN,
    MAX_OPEN_PER_ADDRESS,
    MAX_OPEN_PER_PREFIX,
    REJECT,
    Hooks,
    Pairing,
    Pairings,
    source_of,
)
from kizuna_server.p2p.tls import PeerCertificate, PeerIdentityMismatch
from kizuna_server.p2p.trust_file import TRUST_FILE, load_trust_store
from tests.conftest import make_config

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def some_id(seed: str) -> str:
    return device_id_from_public_key_der(seed.encode())


# --- sanitize_name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Bob's phone", "Bob's phone"),
        ("Bob\u202e's\x1b[31m  phone", "Bob's[31m phone"),  # RLO override, ANSI escape
        ("\x1b[31mred\x1b[0m", "[31mred[0m"),
        ("\u2066isolated\u2069 \u202aembedded\u202c \u200fmark\u200e", "isolated embedded mark"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("nul\x00bell\x07del\x7f", "nulbelldel"),
        ("two\nlines\r\tand  tabs", "two lines and tabs"),
        ("line\u2028para\u2029end", "line para end"),
        ("  padded  ", "padded"),
        ("private\ue000use \udc80surrogate \u0378unassigned", "privateuse surrogate unassigned"),
        ("e\u0301", "\u00e9"),  # NFC
        ("テレビ 🙂", "テレビ 🙂"),
        ("\u202e\u200b\x1b", ""),
    ],
)
def test_sanitize_name_drops_what_cannot_be_shown_safely(raw: str, shown: str) -> None:
    assert sanitize_name(raw) == shown


def test_sanitize_name_keeps_at_most_64_characters() -> None:
    assert sanitize_name("x" * 10_000) == "x" * MAX_NAME
    assert sanitize_name("\x00" * 10 + "y" * 100) == "y" * MAX_NAME
    assert len(sanitize_name("🙂" * 100)) == MAX_NAME
    # Only a bounded prefix is looked at, so a name that is mostly invisible shows nothing.
    assert sanitize_name("\u200b" * 10_000 + "visible") == ""


# --- refuse_announced ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("192.168.1.20", 47120),
        ("10.0.0.5", 1024),
        ("10.0.0.5", 65535),
        ("172.16.3.4", 50000),
        ("100.64.0.1", 47120),
        ("fd00::1", 47120),
        ("2001:db8::7", 47120),
        ("fe80::1%eth0", 47120),
        ("fe80::1%3", 47120),
    ],
)
def test_an_ordinary_lan_address_may_be_dialled(host: str, port: int) -> None:
    assert refuse_announced(host, port) is None


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("192.168.1.20", 22),
        ("192.168.1.20", 1023),
        ("192.168.1.20", 0),
        ("192.168.1.20", -1),
        ("192.168.1.20", 65536),
        ("127.0.0.1", 47120),
        ("127.8.9.10", 47120),
        ("::1", 47120),
        ("0.0.0.0", 47120),
        ("::", 47120),
        ("224.0.0.251", 47120),
        ("239.255.255.250", 47120),
        ("ff02::fb", 47120),
        ("255.255.255.255", 47120),
        ("240.0.0.1", 47120),
        ("169.254.10.20", 47120),
        ("fe80::1", 47120),
        ("::ffff:127.0.0.1", 47120),
        ("::ffff:0.0.0.0", 47120),
        ("::ffff:224.0.0.1", 47120),
        ("localhost", 47120),
        ("printer.local", 47120),
        ("[::1]", 47120),
        ("", 47120),
    ],
)
def test_announcements_never_point_the_daemon_at_other_services(host: str, port: int) -> None:
    why = refuse_announced(host, port)
    assert why is not None and why.strip()


# --- PeerEntry and PeerTable --------------------------------------------------------------------


def test_add_address_puts_the_newest_first_and_reports_new_ones() -> None:
    entry = PeerEntry(some_id("p"), Source.MDNS)
    assert entry.add_address(Address("10.0.0.1", 47120, Source.MDNS))
    assert entry.add_address(Address("10.0.0.2", 47120, Source.MDNS))
    assert [str(a) for a in entry.addresses] == ["10.0.0.2:47120", "10.0.0.1:47120"]
    assert not entry.add_address(Address("10.0.0.1", 47120, Source.MDNS))
    assert [str(a) for a in entry.addresses] == ["10.0.0.1:47120", "10.0.0.2:47120"]
    assert entry.add_address(Address("fd00::1", 47120, Source.INCOMING))
    assert str(entry.addresses[0]) == "[fd00::1]:47120"


def test_an_address_a_person_added_keeps_its_source() -> None:
    entry = PeerEntry(some_id("p"), Source.MANUAL)
    entry.add_address(Address("10.0.0.1", 47120, Source.MANUAL))
    entry.add_address(Address("10.0.0.9", 47120, Source.MDNS))
    assert not entry.add_address(Address("10.0.0.1", 47120, Source.MDNS))
    assert [(str(a), a.source) for a in entry.addresses] == [
        ("10.0.0.1:47120", Source.MANUAL),
        ("10.0.0.9:47120", Source.MDNS),
    ]
    entry.drop_addresses(Source.MDNS)  # the announcement expired
    assert [str(a) for a in entry.addresses] == ["10.0.0.1:47120"]
    # An announced address is replaced by the same one seen on an incoming call.
    entry.add_address(Address("10.0.0.9", 47120, Source.MDNS))
    entry.add_address(Address("10.0.0.9", 47120, Source.INCOMING))
    assert entry.addresses[0].source is Source.INCOMING


def test_an_entry_keeps_at_most_max_addresses_most_recent_first() -> None:
    entry = PeerEntry(some_id("p"), Source.MDNS)
    for n in range(MAX_ADDRESSES + 4):
        entry.add_address(Address(f"10.0.0.{n}", 47120, Source.MDNS))
    assert [a.host for a in entry.addresses] == [
        f"10.0.0.{n}" for n in reversed(range(4, MAX_ADDRESSES + 4))
    ]


def test_announced_addresses_are_hints_kept_apart_bounded_and_expiring() -> None:
    """Row #18: what an announcement claims is dialled after the verified addresses, never
    listed among them, bounded by MAX_HINTS, gone once expired, and becomes an address only when
    a handshake there verified the peer (add_address)."""
    entry = PeerEntry(some_id("p"), Source.MDNS)
    verified = Address("10.0.0.1", 47120, Source.INCOMING)
    entry.add_address(verified)
    claimed = [Address(f"10.0.9.{n}", 47120, Source.MDNS) for n in range(MAX_HINTS + 3)]

    assert entry.set_hints([verified, *claimed], expires=100.0)

    assert entry.addresses == [verified]
    assert entry.dialable(50.0) == [verified, *claimed[:MAX_HINTS]]
    assert not entry.set_hints(claimed, expires=100.0)  # nothing new
    assert entry.dialable(100.0) == [verified] and entry.hints == []  # expired

    entry.set_hints(claimed[:1], expires=200.0)
    entry.add_address(claimed[0])  # a handshake there showed the peer's key
    assert entry.addresses == [claimed[0], verified] and entry.hints == []


def test_an_announcement_never_renames_a_trusted_peer_or_adds_to_its_addresses(
    tmp_path: Path, devices: dict[str, Device]
) -> None:
    """Rows #18, #36: a spoofed announcement of a paired device's ID, with another name and
    the attacker's address. The trusted peer keeps its name and lists only verified addresses;
    the claim is a hint the link may try (and where a wrong key raises an alert). An untrusted
    peer's announcement is all that is known of it, so it is shown."""
    network, _, _ = _network(tmp_path / "home", devices["us"])
    network._stopping = True  # no link tasks: this is about the record only
    peer, stranger = devices["peer"], devices["stranger"]
    _pin(network, peer)
    network._entry(peer.id, Source.INCOMING).add_address(
        Address("10.0.0.2", 47120, Source.INCOMING)
    )

    def announce(device: Device, name: str, host: str) -> None:
        network._on_found(
            Announcement(
                instance_name(device.id), device.id, name, "laptop", 1, 47120, 47121, (host,)
            )
        )

    announce(peer, "Bank Laptop (trusted)", "10.0.0.66")
    announce(stranger, "Kitchen", "10.0.0.7")

    shown = network.snapshot(peer.id)
    assert (shown.name, shown.addresses) == ("peer", ("10.0.0.2:47120",))
    assert [str(a) for a in network.table.get(peer.id).dialable(time.time())] == [  # type: ignore[union-attr]
        "10.0.0.2:47120",
        "10.0.0.66:47120",
    ]
    other = network.snapshot(stranger.id)
    assert (other.name, other.addresses) == ("Kitchen", ("10.0.0.7:47120",))


def test_describe_sanitises_and_reports_changes() -> None:
    entry = PeerEntry(some_id("p"), Source.MDNS)
    assert entry.describe("Bob\x1b[2J\u202e", "PHONE")
    assert (entry.name, entry.device_type) == ("Bob[2J", "phone")
    assert not entry.describe("Bob[2J", "phone")
    assert not entry.describe("\x00", "")  # nothing usable: nothing changes
    assert (entry.name, entry.device_type) == ("Bob[2J", "phone")
    assert entry.describe("Bob", "")
    assert (entry.name, entry.device_type) == ("Bob", "phone")
    entry.describe("Bob", "ТЕЛЕФОН")  # not ASCII: ignored
    assert entry.device_type == "phone"


def _entry(seed: str, last_seen: float, **fields: Any) -> PeerEntry:
    return PeerEntry(some_id(seed), Source.MDNS, last_seen=last_seen, **fields)


def test_a_full_table_evicts_the_least_recently_seen_offline_untrusted_hint() -> None:
    table = PeerTable(3)
    old, older, newer = _entry("old", 20.0), _entry("older", 10.0), _entry("newer", 30.0)
    for entry in (old, older, newer):
        table.add(entry)
    arrival = _entry("arrival", 40.0)

    table.add(arrival)

    assert older.device_id not in table
    assert {e.device_id for e in table.entries()} == {
        old.device_id,
        newer.device_id,
        arrival.device_id,
    }
    assert [e.device_id for e in table.entries()] == sorted(e.device_id for e in table.entries())


@pytest.mark.parametrize(
    "protect",
    ["announced", "reachable", "connected", "static", "manual", "trusted"],
)
def test_eviction_spares_online_added_and_trusted_peers(protect: str) -> None:
    table = PeerTable(2)
    oldest = _entry("oldest", 1.0)
    if protect in ("announced", "reachable"):
        setattr(oldest, protect, True)
    elif protect == "connected":
        oldest.connection = Connection.CONNECTED
    elif protect in ("static", "manual"):
        oldest.add_address(Address("10.0.0.1", 47120, Source(protect)))
    table.add(oldest)
    other = _entry("other", 2.0)
    table.add(other)
    keep = frozenset({oldest.device_id}) if protect == "trusted" else frozenset()

    table.add(_entry("arrival", 3.0), keep=keep)

    assert oldest.device_id in table
    assert other.device_id not in table


def test_a_table_full_of_peers_people_use_refuses_new_ones() -> None:
    table = PeerTable(2)
    first, second = _entry("first", 1.0, announced=True), _entry("second", 2.0)
    table.add(first)
    table.add(second, keep=frozenset())
    with pytest.raises(LimitExceeded) as full:
        table.add(_entry("arrival", 3.0), keep=frozenset({second.device_id}))
    assert full.value.metadata["limit"] == "networking.max_peers"
    assert len(table) == 2
    with pytest.raises(ValueError, match="already"):
        table.add(_entry("first", 9.0))
    assert table.remove(first.device_id) is first
    assert table.remove(first.device_id) is None


# --- parse_announcement -------------------------------------------------------------------------


def _service(
    properties: dict[str | bytes, str | bytes | None],
    *,
    name: str | None = None,
    port: int = 47120,
    addresses: tuple[str, ...] = ("192.168.1.20",),
) -> AsyncServiceInfo:
    device_id = some_id("announced")
    packed = [
        socket.inet_pton(socket.AF_INET6 if ":" in a else socket.AF_INET, a) for a in addresses
    ]
    return AsyncServiceInfo(
        SERVICE_TYPE,
        name or instance_name(device_id),
        port=port,
        properties=properties,
        addresses=packed,
    )


ANNOUNCED = some_id("announced")


def test_a_complete_announcement_is_parsed() -> None:
    info = _service(
        {"id": ANNOUNCED, "name": "Bob's phone", "type": "phone", "pv": "1", "pp": "47200"},
        addresses=("192.168.1.20", "fd00::20"),
    )
    announcement = parse_announcement(info)
    assert announcement is not None
    assert announcement.device_id == ANNOUNCED
    assert announcement.service_name == f"{ANNOUNCED[:16]}.{SERVICE_TYPE}"
    assert (announcement.name, announcement.device_type) == ("Bob's phone", "phone")
    assert (announcement.protocol_version, announcement.link_port) == (1, 47120)
    assert announcement.pairing_port == 47200
    assert set(announcement.addresses) == {"192.168.1.20", "fd00::20"}


def test_the_id_may_be_grouped_lower_case_under_an_upper_case_key() -> None:
    info = _service({b"ID": format_device_id(ANNOUNCED).lower().encode()})
    announcement = parse_announcement(info)
    assert announcement is not None and announcement.device_id == ANNOUNCED


@pytest.mark.parametrize(
    "properties",
    [
        {"name": "no id"},
        {"id": ""},
        {"id": "not a device id"},
        {"id": ANNOUNCED[:-1]},
        {"id": ANNOUNCED + "A"},
        {"id": None},
        {"id": some_id("someone else")},  # the instance name is for ANNOUNCED
    ],
)
def test_announcements_without_a_valid_matching_id_are_ignored(
    properties: dict[str | bytes, str | bytes | None],
) -> None:
    assert parse_announcement(_service(properties)) is None


def test_an_instance_name_that_does_not_match_the_id_is_ignored() -> None:
    other = some_id("other")
    assert parse_announcement(_service({"id": ANNOUNCED}, name=instance_name(other))) is None
    assert parse_announcement(_service({"id": ANNOUNCED}, name=f"printer.{SERVICE_TYPE}")) is None


@pytest.mark.parametrize("pairing", [None, "", "abc", "-5", "65536", "99999999", "4.7e4"])
def test_a_missing_or_unusable_pairing_port_means_link_port_plus_one(pairing: str | None) -> None:
    properties: dict[str | bytes, str | bytes | None] = {"id": ANNOUNCED, "pv": "x"}
    if pairing is not None:
        properties["pp"] = pairing
    announcement = parse_announcement(_service(properties, port=50000))
    assert announcement is not None
    assert (announcement.link_port, announcement.pairing_port) == (50000, 50001)
    assert announcement.protocol_version == 0
    assert (announcement.name, announcement.device_type) == ("", "")


def test_txt_values_are_decoded_leniently() -> None:
    info = _service({"id": ANNOUNCED, "name": b"\xffBob", "type": b"\xc3("})
    announcement = parse_announcement(info)
    assert announcement is not None
    assert announcement.name == "\ufffdBob"  # the peer table then sanitises it
    assert announcement.device_type == "\ufffd("


# --- Pairings limits ----------------------------------------------------------------------------


def _pairings() -> tuple[Pairings, list[Pairing]]:
    ended: list[Pairing] = []

    async def completed(pairing: Pairing) -> None:
        pass

    return Pairings(Hooks(completed=completed, ended=ended.append)), ended


def _incoming(address: str, peer_id: str | None = None) -> Pairing:
    session, _ = PairingSession.answer(
        Request(secrets.token_hex(16), b"initiator-cert", secrets.token_bytes(32)),
        peer_id=peer_id or some_id(secrets.token_hex(4)),
        own_cert=b"own-cert",
        now=time.time(),
    )
    source, prefix = source_of(address)
    return Pairing(session, "peer", address, "", source=source, prefix=prefix)


def _outgoing(address: str) -> Pairing:
    session, _ = PairingSession.start(
        peer_id=some_id(secrets.token_hex(4)),
        own_cert=b"own-cert",
        peer_cert=b"peer-cert",
        now=time.time(),
    )
    return Pairing(session, "peer", address, "")


async def test_each_source_address_may_run_one_incoming_pairing() -> None:
    pairings, _ = _pairings()
    pairings.admit(_incoming("10.0.0.7"))

    with pytest.raises(LimitExceeded) as limited:
        pairings.admit(_incoming("10.0.0.7"))

    assert limited.value.metadata["limit"] == "pairings_per_address"
    assert MAX_OPEN_PER_ADDRESS == len(pairings) == 1
    pairings.admit(_incoming("10.0.0.8"))
    # The same address written as IPv4-mapped IPv6 is the same source.
    with pytest.raises(LimitExceeded):
        pairings.admit(_incoming("::ffff:10.0.0.8"))
    # Outgoing pairings are counted on their own.
    pairings.admit(_outgoing("10.0.0.7"))
    assert len(pairings) == 3


async def test_one_ipv6_slash_64_holds_at_most_a_few_incoming_pairings() -> None:
    """Row #35: one host can use every address of its /64; it still gets MAX_OPEN_PER_PREFIX."""
    pairings, _ = _pairings()
    for n in range(MAX_OPEN_PER_PREFIX):
        pairings.admit(_incoming(f"fd00:6b7a:1::{n + 1:x}"))

    with pytest.raises(LimitExceeded) as limited:
        pairings.admit(_incoming("fd00:6b7a:1::ffff:1234"))

    assert limited.value.metadata["limit"] == "pairings_per_address"
    pairings.admit(_incoming("fd00:6b7a:2::1"))  # another /64
    assert len(pairings) == MAX_OPEN_PER_PREFIX + 1


async def test_a_device_runs_one_pairing_with_this_one_at_a_time() -> None:
    pairings, _ = _pairings()
    peer = some_id("1")
    pairings.admit(_incoming("10.0.0.7", peer))
    with pytest.raises(LimitExceeded) as limited:
        pairings.admit(_incoming("10.0.0.8", peer))
    assert limited.value.metadata["limit"] == "pairings_per_device"


async def test_a_full_house_of_stalled_strangers_gives_way_to_a_new_pairing() -> None:
    """Row #35: strangers that fill every incoming slot and stall cannot keep a real pairing
    out. The oldest one nobody here answered ends (failed, so it counts against its device and
    address, and its call is told REJECT); one this device's person confirmed is kept."""
    pairings, ended = _pairings()
    stalled = [_incoming(f"10.0.1.{n}") for n in range(MAX_OPEN)]
    for pairing in stalled:
        pairings.admit(pairing)
    confirmed = stalled[0]
    confirmed.session.code = "123 456"
    confirmed.session.confirm(now=time.time())

    real = _incoming("10.0.2.1")
    pairings.admit(real)

    assert ended == [stalled[1]]
    assert stalled[1].session.failed_attempt
    assert stalled[1].snapshot().error_reason == "LIMIT_EXCEEDED"
    assert stalled[1].outbox.get_nowait() == REJECT
    assert real in pairings.open() and confirmed in pairings.open()
    assert len(pairings) == MAX_OPEN


async def test_incoming_slots_all_answered_here_refuse_a_new_pairing() -> None:
    pairings, _ = _pairings()
    for n in range(MAX_OPEN):
        pairing = _incoming(f"10.0.1.{n}")
        pairings.admit(pairing)
        pairing.session.code = "123 456"
        pairing.session.confirm(now=time.time())
    with pytest.raises(LimitExceeded) as limited:
        pairings.admit(_incoming("10.0.2.1"))
    assert limited.value.metadata["limit"] == "pairings"
    for _ in range(MAX_OPEN):
        pairings.admit(_outgoing("10.0.3.1"))
    with pytest.raises(LimitExceeded):
        pairings.admit(_outgoing("10.0.3.1"))
    assert len(pairings) == 2 * MAX_OPEN


async def test_a_pairing_id_in_use_is_refused_and_an_ended_one_frees_its_slot() -> None:
    pairings, ended = _pairings()
    first = _incoming("10.0.0.7")
    pairings.admit(first)
    twin = Pairing(first.session, "peer", "10.0.0.9", "", source="10.0.0.9")
    with pytest.raises(PairingProtocolError):
        pairings.admit(twin)

    pairings.reject(first.session.id)  # before the code exists, a reject still ends it

    assert ended == [first]
    assert first.snapshot().state == "rejected"
    pairings.admit(_incoming("10.0.0.7"))
    with pytest.raises(PairingProtocolError):
        pairings.cancel(pairings.open()[0].session.id)  # the responder cannot cancel


# --- PeerNetwork's certificate checks, without a network ----------------------------------------


@dataclass
class Device:
    identity: Identity
    cert: PeerCertificate

    @property
    def id(self) -> str:
        return self.identity.device_id


def _device(directory: Path) -> Device:
    identity = load_or_create_identity(directory, device_name="d", now=NOW)
    return Device(identity, PeerCertificate(identity.certificate.public_bytes(Encoding.DER)))


@pytest.fixture
def devices(tmp_path: Path) -> dict[str, Device]:
    """This device, a peer, a stranger, and the peer's key under a new certificate."""
    made = {name: _device(tmp_path / name) for name in ("us", "peer", "stranger")}
    reissued = tmp_path / "reissued"
    reissued.mkdir(mode=0o700)
    (reissued / "device.key").write_bytes((tmp_path / "peer" / "device.key").read_bytes())
    os.chmod(reissued / "device.key", 0o600)
    assert not (reissued / CERTIFICATE_FILE).exists()
    made["impostor"] = _device(reissued)
    assert made["impostor"].id == made["peer"].id
    assert made["impostor"].cert.fingerprint != made["peer"].cert.fingerprint
    return made


@dataclass
class FakeContext:
    """What PeerNetwork.authorize reads of a grpc.aio.ServicerContext."""

    pem: bytes | None
    address: str = "ipv4:10.0.0.9:40000"

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_pem_cert": [self.pem]} if self.pem is not None else {}

    def peer(self) -> str:
        return self.address


def _network(
    home: Path, us: Device, settings: dict[str, Any] | None = None
) -> tuple[PeerNetwork, list[Any], Config]:
    config = make_config(home, settings)
    ensure_private_directory(config.paths.data_dir)
    published: list[Any] = []
    return PeerNetwork(config, us.identity, published.append), published, config


def _pin(network: PeerNetwork, device: Device, *, pinned: bool = True) -> None:
    network._trust.trust(
        TrustedPeer(
            device.id,
            "peer",
            TrustSource.PAIRED if pinned else TrustSource.BY_ID,
            1.0,
            Permissions(),
            device.cert.pem if pinned else "",
            device.cert.fingerprint if pinned else "",
        )
    )


def test_authorize_lets_only_the_pinned_certificate_call(
    tmp_path: Path, devices: dict[str, Device]
) -> None:
    network, published, _ = _network(tmp_path / "home", devices["us"])
    _pin(network, devices["peer"])

    assert network.authorize(FakeContext(devices["peer"].identity.certificate_pem)) is None
    unknown = network.authorize(FakeContext(devices["stranger"].identity.certificate_pem))
    assert isinstance(unknown, PeerNotTrusted)
    assert isinstance(network.authorize(FakeContext(None)), PeerNotTrusted)
    assert isinstance(network.authorize(FakeContext(b"not a certificate")), PeerNotTrusted)
    assert published == []

    refused = network.authorize(FakeContext(devices["impostor"].identity.certificate_pem))

    assert isinstance(refused, PeerIdentityMismatch)
    assert published == [
        PeerIdentityAlert(
            devices["peer"].id,
            devices["peer"].cert.fingerprint,
            devices["impostor"].cert.fingerprint,
            "10.0.0.9",
        )
    ]
    assert (
        network._trust.require(devices["peer"].id).fingerprint == devices["peer"].cert.fingerprint
    )


def test_authorize_refuses_a_trusted_but_unpinned_id(
    tmp_path: Path, devices: dict[str, Device]
) -> None:
    network, _, _ = _network(tmp_path / "home", devices["us"])
    _pin(network, devices["peer"], pinned=False)
    # The certificate is pinned when the peer introduces itself, never by a link call.
    assert isinstance(
        network.authorize(FakeContext(devices["peer"].identity.certificate_pem)), PeerNotTrusted
    )
    assert not network._trust.require(devices["peer"].id).pinned


def test_authorize_in_allowlist_mode_needs_the_id_listed(
    tmp_path: Path, devices: dict[str, Device]
) -> None:
    network, _, _ = _network(
        tmp_path / "home",
        devices["us"],
        {"security": {"trust_mode": "allowlist_only", "allowlist": [devices["stranger"].id]}},
    )
    _pin(network, devices["peer"])  # pinned once, then dropped from the allowlist
    assert isinstance(
        network.authorize(FakeContext(devices["peer"].identity.certificate_pem)), PeerNotTrusted
    )


async def test_first_contact_pins_a_peer_trusted_by_id(
    tmp_path: Path, devices: dict[str, Device]
) -> None:
    network, published, config = _network(tmp_path / "home", devices["us"])
    _pin(network, devices["peer"], pinned=False)

    await network._accept_certificate(devices["peer"].cert, "10.0.0.9:47120")

    pinned = network._trust.require(devices["peer"].id)
    assert (pinned.fingerprint, pinned.certificate_pem) == (
        devices["peer"].cert.fingerprint,
        devices["peer"].cert.pem,
    )
    saved = load_trust_store(config.paths.data_dir / TRUST_FILE)
    assert saved.require(devices["peer"].id).fingerprint == devices["peer"].cert.fingerprint
    assert published == []
    await network._accept_certificate(devices["peer"].cert, "10.0.0.9:47120")  # again: fine


async def test_a_different_certificate_for_a_pinned_id_is_refused_and_reported(
    tmp_path: Path, devices: dict[str, Device]
) -> None:
    network, published, config = _network(tmp_path / "home", devices["us"])
    _pin(network, devices["peer"])

    with pytest.raises(PeerIdentityMismatch) as refused:
        await network._accept_certificate(devices["impostor"].cert, "10.0.0.66:47120")

    assert refused.value.metadata == {"peer_id": devices["peer"].id, "address": "10.0.0.66:47120"}
    assert published == [
        PeerIdentityAlert(
            devices["peer"].id,
            devices["peer"].cert.fingerprint,
            devices["impostor"].cert.fingerprint,
            "10.0.0.66:47120",
        )
    ]
    assert (
        network._trust.require(devices["peer"].id).fingerprint == devices["peer"].cert.fingerprint
    )
    assert not (config.paths.data_dir / TRUST_FILE).exists()  # nothing was saved


async def test_strangers_are_pinned_only_in_trust_all(
    tmp_path: Path, devices: dict[str, Device]
) -> None:
    manual, _, _ = _network(tmp_path / "manual", devices["us"])
    with pytest.raises(PeerNotTrusted):
        await manual._accept_certificate(devices["stranger"].cert, "10.0.0.5:47120")
    assert devices["stranger"].id not in manual._trust

    lab, _, _ = _network(tmp_path / "lab", devices["us"], {"security": {"trust_mode": "trust_all"}})
    await lab._accept_certificate(devices["stranger"].cert, "10.0.0.5:47120")
    trusted = lab._trust.require(devices["stranger"].id)
    assert (trusted.source, trusted.fingerprint) == (
        TrustSource.AUTO,
        devices["stranger"].cert.fingerprint,
    )
    # trust_all still never replaces a pin.
    _pin(lab, devices["peer"])
    with pytest.raises(PeerIdentityMismatch):
        await lab._accept_certificate(devices["impostor"].cert, "10.0.0.66:47120")
