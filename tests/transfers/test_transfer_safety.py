"""Transfers against hostile peers and a booby-trapped inbox (THREATS #1-#5, #7, #8, #12, #24, #26).

Real daemons on loopback with real TLS. A hostile sender is a real paired daemon with its engine
swapped on the instance: its `serve_fetch` yields crafted Fetch messages, or the test calls the
receiver's link-port TransferService directly over the sender's own link. Tests wait on events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import secrets
import stat
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest

from kizuna_client import (
    KizunaEvent,
    LimitExceededError,
    PeerNotFoundError,
    PeerNotTrustedError,
    PermissionDeniedByPeerError,
    TransferHandle,
)
from kizuna_client.v1 import errors_pb2, transfer_pb2
from kizuna_server.calls.errors import error_info_from_trailers, reason_from_trailers
from kizuna_server.config import Config
from kizuna_server.errors import KizunaError
from kizuna_server.p2p.tls import link_channel_credentials, link_channel_options
from kizuna_server.p2p.wire import transfer_service_pb2 as peer_pb
from kizuna_server.p2p.wire import transfer_service_pb2_grpc as peer_grpc
from kizuna_server.transfers.engine import Transfers
from kizuna_server.transfers.inbox import part_name
from kizuna_server.transfers.model import CHUNK_BYTES
from kizuna_server.transfers.receiving import MAX_REFETCHES
from kizuna_server.transfers.sending import MAX_FETCHES_PER_PEER
from tests.p2p.peerpair import WAIT, Node, Nodes, eventually, pair, paired, wait_connected
from tests.transfers.hashing import content_digest

Fetch = Callable[[str, Any], AsyncIterator[peer_pb.FetchResponse]]

KIB = 1024
MTIME_NS = 1_700_000_000_000_000_000


# --- helpers ------------------------------------------------------------------------------------


def engine(node: Node) -> Transfers:
    assert node.daemon.transfers is not None
    return node.daemon.transfers


def inbox(node: Node) -> Path:
    return node.daemon.config.transfers.inbox


def link_stub(sender: Node, receiver: Node) -> Any:
    """The receiver's link-port TransferService, called as the sender over the sender's link."""
    assert sender.daemon.peers is not None
    return peer_grpc.TransferServiceStub(sender.daemon.peers.channel_for(receiver.id))


def reason_of(error: grpc.aio.AioRpcError) -> str:
    return reason_from_trailers(error.trailing_metadata())


def reason_name(transfer: transfer_pb2.Transfer) -> str:
    return errors_pb2.ErrorReason.Name(transfer.error.reason).removeprefix("ERROR_REASON_")


def tree(folder: Path) -> list[str]:
    """Every entry under `folder` (links not followed), relative, sorted; [] when it is absent."""
    found = []
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            found.append(str(Path(root, name).relative_to(folder)))
    return sorted(found)


def write_file(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    return path


async def sha256_of(path: Path) -> str:
    return hashlib.sha256(await asyncio.to_thread(path.read_bytes)).hexdigest()


async def offer(a: Node, b: Node, *paths: Path) -> TransferHandle:
    """A offers `paths` to B; returns A's handle once B shows the offer."""
    mark = b.events.mark()
    handle = await a.client.transfer_file(paths, b.id)
    await b.events.wait_for("transfer_offered", lambda p: p.transfer.id == handle.id, after=mark)
    return handle


def transfer_in(event: KizunaEvent) -> transfer_pb2.Transfer:
    """The transfer a transfer_* event carries."""
    payload: Any = event.payload
    transfer: transfer_pb2.Transfer = payload.transfer
    return transfer


async def ended(node: Node, transfer_id: str, kind: str) -> transfer_pb2.Transfer:
    """The transfer as carried by its `kind` event ("transfer_completed", "transfer_failed")."""
    return transfer_in(await node.events.wait_for(kind, lambda p: p.transfer.id == transfer_id))


async def first_event(node: Node, transfer_id: str, kinds: Sequence[str]) -> KizunaEvent:
    """The first event of any of `kinds` about the transfer."""
    waits = [
        asyncio.ensure_future(node.events.wait_for(kind, lambda p: p.transfer.id == transfer_id))
        for kind in kinds
    ]
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for wait in pending:
        wait.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return done.pop().result()


async def record(node: Node, transfer_id: str) -> transfer_pb2.Transfer:
    """GetTransfer, as the app sees it."""
    return (await node.client.transfer(transfer_id).refresh()).message


# Crafted Fetch pieces: what a hostile sender can put on the wire.


def start(
    index: int, size: int, *, offset: int = 0, mode: int = 0o644, restarted: bool = False
) -> peer_pb.Piece:
    return peer_pb.Piece(
        start=peer_pb.FileStart(
            file_index=index,
            size=size,
            mode=mode,
            mtime_ns=MTIME_NS,
            offset=offset,
            restarted=restarted,
        )
    )


def chunk(index: int, offset: int, data: bytes) -> peer_pb.Piece:
    return peer_pb.Piece(
        chunk=peer_pb.Chunk(
            file_index=index,
            offset=offset,
            data=data,
            sha256=hashlib.sha256(data).digest(),
            length=len(data),
        )
    )


def end(index: int, data: bytes) -> peer_pb.Piece:
    return peer_pb.Piece(end=peer_pb.FileEnd(file_index=index, content_hash=content_digest(data)))


def scripted(messages: Sequence[Sequence[peer_pb.Piece]]) -> Fetch:
    """A serve_fetch that answers every call with `messages`, whatever was asked."""

    async def fetch(caller: str, request: Any) -> AsyncIterator[peer_pb.FetchResponse]:
        for pieces in messages:
            yield peer_pb.FetchResponse(pieces=pieces)

    return fetch


def offered_file(path: str, size: int = 5, *, directory: bool = False) -> peer_pb.OfferedFile:
    return peer_pb.OfferedFile(
        path=path, directory=directory, size=size, mode=0o644, mtime_ns=MTIME_NS
    )


def offer_request(*files: peer_pb.OfferedFile) -> peer_pb.OfferRequest:
    return peer_pb.OfferRequest(
        transfer_id=secrets.token_hex(16),
        files=files,
        total_bytes=sum(f.size for f in files),
    )


async def still_works(a: Node, b: Node, source: Path) -> None:
    """A normal transfer from A to B completes and arrives intact."""
    data = os.urandom(10 * KIB)
    path = write_file(source / "proof.bin", data)
    handle = await offer(a, b, path)
    await b.client.accept_transfer(handle.id)
    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    received = inbox(b) / "proof.bin"
    assert await asyncio.to_thread(received.read_bytes) == data


# --- 1, 2: hostile names ------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../x",
    "/abs",
    "a/../../b",
    "..\\x",
    "C:\\x",
    "a\x00b",
    "",
    "trailing.",
    "n" * 300,
    "../inbox2/f",
    "CON",
    "a/./b",
]


async def test_hostile_names_are_refused_before_anything_is_written(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #1, #2: each name is refused with UNSAFE_FILE_NAME; nothing lands anywhere."""
    a, b = await paired(nodes)
    home = inbox(b).parent
    before = await asyncio.to_thread(tree, home)
    mark = b.events.mark()

    for name in HOSTILE_NAMES:
        request = offer_request(offered_file("fine.txt"), offered_file(name))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await link_stub(a, b).Offer(request, timeout=10)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT, name
        assert reason_of(caught.value) == "UNSAFE_FILE_NAME", name

    assert await asyncio.to_thread(tree, home) == before  # no inbox, no inbox2, no record
    assert not inbox(b).exists()
    assert await b.client.transfers() == []
    assert b.events.of_type("transfer_offered", after=mark) == []
    await still_works(a, b, tmp_path)
    assert len(await b.client.transfers()) == 1


INCOHERENT_OFFERS = {
    "file-then-child": ("a.txt", "a.txt/inner.txt"),
    "child-then-file": ("deep/a.txt/inner.txt", "deep/a.txt"),
    "twice": ("same.txt", "same.txt"),
}


@pytest.mark.parametrize("paths", INCOHERENT_OFFERS.values(), ids=INCOHERENT_OFFERS.keys())
async def test_an_offer_that_cannot_be_a_tree_is_refused(
    nodes: Nodes, tmp_path: Path, paths: tuple[str, str]
) -> None:
    """An entry inside a file (whichever comes first) or offered twice: INVALID_ARGUMENT,
    nothing stored. Each entry is checked against its own ancestors, so a 100,000-entry offer
    is checked in linear time (it used to compare every pair, freezing the daemon's loop)."""
    a, b = await paired(nodes)
    request = offer_request(*(offered_file(path) for path in paths))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await link_stub(a, b).Offer(request, timeout=10)

    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(caught.value) == "INVALID_ARGUMENT"
    assert await b.client.transfers() == []
    assert not inbox(b).exists()
    await still_works(a, b, tmp_path)


# --- 8: a lying sender ----------------------------------------------------------------------------

SIZE = 100 * KIB


def _more_bytes(data: bytes) -> list[list[peer_pb.Piece]]:
    return [[start(0, SIZE)], [chunk(0, 0, data)], [chunk(0, SIZE, b"x" * KIB)]]


def _more_files(data: bytes) -> list[list[peer_pb.Piece]]:
    extra = b"#!/bin/sh\n"
    return [[start(0, SIZE), chunk(0, 0, data), end(0, data)], [start(1, len(extra))]]


def _unasked_index(data: bytes) -> list[list[peer_pb.Piece]]:
    return [[start(0, SIZE)], [chunk(1, 0, data[: 4 * KIB])]]


def _wrong_offset(data: bytes) -> list[list[peer_pb.Piece]]:
    return [[start(0, SIZE)], [chunk(0, 4 * KIB, data[4 * KIB : 8 * KIB])]]


def _short_file(data: bytes) -> list[list[peer_pb.Piece]]:
    return [[start(0, SIZE)], [end(0, b"")]]


def _stops_early(data: bytes) -> list[list[peer_pb.Piece]]:
    return [[start(0, SIZE)]]


def _short_chunk(data: bytes) -> list[list[peer_pb.Piece]]:
    """Chunks are whole 1 MiB blocks (the content hash is built from them), the last excepted."""
    head = data[: 4 * KIB]
    return [[start(0, SIZE)], [chunk(0, 0, head), chunk(0, 4 * KIB, data[4 * KIB :])]]


@pytest.mark.parametrize(
    ("lie", "kept"),
    [
        (_more_bytes, []),
        # File 0 arrived whole and verified before the lie: it is what the user accepted.
        (_more_files, ["data.bin"]),
        (_unasked_index, []),
        (_wrong_offset, []),
        (_short_file, []),
        (_stops_early, []),
        (_short_chunk, []),
    ],
    ids=[
        "more-bytes",
        "more-files",
        "unasked-file-index",
        "wrong-offset",
        "short-file",
        "ends-early",
        "short-chunk",
    ],
)
async def test_a_lying_sender_fails_the_transfer_and_leaves_no_partial_file(
    nodes: Nodes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lie: Callable[[bytes], list[list[peer_pb.Piece]]],
    kept: list[str],
) -> None:
    """THREATS #8: data the offer did not declare aborts the transfer on both sides; no part
    file and no unverified file is left in the inbox."""
    a, b = await paired(nodes)
    data = os.urandom(SIZE)
    handle = await offer(a, b, write_file(tmp_path / "data.bin", data))
    monkeypatch.setattr(engine(a), "serve_fetch", scripted(lie(data)))

    await b.client.accept_transfer(handle.id)

    failed = await ended(b, handle.id, "transfer_failed")
    assert reason_name(failed) == "PEER_PROTOCOL_VIOLATION"
    assert reason_name(await record(b, handle.id)) == "PEER_PROTOCOL_VIOLATION"
    assert await asyncio.to_thread(tree, inbox(b)) == kept  # and no .kizuna-*.part
    for name in kept:
        assert await asyncio.to_thread((inbox(b) / name).read_bytes) == data
    told = await ended(a, handle.id, "transfer_failed")
    assert reason_name(told) == "PEER_PROTOCOL_VIOLATION"


# --- 12: corruption in flight ---------------------------------------------------------------------

BIG = 2 * CHUNK_BYTES + CHUNK_BYTES // 2  # three chunks


class Tamperer:
    """Wraps the sender's real serve_fetch, spoiling pieces of the calls `spoil` picks."""

    def __init__(self, original: Fetch, spoil: Callable[[int, peer_pb.Piece], bool]) -> None:
        self.original = original
        self.spoil = spoil  # (call number, piece) -> whether to spoil it
        self.asked: list[list[tuple[int, int]]] = []  # (file, offset) ranges of each call

    async def __call__(self, caller: str, request: Any) -> AsyncIterator[peer_pb.FetchResponse]:
        call = len(self.asked)
        self.asked.append([(r.file_index, r.offset) for r in request.files])
        async for message in self.original(caller, request):
            for piece in message.pieces:
                if self.spoil(call, piece):
                    _flip(piece)
            yield message


def _flip(piece: peer_pb.Piece) -> None:
    """Changes one byte of a chunk's data, or one byte of a file's content hash."""
    if piece.HasField("chunk"):
        data = bytearray(piece.chunk.data)
        data[len(data) // 2] ^= 0xFF
        piece.chunk.data = bytes(data)
    else:
        digest = bytearray(piece.end.content_hash)
        digest[0] ^= 0xFF
        piece.end.content_hash = bytes(digest)


@pytest.mark.parametrize("bad_offset", [0, 2 * CHUNK_BYTES], ids=["first-chunk", "last-chunk"])
async def test_a_chunk_corrupted_once_is_fetched_again_from_the_verified_offset(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad_offset: int
) -> None:
    """THREATS #12: the chunk fails its hash, is fetched again from the last verified offset
    (never spliced) and the file arrives intact."""
    a, b = await paired(nodes)
    source = write_file(tmp_path / "big.bin", os.urandom(BIG))
    handle = await offer(a, b, source)
    tamperer = Tamperer(
        engine(a).serve_fetch,
        lambda call, piece: (
            call == 0 and piece.HasField("chunk") and piece.chunk.offset == bad_offset
        ),
    )
    monkeypatch.setattr(engine(a), "serve_fetch", tamperer)

    await b.client.accept_transfer(handle.id)

    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    assert tamperer.asked == [[(0, 0)], [(0, bad_offset)]]
    assert await sha256_of(inbox(b) / "big.bin") == await sha256_of(source)
    assert await asyncio.to_thread(tree, inbox(b)) == ["big.bin"]


async def test_a_wrong_file_hash_once_fetches_the_file_again_from_zero(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THREATS #12: every chunk verifies but the whole-file SHA-256 does not: the file is
    fetched again from the start and arrives intact."""
    a, b = await paired(nodes)
    source = write_file(tmp_path / "big.bin", os.urandom(BIG))
    handle = await offer(a, b, source)
    tamperer = Tamperer(
        engine(a).serve_fetch, lambda call, piece: call == 0 and piece.HasField("end")
    )
    monkeypatch.setattr(engine(a), "serve_fetch", tamperer)

    await b.client.accept_transfer(handle.id)

    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    assert tamperer.asked == [[(0, 0)], [(0, 0)]]
    assert await sha256_of(inbox(b) / "big.bin") == await sha256_of(source)


async def test_the_sender_serves_whole_blocks_only(nodes: Nodes, tmp_path: Path) -> None:
    """A receiver that asks from inside a 1 MiB block is refused (the content hash is built
    from whole blocks); one that asks from a block boundary gets the rest, block by block."""
    a, b = await paired(nodes)
    data = os.urandom(BIG)
    handle = await offer(a, b, write_file(tmp_path / "big.bin", data))
    fetch = link_stub(b, a).Fetch

    def request(offset: int) -> peer_pb.FetchRequest:
        return peer_pb.FetchRequest(
            transfer_id=handle.id, files=[peer_pb.FileRange(file_index=0, offset=offset)]
        )

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        async for _ in fetch(request(4 * KIB), timeout=10):
            pass
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "chunk boundary" in (refused.value.details() or "")

    pieces = [p async for m in fetch(request(CHUNK_BYTES), timeout=10) for p in m.pieces]
    chunks = [p.chunk for p in pieces if p.HasField("chunk")]
    assert [(c.offset, c.length) for c in chunks] == [
        (CHUNK_BYTES, CHUNK_BYTES),
        (2 * CHUNK_BYTES, CHUNK_BYTES // 2),
    ]
    assert b"".join(c.data for c in chunks) == data[CHUNK_BYTES:]
    assert pieces[-1].end.content_hash == content_digest(data)


async def test_data_corrupted_on_every_fetch_fails_with_integrity_check_failed(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THREATS #12: a chunk corrupt on every fetch (the first and MAX_REFETCHES more, each from
    the verified offset) fails the transfer; the verified part file is removed too."""
    a, b = await paired(nodes)
    handle = await offer(a, b, write_file(tmp_path / "big.bin", os.urandom(BIG)))
    tamperer = Tamperer(
        engine(a).serve_fetch,
        lambda call, piece: piece.HasField("chunk") and piece.chunk.offset == CHUNK_BYTES,
    )
    monkeypatch.setattr(engine(a), "serve_fetch", tamperer)

    await b.client.accept_transfer(handle.id)

    failed = await ended(b, handle.id, "transfer_failed")
    assert reason_name(failed) == "INTEGRITY_CHECK_FAILED"
    assert len(tamperer.asked) == MAX_REFETCHES + 1
    assert tamperer.asked[1:] == [[(0, CHUNK_BYTES)]] * MAX_REFETCHES
    assert await asyncio.to_thread(tree, inbox(b)) == []
    told = await ended(a, handle.id, "transfer_failed")
    assert reason_name(told) == "INTEGRITY_CHECK_FAILED"


# --- 3, 4, 5: links planted in the inbox ----------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside every inbox that stands for ~/.ssh: nothing may ever be written here."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def ssh_folder(root: Path) -> Path:
    """A real folder "sub" with an authorized_keys file, on the sender."""
    write_file(root / "sub" / "authorized_keys", b"ssh-ed25519 AAAA attacker\n")
    return root / "sub"


async def test_a_planted_folder_link_is_never_followed(
    nodes: Nodes, tmp_path: Path, outside: Path
) -> None:
    """THREATS #3: inbox/sub -> outside, then sub/authorized_keys arrives: it is saved under a
    new top folder and nothing is written through the link."""
    a, b = await paired(nodes)
    inbox(b).mkdir()
    (inbox(b) / "sub").symlink_to(outside, target_is_directory=True)
    handle = await offer(a, b, ssh_folder(tmp_path / "a"))

    await b.client.accept_transfer(handle.id)

    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    saved = {f.path: f.saved_path for f in (await record(b, handle.id)).files}
    assert saved == {"sub": "sub (1)", "sub/authorized_keys": "sub (1)/authorized_keys"}
    assert os.readlink(inbox(b) / "sub") == str(outside)
    assert (inbox(b) / "sub (1)" / "authorized_keys").is_file()
    assert await asyncio.to_thread(tree, outside) == []


async def test_a_folder_swapped_for_a_link_mid_transfer_is_not_written_through(
    nodes: Nodes, tmp_path: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THREATS #4, #5: after the offer was accepted (and its names chosen), "sub" appears in
    the inbox as a link out; the transfer fails with UNSAFE_FILE_NAME and writes nothing
    outside."""
    a, b = await paired(nodes)
    handle = await offer(a, b, ssh_folder(tmp_path / "a"))
    original = engine(a).serve_fetch

    async def swap_then_send(caller: str, request: Any) -> AsyncIterator[peer_pb.FetchResponse]:
        (inbox(b) / "sub").symlink_to(outside, target_is_directory=True)
        async for message in original(caller, request):
            yield message

    monkeypatch.setattr(engine(a), "serve_fetch", swap_then_send)

    await b.client.accept_transfer(handle.id)

    failed = await ended(b, handle.id, "transfer_failed")
    assert reason_name(failed) == "UNSAFE_FILE_NAME"
    assert await asyncio.to_thread(tree, outside) == []
    assert await asyncio.to_thread(tree, inbox(b)) == ["sub"]
    assert (inbox(b) / "sub").is_symlink()


@pytest.mark.parametrize("target_exists", [True, False], ids=["existing-target", "dangling"])
async def test_a_link_planted_under_the_part_file_name_is_not_followed(
    nodes: Nodes, tmp_path: Path, outside: Path, target_exists: bool
) -> None:
    """THREATS #3, #4: a link with the name of the part file, planted once the offer is known,
    is replaced: the file outside keeps its content (or is never created)."""
    a, b = await paired(nodes)
    data = os.urandom(SIZE)
    handle = await offer(a, b, write_file(tmp_path / "data.bin", data))
    victim = outside / "victim"
    if target_exists:
        victim.write_bytes(b"precious\n")
    inbox(b).mkdir(exist_ok=True)
    (inbox(b) / part_name(handle.id, 0)).symlink_to(victim)

    await b.client.accept_transfer(handle.id)

    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    assert await asyncio.to_thread((inbox(b) / "data.bin").read_bytes) == data
    assert await asyncio.to_thread(tree, inbox(b)) == ["data.bin"]
    if target_exists:
        assert victim.read_bytes() == b"precious\n"
    else:
        assert not victim.exists()
    assert await asyncio.to_thread(tree, outside) == (["victim"] if target_exists else [])


async def test_a_hard_link_planted_under_the_part_file_name_is_not_written(
    nodes: Nodes, tmp_path: Path, outside: Path
) -> None:
    """THREATS #4: a hard link to a file outside, under the part file's name, is refused with
    UNSAFE_FILE_NAME; the file outside keeps its content."""
    a, b = await paired(nodes)
    handle = await offer(a, b, write_file(tmp_path / "data.bin", os.urandom(SIZE)))
    victim = write_file(outside / "victim", b"precious\n", 0o600)
    inbox(b).mkdir(exist_ok=True)
    os.link(victim, inbox(b) / part_name(handle.id, 0))

    await b.client.accept_transfer(handle.id)

    failed = await ended(b, handle.id, "transfer_failed")
    assert reason_name(failed) == "UNSAFE_FILE_NAME"
    assert victim.read_bytes() == b"precious\n"
    assert await asyncio.to_thread(tree, inbox(b)) == []


# --- 7: no silent overwrite -----------------------------------------------------------------------


async def test_an_existing_file_is_never_overwritten(nodes: Nodes, tmp_path: Path) -> None:
    """THREATS #7: the inbox has report.txt; A's report.txt is saved as "report (1).txt"."""
    a, b = await paired(nodes)
    inbox(b).mkdir()
    old = write_file(inbox(b) / "report.txt", b"mine, keep me\n")
    handle = await offer(a, b, write_file(tmp_path / "report.txt", b"theirs\n"))

    await b.client.accept_transfer(handle.id)

    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    assert [f.saved_path for f in (await record(b, handle.id)).files] == ["report (1).txt"]
    assert old.read_bytes() == b"mine, keep me\n"
    assert (inbox(b) / "report (1).txt").read_bytes() == b"theirs\n"


async def test_a_name_taken_while_the_file_arrives_is_not_overwritten(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THREATS #7: report.txt appears in the inbox after the offer was accepted (names chosen)
    and before the file is renamed into place: it is kept; the new one gets a free name."""
    a, b = await paired(nodes)
    handle = await offer(a, b, write_file(tmp_path / "report.txt", b"theirs\n"))
    original = engine(a).serve_fetch

    async def race_then_send(caller: str, request: Any) -> AsyncIterator[peer_pb.FetchResponse]:
        write_file(inbox(b) / "report.txt", b"written meanwhile\n")
        async for message in original(caller, request):
            yield message

    monkeypatch.setattr(engine(a), "serve_fetch", race_then_send)

    await b.client.accept_transfer(handle.id)

    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    assert [f.saved_path for f in (await record(b, handle.id)).files] == ["report (1).txt"]
    assert (inbox(b) / "report.txt").read_bytes() == b"written meanwhile\n"
    assert (inbox(b) / "report (1).txt").read_bytes() == b"theirs\n"


# --- 24: strangers and permissions ----------------------------------------------------------------


async def test_a_device_that_is_not_paired_cannot_offer_files(nodes: Nodes, tmp_path: Path) -> None:
    """THREATS #24: C, never paired with B, cannot send: not through its daemon (B unknown, then
    known but untrusted) and not by calling B's link port itself; B never sees an offer."""
    b = await nodes.start("beta")
    c = await nodes.start("gamma")
    path = write_file(tmp_path / "data.bin", b"from a stranger\n")
    mark = b.events.mark()

    with pytest.raises(PeerNotFoundError):
        await c.client.transfer_file(path, b.id)
    await c.client.add_peer(b.address, persist=False)
    with pytest.raises(PeerNotTrustedError):
        await c.client.transfer_file(path, b.id)

    assert c.daemon.identity is not None and b.daemon.identity is not None
    channel = grpc.aio.secure_channel(
        b.address,
        link_channel_credentials(c.daemon.identity, b.daemon.identity.certificate_pem.decode()),
        options=link_channel_options(b.id),
    )
    try:
        stub: Any = peer_grpc.TransferServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Offer(offer_request(offered_file("data.bin")), timeout=10)
    finally:
        await channel.close(None)
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE  # refused in the TLS handshake
    assert reason_of(caught.value) == ""

    assert await b.client.transfers() == []
    assert b.events.of_type("transfer_offered", after=mark) == []
    assert not inbox(b).exists()


async def test_a_paired_device_without_the_files_permission_cannot_offer_files(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #24: B turned "files" off for A: A's offer fails with PERMISSION_DENIED_BY_PEER."""
    a, b = await paired(nodes)
    await b.client.set_peer_permissions(a.id, files=False)
    mark = b.events.mark()

    with pytest.raises(PermissionDeniedByPeerError):
        await a.client.transfer_file(write_file(tmp_path / "data.bin", b"hello\n"), b.id)

    assert await b.client.transfers() == []
    assert await a.client.transfers() == []
    assert b.events.of_type("transfer_offered", after=mark) == []


# --- 26: nothing received is executable by others or privileged ----------------------------------


async def test_set_id_sticky_and_shared_write_bits_never_arrive(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #26: run.sh (setuid) in a setgid, sticky, world-writable folder arrives as 0o755
    in a 0o755 folder: never set-id, sticky or writable by group or others."""
    a, b = await paired(nodes)
    tools = tmp_path / "tools"
    run = write_file(tools / "run.sh", b"#!/bin/sh\nid\n", 0o4755)
    tools.chmod(0o3777)
    assert stat.S_IMODE(run.stat().st_mode) == 0o4755
    handle = await offer(a, b, tools)

    await b.client.accept_transfer(handle.id)

    info = await asyncio.wait_for(handle.wait(), 15)
    assert info.state == "completed"
    assert stat.S_IMODE((inbox(b) / "tools" / "run.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((inbox(b) / "tools").stat().st_mode) == 0o755


async def test_a_mode_sent_on_the_wire_is_masked_too(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THREATS #26: a hostile FileStart that restarts the file claiming mode 0o7777 still
    yields a 0o755 file."""
    a, b = await paired(nodes)
    data = os.urandom(SIZE)
    handle = await offer(a, b, write_file(tmp_path / "run.sh", data))
    restart = [start(0, SIZE, mode=0o7777, restarted=True), chunk(0, 0, data), end(0, data)]
    monkeypatch.setattr(engine(a), "serve_fetch", scripted([[start(0, SIZE)], restart]))

    await b.client.accept_transfer(handle.id)

    await ended(b, handle.id, "transfer_completed")
    assert stat.S_IMODE((inbox(b) / "run.sh").stat().st_mode) == 0o755


# --- 8, 9: a restart is not a way around the declared size ----------------------------------------


async def test_a_restarted_file_cannot_grow_past_its_offered_size(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """THREATS #8: a sender may restart a changed file (#12), but never with more bytes than it
    offered: that fails with PEER_PROTOCOL_VIOLATION, and the part file already begun is
    removed."""
    a, b = await paired(nodes)
    data = os.urandom(SIZE)
    handle = await offer(a, b, write_file(tmp_path / "data.bin", data))
    grown = [start(0, 1 << 60, restarted=True)]
    lie = [[start(0, SIZE), chunk(0, 0, data[: 4 * KIB])], grown]
    monkeypatch.setattr(engine(a), "serve_fetch", scripted(lie))

    await b.client.accept_transfer(handle.id)

    failed = await ended(b, handle.id, "transfer_failed")
    assert reason_name(failed) == "PEER_PROTOCOL_VIOLATION"
    assert await asyncio.to_thread(tree, inbox(b)) == []
    told = await ended(a, handle.id, "transfer_failed")
    assert reason_name(told) == "PEER_PROTOCOL_VIOLATION"


# --- the receiver's user decides; a peer's words are data -----------------------------------------


def short_offers(config: Config) -> Config:
    """Offers expire after 3 s (below the configurable minimum of 10 s)."""
    return dataclasses.replace(
        config, transfers=dataclasses.replace(config.transfers, offer_timeout_secs=3)
    )


async def test_the_sender_cannot_start_an_offer_nobody_accepted(
    nodes: Nodes, tmp_path: Path
) -> None:
    """The receiver's user decides (THREATS #7 "explicit approval", #26): a sender's "resumed"
    notice on a pending offer starts nothing; the offer stays pending until it expires (or the
    notice fails it as a protocol violation), and nothing is written."""
    a = await nodes.start("alpha")
    b = await nodes.start("beta", adjust=short_offers)
    await pair(a, b)
    handle = await offer(a, b, write_file(tmp_path / "unwanted.bin", b"not accepted\n"))

    with contextlib.suppress(grpc.aio.AioRpcError):  # refusing the notice is as good
        await link_stub(a, b).Notify(
            peer_pb.NotifyRequest(transfer_id=handle.id, notice=peer_pb.NOTICE_RESUMED),
            timeout=10,
        )

    kinds = ("transfer_started", "transfer_completed", "transfer_failed")
    first = await first_event(b, handle.id, kinds)
    assert first.type == "transfer_failed"
    assert reason_name(transfer_in(first)) in ("TRANSFER_EXPIRED", "PEER_PROTOCOL_VIOLATION")
    assert await asyncio.to_thread(tree, inbox(b)) == []


class _MadeUpReason(KizunaError):
    reason = "NOT_A_REASON"


@pytest.mark.parametrize("route", ["notify", "fetch"])
async def test_an_unknown_error_reason_from_the_peer_does_not_break_the_receiver(
    nodes: Nodes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """A peer's words are data (THREATS #8): a made-up reason fails the transfer with a reason
    this device knows, and its transfers stay listable."""
    a, b = await paired(nodes)
    handle = await offer(a, b, write_file(tmp_path / "data.bin", b"hello\n"))

    if route == "notify":
        failed = peer_pb.NotifyRequest(
            transfer_id=handle.id, notice=peer_pb.NOTICE_FAILED, reason=_MadeUpReason.reason
        )
        await link_stub(a, b).Notify(failed, timeout=10)
    else:

        async def refuse(caller: str, request: Any) -> AsyncIterator[peer_pb.FetchResponse]:
            raise _MadeUpReason("made up")
            yield peer_pb.FetchResponse()  # an async generator, like the real one

        monkeypatch.setattr(engine(a), "serve_fetch", refuse)
        await b.client.accept_transfer(handle.id)

    event = await b.events.wait_for(
        "transfer_failed", lambda p: p.transfer.id == handle.id, within=5
    )
    assert reason_name(transfer_in(event)) != ""
    assert [t.state for t in await b.client.transfers()] == ["failed"]


async def test_forgetting_a_slow_reader_ends_its_fetch_and_the_transfer_at_once(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #32: beta (paired) opens a Fetch on alpha's offer and reads one message, then
    stops reading, as a hostile peer keeping a stream open would; alpha forgets beta.

    Proves: the Fetch ends at once on alpha's side whatever beta does: draining what was already
    in flight yields a few MiB at most, not the 64 MiB file, and the call ends with an error, not
    OK; alpha's transfer fails with PEER_NOT_TRUSTED instead of staying "transferring"."""
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    size = 64 * 1024 * 1024
    handle = await offer(a, b, write_file(tmp_path / "big.bin", os.urandom(size)))
    assert a.daemon.identity is not None and b.daemon.identity is not None
    # A connection of beta's identity that beta's daemon does not own: it never hangs up.
    async with grpc.aio.secure_channel(
        a.address,
        link_channel_credentials(b.daemon.identity, a.daemon.identity.certificate_pem.decode()),
        options=link_channel_options(a.id),
    ) as channel:
        fetch = peer_grpc.TransferServiceStub(channel).Fetch(
            peer_pb.FetchRequest(transfer_id=handle.id, files=[peer_pb.FileRange(file_index=0)]),
            timeout=60,
        )
        await fetch.read()
        mark = a.events.mark()

        await a.client.forget_peer(b.id)

        failed = await a.events.wait_for(
            "transfer_failed", lambda p: p.transfer.id == handle.id, after=mark
        )
        assert reason_name(transfer_in(failed)) == "PEER_NOT_TRUSTED"
        async with asyncio.timeout(WAIT):
            drained = await _drain(fetch)
        assert drained < 16 * 1024 * 1024, drained
        assert await fetch.code() is not grpc.StatusCode.OK
    assert (await a.client.transfer(handle.id).refresh()).state == "failed"


async def _drain(fetch: Any) -> int:
    """Reads a Fetch call to its end; returns the data bytes it still delivered."""
    drained = 0
    with contextlib.suppress(grpc.aio.AioRpcError):
        while (message := await fetch.read()) is not grpc.aio.EOF:  # type: ignore[attr-defined]
            drained += sum(len(piece.chunk.data) for piece in message.pieces)
    return drained


async def test_revoking_the_files_permission_ends_what_the_peer_sends_here(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #32: beta sends alpha a file; alpha's person accepts, then turns beta's files
    permission off while the data flows. Proves: alpha's transfer fails at once (permission
    denied) with no partial file left, beta learns it failed, and a new offer is refused."""
    a = await nodes.start("alpha")
    b = await nodes.start("beta")
    await pair(a, b)
    source = write_file(tmp_path / "big.bin", os.urandom(64 * 1024 * 1024))
    handle = await offer(b, a, source)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    await a.client.accept_transfer(handle.id)
    await a.events.wait_for(
        "transfer_progress", lambda p: p.transfer_id == handle.id and p.bytes_done, after=mark_a
    )

    await a.client.set_peer_permissions(b.id, files=False)

    failed = await a.events.wait_for(
        "transfer_failed", lambda p: p.transfer.id == handle.id, after=mark_a
    )
    assert reason_name(transfer_in(failed)) == "PERMISSION_DENIED_BY_PEER"
    told = await b.events.wait_for(
        "transfer_failed", lambda p: p.transfer.id == handle.id, after=mark_b
    )
    assert reason_name(transfer_in(told)) == "PERMISSION_DENIED_BY_PEER"
    assert await asyncio.to_thread(tree, inbox(a)) == []
    with pytest.raises(PermissionDeniedByPeerError):
        await b.client.transfer_file(source, a.id)


# --- 33: a paired peer floods offers -------------------------------------------------------------


def _pending_limits(per_peer: int, in_all: int, files: int) -> Callable[[Config], Config]:
    def adjust(config: Config) -> Config:
        limits = dataclasses.replace(
            config.transfers,
            max_pending_offers_per_peer=per_peer,
            max_pending_offers=in_all,
            max_pending_files=files,
        )
        return dataclasses.replace(config, transfers=limits)

    return adjust


def _error_of(event: KizunaEvent) -> errors_pb2.Error:
    payload: Any = event.payload
    error: errors_pb2.Error = payload.error
    return error


def _flood_offer(count: int, size: int) -> peer_pb.OfferRequest:
    return offer_request(*(offered_file(f"junk/{n:06d}", size) for n in range(count)))


async def _refused(a: Node, b: Node, request: peer_pb.OfferRequest) -> tuple[str, str]:
    """Offers `request` from A to B over A's link; the refusal's reason and limit."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await link_stub(a, b).Offer(request, timeout=30)
    reason, fields = error_info_from_trailers(caught.value.trailing_metadata())
    return reason, fields.get("limit", "")


async def test_offers_flooded_by_a_paired_peer_are_bounded_by_configuration(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #33, as found: a paired peer sends offers of 100,000 entries each declaring
    1 TiB, then offers beyond the pending limits. Proves: an offer that cannot fit the free
    space minus the reserve is refused at once (INSUFFICIENT_STORAGE) and nothing is stored;
    offers beyond the per-peer, overall and entry limits are refused (LIMIT_EXCEEDED naming the
    limit) with an `error` event on the receiver; what waits stays listable (a page of brief
    transfers, files paged on request); an offer that ends unanswered keeps a short record
    (its totals intact), so history and the next start stay small whatever was offered."""
    a = await nodes.start("alpha")
    c = await nodes.start("gamma")
    b = await nodes.start("beta", adjust=_pending_limits(per_peer=2, in_all=3, files=150_000))
    await pair(a, b)
    await pair(c, b)
    await b.client.add_peer(a.address, persist=True)  # to find alpha again after its restart
    mark = b.events.mark()
    tib = 1024**4

    for _ in range(3):
        huge = _flood_offer(100_000, tib // 100_000)
        assert await _refused(a, b, huge) == ("INSUFFICIENT_STORAGE", "")
    assert await b.client.transfers() == []
    assert await asyncio.to_thread(lambda: list(engine(b)._store.directory.iterdir())) == []

    big = _flood_offer(100_000, 1)
    await link_stub(a, b).Offer(big, timeout=30)
    assert await _refused(a, b, _flood_offer(60_000, 1)) == (
        "LIMIT_EXCEEDED",
        "transfers.max_pending_files",
    )
    await link_stub(a, b).Offer(_flood_offer(10, 1), timeout=30)
    assert await _refused(a, b, _flood_offer(10, 1)) == (
        "LIMIT_EXCEEDED",
        "transfers.max_pending_offers_per_peer",
    )
    # A person sending through the API is told which limit, in full.
    with pytest.raises(LimitExceededError) as told:
        await a.client.transfer_file(write_file(tmp_path / "one.txt", b"one\n"), b.id)
    assert told.value.metadata["limit"] == "transfers.max_pending_offers_per_peer"
    assert "send again once they are answered" in str(told.value)
    await link_stub(c, b).Offer(_flood_offer(10, 1), timeout=30)
    assert await _refused(c, b, _flood_offer(10, 1)) == (
        "LIMIT_EXCEEDED",
        "transfers.max_pending_offers",
    )
    last = "transfers.max_pending_offers"
    await b.events.wait_for("error", lambda p: p.error.metadata.get("limit") == last, after=mark)
    errors = [_error_of(e) for e in b.events.of_type("error", after=mark)]
    assert len(errors) == 7 and all(e.metadata["peer_id"] in (a.id, c.id) for e in errors)

    listed = await b.client.transfers()
    assert len(listed) == 3
    whole = next(t for t in listed if t.id == big.transfer_id)
    assert (len(whole.files), whole.entry_count) == (100, 100_000)
    assert len(await b.client.transfer_files(big.transfer_id)) == 100_000

    await b.client.reject_transfer(big.transfer_id)
    record = engine(b)._store.directory / f"{big.transfer_id}.json"
    assert (await asyncio.to_thread(record.stat)).st_size < 64 * KIB
    b = await nodes.restart(b)
    kept = await b.client.transfer(big.transfer_id).refresh()
    assert (kept.state, kept.entry_count, kept.total_files) == ("failed", 100_000, 100_000)
    await wait_connected(a, b)
    await link_stub(a, b).Offer(_flood_offer(10, 1), timeout=30)  # room again for alpha


async def test_a_peer_opening_many_fetches_at_once_is_served_a_bounded_number(
    nodes: Nodes, tmp_path: Path
) -> None:
    """THREATS #28: each Fetch the sender serves holds a thread and read-ahead buffers. A paired
    receiver opening 40 on one transfer without reading is served MAX_FETCHES_PER_PEER of them;
    the rest get LIMIT_EXCEEDED at once. Once they end, a normal transfer still completes."""
    a, b = await paired(nodes)
    handle = await offer(a, b, write_file(tmp_path / "big.bin", os.urandom(16 * 1024 * 1024)))
    request = peer_pb.FetchRequest(transfer_id=handle.id, files=[peer_pb.FileRange(file_index=0)])
    calls = [link_stub(b, a).Fetch(request, timeout=60) for _ in range(40)]
    try:
        outcomes = await asyncio.gather(*(call.read() for call in calls), return_exceptions=True)
        refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert len(calls) - len(refused) == MAX_FETCHES_PER_PEER
        assert {reason_of(r) for r in refused} == {"LIMIT_EXCEEDED"}
    finally:
        for call in calls:
            call.cancel()

    async def all_ended() -> bool | None:
        return True if engine(a)._fetching[b.id] == 0 else None

    await eventually(all_ended, what="the fetches to end")
    await still_works(a, b, tmp_path)
