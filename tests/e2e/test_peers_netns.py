"""Real daemons on namespace LANs: discovery, pairing, links, and the peer-layer attacks.

Each test builds its own LAN (tests/e2e/peerlan.py), runs `kizuna daemon` processes on it and
drives them through their Unix sockets; impostors, strangers and hostile clients are small
programs run inside the namespaces. Rows refer to /work/shared/THREATS.md.
"""

import asyncio
import ipaddress
import json
import re
import sys
import unicodedata
from collections.abc import Callable

import pytest

from kizuna_client import KizunaEvent, PeerInfo
from kizuna_client.errors import (
    InvalidArgumentError,
    PairingLockedOutError,
    PeerIdentityMismatchError,
    PeerNotTrustedError,
)
from kizuna_client.v1 import event_pb2
from kizuna_server.core.device_id import device_id_from_public_key_der
from kizuna_server.p2p.tls import HANDSHAKE_TIMEOUT_SECS
from tests import netns
from tests.e2e.peerlan import LINK_PORT, PAIRING_PORT, Device, PeerLan, Program, pair

pytestmark = pytest.mark.netns


def _on_subnet(address: str, subnet: int) -> bool:
    """Whether "host:port" / "[v6]:port" lies on test subnet `subnet` (inside the namespaces)."""
    host = address.rpartition(":")[0].strip("[]")
    ip = ipaddress.ip_address(host)
    if ip.version == 4:
        return ip in ipaddress.ip_network(f"10.231.{subnet}.0/24")
    return ip in ipaddress.ip_network(f"fd00:6b7a:{subnet}::/64")


def _about(device: Device, field: str) -> Callable[[KizunaEvent], bool]:
    """Matches events whose payload `field` carries a peer (or peer_id) that is `device`."""

    def match(event: KizunaEvent) -> bool:
        payload = getattr(event.message, field)
        peer_id = payload.peer_id if hasattr(payload, "peer_id") else payload.peer.device_id
        return bool(peer_id == device.device_id)

    return match


def _pairing_with(peer_id: str) -> Callable[[KizunaEvent], bool]:
    """Matches pairing_failed events about a pairing with `peer_id`."""

    def match(event: KizunaEvent) -> bool:
        return bool(event.message.pairing_failed.pairing.peer_id == peer_id)

    return match


async def _discovers(me: Device, other: Device) -> PeerInfo:
    """`me` lists `other` as announced over mDNS, under its name, at its LAN addresses."""

    def announced(peer: PeerInfo) -> bool:
        return peer.online and peer.source == "mdns" and peer.name == other.name

    seen = await me.wait_peer(other, announced, f"discovers {other.name} over mDNS")
    assert seen.trust == "untrusted"
    assert f"{other.host.ipv4}:{LINK_PORT}" in seen.addresses
    assert all(_on_subnet(address, 0) for address in seen.addresses), seen.addresses
    return seen


async def test_two_daemons_discover_pair_and_connect() -> None:
    """mDNS discovery, the manual pairing ceremony and the first link between two daemons.

    Proves: each daemon announces itself and finds the other (name, LAN addresses, source mdns);
    both people see the same six-digit code; after both confirm, each pins the other's actual
    certificate; ConnectPeer opens a mutual-TLS link and the other side dials back; every step
    is published on the event stream.
    """
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        for me, other in ((a, b), (b, a)):
            seen = await _discovers(me, other)
            assert seen.connection == "disconnected"
            discovered = await me.wait_event("peer_discovered", _about(other, "peer_discovered"))
            assert discovered.message.peer_discovered.peer.name == other.name

        asked = await a.api.request_pairing(b.device_id)
        assert re.fullmatch(r"\d{3} \d{3}", asked.code), asked.code
        assert (asked.peer_id, asked.direction) == (b.device_id, "outgoing")
        incoming = await lan.until(lambda: b.pairing_with(a), "beta to show the pairing")
        assert incoming.code == asked.code
        assert (incoming.id, incoming.direction, incoming.peer_name) == (
            asked.id,
            "incoming",
            "alpha",
        )
        for me in (a, b):
            shown = await me.wait_event("pairing_requested")
            assert shown.message.pairing_requested.pairing.code == asked.code

        assert (await a.api.confirm_pairing(asked.id)).state == "awaiting_peer"
        # Completed at once if alpha's confirmation already reached beta, else a moment later
        # (the two confirmations cross on the wire): the waits below settle it.
        second = await b.api.confirm_pairing(incoming.id, code=asked.code)
        assert second.state in ("awaiting_peer", "completed")
        for me, other in ((a, b), (b, a)):
            trusted = await me.wait_peer(other, lambda p: p.trusted, "trusts its pair")
            assert trusted.certificate_fingerprint == other.fingerprint
            completed = await me.wait_event("pairing_completed")
            assert completed.message.pairing_completed.peer.device_id == other.device_id

        link = await a.api.connect_to_peer(b.device_id)
        assert link.peer.connection == "connected"
        await b.wait_peer(a, lambda p: p.connected, "alpha connected (dialled back)")
        for me, other in ((a, b), (b, a)):
            await me.wait_event("peer_connected", _about(other, "peer_connected"))


async def test_third_daemon_sees_both_and_both_see_it() -> None:
    """A daemon joining a LAN where two already found each other is found by both and finds
    both: discovery is not limited to pairs, and announcements reach every host."""
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await _discovers(a, b)
        await _discovers(b, a)
        c = await lan.start(2, "gamma")
        for me, other in ((c, a), (c, b), (a, c), (b, c)):
            await _discovers(me, other)
        assert len(await c.api.peers(online_only=True)) == 2


async def test_static_peer_across_subnets_pairs_and_connects() -> None:
    """Two subnets joined by a router that forwards unicast only; mDNS off on both daemons.

    Proves: a static peer (discovery.static_peers) on another subnet is identified from its
    certificate and named; the manual pairing works across the router; the link comes up and
    the other side dials back at the address the caller came from.
    """
    netns.require()
    async with PeerLan(1, 1, routed=True) as lan:
        b = await lan.start(1, "beta", mdns=False)
        a = await lan.start(0, "alpha", mdns=False, static_peers=[b.link_address])
        assert _on_subnet(a.link_address, 0) and _on_subnet(b.link_address, 1)
        seen = await a.wait_peer(b, lambda p: p.name == "beta", "learns beta from its address")
        assert (seen.source, seen.addresses, seen.trust) == (
            "static",
            [b.link_address],
            "untrusted",
        )

        await pair(a, b)
        assert (await a.api.connect_to_peer(b.device_id)).peer.connection == "connected"
        back = await b.wait_peer(a, lambda p: p.connected, "alpha connected (dialled back)")
        assert back.source == "incoming" and a.link_address in back.addresses
        assert back.certificate_fingerprint == a.fingerprint


async def _registered(device: Device) -> bool | None:
    """Whether the daemon finished registering its mDNS service (probing and announcements)."""
    node = await device.api.node()
    detail = next(s.detail for s in node.subsystems if s.name == "discovery")
    return True if detail.startswith("announcing and browsing") else None


async def test_goodbye_marks_a_stopped_peer_gone_at_once() -> None:
    """Proves: a daemon stopped with SIGTERM says goodbye on mDNS, so its peers publish
    peer_lost "goodbye" with the peer offline, well before its records (3 s) could expire.

    Regression test: the goodbye of a fully registered daemon used to be dropped (its broadcast
    task was not awaited before the mDNS sockets closed; fixed in e00e915).
    """
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await _discovers(a, b)
        # Only a registered service has records to withdraw: before that, stop has no goodbye
        # to send and peers never heard of it.
        await lan.until(lambda: _registered(b), "beta to finish registering")
        loop = asyncio.get_running_loop()
        since, began = len(a.events), loop.time()
        await b.stop()
        lost = await a.wait_event("peer_lost", _about(b, "peer_lost"), since=since)
        lost_secs = loop.time() - began
        assert lost.message.peer_lost.reason == event_pb2.PeerLost.REASON_GOODBYE
        assert not lost.message.peer_lost.peer.online
        assert lost_secs < 3, f"gone after {lost_secs:.2f}s (records live 3 s)"


async def test_killed_peer_is_noticed() -> None:
    """Proves: a linked peer that is SIGKILLed (no goodbye, sockets closed by the kernel) is
    reported down at once (peer_disconnected within 2 s), marked gone when its records expire
    (peer_lost "expired"), and listed offline."""
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha", trust_mode="trust_all")
        b = await lan.start(1, "beta", trust_mode="trust_all")
        await a.wait_peer(b, lambda p: p.connected, "linked to beta (trust_all)")
        # Linked is not enough: the link may come from beta before alpha's browser resolved
        # beta's announcement, and only an announced peer can expire.
        await lan.until(lambda: _announced(a, 1), "alpha to have beta's announcement")
        loop = asyncio.get_running_loop()
        since, began = len(a.events), loop.time()
        await b.kill()
        down = await a.wait_event("peer_disconnected", _about(b, "peer_disconnected"), since=since)
        down_secs = loop.time() - began
        assert down.message.peer_disconnected.peer.device_id == b.device_id
        # The kernel closed beta's sockets: the link check fails at once, without waiting out a
        # handshake timeout (5 s) for a peer that refuses connections.
        assert down_secs < 2, f"link reported down after {down_secs:.2f}s"
        lost = await a.wait_event("peer_lost", _about(b, "peer_lost"), since=since, limit=15)
        assert lost.message.peer_lost.reason == event_pb2.PeerLost.REASON_EXPIRED
        gone = await a.peer(b.device_id)
        assert gone is not None and not gone.online and gone.connection != "connected"


async def _announced(device: Device, count: int) -> bool | None:
    """Whether the daemon's discovery subsystem reports `count` announced peers."""
    node = await device.api.node()
    detail = next(s.detail for s in node.subsystems if s.name == "discovery")
    return True if f"; {count} peer{'s' if count != 1 else ''} announced" in detail else None


async def test_impostor_announcing_a_paired_id_is_refused_and_the_pin_kept() -> None:
    """Rows #18, #19: after alpha and beta paired, beta leaves and gamma (a real daemon with its
    own certificate) is announced over mDNS under beta's device ID.

    Proves: alpha refuses the impostor (ConnectPeer fails with PEER_IDENTITY_MISMATCH), raises a
    peer_identity_mismatch alert naming beta's ID, both fingerprints and the impostor's
    address; beta's pin is unchanged and the impostor's address never appears among beta's
    addresses (announced addresses are hints until a handshake verifies them); the impostor
    learns nothing (alpha never introduced itself to it); and once the real beta is back, alpha
    links to it again with the same pin.
    """
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        # No announcements of its own (nor mDNS, nor beacon): a trust_all daemon that heard
        # alpha would dial it, and this impostor must stay unknown to alpha.
        impostor = await lan.start(
            2,
            "gamma",
            mdns=False,
            trust_mode="trust_all",
            env={"KIZUNA_DISCOVERY_ENABLE_UDP": "false"},
        )
        await _discovers(a, b)
        await pair(a, b)
        assert (await a.api.connect_to_peer(b.device_id)).peer.connection == "connected"
        pinned = (await a.api.peer(b.device_id)).certificate_fingerprint
        assert pinned == b.fingerprint != impostor.fingerprint

        since = len(a.events)
        announcer = await _replace_by_announcement(lan, a, b, impostor)
        alert = await a.wait_event(
            "peer_identity_mismatch", _about(b, "peer_identity_mismatch"), since=since
        )
        mismatch = alert.message.peer_identity_mismatch
        assert (mismatch.expected_fingerprint, mismatch.presented_fingerprint) == (
            pinned,
            impostor.fingerprint,
        )
        assert impostor.host.ipv4 in mismatch.address
        with pytest.raises(PeerIdentityMismatchError):
            await a.api.connect_to_peer(b.device_id)
        kept = await a.api.peer(b.device_id)
        assert (kept.trust, kept.certificate_fingerprint) == ("trusted", pinned)
        # The announced address is a hint: dialled (hence the alert), never put on beta's record.
        assert not any(impostor.host.ipv4 in address for address in kept.addresses)
        assert kept.connection != "connected"
        # The impostor saw a bare TLS handshake only: no Introduce, no Hello, no certificate.
        assert await impostor.peer(a.device_id) is None
        assert not impostor.events_of("peer_discovered")

        # The real beta returns: alpha keeps re-dialling a trusted peer and links to it with
        # the pin it always had.
        await announcer.stop()
        await b.start()
        back = await a.wait_peer(b, lambda p: p.connected, "links to the real beta again")
        assert back.certificate_fingerprint == pinned
        assert b.link_address in back.addresses


async def test_pairing_relay_shows_different_codes_and_cannot_claim_another_id() -> None:
    """Row #21, pairing through a man in the middle.

    Part 1, a relay with its own identity: mallory (named "beta", like the real one) takes
    alpha's pairing request and runs its own pairing towards beta at the same time. Proves the
    two people see different codes (each code covers both certificates and fresh nonces, and
    mallory is in both sessions with its own certificate), and their pairings name mallory's ID,
    not each other's; when they reject, nobody trusts mallory. Chance of equal codes: 1e-6.

    Part 2, a relay that claims beta's ID (mallory announced under it): alpha refuses to pair
    before sending anything, because the certificate at that address does not hash to the ID
    (PEER_IDENTITY_MISMATCH); no pairing opens on either side.
    """
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        m = await lan.start(2, "beta")
        for me, other in ((a, b), (a, m), (m, b), (b, m)):
            await _discovers(me, other)

        towards_mallory = await a.api.request_pairing(m.device_id)
        at_mallory = await lan.until(lambda: m.pairing_with(a), "mallory to get alpha's request")
        assert at_mallory.code == towards_mallory.code  # mallory knows alpha's code
        from_mallory = await m.api.request_pairing(b.device_id)
        at_beta = await lan.until(lambda: b.pairing_with(m), "beta to get mallory's request")
        assert at_beta.code == from_mallory.code
        assert towards_mallory.code != at_beta.code, "alpha and beta were shown the same code"
        assert towards_mallory.peer_id == m.device_id != b.device_id
        assert at_beta.peer_id == m.device_id != a.device_id

        await a.api.reject_pairing(towards_mallory.id)
        await b.api.reject_pairing(at_beta.id)
        for me in (a, b):
            failed = await me.wait_event("pairing_failed")
            assert failed.message.pairing_failed.pairing.peer_id == m.device_id
            mallory = await me.api.peer(m.device_id)
            assert mallory.trust != "trusted" and not mallory.certificate_fingerprint
        await lan.until(
            lambda: _none_open(m), "mallory's pairings to end after the rejections", limit=10
        )

        since = len(a.events)
        await _replace_by_announcement(lan, a, b, m)
        await a.wait_peer(
            b,
            lambda p: p.online and m.link_address in p.addresses,
            "beta's ID at mallory's address",
        )
        with pytest.raises(PeerIdentityMismatchError):
            await a.api.request_pairing(b.device_id)
        assert await a.api.pairings() == []
        assert await m.api.pairings() == []
        assert not a.events_of("pairing_requested", since=since)
        assert (await a.api.peer(b.device_id)).trust == "untrusted"


async def _replace_by_announcement(
    lan: PeerLan, watcher: Device, stopped: Device, at: Device
) -> Program:
    """Stops `stopped` (until `watcher` saw it go) and announces its ID from `at`'s address;
    returns the announcing program."""
    since = len(watcher.events)
    await stopped.stop()
    await watcher.wait_event("peer_lost", _about(stopped, "peer_lost"), since=since)
    fake = {
        "id": stopped.device_id,
        "name": "beta",
        "port": LINK_PORT,
        "pp": PAIRING_PORT,
        "addresses": [at.host.ipv4],
    }
    announcer = await lan.spawn(lan.hosts.index(at.host), "announce", {"services": [fake]})
    await lan.ready(announcer)
    return announcer


async def _none_open(device: Device) -> bool | None:
    return True if not await device.api.pairings() else None


async def test_unpaired_device_reaches_nothing_but_pairing() -> None:
    """Rows #20, #24: a stranger with a valid device certificate of its own.

    Proves: LinkService/Hello on the link port fails at the TLS handshake (UNAVAILABLE, not a
    status from the service) with the stranger's certificate and with none; the pairing port
    serves nothing but pairing (Hello there is UNIMPLEMENTED); the daemon never learns of the
    stranger. Control: once the daemon trusts the stranger's ID, the same program introduces
    itself (pinning its certificate) and its Hello succeeds, so the refusals were about trust.
    """
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha", mdns=False)
        identity = lan.temp_dir() / "identity"
        spec = {"host": a.host.ipv4, "identity": str(identity), "phase": "untrusted"}
        refused = await lan.run(1, "stranger", spec)
        stranger = refused["device_id"]
        for key in ("link_with_certificate", "link_without_certificate"):
            assert refused[key].startswith("UNAVAILABLE"), refused
        assert refused["pairing_port_hello"].startswith("UNIMPLEMENTED"), refused
        assert await a.peer(stranger) is None
        assert not [e for e in a.events if stranger in str(e.message)]

        await a.api.trust_peer(stranger)
        accepted = await lan.run(1, "stranger", {**spec, "phase": "trusted"})
        assert accepted["device_id"] == stranger
        assert accepted["introduced_trusted"] is True
        assert accepted["link_with_certificate"] == "OK", accepted
        pinned = await a.api.peer(stranger)
        assert pinned.certificate_fingerprint == accepted["fingerprint"]


async def test_announcements_of_loopback_or_privileged_ports_are_never_dialled() -> None:
    """Rows #16, #30: a daemon in trust_all mode (it dials every peer it believes) receives
    three announcements with fresh device IDs: one at 127.0.0.1:22, one at a LAN address on port
    1022, and a control at a LAN address on port 47200 whose name is hostile.

    Proves: the first two are refused on arrival (logged, absent from ListPeers) and nothing
    ever connects to the listeners standing at 127.0.0.1:22/23 in the daemon's own namespace or
    at port 1022/1023 on the announcer; the control shows that such announcements are dialled
    otherwise (its pairing port gets connections), and its name is listed without escape
    sequences, newlines or bidi controls, cut to 64 characters.
    """
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha", trust_mode="trust_all")
        announcer_ip = lan.hosts[1].ipv4
        loopback = await lan.spawn(0, "listen", {"address": "127.0.0.1", "ports": [22, 23]})
        privileged = await lan.spawn(1, "listen", {"address": announcer_ip, "ports": [1022, 1023]})
        control = await lan.spawn(1, "listen", {"address": announcer_ip, "ports": [47200, 47201]})
        for listener in (loopback, privileged, control):
            await lan.ready(listener)

        ids = [device_id_from_public_key_der(bytes([n]) * 91) for n in range(3)]
        hostile = "\x1b[31mred\x1b[0m\nline two\u202e" + "x" * 150
        services = [
            {"id": ids[0], "name": "ssh", "port": 22, "pp": 23, "addresses": ["127.0.0.1"]},
            {"id": ids[1], "name": "low", "port": 1022, "pp": 1023, "addresses": [announcer_ip]},
            {
                "id": ids[2],
                "name": hostile,
                "port": 47200,
                "pp": 47201,
                "addresses": [announcer_ip],
            },
        ]
        await lan.ready(await lan.spawn(1, "announce", {"services": services}))

        await a.wait_log(f"ignoring the announcement of {ids[0]}")
        await a.wait_log(f"ignoring the announcement of {ids[1]}")
        listed = await a.wait_peer(ids[2], lambda p: p.online, "lists the control announcement")
        await lan.until(
            lambda: _accepted(control.lines, 47201), "the control's pairing port to be dialled"
        )
        assert listed.addresses == [f"{announcer_ip}:47200"]
        assert listed.name.startswith("[31mred[0m line two") and len(listed.name) == 64
        assert not [ch for ch in listed.name if unicodedata.category(ch) in ("Cc", "Cf")]

        known = {p.device_id for p in await a.api.peers()}
        assert ids[0] not in known and ids[1] not in known
        assert loopback.lines == ["ready"], loopback.lines
        assert privileged.lines == ["ready"], privileged.lines


async def _accepted(lines: list[str], port: int) -> bool | None:
    return True if f"accepted {port}" in lines else None


#: Tries a TCP connection to each "host port" argument; prints {"host port": "ok" or error}.
_PROBE = """
import json, socket, sys
result = {}
for target in sys.argv[1:]:
    host, port = target.split()
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        result[target] = "ok"
    except OSError as exc:
        result[target] = type(exc).__name__
print(json.dumps(result))
"""


async def test_ipv6_off_listens_announces_and_dials_ipv4_only() -> None:
    """networking.enable_ipv6 = false on alpha (IPv6 stays on beta).

    Proves: alpha's link and pairing ports accept connections at its IPv4 address and refuse
    them at its IPv6 address; beta sees alpha announced (mDNS and beacon) at IPv4 addresses
    only; alpha never dials an IPv6 static peer (a listener there gets no connection, and
    alpha says why), while it does dial the IPv4 control beside it.
    """
    netns.require()
    async with PeerLan(2) as lan:
        there = lan.hosts[1]
        over_v6 = await lan.spawn(1, "listen", {"address": there.ipv6, "ports": [47300, 47301]})
        over_v4 = await lan.spawn(1, "listen", {"address": there.ipv4, "ports": [47310, 47311]})
        for listener in (over_v6, over_v4):
            await lan.ready(listener)
        a = await lan.start(
            0,
            "alpha",
            static_peers=[f"[{there.ipv6}]:47300", f"{there.ipv4}:47310"],
            env={"KIZUNA_NETWORKING_ENABLE_IPV6": "false"},
        )
        b = await lan.start(1, "beta")

        seen = await _discovers(b, a)
        assert all(":" not in address.rpartition(":")[0] for address in seen.addresses), seen
        await lan.until(lambda: _accepted(over_v4.lines, 47311), "alpha to dial the IPv4 peer")
        await a.wait_log("is IPv6 and networking.enable_ipv6 is false")
        here = a.host
        targets = [f"{host} {port}" for host in (here.ipv4, here.ipv6) for port in (47120, 47121)]
        probe = [sys.executable, "-c", _PROBE, *targets]
        reached = json.loads(await asyncio.to_thread(netns.run_in, there, probe))
        assert reached == {
            f"{here.ipv4} 47120": "ok",
            f"{here.ipv4} 47121": "ok",
            f"{here.ipv6} 47120": "ConnectionRefusedError",
            f"{here.ipv6} 47121": "ConnectionRefusedError",
        }
        assert over_v6.lines == ["ready"], over_v6.lines


async def test_slow_and_oversized_clients_are_cut_off_while_peers_connect() -> None:
    """Rows #13, #14: from a third host, 8 sockets per peer port that never start TLS, one that
    trickles a byte a second and one that sends a 1 MiB garbage record; then Pair and
    Introduce calls over the 16 KiB message cap.

    Proves: the daemon closes every slow socket at its handshake deadline (5 s) and the garbage
    one at once; while they are held open, a paired peer re-dials (a TLS handshake on the
    pairing port to read the certificate, then a mutual-TLS Hello on the link port) and is
    connected; Pair and Introduce messages over the cap get
    RESOURCE_EXHAUSTED, while the same garbage under the cap is read and refused as
    INVALID_ARGUMENT; afterwards the daemon answers its API and its peer re-connects.
    """
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await _discovers(b, a)
        await pair(b, a)
        await b.wait_peer(a, lambda p: p.connected, "linked to alpha")

        spec = {
            "host": a.host.ipv4,
            "ports": [LINK_PORT, PAIRING_PORT],
            "idle": 8,
            "garbage": 1 << 20,
            "limit": 15,
        }
        attacker = await lan.spawn(2, "hold", spec)
        await lan.ready(attacker)
        await b.api.disconnect_peer(a.device_id)
        assert (await b.api.connect_to_peer(a.device_id)).peer.connection == "connected"
        still_open = [
            line for line in attacker.lines if line.startswith(("closed idle", "closed trickle"))
        ]
        assert not still_open, f"slow sockets closed before the peer connected: {still_open}"

        closed = await attacker.result(limit=30)
        assert len(closed) == 2 * (8 + 2)
        for kind, port, seconds, _ in closed:
            assert seconds is not None, f"{kind} socket to {port} was never closed"
            if kind == "garbage":
                assert seconds < HANDSHAKE_TIMEOUT_SECS, (port, seconds)
            else:
                assert seconds <= HANDSHAKE_TIMEOUT_SECS + 2, (kind, port, seconds)

        over, under = 20 * 1024, 15 * 1024  # the cap is 16 KiB
        codes = await lan.run(2, "oversize", {"host": a.host.ipv4, "sizes": [over, under]})
        assert codes == {
            f"pair_{over}": "RESOURCE_EXHAUSTED",
            f"introduce_{over}": "RESOURCE_EXHAUSTED",
            # Under the cap the same garbage is read and refused for what it is.
            f"pair_{under}": "INVALID_ARGUMENT",
            f"introduce_{under}": "INVALID_ARGUMENT",
        }
        assert (await a.api.node()).state == "ready"
        await b.api.disconnect_peer(a.device_id)
        assert (await b.api.connect_to_peer(a.device_id)).peer.connection == "connected"


async def test_forgetting_a_peer_cuts_its_open_link() -> None:
    """Row #32: alpha forgets beta while their link is up.

    Proves: alpha closes its own link at once (peer_forgotten, beta no longer trusted or
    connected); beta's next check on the link is refused, so beta reports the link down, and
    reconnecting fails with PEER_NOT_TRUSTED rather than silently reusing the old connection.
    """
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await _discovers(a, b)
        await pair(a, b)
        await a.wait_peer(b, lambda p: p.connected, "linked to beta")
        await b.wait_peer(a, lambda p: p.connected, "linked to alpha")

        since_a, since_b = len(a.events), len(b.events)
        await a.api.forget_peer(b.device_id)
        await a.wait_event("peer_forgotten", _about(b, "peer_forgotten"), since=since_a)
        forgotten = await a.api.peer(b.device_id)
        assert (forgotten.trust, forgotten.connection) == ("untrusted", "disconnected")
        await b.wait_event("peer_disconnected", _about(a, "peer_disconnected"), since=since_b)
        # Beta learns from alpha's pairing port that it was forgotten: shown untrusted, not
        # re-dialling for ever (issue 10, item 2).
        await b.wait_event("peer_forgotten", _about(a, "peer_forgotten"), since=since_b)
        with pytest.raises(PeerNotTrustedError):
            await b.api.connect_to_peer(a.device_id, pair=False)
        shown = await b.api.peer(a.device_id)
        assert (shown.trust, shown.connection) == ("untrusted", "disconnected")


async def test_wrong_codes_lock_pairing_out() -> None:
    """Row #22: beta's person types a wrong code three times.

    Proves: each wrong code fails that pairing on both sides, and the fourth request is refused
    with PAIRING_LOCKED_OUT instead of showing a new code.
    """
    netns.require()
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await _discovers(a, b)
        for _ in range(3):
            since = len(a.events)
            asked = await a.api.request_pairing(b.device_id)
            incoming = await lan.until(lambda: b.pairing_with(a), "beta to show the pairing")
            wrong = "000 000" if asked.code != "000 000" else "111 111"
            with pytest.raises(InvalidArgumentError):
                await b.api.confirm_pairing(incoming.id, code=wrong)
            await a.wait_event("pairing_failed", since=since)
            await lan.until(lambda: _none_open(a), "alpha's pairing to close")
        with pytest.raises(PairingLockedOutError):
            await a.api.request_pairing(b.device_id)
        assert await b.api.pairings() == []
        assert (await b.api.peer(a.device_id)).trust == "untrusted"


async def test_a_stranger_with_a_real_devices_certificate_can_neither_pair_nor_rename_it() -> None:
    """Rows #34, #36: mallory, on a third host, holds only beta's public certificate (any
    device can read it from beta's pairing port) and tries to act as beta towards alpha, with
    which beta is paired: three pairing requests signed with mallory's own key, each followed
    by a wrong reveal, then an Introduce naming beta "Bank Laptop (trusted)" at port 4444.

    Proves: every call is refused at once, before anything is keyed by beta's ID (INVALID_ARGUMENT
    on the proof field); alpha shows no pairing prompt and keeps beta's name and addresses; the
    answer does not say whether alpha trusts beta. Then alpha forgets beta (which, told so by
    alpha's pairing port, forgets alpha too) and they pair again at once, in both directions:
    beta was never locked out.
    """
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await _discovers(a, b)
        await pair(a, b)
        before = await a.wait_peer(b, lambda p: p.connected, "linked to beta")
        since = len(a.events)

        spec = {
            "host": a.host.ipv4,
            "victim": b.host.ipv4,
            "identity": str(lan.temp_dir() / "mallory"),
            "tries": 3,
        }
        result = await lan.run(2, "claim", spec)

        assert result["pair"] == ["INVALID_ARGUMENT INVALID_ARGUMENT proof "] * 3, result
        assert result["introduce"] == "INVALID_ARGUMENT INVALID_ARGUMENT proof ", result
        after = await a.api.peer(b.device_id)
        assert (after.name, after.addresses) == (before.name, before.addresses)
        assert not any("4444" in address for address in after.addresses)
        assert not a.events_of("pairing_requested", since=since)
        assert await a.api.pairings() == []

        for initiator, responder in ((b, a), (a, b)):
            # Linked first: a peer paired a moment ago that says "not trusted" may still be
            # finishing the pairing, so only a linked one is taken as having forgotten.
            await b.wait_peer(a, lambda p: p.connected, "linked to alpha")
            await a.api.forget_peer(b.device_id)
            # Beta learns at its next link check that alpha forgot it, and forgets alpha too.
            await b.wait_peer(a, lambda p: not p.trusted, "forgets alpha, forgotten there")
            await pair(initiator, responder)


async def test_stalled_pairings_cost_the_staller_and_leave_room_for_people() -> None:
    """Row #35: a stranger on a third host starts pairings with alpha (each from a fresh
    identity of its own, with a valid proof), reveals, and hangs up without a decision; while
    one is open it tries a second from the same address.

    Proves: one address holds one incoming pairing at a time (the second gets LIMIT_EXCEEDED,
    pairings_per_address); each stall ends as failed and counts against the address, so the
    fourth attempt is refused with PAIRING_LOCKED_OUT before a prompt is shown; meanwhile beta's
    person, on another host, pairs with alpha as usual.
    """
    netns.require()
    async with PeerLan(3) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await _discovers(a, b)
        for round_ in range(3):
            since = len(a.events)
            spec = {"host": a.host.ipv4, "identity": str(lan.temp_dir() / f"staller-{round_}")}
            result = await lan.run(2, "stall", spec)
            assert result["first"] == "answered", result
            assert result["second"].startswith("RESOURCE_EXHAUSTED LIMIT_EXCEEDED"), result
            assert result["second"].endswith("pairings_per_address"), result
            await a.wait_event("pairing_failed", _pairing_with(result["device_id"]), since=since)
        since = len(a.events)
        spec = {"host": a.host.ipv4, "identity": str(lan.temp_dir() / "staller-last")}
        locked = await lan.run(2, "stall", spec)
        assert locked["first"].startswith("RESOURCE_EXHAUSTED PAIRING_LOCKED_OUT"), locked
        assert not a.events_of("pairing_requested", since=since)

        await pair(b, a)
