"""The UDP beacon between real daemons on a namespace LAN, with mDNS off everywhere.

Proves that two daemons find each other by the beacon alone and then pair and link; that a
beacon, like an mDNS announcement, is only a hint (a forged one naming a paired device's ID is
refused at the handshake with an alert, the pin kept; one naming an unknown ID never yields a
verified peer); and that floods of garbage and of fake devices from many addresses neither
crash the daemon nor grow its peer table (THREATS #16-#18, #36).

Run as `python -m tests.e2e.test_beacon_netns COMMAND JSON` inside a namespace, this module is
also the forger the tests need (see the end of the file).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import pytest

from kizuna_client import KizunaEvent, PeerInfo
from kizuna_client.errors import PeerIdentityMismatchError
from kizuna_client.v1 import event_pb2
from kizuna_server.core.device_id import device_id_from_public_key_der
from kizuna_server.p2p.beacon import GROUP_V4, MAGIC, MAX_BEACON_BYTES, encode_beacon
from tests import netns
from tests.e2e.peerlan import LINK_PORT, REPO, Device, PeerLan, Program, pair
from tests.p2p.peerpair import OFFERED

pytestmark = pytest.mark.netns

#: Environment of a daemon that neither announces nor listens for beacons (nor mDNS).
SILENT: Final = {"KIZUNA_DISCOVERY_ENABLE_UDP": "false"}
#: The beacon port (every namespace has its own).
BEACON_PORT: Final = 47120


def _on_subnet(address: str, subnet: int) -> bool:
    host = address.rpartition(":")[0].strip("[]")
    ip = ipaddress.ip_address(host)
    if ip.version == 4:
        return ip in ipaddress.ip_network(f"10.231.{subnet}.0/24")
    return ip in ipaddress.ip_network(f"fd00:6b7a:{subnet}::/64")


def _about(device_id: str, field: str) -> Callable[[KizunaEvent], bool]:
    def match(event: KizunaEvent) -> bool:
        payload = getattr(event.message, field)
        peer_id = payload.peer_id if hasattr(payload, "peer_id") else payload.peer.device_id
        return bool(peer_id == device_id)

    return match


async def _hears(me: Device, other: Device) -> PeerInfo:
    """`me` lists `other` as found by its UDP beacon, under its name, at its LAN addresses."""

    def beaconed(peer: PeerInfo) -> bool:
        return peer.online and peer.source == "udp" and peer.name == other.name

    seen = await me.wait_peer(other, beaconed, f"hears {other.name}'s beacon")
    assert seen.discovery_method == "udp"
    assert (seen.trust, seen.certificate_fingerprint) == ("untrusted", "")
    assert f"{other.host.ipv4}:{LINK_PORT}" in seen.addresses
    assert all(_on_subnet(address, 0) for address in seen.addresses), seen.addresses
    return seen


async def _spawn(lan: PeerLan, host: int, command: str, spec: Mapping[str, Any]) -> Program:
    """Runs this module's `command` inside hosts[host]; stopped with the LAN."""
    guard = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    argv = lan.hosts[host].command(
        sys.executable, "-m", "tests.e2e.test_beacon_netns", command, json.dumps(spec)
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUNA_")}
    process = await asyncio.create_subprocess_exec(
        *guard,
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    program = Program(f"{command} on {lan.hosts[host].namespace}", process, lan.changes)
    lan.programs.append(program)
    return program


async def test_two_daemons_find_each_other_by_the_beacon_alone_then_pair_and_link() -> None:
    """mDNS is off on both daemons: each hears the other's beacon (source udp, its name, its
    LAN addresses, untrusted and unverified), they pair and link, each learns from the other's
    authenticated Hello what it offers and who uses it, and a daemon that stops says goodbye,
    so its peer is marked gone at once rather than when its beacon's 3 s expire."""
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha", mdns=False, env={"KIZUNA_IDENTITY_USER_NAME": "Alice"})
        b = await lan.start(1, "beta", mdns=False)
        for me, other in ((a, b), (b, a)):
            await _hears(me, other)
            discovered = await me.wait_event(
                "peer_discovered", _about(other.device_id, "peer_discovered")
            )
            assert discovered.message.peer_discovered.peer.name == other.name
        node = await a.api.node()
        detail = next(s.detail for s in node.subsystems if s.name == "discovery")
        assert detail.startswith("mDNS is off (discovery.enable_mdns); UDP beacon on"), detail
        assert "port 47120; 1 peer heard" in detail, detail
        assert a.device_id not in {p.device_id for p in await a.api.peers()}  # not our own

        await pair(a, b)
        assert (await a.api.connect_to_peer(b.device_id)).peer.connection == "connected"
        back = await b.wait_peer(a, lambda p: p.connected, "alpha connected (dialled back)")
        assert back.certificate_fingerprint == a.fingerprint
        assert (list(back.capabilities), back.user_name) == ([*OFFERED], "Alice")
        seen = await a.api.peer(b.device_id)
        assert (list(seen.capabilities), seen.user_name) == ([*OFFERED], "")

        loop = asyncio.get_running_loop()
        since, began = len(a.events), loop.time()
        await b.stop()
        lost = await a.wait_event("peer_lost", _about(b.device_id, "peer_lost"), since=since)
        lost_secs = loop.time() - began
        assert lost.message.peer_lost.reason == event_pb2.PeerLost.REASON_GOODBYE
        assert lost_secs < 3, f"gone after {lost_secs:.2f}s (beacons live 3 s)"
        # The goodbye may arrive a moment before the link's end is noticed.
        gone = await a.wait_peer(b, lambda p: not p.online, "shows beta offline", limit=3)
        assert gone.connection != "connected"


async def test_forged_beacons_never_make_a_verified_peer_and_the_pin_is_kept() -> None:
    """Rows #16, #18, #36 for the beacon: after alpha and beta paired (found by the beacon),
    beta leaves; a forger on a third host beacons beta's ID, and a fresh ID, at the address of
    gamma (a real daemon with its own certificate that neither sends nor hears beacons).

    Proves: alpha dials the hint for beta, sees gamma's certificate and refuses it with a
    peer_identity_mismatch alert (both fingerprints, gamma's address); beta's pin, name and
    addresses are unchanged and ConnectPeer fails with PEER_IDENTITY_MISMATCH; the fresh ID is
    listed as an unverified, untrusted udp peer and pairing with it is refused before anything
    is sent; gamma learns nothing of alpha. Once the forger stops and beta returns, alpha links
    to beta again with the pin it always had.
    """
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha", mdns=False)
        b = await lan.start(1, "beta", mdns=False)
        gamma = await lan.start(2, "gamma", mdns=False, trust_mode="trust_all", env=SILENT)
        await _hears(a, b)
        await pair(a, b)
        assert (await a.api.connect_to_peer(b.device_id)).peer.connection == "connected"
        pinned = (await a.api.peer(b.device_id)).certificate_fingerprint
        assert pinned == b.fingerprint != gamma.fingerprint

        since = len(a.events)
        await b.stop()
        await a.wait_event("peer_lost", _about(b.device_id, "peer_lost"), since=since)
        stranger = device_id_from_public_key_der(os.urandom(91))
        at_gamma = {"addresses": [gamma.host.ipv4], "port": LINK_PORT}
        forged = [
            {"id": b.device_id, "name": "beta (forged)", **at_gamma},
            {"id": stranger, "name": "stranger", **at_gamma},
        ]
        forger = await _spawn(lan, 2, "forge", {"beacons": forged, "every": 0.25})
        await lan.ready(forger)

        alert = await a.wait_event(
            "peer_identity_mismatch", _about(b.device_id, "peer_identity_mismatch"), since=since
        )
        mismatch = alert.message.peer_identity_mismatch
        assert (mismatch.expected_fingerprint, mismatch.presented_fingerprint) == (
            pinned,
            gamma.fingerprint,
        )
        assert gamma.host.ipv4 in mismatch.address
        with pytest.raises(PeerIdentityMismatchError):
            await a.api.connect_to_peer(b.device_id)
        kept = await a.api.peer(b.device_id)
        assert (kept.trust, kept.certificate_fingerprint, kept.name) == ("trusted", pinned, "beta")
        assert not any(gamma.host.ipv4 in address for address in kept.addresses)
        assert kept.connection != "connected"

        unknown = await a.wait_peer(stranger, lambda p: p.online, "lists the forged stranger")
        assert (unknown.source, unknown.trust, unknown.certificate_fingerprint) == (
            "udp",
            "untrusted",
            "",
        )
        with pytest.raises(PeerIdentityMismatchError):
            await a.api.request_pairing(stranger)
        assert await a.api.pairings() == []
        # Gamma saw bare TLS handshakes only: no Introduce, no Hello, no certificate of alpha.
        assert await gamma.peer(a.device_id) is None
        assert not gamma.events_of("peer_discovered")

        await forger.stop()
        await b.start()
        back = await a.wait_peer(b, lambda p: p.connected, "links to the real beta again")
        assert back.certificate_fingerprint == pinned
        assert b.link_address in back.addresses


async def test_floods_of_garbage_and_fake_devices_leave_the_daemon_bounded() -> None:
    """Row #17 for the beacon: from 40 addresses of one host, oversized datagrams, random
    bytes, truncated and malformed beacons, and beacons of 160 fresh device IDs, all at once,
    to a daemon whose peer table holds 16.

    Proves: the daemon keeps running and logs no failure, its peer table stays within 16, and
    a real daemon that starts afterwards is still found by its beacon.
    """
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha", mdns=False, env={"KIZUNA_NETWORKING_MAX_PEERS": "16"})
        spec = {"addresses": [f"10.231.0.{n}" for n in range(100, 140)], "fakes": 4}
        flood = await _spawn(lan, 1, "flood", spec)
        sent = await flood.result(limit=60)
        assert sent["datagrams"] >= 40 * 8, sent

        async def fakes_listed() -> list[PeerInfo] | None:
            fakes = [p for p in await a.api.peers() if p.name.startswith("[31mfake")]
            return fakes or None

        fakes = await lan.until(fakes_listed, "alpha to list fake devices from the flood")
        assert all(p.trust == "untrusted" and not p.certificate_fingerprint for p in fakes)
        assert not [ch for p in fakes for ch in p.name if unicodedata.category(ch) in ("Cc", "Cf")]
        assert len(await a.api.peers()) <= 16

        c = await lan.start(2, "gamma", mdns=False)
        await _hears(a, c)
        assert (await a.api.node()).state == "ready"
        assert len(await a.api.peers()) <= 16
        # What the beacon or the peer network would log had handling a datagram raised.
        failures = [line for line in a.log if "Traceback" in line or "handling " in line]
        assert not failures, failures


# --- the forger, run inside a namespace ---------------------------------------------------------
#
# Each command takes one JSON argument and prints JSON on its last line (or "ready", then runs
# until killed).


def _emit(value: Any) -> None:
    print(json.dumps(value) if not isinstance(value, str) else value, flush=True)


def _multicast_socket(source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(source))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    return sock


def _own_ipv4() -> str:
    done = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()[3].partition("/")[0]


def _beacon(spec: Mapping[str, Any], device_id: str | None = None, **changes: Any) -> bytes:
    fields: dict[str, Any] = {
        "device_id": device_id or spec["id"],
        "name": spec.get("name", "forged"),
        "device_type": "laptop",
        "protocol_version": 1,
        "link_port": spec.get("port", LINK_PORT),
        "pairing_port": spec.get("port", LINK_PORT) + 1,
        "addresses": spec.get("addresses", []),
        "ttl": 3,
    }
    fields.update(changes)
    return encode_beacon(**fields)


async def forge(spec: Mapping[str, Any]) -> None:
    """Sends spec["beacons"] ([{id, name, addresses, port}]) every spec["every"] seconds from
    this host's address; prints "ready" after the first round."""
    sock = _multicast_socket(_own_ipv4())
    datagrams = [_beacon(beacon) for beacon in spec["beacons"]]
    first = True
    while True:
        for data in datagrams:
            sock.sendto(data, (GROUP_V4, BEACON_PORT))
        if first:
            _emit("ready")
            first = False
        await asyncio.sleep(spec["every"])  # pacing, as a real daemon's interval


def _garbage(rng: random.Random) -> list[bytes]:
    """Datagrams no daemon may choke on."""
    valid = _beacon({"id": device_id_from_public_key_der(rng.randbytes(91))})
    return [
        rng.randbytes(MAX_BEACON_BYTES + 500),
        MAGIC + rng.randbytes(300),
        valid[: len(valid) // 2],
        MAGIC + b"\x12\x02\xff\xfe\x0a\x05hello",  # a name that is not UTF-8, a bad ID
    ]


async def flood(spec: Mapping[str, Any]) -> None:
    """Adds spec["addresses"] to eth0 and sends, from each, garbage datagrams and beacons of
    spec["fakes"] fresh device IDs pointing at that address, as fast as the kernel takes them.
    Prints {"datagrams": how many were sent}."""
    rng = random.Random(17)
    for address in spec["addresses"]:
        netns.ip("addr", "add", f"{address}/24", "dev", "eth0")
    sent = 0
    for address in spec["addresses"]:
        sock = _multicast_socket(address)
        datagrams: Sequence[bytes] = [
            *_garbage(rng),
            *(
                _beacon(
                    {"addresses": [address]},
                    device_id_from_public_key_der(rng.randbytes(91)),
                    name="\x1b[31mfake\u202e" + "x" * 80,
                    ttl=60,
                )
                for _ in range(spec["fakes"])
            ),
        ]
        for data in datagrams:
            sock.sendto(data, (GROUP_V4, BEACON_PORT))
            sent += 1
        sock.close()
    _emit({"datagrams": sent})


_COMMANDS: Final = {"forge": forge, "flood": flood}


if __name__ == "__main__":
    asyncio.run(_COMMANDS[sys.argv[1]](json.loads(sys.argv[2])))
