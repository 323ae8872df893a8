"""What a link carries and when it is opened: sending dials a trusted peer that is not connected,
dialling is bounded by networking.connection_timeout_secs, and the authenticated Hello says what
a peer offers (plugins.enabled) and who uses it (identity.user_name).

Real in-process daemons on loopback (tests/p2p/peerpair.py); nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kizuna_client.errors import PeerUnreachableError, SubsystemUnavailableError
from kizuna_server.core.peers import sanitize_name
from kizuna_server.p2p.tls import HANDSHAKE_TIMEOUT_SECS
from tests.p2p.peerpair import (
    OFFERED,
    WAIT,
    Node,
    Nodes,
    eventually,
    pair,
    request_and_show,
    wait_connected,
)

#: A dial to a peer that never answers must give up within this (the configured 1 s, plus
#: slack for a loaded machine), well before the 5 s TLS handshake limit would end it.
DIAL_LIMIT_SECS = 1
GIVE_UP_WITHIN = HANDSHAKE_TIMEOUT_SECS - 1


async def _send_and_wait(sender: Node, receiver: Node, path: Path) -> None:
    """Sends `path`; the receiver accepts on its own (auto-accept); waits for completion."""
    handle = await sender.client.transfer_file(path, receiver.id)
    info = await asyncio.wait_for(handle.wait(), WAIT)
    assert info.state == "completed"
    received = receiver.daemon.config.transfers.inbox / path.name
    assert received.read_bytes() == path.read_bytes()


async def _auto_accept(receiver: Node, sender: Node) -> None:
    await receiver.client.set_peer_permissions(sender.id, auto_accept_files=True)


async def test_sending_right_after_pairing_dials_the_new_peer(nodes: Nodes, tmp_path: Path) -> None:
    """The bug report: "transfer_file to a just-paired peer raises PeerUnreachableError, while
    connect_to_peer 0.06 s later succeeds". Alpha sends the moment it sees the pairing
    completed, before its first link to beta is up: the send itself must reach the peer."""
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await a.client.add_peer(b.address, persist=False)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    outgoing, incoming = await request_and_show(a, b)
    await b.client.confirm_pairing(incoming.id)
    await a.client.confirm_pairing(outgoing.id)
    await a.events.wait_for("pairing_completed", lambda p: p.peer.device_id == b.id, after=mark_a)
    source = tmp_path / "notes.txt"
    source.write_text("sent at once\n")

    handle = await a.client.transfer_file(source, b.id)

    offer = await b.events.wait_for("transfer_offered", after=mark_b)
    await b.client.accept_transfer(offer.message.transfer_offered.transfer.id)
    info = await asyncio.wait_for(handle.wait(), WAIT)
    assert info.state == "completed"
    assert (b.daemon.config.transfers.inbox / "notes.txt").read_text() == "sent at once\n"


async def test_sending_to_a_trusted_peer_that_is_not_connected_dials_it(
    nodes: Nodes, tmp_path: Path
) -> None:
    """Alpha's link held down (DisconnectPeer) is opened again by a send, as ConnectPeer would
    open it: sending is a person asking for the peer now."""
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    await _auto_accept(b, a)
    await a.client.disconnect_peer(b.id)
    assert not (await a.client.peer(b.id)).connected
    source = tmp_path / "report.pdf"
    source.write_bytes(b"%PDF-1.7 " * 1000)

    await _send_and_wait(a, b, source)

    assert (await a.client.peer(b.id)).connected


@contextlib.asynccontextmanager
async def _silent_ports(*ports: int) -> AsyncIterator[list[asyncio.StreamWriter]]:
    """Listens on 127.0.0.1 at `ports`, accepts connections and never answers (a TLS
    handshake there waits for ever). Yields the accepted connections."""
    accepted: list[asyncio.StreamWriter] = []

    def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    servers = [await asyncio.start_server(hold, "127.0.0.1", port) for port in ports]
    try:
        yield accepted
    finally:
        for writer in accepted:
            writer.close()
        for server in servers:
            server.close()
            await server.wait_closed()


async def test_dialling_a_peer_is_bounded_by_connection_timeout_secs(
    nodes: Nodes, tmp_path: Path
) -> None:
    """Beta's ports are taken over by something that accepts connections and never speaks.
    Alpha (connection_timeout_secs 1) gives up connecting and sending after about a second,
    not after the 5 s handshake limit, and says which setting bounded it."""
    a = await nodes.start("alpha", {"networking": {"connection_timeout_secs": DIAL_LIMIT_SECS}})
    b = await nodes.start("beta")
    await pair(a, b)
    link_port = b.link_port
    mark = a.events.mark()
    await nodes.stop(b)
    await a.events.wait_for("peer_disconnected", lambda p: p.peer.device_id == b.id, after=mark)
    source = tmp_path / "a.txt"
    source.write_text("a")

    async with _silent_ports(link_port, link_port + 1) as accepted:
        loop = asyncio.get_running_loop()
        began = loop.time()
        with pytest.raises(PeerUnreachableError) as refused:
            await a.client.connect_to_peer(b.id)
        connect_secs = loop.time() - began
        began = loop.time()
        with pytest.raises(PeerUnreachableError):
            await a.client.transfer_file(source, b.id)
        send_secs = loop.time() - began
        assert accepted, "alpha never dialled beta's address"

    assert connect_secs < GIVE_UP_WITHIN, f"connect gave up after {connect_secs:.2f}s"
    assert send_secs < GIVE_UP_WITHIN, f"send gave up after {send_secs:.2f}s"
    assert "timed out" in str(refused.value) or "connection_timeout_secs" in str(refused.value)


async def test_the_hello_says_what_a_peer_offers_and_who_uses_it(
    nodes: Nodes, tmp_path: Path
) -> None:
    """Alpha offers what it has built of plugins.enabled and what its plugins declare; beta
    turned every plugin off, so it offers nothing and refuses offers with
    a clear error. Each shows the other's person as the other's Hello described it, sanitised
    (beta's is hostile: escape sequences, a bidi override, 110 characters)."""
    a = await nodes.start("alpha", {"identity": {"user_name": "Alice Example"}})
    b = await nodes.start("beta", {"plugins": {"enabled": []}})
    hostile = "\x1b[31mMallory\u202e" + "x" * 100
    assert b.daemon.peers is not None
    b.daemon.peers._device_info.user_name = hostile  # as a modified peer would send it
    assert a.daemon.peers is not None and a.daemon.peers.capabilities == OFFERED
    assert b.daemon.peers.capabilities == ()
    await pair(a, b)
    await wait_connected(a, b)

    async def described() -> bool | None:
        seen_by_a, seen_by_b = await a.client.peer(b.id), await b.client.peer(a.id)
        return True if seen_by_a.user_name and seen_by_b.user_name else None

    await eventually(described, what="both sides to learn the other's person")
    seen_by_a, seen_by_b = await a.client.peer(b.id), await b.client.peer(a.id)
    assert tuple(seen_by_b.capabilities) == OFFERED
    assert list(seen_by_a.capabilities) == []
    assert seen_by_b.user_name == "Alice Example"
    assert seen_by_a.user_name == sanitize_name(hostile)
    assert seen_by_a.user_name.startswith("[31mMallory") and len(seen_by_a.user_name) == 64

    source = tmp_path / "a.txt"
    source.write_text("a")
    with pytest.raises(SubsystemUnavailableError, match="does not accept files"):
        await a.client.transfer_file(source, b.id)
