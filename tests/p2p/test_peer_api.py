"""PeerService end to end: real daemons in this process pair, trust and link over TLS on loopback.

Every daemon listens for peers on 127.0.0.1 with a random port and no mDNS; tests drive them
through the public API (kizuna_client) and wait on events or state, never on the clock.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from kizuna_client import (
    InvalidArgumentError,
    InvalidPageTokenError,
    PairingInfo,
    PairingLockedOutError,
    PairingNotAllowedError,
    PairingNotFoundError,
    PeerAddressInvalidError,
    PeerAlreadyExistsError,
    PeerIdentityMismatchError,
    PeerInfo,
    PeerNotFoundError,
    PeerNotTrustedError,
    PeerUnreachableError,
)
from kizuna_client.v1 import event_pb2, node_pb2, peer_pb2, peer_service_pb2
from kizuna_server.calls.errors import reason_from_trailers
from kizuna_server.config import Config
from kizuna_server.core.device_id import format_device_id
from kizuna_server.files import ensure_private_directory
from kizuna_server.p2p import services
from kizuna_server.p2p.identity import KEY_FILE, Identity, load_or_create_identity
from kizuna_server.p2p.tls import (
    PeerUnreachable,
    fetch_certificate,
    link_channel_credentials,
    link_channel_options,
)
from kizuna_server.p2p.wire import device_pb2, link_service_pb2, link_service_pb2_grpc
from tests.p2p.peerpair import (
    Node,
    Nodes,
    eventually,
    pair,
    request_and_show,
    wait_connected,
)

CODE = re.compile(r"\d{3} \d{3}")


def pairing_of(payload: Any) -> PairingInfo:
    """The pairing in a pairing_* event payload, as the client shows it."""
    return PairingInfo.from_proto(payload.pairing)


def random_id() -> str:
    """A well-formed device ID nobody holds."""
    return base64.b32encode(secrets.token_bytes(32)).decode().rstrip("=")


def wrong_code(code: str) -> str:
    """A six-digit code that differs from `code`."""
    digits = code.replace(" ", "")
    other = f"{(int(digits) + 1) % 10**6:06d}"
    return f"{other[:3]} {other[3:]}"


async def read_json(path: Path) -> Any:
    return json.loads(await asyncio.to_thread(path.read_text))


async def file_mode(path: Path) -> int:
    return stat.S_IMODE((await asyncio.to_thread(os.stat, path)).st_mode)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A link port whose pairing port (+1) refuses connections: bound, never listening."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    try:
        yield holder.getsockname()[1] - 1
    finally:
        holder.close()


async def link_hello(caller: Identity, target: Node) -> link_service_pb2.HelloResponse:
    """Calls LinkService.Hello on `target`'s link port as `caller`, outside any daemon."""
    assert target.daemon.identity is not None
    channel = grpc.aio.secure_channel(
        target.address,
        link_channel_credentials(caller, target.daemon.identity.certificate_pem.decode()),
        options=link_channel_options(target.id),
    )
    try:
        return await _hello(channel)
    finally:
        await channel.close(None)


async def _hello(channel: grpc.aio.Channel) -> link_service_pb2.HelloResponse:
    stub = link_service_pb2_grpc.LinkServiceStub(channel)
    response: link_service_pb2.HelloResponse = await stub.Hello(
        link_service_pb2.HelloRequest(
            device=device_pb2.DeviceInfo(name="probe", protocol_version=1), link_port=0
        ),
        timeout=5,
    )
    return response


# --- AddPeer ------------------------------------------------------------------------------------


async def test_add_peer_learns_the_device_at_the_address(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    mark = a.events.mark()

    peer = await a.client.add_peer(b.address, persist=False)

    assert peer.device_id == b.id
    assert peer.device_id_display == format_device_id(b.id)
    assert peer.name == "beta"
    assert (peer.trust, peer.source, peer.connection) == ("untrusted", "manual", "disconnected")
    assert peer.addresses[0] == b.address
    assert peer.certificate_fingerprint == ""
    discovered = await a.events.wait_for(
        "peer_discovered", lambda p: p.peer.device_id == b.id, after=mark
    )
    assert discovered.message.peer_discovered.peer.source == peer_pb2.Peer.SOURCE_MANUAL
    # B learned of A from its introduction: a named hint, not trusted and never dialled.
    seen_by_b = await b.client.peer(a.id)
    assert (seen_by_b.trust, seen_by_b.source, seen_by_b.addresses) == (
        "untrusted",
        "incoming",
        [],
    )
    assert seen_by_b.name == "alpha"

    with pytest.raises(PeerAlreadyExistsError) as again:
        await a.client.add_peer(b.address, persist=False)
    assert again.value.metadata["peer_id"] == b.id
    assert [p.device_id for p in await a.client.peers()] == [b.id]


#: Addresses AddPeer refuses before dialling anything.
MALFORMED_ADDRESSES = (
    "127.0.0.1:http",
    "127.0.0.1:70000",
    "127.0.0.1:0",
    "127.0.0.1:65535",  # its pairing port would be 65536
    "127.0.0.1:-1",
    "::1:47120",  # IPv6 without brackets
    "[::1",
    "[::1]47120",
    "[127.0.0.1]:47120",
    ":47120",
    "two words:47120",
)


async def test_add_peer_refuses_malformed_addresses(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    for address in MALFORMED_ADDRESSES:
        with pytest.raises(PeerAddressInvalidError) as refused:
            await a.client.add_peer(address, persist=False)
        assert refused.value.metadata["address"] == address
    assert await a.client.peers() == []


async def test_add_peer_refuses_empty_address_own_address_and_unreachable(
    nodes: Nodes, refused_port: int
) -> None:
    a = await nodes.start("alpha")
    for empty in ("", "   "):
        with pytest.raises(InvalidArgumentError) as blank:
            await a.client.add_peer(empty, persist=False)
        assert blank.value.metadata["field"] == "address"
    with pytest.raises(PeerAddressInvalidError) as own:
        await a.client.add_peer(a.address, persist=False)
    assert own.value.metadata["address"] == a.address
    with pytest.raises(PeerUnreachableError):
        await a.client.add_peer(f"127.0.0.1:{refused_port}", persist=False)

    # Something listens on the pairing port (link port + 1) but hangs up instead of speaking TLS.
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    async with server:
        pairing_port = server.sockets[0].getsockname()[1]
        with pytest.raises(PeerUnreachableError):
            await a.client.add_peer(f"127.0.0.1:{pairing_port - 1}", persist=False)
    assert await a.client.peers() == []


async def test_persisted_address_survives_a_restart(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    c = await nodes.start("gamma")
    await a.client.add_peer(b.address, persist=True)
    await a.client.add_peer(c.address, persist=False)
    saved = a.data_dir / "addresses.json"
    assert (await read_json(saved))["addresses"] == [b.address]
    assert await file_mode(saved) == 0o600

    a = await nodes.restart(a)

    async def known() -> PeerInfo | None:
        try:
            return await a.client.peer(b.id)
        except PeerNotFoundError:
            return None

    peer = await eventually(known, what="the persisted peer known again")
    assert peer.source == "manual"
    assert b.address in peer.addresses
    assert peer.name == "beta"
    assert c.id not in {p.device_id for p in await a.client.peers()}


# --- pairing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["initiator", "responder"])
async def test_pairing_shows_equal_codes_and_completes_in_either_order(
    nodes: Nodes, first: str
) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    mark_a, mark_b = a.events.mark(), b.events.mark()

    outgoing, incoming = await request_and_show(a, b)

    assert CODE.fullmatch(outgoing.code)
    assert incoming.code == outgoing.code
    assert incoming.id == outgoing.id
    assert (outgoing.direction, outgoing.peer_id, outgoing.state) == (
        "outgoing",
        b.id,
        "awaiting_confirmation",
    )
    assert (incoming.direction, incoming.peer_id, incoming.peer_name) == ("incoming", a.id, "alpha")
    assert incoming.expire_time is not None
    requested_a = await a.events.wait_for("pairing_requested", after=mark_a)
    requested_b = await b.events.wait_for("pairing_requested", after=mark_b)
    assert pairing_of(requested_a.payload).code == outgoing.code
    assert pairing_of(requested_b.payload).code == outgoing.code
    assert (pairing_of(requested_a.payload).peer_id, pairing_of(requested_a.payload).peer_name) == (
        b.id,
        "beta",
    )
    assert (pairing_of(requested_b.payload).peer_id, pairing_of(requested_b.payload).peer_name) == (
        a.id,
        "alpha",
    )
    assert (await a.client.peer(b.id)).trust == "pairing"
    assert (await b.client.peer(a.id)).trust == "pairing"

    # The second confirmer types the code, without its space.
    if first == "initiator":
        confirmed = await a.client.confirm_pairing(outgoing.id)
        second = await b.client.confirm_pairing(incoming.id, code=outgoing.code.replace(" ", ""))
    else:
        confirmed = await b.client.confirm_pairing(incoming.id)
        second = await a.client.confirm_pairing(outgoing.id, code=outgoing.code.replace(" ", ""))
    assert confirmed.state == "awaiting_peer"
    assert second.state in ("awaiting_peer", "completed")

    done_a = await a.events.wait_for("pairing_completed", after=mark_a)
    done_b = await b.events.wait_for("pairing_completed", after=mark_b)
    for event, other in ((done_a, b), (done_b, a)):
        completed = event.message.pairing_completed
        assert completed.pairing.state == peer_pb2.Pairing.STATE_COMPLETED
        assert completed.pairing.code == outgoing.code
        assert completed.peer.device_id == other.id
        assert completed.peer.trust == peer_pb2.Peer.TRUST_TRUSTED
    assert not a.events.of_type("pairing_failed", after=mark_a)
    assert not b.events.of_type("pairing_failed", after=mark_b)
    assert await a.client.pairings() == []
    assert await b.client.pairings() == []
    for here, there in ((a, b), (b, a)):
        peer = await here.client.peer(there.id)
        assert peer.trust == "trusted"
        assert peer.certificate_fingerprint == there.fingerprint
        assert (peer.permissions.files, peer.permissions.streams) == (True, True)
        assert (peer.permissions.commands, peer.permissions.auto_accept_files) == (False, False)
        assert peer.message.HasField("paired_time")


@pytest.mark.parametrize("mistyped_by", ["initiator", "responder"])
async def test_a_wrongly_typed_code_fails_the_pairing_on_both_sides(
    nodes: Nodes, mistyped_by: str
) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    outgoing, incoming = await request_and_show(a, b)
    typist, other = (a, b) if mistyped_by == "initiator" else (b, a)
    mark_typist, mark_other = (mark_a, mark_b) if typist is a else (mark_b, mark_a)
    pairing_id = outgoing.id

    with pytest.raises(InvalidArgumentError) as mistyped:
        await typist.client.confirm_pairing(pairing_id, code=wrong_code(outgoing.code))
    assert mistyped.value.metadata["field"] == "code"

    failed_here = await typist.events.wait_for("pairing_failed", after=mark_typist)
    failed_there = await other.events.wait_for("pairing_failed", after=mark_other)
    assert (
        pairing_of(failed_here.payload).state,
        pairing_of(failed_here.payload).error_reason,
    ) == (
        "failed",
        "INVALID_ARGUMENT",
    )
    there = pairing_of(failed_there.payload)
    assert (there.state, there.error_reason) == ("rejected", "PAIRING_REJECTED")
    assert incoming.id == pairing_id
    for here, peer in ((a, b), (b, a)):
        assert (await here.client.peer(peer.id)).trust == "untrusted"
        assert await here.client.pairings() == []
        assert not here.events.of_type("pairing_completed")
    with pytest.raises(PairingNotFoundError):
        await other.client.confirm_pairing(pairing_id)


@pytest.mark.parametrize("rejected_by", ["initiator", "responder"])
async def test_a_rejection_from_either_side_ends_the_pairing_without_trust(
    nodes: Nodes, rejected_by: str
) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    outgoing, incoming = await request_and_show(a, b)
    # The other side had confirmed already: a rejection still wins.
    if rejected_by == "initiator":
        await b.client.confirm_pairing(incoming.id)
        await a.client.reject_pairing(outgoing.id)
    else:
        await a.client.confirm_pairing(outgoing.id)
        await b.client.reject_pairing(incoming.id)

    for node, mark in ((a, mark_a), (b, mark_b)):
        failed = pairing_of((await node.events.wait_for("pairing_failed", after=mark)).payload)
        assert failed.state == "rejected"
        assert failed.error_reason == "PAIRING_REJECTED"
        assert failed.id == outgoing.id
    assert (await a.client.peer(b.id)).trust == "untrusted"
    assert (await b.client.peer(a.id)).trust == "untrusted"
    assert (await a.client.peer(b.id)).certificate_fingerprint == ""
    assert (
        not (a.data_dir / "trust.json").exists()
        or not (await read_json(a.data_dir / "trust.json"))["peers"]
    )
    with pytest.raises(PeerNotTrustedError):
        await a.client.connect_to_peer(b.id, pair=False)


async def test_the_initiator_cancels_and_the_responder_cannot(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    outgoing, incoming = await request_and_show(a, b)

    with pytest.raises(InvalidArgumentError):
        await b.client.cancel_pairing(incoming.id)
    assert [p.id for p in await b.client.pairings()] == [outgoing.id]
    assert [p.state for p in await a.client.pairings()] == ["awaiting_confirmation"]

    # A cancel is not a failed attempt: three of them do not lock the peer out.
    for attempt in range(3):
        if attempt:
            outgoing, incoming = await request_and_show(a, b)
        mark_a, mark_b = a.events.mark(), b.events.mark()
        await a.client.cancel_pairing(outgoing.id)
        here = pairing_of((await a.events.wait_for("pairing_failed", after=mark_a)).payload)
        there = pairing_of((await b.events.wait_for("pairing_failed", after=mark_b)).payload)
        assert (here.state, there.state) == ("cancelled", "cancelled")
        assert there.error_reason == "PAIRING_REJECTED"
        assert await a.client.pairings() == []
        assert await b.client.pairings() == []
    with pytest.raises(PairingNotFoundError):
        await a.client.cancel_pairing(outgoing.id)
    with pytest.raises(PairingNotFoundError):
        await b.client.reject_pairing(outgoing.id)

    await pair(a, b, connect=False)
    assert (await b.client.peer(a.id)).trusted


def _pairing_timeout(seconds: int) -> Callable[[Config], Config]:
    """security.pairing_timeout_secs cannot go below 10 s in a configuration; the validated
    Config is changed instead, so expiry tests wait seconds, not minutes."""

    def adjust(config: Config) -> Config:
        security = dataclasses.replace(config.security, pairing_timeout_secs=seconds)
        return dataclasses.replace(config, security=security)

    return adjust


async def _let_a_pairing_expire(
    nodes: Nodes, *, responder_timeout: int = 2
) -> tuple[Node, Node, PairingInfo, PairingInfo]:
    """A asks B (timeout 2 s), only B confirms, and the pairing runs out."""
    a = await nodes.start("alpha", adjust=_pairing_timeout(2))
    b = await nodes.start("beta", adjust=_pairing_timeout(responder_timeout))
    await a.client.add_peer(b.address, persist=False)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    outgoing, _ = await request_and_show(a, b)
    await b.client.confirm_pairing(outgoing.id)
    failed_a = await a.events.wait_for("pairing_failed", after=mark_a)
    failed_b = await b.events.wait_for("pairing_failed", after=mark_b)
    return a, b, pairing_of(failed_a.payload), pairing_of(failed_b.payload)


async def test_a_pairing_not_confirmed_in_time_expires(nodes: Nodes) -> None:
    a, b, here, _ = await _let_a_pairing_expire(nodes)

    assert (here.state, here.error_reason) == ("expired", "PAIRING_EXPIRED")
    with pytest.raises(PairingNotFoundError):
        await a.client.confirm_pairing(here.id)
    assert await a.client.pairings() == []
    assert await b.client.pairings() == []
    assert (await a.client.peer(b.id)).trust == "untrusted"
    assert (await b.client.peer(a.id)).trust == "untrusted"


async def test_the_responder_reports_a_pairing_that_expired_as_expired(nodes: Nodes) -> None:
    # The responder's own deadline is later, so it learns of the expiry from the initiator.
    _, _, here, there = await _let_a_pairing_expire(nodes, responder_timeout=3)

    assert here.state == "expired"
    assert (there.state, there.error_reason) == ("expired", "PAIRING_EXPIRED")


async def test_three_rejections_lock_the_peer_and_its_address_out(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    for _ in range(3):
        mark = a.events.mark()
        _, incoming = await request_and_show(a, b)
        await b.client.reject_pairing(incoming.id)
        await a.events.wait_for("pairing_failed", after=mark)

    with pytest.raises(PairingLockedOutError) as locked:
        await a.client.request_pairing(b.id)
    assert 0 < int(locked.value.metadata["retry_after_secs"]) <= 300

    # B locked the address out too: another device asking from 127.0.0.1 is refused by B.
    c = await nodes.start("gamma")
    await c.client.add_peer(b.address, persist=False)
    with pytest.raises(PairingLockedOutError):
        await c.client.request_pairing(b.id)
    assert await b.client.pairings() == []


# --- after pairing ------------------------------------------------------------------------------


async def test_paired_daemons_link_up_both_ways(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    # Marked before pairing: the link may come up by itself as soon as the pairing completes.
    mark_a, mark_b = a.events.mark(), b.events.mark()
    await pair(a, b, connect=False)

    connection = await a.client.connect_to_peer(b.id)

    assert connection.peer.connected
    assert connection.peer.device_id == b.id
    await a.events.wait_for("peer_connected", lambda p: p.peer.device_id == b.id, after=mark_a)
    # B is dialled back, so both sides show the link.
    await b.events.wait_for("peer_connected", lambda p: p.peer.device_id == a.id, after=mark_b)
    for here, there in ((a, b), (b, a)):
        peer = await here.client.peer(there.id)
        assert (peer.connection, peer.online, peer.trust) == ("connected", True, "trusted")
        assert peer.certificate_fingerprint == there.fingerprint
        assert peer.message.protocol_version >= 1
    links = {s.name: s for s in (await a.client.node()).subsystems}["links"]
    assert "1 connected" in links.detail
    assert "1 trusted" in links.detail
    document = await read_json(a.data_dir / "trust.json")
    assert [(p["device_id"], p["fingerprint"]) for p in document["peers"]] == [
        (b.id, b.fingerprint)
    ]
    assert await file_mode(a.data_dir / "trust.json") == 0o600


async def test_trust_survives_restarts_and_the_link_comes_back_by_itself(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=True)
    await pair(a, b)
    port = b.link_port

    await nodes.stop(a)
    b = await nodes.restart(b, {"networking": {"listen_port": port}})
    a = await nodes.restart(a)

    # No pairing, no ConnectPeer: A dials the persisted address and B dials back.
    await wait_connected(a, b)
    await wait_connected(b, a)
    for here, there in ((a, b), (b, a)):
        peer = await here.client.peer(there.id)
        assert peer.trust == "trusted"
        assert peer.certificate_fingerprint == there.fingerprint
    assert not a.events.of_type("pairing_requested")
    assert not b.events.of_type("pairing_requested")


async def test_forget_closes_the_link_and_refuses_the_forgotten_peer(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    assert b.daemon.identity is not None
    # A connection of B's own to A's link port, open before A forgets B (THREATS #32).
    assert a.daemon.identity is not None
    held = grpc.aio.secure_channel(
        a.address,
        link_channel_credentials(b.daemon.identity, a.daemon.identity.certificate_pem.decode()),
        options=link_channel_options(a.id),
    )
    try:
        await _hello(held)
        mark_a, mark_b = a.events.mark(), b.events.mark()

        await a.client.forget_peer(b.id)

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _hello(held)  # the same, still open connection
        assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert reason_from_trailers(refused.value.trailing_metadata()) == "PEER_NOT_TRUSTED"
    finally:
        await held.close(None)

    forgotten = await a.events.wait_for("peer_forgotten", after=mark_a)
    assert forgotten.message.peer_forgotten.peer_id == b.id
    await a.events.wait_for("peer_disconnected", lambda p: p.peer.device_id == b.id, after=mark_a)
    peer = await a.client.peer(b.id)
    assert (peer.trust, peer.connection, peer.certificate_fingerprint) == (
        "untrusted",
        "disconnected",
        "",
    )
    with pytest.raises(PeerNotTrustedError):
        await a.client.forget_peer(b.id)
    # A new connection from B fails at the handshake: B is no longer a root on A's link port.
    with pytest.raises(grpc.aio.AioRpcError) as handshake:
        await link_hello(b.daemon.identity, a)
    assert handshake.value.code() is grpc.StatusCode.UNAVAILABLE
    # B's daemon notices at its next check, learns on A's pinned pairing port that A no longer
    # trusts it, and shows A as untrusted (the pairing is over on both sides) instead of
    # re-dialling forever.
    await b.events.wait_for("peer_disconnected", lambda p: p.peer.device_id == a.id, after=mark_b)
    await b.events.wait_for("peer_forgotten", lambda p: p.peer_id == a.id, after=mark_b)
    assert (await b.client.peer(a.id)).trust == "untrusted"
    with pytest.raises(PeerNotTrustedError):
        await b.client.connect_to_peer(a.id, pair=False)

    await pair(a, b)
    assert (await a.client.peer(b.id)).certificate_fingerprint == b.fingerprint
    await wait_connected(b, a)


async def test_forget_and_permissions_of_unknown_or_untrusted_peers(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    with pytest.raises(PeerNotFoundError):
        await a.client.forget_peer(random_id())
    with pytest.raises(PeerNotTrustedError):
        await a.client.set_peer_permissions(b.id, commands=True)
    with pytest.raises(PeerNotFoundError):
        await a.client.set_peer_permissions(random_id(), commands=True)
    with pytest.raises(InvalidArgumentError):
        await a.client.set_peer_permissions("not-an-id", commands=True)
    with pytest.raises(PeerNotFoundError):
        await a.client.peer(random_id())


async def test_update_permissions_changes_only_the_masked_fields(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b, connect=False)
    mark = a.events.mark()

    peer = await a.client.set_peer_permissions(b.id, commands=True)
    assert peer.permissions.commands
    assert (peer.permissions.files, peer.permissions.streams) == (True, True)
    assert not peer.permissions.auto_accept_files

    async def update(paths: list[str], **values: bool) -> peer_pb2.PeerPermissions:
        response = await a.client.peer_service.UpdatePeerPermissions(
            peer_service_pb2.UpdatePeerPermissionsRequest(
                peer_id=b.id,
                permissions=peer_pb2.PeerPermissions(**values),
                update_mask=FieldMask(paths=paths),
            )
        )
        return response.peer.permissions

    # `streams` is set in the message but not named in the mask: it stays on.
    masked = await update(["files"], files=False, streams=False)
    assert (masked.files, masked.streams, masked.commands) == (False, True, True)
    # An empty mask sets every field as given.
    everything = await update([], files=True, auto_accept_files=True)
    assert (everything.files, everything.auto_accept_files) == (True, True)
    assert (everything.streams, everything.commands) == (False, False)
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await update(["files", "shell"], files=True)
    assert unknown.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "shell" in (unknown.value.details() or "")
    # auto_accept_files needs files.
    with pytest.raises(InvalidArgumentError):
        await a.client.set_peer_permissions(b.id, files=False)

    peer = await a.client.peer(b.id)
    assert dataclasses.astuple(peer.permissions) == (True, True, False, False)
    updated = await a.events.wait_for(
        "peer_updated", lambda p: p.peer.permissions.auto_accept_files, after=mark
    )
    assert updated.message.peer_updated.peer.device_id == b.id
    stored = (await read_json(a.data_dir / "trust.json"))["peers"][0]["permissions"]
    assert stored == {
        "files": True,
        "auto_accept_files": True,
        "streams": False,
        "commands": False,
    }


# --- trust without pairing ----------------------------------------------------------------------


async def test_trust_by_id_on_both_sides_links_without_pairing(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")

    for malformed in ("", "ABCD", b.id[:-1], b.id + "A", b.id[:-1] + "1"):
        with pytest.raises(InvalidArgumentError) as bad:
            await a.client.trust_peer(malformed)
        assert bad.value.metadata["field"] == "peer_id"
    with pytest.raises(InvalidArgumentError):
        await a.client.trust_peer(a.id)

    mark = a.events.mark()
    trusted = await a.client.trust_peer(format_device_id(b.id).lower())
    assert (trusted.device_id, trusted.trust, trusted.source) == (b.id, "trusted", "trust_store")
    # Every trust change is an event, also for a device this one has not seen yet (issue 14).
    event = await a.events.wait_for(
        "peer_updated", lambda p: p.peer.device_id == b.id, after=mark, within=5
    )
    updated: Any = event.payload
    assert updated.peer.trust == peer_pb2.Peer.TRUST_TRUSTED
    assert trusted.certificate_fingerprint == ""  # pinned at first contact
    await a.client.add_peer(b.address, persist=False)
    # B has not trusted A yet: it says so, and A cannot link.
    with pytest.raises(PeerNotTrustedError):
        await a.client.connect_to_peer(b.id, pair=False)
    assert (await a.client.peer(b.id)).certificate_fingerprint == b.fingerprint

    await b.client.trust_peer(a.id)
    connection = await a.client.connect_to_peer(b.id)
    assert connection.peer.connected
    await wait_connected(b, a)
    assert (await b.client.peer(a.id)).certificate_fingerprint == a.fingerprint
    assert not a.events.of_type("pairing_requested")
    assert not b.events.of_type("pairing_requested")
    stored = (await read_json(b.data_dir / "trust.json"))["peers"]
    assert [(p["source"], p["fingerprint"]) for p in stored] == [("by_id", a.fingerprint)]


async def _with_identity(nodes: Nodes) -> tuple[Path, str]:
    """A new home whose identity exists already, and that identity's device ID."""
    home = nodes.new_home()
    data_dir = nodes.config(home, {}).paths.data_dir

    def create() -> Identity:
        ensure_private_directory(data_dir)
        return load_or_create_identity(
            data_dir / "identity", device_name="x", now=datetime.now(UTC)
        )

    identity = await asyncio.to_thread(create)
    return home, identity.device_id


async def test_allowlist_only_trusts_exactly_the_list(nodes: Nodes) -> None:
    home_a, id_a = await _with_identity(nodes)
    home_b, id_b = await _with_identity(nodes)
    a = await nodes.start(
        "alpha", {"security": {"trust_mode": "allowlist_only", "allowlist": [id_b]}}, home=home_a
    )
    b = await nodes.start(
        "beta", {"security": {"trust_mode": "allowlist_only", "allowlist": [id_a]}}, home=home_b
    )
    c = await nodes.start("gamma")

    listed = await a.client.peer(b.id)
    assert (listed.trust, listed.source, listed.certificate_fingerprint) == (
        "trusted",
        "trust_store",
        "",
    )
    with pytest.raises(PairingNotAllowedError):
        await a.client.trust_peer(c.id)
    await a.client.add_peer(c.address, persist=False)
    with pytest.raises(PairingNotAllowedError):
        await a.client.request_pairing(c.id)
    with pytest.raises(PeerNotTrustedError):
        await a.client.connect_to_peer(c.id)

    await a.client.add_peer(b.address, persist=False)
    connection = await a.client.connect_to_peer(b.id)
    assert connection.peer.connected
    await wait_connected(b, a)
    assert (await a.client.peer(b.id)).certificate_fingerprint == b.fingerprint
    assert (await b.client.peer(a.id)).certificate_fingerprint == a.fingerprint

    # C trusts A, but A does not list C: no link, and A will not pair with it either.
    await c.client.trust_peer(a.id)
    await c.client.add_peer(a.address, persist=False)
    with pytest.raises(PeerNotTrustedError):
        await c.client.connect_to_peer(a.id)
    with pytest.raises(PairingNotAllowedError):
        await c.client.request_pairing(a.id)
    assert c.id not in {p.device_id for p in await a.client.peers(trusted_only=True)}


async def test_trust_all_links_unpaired_daemons(nodes: Nodes) -> None:
    lab = {"security": {"trust_mode": "trust_all"}}
    a = await nodes.start("alpha", lab)
    b = await nodes.start("beta", lab)
    manual = await nodes.start("gamma")

    await a.client.add_peer(b.address, persist=False)
    connection = await a.client.connect_to_peer(b.id)
    assert connection.peer.connected
    await wait_connected(b, a)
    for here, there in ((a, b), (b, a)):
        peer = await here.client.peer(there.id)
        assert (peer.trust, peer.certificate_fingerprint) == ("trusted", there.fingerprint)
    assert not a.events.of_type("pairing_requested")

    # A device in manual mode does not trust a trust_all one back.
    await a.client.add_peer(manual.address, persist=False)
    with pytest.raises(PeerNotTrustedError):
        await a.client.connect_to_peer(manual.id)
    assert (await manual.client.peer(a.id)).trust == "untrusted"


# --- link control -------------------------------------------------------------------------------


async def test_a_peer_that_stops_is_shown_disconnected_promptly(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    mark = a.events.mark()

    await nodes.stop(b)

    await a.events.wait_for(
        "peer_disconnected", lambda p: p.peer.device_id == b.id, after=mark, within=2
    )


async def test_disconnect_holds_the_link_down_until_connect(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    mark = a.events.mark()

    await a.client.disconnect_peer(b.id)

    await a.events.wait_for("peer_disconnected", lambda p: p.peer.device_id == b.id, after=mark)
    assert (await a.client.peer(b.id)).connection == "disconnected"
    # B links to A again: A answers, but does not dial back while its side is held down.
    await b.client.disconnect_peer(a.id)
    assert (await b.client.connect_to_peer(a.id)).peer.connected
    peer = await a.client.peer(b.id)
    assert (peer.connection, peer.trust) == ("disconnected", "trusted")
    assert not a.events.of_type("peer_connected", after=mark)

    assert (await a.client.connect_to_peer(b.id)).peer.connected
    await a.events.wait_for("peer_connected", lambda p: p.peer.device_id == b.id, after=mark)
    with pytest.raises(PeerNotFoundError):
        await a.client.disconnect_peer(random_id())


async def test_remove_peer_drops_the_entry_and_keeps_trust(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=True)
    await pair(a, b)
    mark = a.events.mark()

    await a.client.remove_peer(b.id)

    lost = await a.events.wait_for("peer_lost", lambda p: p.peer.device_id == b.id, after=mark)
    assert lost.message.peer_lost.reason == event_pb2.PeerLost.REASON_REMOVED
    peer = await a.client.peer(b.id)
    assert (peer.trust, peer.certificate_fingerprint) == ("trusted", b.fingerprint)
    assert (await read_json(a.data_dir / "addresses.json"))["addresses"] == []
    assert (await read_json(a.data_dir / "trust.json"))["peers"][0]["device_id"] == b.id
    # Trust was kept: adding the address again links without pairing.
    await a.client.add_peer(b.address, persist=False)
    assert (await a.client.connect_to_peer(b.id)).peer.connected
    with pytest.raises(PeerNotFoundError):
        await a.client.remove_peer(random_id())


# --- listing and node ---------------------------------------------------------------------------


async def test_list_peers_pages_and_filters(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    c = await nodes.start("gamma")
    await a.client.add_peer(b.address, persist=False)
    await a.client.add_peer(c.address, persist=False)
    offline = [random_id() for _ in range(3)]
    for device_id in offline:
        await a.client.trust_peer(device_id)
    everyone = sorted([b.id, c.id, *offline])

    async def page(size: int, token: str = "", **filters: bool) -> tuple[list[str], str]:
        response = await a.client.peer_service.ListPeers(
            peer_service_pb2.ListPeersRequest(page_size=size, page_token=token, **filters)
        )
        return [p.device_id for p in response.peers], response.next_page_token

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        ids, token = await page(2, token)
        pages += 1
        seen.extend(ids)
        assert len(ids) <= 2
        if not token:
            break
    assert (seen, pages) == (everyone, 3)
    assert await page(0) == (everyone, "")
    assert await page(5000) == (everyone, "")
    assert await page(100, trusted_only=True) == (sorted(offline), "")
    assert await page(100, online_only=True) == (sorted([b.id, c.id]), "")
    assert await page(100, trusted_only=True, online_only=True) == ([], "")
    assert [p.device_id for p in await a.client.peers()] == everyone
    for bad in ("x", "-1", "1.5", "99", "٣"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await page(2, bad)
        assert reason_from_trailers(refused.value.trailing_metadata()) == "INVALID_PAGE_TOKEN"
    with pytest.raises(InvalidPageTokenError):
        await a.client._call(
            a.client.peer_service.ListPeers(peer_service_pb2.ListPeersRequest(page_token="x"))
        )


async def test_get_node_reports_peer_endpoints_and_subsystems(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    node = await a.client.node()
    endpoints = [(e.transport, e.address) for e in node.message.peer_endpoints]
    assert endpoints == [
        (node_pb2.Endpoint.TRANSPORT_TCP, f"127.0.0.1:{a.link_port}"),
        (node_pb2.Endpoint.TRANSPORT_TCP, f"127.0.0.1:{a.link_port + 1}"),
    ]
    subsystems = {s.name: s for s in node.subsystems}
    assert subsystems["discovery"].state == "disabled"
    assert "enable_mdns" in subsystems["discovery"].detail
    links = subsystems["links"]
    assert links.state == "running"
    assert f"link port {a.link_port}" in links.detail
    assert f"pairing port {a.link_port + 1}" in links.detail
    assert node.certificate_fingerprint == a.fingerprint


# --- kizuna_client helpers ----------------------------------------------------------------------


async def test_client_discovers_and_connects_by_id_or_address(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b, connect=False)

    listed = await a.client.peers()
    assert [(p.device_id, p.trusted, p.name) for p in listed] == [(b.id, True, "beta")]
    assert [p.device_id for p in await a.client.peers(trusted_only=True)] == [b.id]
    by_id = await a.client.connect_to_peer(format_device_id(b.id))
    assert by_id.peer.connected and by_id.peer.device_id == b.id
    await wait_connected(b, a)
    assert [p.device_id for p in await b.client.peers(online_only=True)] == [a.id]

    # B knows A's address only from A's calls; connect_to_peer adds it (persisted), then
    # finds it already added.
    for _ in range(2):
        by_address = await b.client.connect_to_peer(a.address)
        assert by_address.peer.device_id == a.id
        assert by_address.peer.connected
    assert (await read_json(b.data_dir / "addresses.json"))["addresses"] == [a.address]
    await by_address.disconnect()
    assert (await b.client.peer(a.id)).connection == "disconnected"
    missing = random_id()
    with pytest.raises(PeerNotFoundError) as unknown:
        await a.client.connect_to_peer(missing)
    assert unknown.value.metadata["peer_id"] == missing


# --- identity mismatch --------------------------------------------------------------------------


async def _impostor_home(nodes: Nodes, victim: Node) -> Path:
    """A home holding `victim`'s key but no certificate: the daemon mints a new certificate for
    the same key, so it claims the victim's device ID with a different fingerprint."""
    home = nodes.new_home()
    identity_dir = nodes.config(home, {}).paths.data_dir / "identity"

    def copy() -> None:
        ensure_private_directory(identity_dir)
        shutil.copy2(victim.data_dir / "identity" / KEY_FILE, identity_dir / KEY_FILE)
        os.chmod(identity_dir / KEY_FILE, 0o600)

    await asyncio.to_thread(copy)
    return home


async def _replace_with_impostor(nodes: Nodes, a: Node, b: Node) -> Node:
    """Stops B (A's side of their link closed first) and starts, on B's link port, a daemon
    with B's key and a new certificate: B's device ID, another fingerprint."""
    port = b.link_port
    # Close A's side first, so A does not re-dial B's port on its own before the test does.
    await a.client.disconnect_peer(b.id)
    await nodes.stop(b)
    impostor = await nodes.start(
        "beta", {"networking": {"listen_port": port}}, home=await _impostor_home(nodes, b)
    )
    assert (impostor.id, impostor.address) == (b.id, b.address)
    assert impostor.fingerprint != b.fingerprint
    return impostor


async def test_a_new_certificate_for_a_paired_id_is_refused_and_the_pin_kept(
    nodes: Nodes,
) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    impostor = await _replace_with_impostor(nodes, a, b)
    mark = a.events.mark()

    with pytest.raises(PeerIdentityMismatchError) as refused:
        await a.client.connect_to_peer(b.id)

    assert refused.value.metadata == {"peer_id": b.id, "address": b.address}
    alert = await a.events.wait_for("peer_identity_mismatch", after=mark)
    mismatch = alert.message.peer_identity_mismatch
    assert (mismatch.peer_id, mismatch.address) == (b.id, b.address)
    assert (mismatch.expected_fingerprint, mismatch.presented_fingerprint) == (
        b.fingerprint,
        impostor.fingerprint,
    )
    peer = await a.client.peer(b.id)
    assert (peer.trust, peer.certificate_fingerprint, peer.connection) == (
        "trusted",
        b.fingerprint,
        "backoff",
    )
    stored = (await read_json(a.data_dir / "trust.json"))["peers"]
    assert [(p["device_id"], p["fingerprint"]) for p in stored] == [(b.id, b.fingerprint)]
    # A checked the pin before saying anything: the impostor never heard of A (#19).
    with pytest.raises(PeerNotFoundError):
        await impostor.client.peer(a.id)

    # The impostor calling A's link port itself, with B's key and its own certificate: the
    # handshake fails (only B's pinned certificate is a root there), before any call (#20, #31).
    assert impostor.daemon.identity is not None
    with pytest.raises(grpc.aio.AioRpcError) as handshake:
        await link_hello(impostor.daemon.identity, a)
    assert handshake.value.code() is grpc.StatusCode.UNAVAILABLE
    assert (await a.client.peer(b.id)).certificate_fingerprint == b.fingerprint


async def test_add_peer_tells_an_impostor_of_a_pinned_id_nothing(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    await a.client.disconnect_peer(b.id)
    await nodes.stop(b)
    impostor = await nodes.start("beta", home=await _impostor_home(nodes, b))

    with contextlib.suppress(PeerIdentityMismatchError):
        await a.client.add_peer(impostor.address, persist=False)

    with pytest.raises(PeerNotFoundError):
        await impostor.client.peer(a.id)


async def test_another_device_at_a_paired_peers_address_is_refused(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    port = b.link_port
    await a.client.disconnect_peer(b.id)
    await nodes.stop(b)
    stranger = await nodes.start("gamma", {"networking": {"listen_port": port}})
    assert stranger.address == b.address
    mark = a.events.mark()

    with pytest.raises(PeerIdentityMismatchError) as refused:
        await a.client.connect_to_peer(b.id)
    assert refused.value.metadata["peer_id"] == b.id

    alert = await a.events.wait_for("peer_identity_mismatch", after=mark)
    mismatch = alert.message.peer_identity_mismatch
    assert (mismatch.peer_id, mismatch.address) == (b.id, b.address)
    assert (mismatch.expected_fingerprint, mismatch.presented_fingerprint) == (
        b.fingerprint,
        stranger.fingerprint,
    )
    assert (await a.client.peer(b.id)).certificate_fingerprint == b.fingerprint
    assert stranger.id not in {p.device_id for p in await a.client.peers()}


async def _held_connection(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS connection to a pairing port that completes TLS and the HTTP/2 preface and then
    does nothing: held until the port's 30 s idle limit."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
    await writer.drain()
    return reader, writer


async def test_a_stranger_holding_the_pairing_port_cannot_keep_a_paired_peer_out(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THREATS #15 (found by tests/p2p/test_h2_abuse.py): a stranger fills beta's pairing port
    with connections that finish TLS and then idle (the port's cap is lowered to 4 here). A
    paired peer that dials again reads beta's certificate and says Hello on the link port
    alone, so it reconnects; the pairing port is needed only when that fails."""
    monkeypatch.setattr(services, "MAX_PAIRING_CONNECTIONS", 4)
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    pairing_port = b.link_port + 1
    held = [await _held_connection(pairing_port) for _ in range(4)]
    try:
        with pytest.raises(PeerUnreachable):  # the pairing port takes no one else now
            await fetch_certificate("127.0.0.1", pairing_port, limit=2)

        await a.client.disconnect_peer(b.id)
        connection = await a.client.connect_to_peer(b.id)

        assert connection.peer.connected
    finally:
        for _, writer in held:
            writer.close()


async def test_a_graceful_stop_keeps_trust_a_cancelled_save_had_not_written(
    nodes: Nodes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen as a flaky netns test: a device paired, then stopped at once, came back without the
    # pairing when its trust save was still waiting (or was cancelled) at the stop.
    from kizuna_server.p2p import network as network_module
    from kizuna_server.p2p import trust_file

    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    written = trust_file.save_trust_store
    lost: list[int] = []

    def save_nothing(path: Path, store: Any) -> None:
        lost.append(len(list(store)))  # as if the task had been cancelled before writing

    monkeypatch.setattr(network_module, "save_trust_store", save_nothing)
    await pair(a, b)
    assert lost  # the pairing's own saves were lost
    monkeypatch.setattr(network_module, "save_trust_store", written)
    b = await nodes.restart(b)
    assert (await b.client.peer(a.id)).trusted
