"""A disk that fills during a transfer, not only before it is accepted (THREATS #9, issue 10).

The receiver's inbox is on a small tmpfs each test mounts itself; the offer fits when it is
accepted (free space minus transfers.free_space_reserve_mib), then another writer takes the
space, or transfers accepted together exceed it. The design (docs/transfers.md, "Disk full"):
ENOSPC fails the transfer with INSUFFICIENT_STORAGE on both sides and removes its part files;
files already verified and committed stay; nothing resumes, a new transfer does once there is
room. Real daemons on loopback with real TLS; tests wait on events, never sleep to synchronise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kizuna_client import KizunaEvent, TransferHandle
from kizuna_client.v1 import errors_pb2, transfer_pb2
from kizuna_server.p2p.wire import transfer_service_pb2 as peer_pb
from kizuna_server.transfers import sink
from kizuna_server.transfers.engine import Transfers
from tests.p2p.peerpair import WAIT, Node, Nodes, eventually, pair, wait_connected
from tests.transfers.hashing import content_hash

KIB = 1024
MIB = 1024 * KIB
#: transfers.free_space_reserve_mib on the receiver: small, but not zero.
RESERVE_MIB = 1
#: How long a test waits for a transfer to end.
ENDS_WITHIN = 2 * WAIT

TransferFile = transfer_pb2.TransferFile


# --- the small disk ---------------------------------------------------------------------------


@dataclass
class Disk:
    """A tmpfs mounted for one test; `filler` (beside the inbox) is the other writer."""

    root: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def filler(self) -> Path:
        return self.root / "filler"

    def free(self) -> int:
        info = os.statvfs(self.root)
        return info.f_bavail * info.f_frsize

    def fill(self, leave: int) -> None:
        """Grows the filler until only `leave` bytes are free (allocated, not sparse)."""
        take = self.free() - leave
        assert take > 0, f"only {self.free()} bytes free, cannot leave {leave}"
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.posix_fallocate(fd, os.fstat(fd).st_size, take)
        finally:
            os.close(fd)
        assert self.free() == leave

    def empty(self) -> None:
        """The other writer goes away: its space is free again."""
        self.filler.unlink(missing_ok=True)
        shutil.rmtree(self.root / "inodes", ignore_errors=True)

    def free_inodes(self) -> int:
        return os.statvfs(self.root).f_favail

    def use_inodes(self, leave: int) -> None:
        """Creates empty files beside the inbox until only `leave` inodes are free."""
        folder = self.root / "inodes"
        folder.mkdir(exist_ok=True)
        for n in range(self.free_inodes() - leave):
            (folder / str(n)).touch()
        assert self.free_inodes() == leave


def _mount_refused(root: Path, options: str) -> str | None:
    """Mounts a tmpfs on `root`; why it could not, or None."""
    if os.geteuid() != 0:
        return "mounting a small filesystem needs root"
    if shutil.which("mount") is None:
        return "mount(8) is not installed"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "kizuna-test", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return f"mount -t tmpfs was refused: {done.stderr.strip()}"
    return None


@pytest.fixture
async def disks(nodes: Nodes) -> AsyncIterator[Callable[..., Disk]]:
    """Mounts small tmpfs disks on demand; at the end stops the test's daemons (they hold
    descriptors in their inboxes), then unmounts. Skips when mounting is not permitted here;
    fails in CI, which must run these tests (as tests/netns.py does)."""
    mounted: list[Path] = []

    def mount(size_mib: int = 64, *, inodes: int = 0) -> Disk:
        root = Path(tempfile.mkdtemp(prefix="kz-disk-", dir="/tmp"))
        options = f"size={size_mib}m,mode=0700" + (f",nr_inodes={inodes}" if inodes else "")
        refused = _mount_refused(root, options)
        if refused is not None:
            root.rmdir()
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the disk-full tests: {refused}")
            pytest.skip(refused)
        mounted.append(root)
        return Disk(root)

    try:
        yield mount
    finally:
        await nodes.close()
        for root in mounted:
            await asyncio.to_thread(_unmount, root)


def _unmount(root: Path) -> None:
    done = subprocess.run(["umount", str(root)], capture_output=True, check=False)
    if done.returncode != 0:  # something still holds it: detach it anyway
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)
    with contextlib.suppress(OSError):
        root.rmdir()


class EngineErrors(logging.Handler):
    """Errors the transfer engines log, such as a receiving run that ended by raising (then
    no event ever comes): a wait for a transfer's end fails at once instead of timing out."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.seen = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._loop.call_soon_threadsafe(self.seen.set)

    def describe(self) -> str:
        return "; ".join(
            f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
            for r in self.records
        )


@pytest.fixture
async def engine_errors() -> AsyncIterator[EngineErrors]:
    """Watches kizuna_server.transfers for logged errors; none may be left at the end."""
    handler = EngineErrors()
    logger = logging.getLogger("kizuna_server.transfers")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    assert not handler.records, f"the transfer engine logged errors: {handler.describe()}"


# --- daemons, offers, the sender's Fetch ------------------------------------------------------


def engine(node: Node) -> Transfers:
    assert node.daemon.transfers is not None
    return node.daemon.transfers


async def receiver_on(nodes: Nodes, disk: Disk, *, home: Path | None = None) -> tuple[Node, Node]:
    """alpha, and beta whose inbox is on `disk` (its home too when given), paired, alpha
    linked to beta."""
    a = await nodes.start("alpha")
    settings = {"transfers": {"inbox": str(disk.inbox), "free_space_reserve_mib": RESERVE_MIB}}
    b = await nodes.start("beta", settings, home=home)
    await pair(a, b)
    return a, b


@dataclass
class Gate:
    """Holds a sender's Fetch answers until opened; `asked` is set by the first Fetch."""

    opened: asyncio.Event = field(default_factory=asyncio.Event)
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[str] = field(default_factory=list)  # transfer id of each Fetch

    def install(self, sender: Node) -> None:
        original = engine(sender).serve_fetch

        async def held(caller: str, request: Any) -> AsyncIterator[peer_pb.FetchResponse]:
            self.calls.append(request.transfer_id)
            self.asked.set()
            await self.opened.wait()
            async for message in original(caller, request):
                yield message

        engine(sender).serve_fetch = held  # type: ignore[method-assign]

    async def wait_asked(self, count: int = 1) -> None:
        """Until the sender has been asked by `count` Fetch calls."""

        async def probe() -> bool | None:
            return True if len(self.calls) >= count else None

        await asyncio.wait_for(self.asked.wait(), WAIT)
        await eventually(probe, what=f"{count} Fetch calls")


async def offer(a: Node, b: Node, *paths: Path) -> TransferHandle:
    """A offers `paths` to B; returns A's handle once B shows the offer."""
    mark = b.events.mark()
    handle = await a.client.transfer_file(paths, b.id)
    await b.events.wait_for("transfer_offered", lambda p: p.transfer.id == handle.id, after=mark)
    return handle


def write_files(folder: Path, count: int, size: int) -> Path:
    """`count` files of `size` random bytes, named so they sort (and are sent) in order."""
    folder.mkdir(parents=True)
    for n in range(count):
        (folder / f"f{n:04}.bin").write_bytes(os.urandom(size))
    return folder


# --- what the tests look at -------------------------------------------------------------------


def transfer_in(event: KizunaEvent) -> transfer_pb2.Transfer:
    payload: Any = event.payload
    transfer: transfer_pb2.Transfer = payload.transfer
    return transfer


def reason_name(transfer: transfer_pb2.Transfer) -> str:
    return errors_pb2.ErrorReason.Name(transfer.error.reason).removeprefix("ERROR_REASON_")


_FINAL_EVENTS = ("transfer_completed", "transfer_failed", "transfer_cancelled")


async def outcome(
    node: Node, transfer_id: str, errors: EngineErrors, kinds: Sequence[str] = _FINAL_EVENTS
) -> KizunaEvent:
    """The first of `kinds` events about the transfer; fails at once if an engine logs an
    error meanwhile (a receiving run that raised publishes nothing ever again)."""
    waits = [
        asyncio.ensure_future(
            node.events.wait_for(kind, lambda p: p.transfer.id == transfer_id, within=ENDS_WITHIN)
        )
        for kind in kinds
    ]
    crashed = asyncio.ensure_future(errors.seen.wait())
    try:
        done, _ = await asyncio.wait([*waits, crashed], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*waits, crashed):
            task.cancel()
        await asyncio.gather(*waits, crashed, return_exceptions=True)
    if crashed in done:
        raise AssertionError(f"{node.name}: the transfer engine failed: {errors.describe()}")
    event = done.pop().result()
    assert isinstance(event, KizunaEvent)
    return event


async def failed_for_lack_of_space(
    node: Node, transfer_id: str, errors: EngineErrors
) -> transfer_pb2.Transfer:
    """The transfer's first final event must be transfer_failed, INSUFFICIENT_STORAGE."""
    event = await outcome(node, transfer_id, errors)
    failed = transfer_in(event)
    assert event.type == "transfer_failed", f"{node.name}: {event.type}"
    assert reason_name(failed) == "INSUFFICIENT_STORAGE", failed.error
    assert failed.state == transfer_pb2.Transfer.STATE_FAILED
    return failed


async def record(node: Node, transfer_id: str) -> transfer_pb2.Transfer:
    """GetTransfer, as the app sees it."""
    return (await node.client.transfer(transfer_id).refresh()).message


def hidden_files(root: Path) -> list[str]:
    """Part files (or any other hidden Kizuna file) anywhere on the disk."""
    return sorted(str(p.relative_to(root)) for p in root.rglob(".kizuna-*"))


def files_under(folder: Path) -> list[str]:
    """Regular files under `folder`, relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


async def assert_consistent(b: Node, disk: Disk, transfer_id: str, sent: Path) -> list[str]:
    """After an incoming transfer ended, what the app sees, what the inbox holds and the
    daemon's own record agree: every completed file is under its final name, whole and with
    the sender's content hash; nothing is left pending; the transfer's part files and journal
    are gone. Returns the saved paths of its completed files. (`sent` is what was offered.)"""
    shown = await record(b, transfer_id)
    final = (TransferFile.STATE_COMPLETED, TransferFile.STATE_FAILED, TransferFile.STATE_SKIPPED)
    assert all(f.state in final for f in shown.files), [(f.path, f.state) for f in shown.files]
    saved = []
    for entry in shown.files:
        if entry.kind == TransferFile.KIND_DIRECTORY or entry.state != TransferFile.STATE_COMPLETED:
            continue
        expected = await asyncio.to_thread(content_hash, sent.parent / entry.path)
        assert entry.content_hash == expected, entry.path
        on_disk = await asyncio.to_thread(content_hash, disk.inbox / entry.saved_path)
        assert on_disk == expected, f"{entry.saved_path} is not the file that was sent"
        saved.append(entry.saved_path)
    assert hidden_files(disk.root) == []
    records = b.data_dir / "transfers"
    journal = records / f"{transfer_id}.journal"

    async def no_journal() -> bool | None:  # a completed run removes it after its notice
        return True if not journal.exists() else None

    await eventually(no_journal, what=f"{journal} removed")
    assert list(records.glob(".*.tmp")) == []  # no half-written record either
    stored = json.loads(await asyncio.to_thread((records / f"{transfer_id}.json").read_text))
    state = transfer_pb2.Transfer.State.Name(shown.state).removeprefix("STATE_").lower()
    assert stored["state"] == state
    stored_saved = [e["saved_path"] for e in stored["entries"] if e["state"] == "completed"]
    assert sorted(stored_saved) == sorted(
        f.saved_path for f in shown.files if f.state == TransferFile.STATE_COMPLETED
    )
    return sorted(saved)


def _descriptors_under(folders: Sequence[Path]) -> list[str]:
    """This process's descriptors on anything inside `folders` (both daemons run here)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if any(target == str(f) or target.startswith(f"{f}/") for f in folders):
                found.append(target)
    return sorted(found)


async def descriptors_released(*folders: Path) -> None:
    """Until no descriptor of either daemon points inside `folders`."""

    async def probe() -> bool | None:
        return True if not _descriptors_under(folders) else None

    try:
        await eventually(probe, what="every descriptor closed")
    except AssertionError:
        raise AssertionError(f"still open: {_descriptors_under(folders)}") from None


async def relink(a: Node, b: Node) -> None:
    """After B restarted (its link port changed): B dials A, and the link is up again."""
    await b.client.add_peer(a.address, persist=False)
    await b.client.connect_to_peer(a.id)
    await wait_connected(a, b)


async def sends_again(a: Node, b: Node, disk: Disk, sent: Path, errors: EngineErrors) -> list[str]:
    """With room again, offering `sent` once more completes; returns the saved paths."""
    handle = await offer(a, b, sent)
    await b.client.accept_transfer(handle.id)
    event = await outcome(b, handle.id, errors)
    assert event.type == "transfer_completed", transfer_in(event).error
    assert (await asyncio.wait_for(handle.wait(), WAIT)).state == "completed"
    return await assert_consistent(b, disk, handle.id, sent)


# --- a large file whose space is gone --------------------------------------------------------


async def test_a_disk_filled_after_accept_fails_the_transfer_cleanly_on_both_sides(
    nodes: Nodes, disks: Callable[..., Disk], engine_errors: EngineErrors, tmp_path: Path
) -> None:
    """The offer fits when accepted; another writer then leaves room for the first file only.
    The first file is committed (verified, whole); the second's space cannot be allocated:
    INSUFFICIENT_STORAGE on both sides, its part file removed, every descriptor released, the
    journal gone. After a restart the receiver still shows exactly that and asks for nothing;
    once the space is free the same folder arrives whole, beside the first copy."""
    disk = disks(64)
    a, b = await receiver_on(nodes, disk)
    trip = tmp_path / "trip"
    trip.mkdir()
    (trip / "1-first.bin").write_bytes(os.urandom(6 * MIB + 5))
    (trip / "2-second.bin").write_bytes(os.urandom(20 * MIB + 7))
    gate = Gate()
    gate.install(a)
    handle = await offer(a, b, trip)

    await b.client.accept_transfer(handle.id)
    await gate.wait_asked()
    await asyncio.to_thread(disk.fill, 12 * MIB)
    gate.opened.set()

    await failed_for_lack_of_space(b, handle.id, engine_errors)
    await failed_for_lack_of_space(a, handle.id, engine_errors)
    assert reason_name(await record(a, handle.id)) == "INSUFFICIENT_STORAGE"
    assert await assert_consistent(b, disk, handle.id, trip) == ["trip/1-first.bin"]
    assert files_under(disk.inbox) == ["trip/1-first.bin"]
    await descriptors_released(disk.inbox, b.data_dir / "transfers", trip)
    assert await b.client.node()  # the daemon is fine

    fetches = len(gate.calls)
    b = await nodes.restart(b)
    shown = await record(b, handle.id)
    assert shown.state == transfer_pb2.Transfer.STATE_FAILED
    assert reason_name(shown) == "INSUFFICIENT_STORAGE"
    assert await assert_consistent(b, disk, handle.id, trip) == ["trip/1-first.bin"]

    await asyncio.to_thread(disk.empty)
    await relink(a, b)
    assert await sends_again(a, b, disk, trip, engine_errors) == [
        "trip (1)/1-first.bin",
        "trip (1)/2-second.bin",
    ]
    assert handle.id not in gate.calls[fetches:]  # the failed transfer was not resumed


# --- small files, committed in batches --------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [(64 * KIB, 5 * MIB + 24 * KIB), (256 * KIB, 3 * MIB + 100 * KIB)],
    ids=["at-a-batch-commit", "while-writes-are-queued"],
)
async def test_a_disk_that_fills_among_small_files_fails_cleanly(
    nodes: Nodes,
    disks: Callable[..., Disk],
    engine_errors: EngineErrors,
    tmp_path: Path,
    sizes: tuple[int, int],
) -> None:
    """Many one-chunk files, written on the writer threads and committed in batches (from 64
    files, at the end of a message); the disk fills part way. The receiver learns it when a
    batch is committed (64 KiB files: the first batch fits and is committed, the second does
    not) or from its queue of writes (256 KiB files, before any batch). Either way:
    INSUFFICIENT_STORAGE on both sides; every file under its final name is whole and
    verified; the one cut short never gets its name; no part file is left."""
    size, leave = sizes  # of each file; free on the disk once the offer is accepted
    disk = disks(64)
    a, b = await receiver_on(nodes, disk)
    notes = write_files(tmp_path / "notes", 160, size)
    gate = Gate()
    gate.install(a)
    handle = await offer(a, b, notes)

    await b.client.accept_transfer(handle.id)
    await gate.wait_asked()
    await asyncio.to_thread(disk.fill, leave)
    gate.opened.set()

    await failed_for_lack_of_space(b, handle.id, engine_errors)
    await failed_for_lack_of_space(a, handle.id, engine_errors)
    saved = await assert_consistent(b, disk, handle.id, notes)
    assert files_under(disk.inbox) == saved
    fit = leave // size
    assert len(saved) <= fit
    if size == 64 * KIB:
        assert len(saved) >= 64  # the first batch was committed before the disk was full
    await descriptors_released(disk.inbox, b.data_dir / "transfers", notes)

    await asyncio.to_thread(disk.empty)
    assert len(await sends_again(a, b, disk, notes, engine_errors)) == 160


async def test_space_freed_as_a_write_fails_never_gives_the_cut_file_its_name(
    nodes: Nodes,
    disks: Callable[..., Disk],
    engine_errors: EngineErrors,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other writer frees its space at the moment a small file's write fails for lack of
    it (as another transfer's failure does when it removes its part files): the files written
    after it succeed. The receiver only learns of the failure later, from its queue of
    writes. The file that was cut short must not be committed with the rest: it never gets
    its final name, and the transfer fails with INSUFFICIENT_STORAGE.

    The hook on the receiver's whole-file write only orders events: one write at a time, and
    the space freed right after the first one the real disk refused."""
    disk = disks(64)
    a, b = await receiver_on(nodes, disk)
    notes = write_files(tmp_path / "notes", 60, 256 * KIB)
    write_file = sink._write_file
    one_at_a_time = threading.Lock()
    refused: list[str] = []

    def write_then_free(fd: int, data: bytes, mode: int, mtime_ns: int) -> None:
        with one_at_a_time:
            try:
                write_file(fd, data, mode, mtime_ns)
            except OSError:
                if not refused:
                    disk.empty()
                refused.append(os.readlink(f"/proc/self/fd/{fd}"))
                raise

    monkeypatch.setattr(sink, "_write_file", write_then_free)
    gate = Gate()
    gate.install(a)
    handle = await offer(a, b, notes)

    await b.client.accept_transfer(handle.id)
    await gate.wait_asked()
    await asyncio.to_thread(disk.fill, 3 * MIB + 100 * KIB)
    gate.opened.set()

    await failed_for_lack_of_space(b, handle.id, engine_errors)
    await failed_for_lack_of_space(a, handle.id, engine_errors)
    assert len(refused) == 1, refused  # only one write met the full disk
    saved = await assert_consistent(b, disk, handle.id, notes)
    assert files_under(disk.inbox) == saved
    assert len(saved) > 12  # files before and after the one cut short were committed
    cut = Path(refused[0]).name  # .kizuna-<id>-<index>.part
    index = int(cut.rsplit("-", 1)[1].removesuffix(".part"))
    cut_entry = (await record(b, handle.id)).files[index]
    assert cut_entry.state == TransferFile.STATE_FAILED
    assert cut_entry.saved_path not in saved and not (disk.inbox / cut_entry.path).exists()


# --- transfers accepted together ---------------------------------------------------------------


async def test_transfers_accepted_together_that_exceed_the_disk(
    nodes: Nodes, disks: Callable[..., Disk], engine_errors: EngineErrors, tmp_path: Path
) -> None:
    """Two offers that each fit alone (a 36 MiB file; 160 files of 256 KiB) are each accepted
    as it arrives, before either starts; together they do not fit. Whichever loses the race
    fails with INSUFFICIENT_STORAGE (both may); each ends on both sides, completed or failed,
    and leaves a consistent inbox. A transfer the other way, running meanwhile, completes
    untouched, and once the inbox is cleared a small offer arrives."""
    disk = disks(64)
    a, b = await receiver_on(nodes, disk)
    (tmp_path / "big").mkdir()
    big = tmp_path / "big" / "movie.bin"
    big.write_bytes(os.urandom(36 * MIB))
    notes = write_files(tmp_path / "notes", 160, 256 * KIB)
    reply = tmp_path / "reply.bin"
    reply.write_bytes(os.urandom(8 * MIB))
    to_b, to_a = Gate(), Gate()
    to_b.install(a)
    to_a.install(b)

    # Offered one after the other: waiting together, they would be refused at the second offer
    # (the bytes of offers waiting for an answer must fit together).
    handles = []
    for sent in (big, notes):
        handles.append(await offer(a, b, sent))
        await b.client.accept_transfer(handles[-1].id)
    back = await offer(b, a, reply)
    await a.client.accept_transfer(back.id)
    await to_b.wait_asked(2)
    await to_a.wait_asked()
    to_b.opened.set()
    to_a.opened.set()

    ends = [
        (await outcome(b, h.id, engine_errors), await outcome(a, h.id, engine_errors))
        for h in handles
    ]
    assert (await asyncio.wait_for(back.wait(), WAIT)).state == "completed"
    for (here, there), handle, sent in zip(ends, handles, (big, notes), strict=True):
        assert transfer_in(there).state == transfer_in(here).state
        if here.type == "transfer_failed":
            assert reason_name(transfer_in(here)) == "INSUFFICIENT_STORAGE"
            assert reason_name(transfer_in(there)) == "INSUFFICIENT_STORAGE"
        else:
            assert here.type == "transfer_completed"
        await assert_consistent(b, disk, handle.id, sent)
    assert any(here.type == "transfer_failed" for here, _ in ends)
    received = a.daemon.config.transfers.inbox / "reply.bin"
    assert await asyncio.to_thread(content_hash, received) == content_hash(reply)

    await asyncio.to_thread(shutil.rmtree, disk.inbox)  # the user makes room
    small = tmp_path / "small"
    small.mkdir()
    (small / "note.txt").write_text("still room for this\n")
    assert await sends_again(a, b, disk, small, engine_errors) == ["small/note.txt"]


# --- no inode left ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "leave",
    [10, 21],
    ids=["while-files-are-created", "for-a-folder-created-at-the-end"],
)
async def test_no_inode_left_fails_cleanly(
    nodes: Nodes,
    disks: Callable[..., Disk],
    engine_errors: EngineErrors,
    tmp_path: Path,
    leave: int,
) -> None:
    """A disk with bytes to spare but no inodes left (ENOSPC on create): a folder of 20 files
    and an empty folder needs 22. With 10 free, part files cannot all be created; with 21,
    every file arrives and only the empty folder, created once every file is in, cannot be.
    Either way: INSUFFICIENT_STORAGE on both sides, a consistent inbox, and the folder arrives
    once there is room."""
    disk = disks(64, inodes=400)
    a, b = await receiver_on(nodes, disk)
    docs = write_files(tmp_path / "docs", 20, 4 * KIB)
    (docs / "zz-empty").mkdir()
    gate = Gate()
    gate.install(a)
    handle = await offer(a, b, docs)

    await b.client.accept_transfer(handle.id)
    await gate.wait_asked()
    await asyncio.to_thread(disk.use_inodes, leave)
    gate.opened.set()

    await failed_for_lack_of_space(b, handle.id, engine_errors)
    await failed_for_lack_of_space(a, handle.id, engine_errors)
    saved = await assert_consistent(b, disk, handle.id, docs)
    assert files_under(disk.inbox) == saved
    await descriptors_released(disk.inbox, b.data_dir / "transfers", docs)

    await asyncio.to_thread(disk.empty)
    assert len(await sends_again(a, b, disk, docs, engine_errors)) == 20
    assert (disk.inbox / "docs (1)" / "zz-empty").is_dir()


async def test_a_full_disk_that_also_holds_the_journal_stops_the_commit_cleanly(
    nodes: Nodes, disks: Callable[..., Disk], engine_errors: EngineErrors, tmp_path: Path
) -> None:
    """The receiver's home (its records and the transfer's journal) is on the same small disk
    as its inbox, as on a laptop with one partition. Another writer leaves room for exactly
    the first batch of small files: their data all arrives and verifies, and then the journal
    line that must precede their renames cannot be written. Nothing is renamed without it:
    INSUFFICIENT_STORAGE on both sides, no file under a final name, no part file, and the
    failure itself is recorded (removing the part files gave the room back)."""
    disk = disks(64)
    a, b = await receiver_on(nodes, disk, home=disk.root / "home")
    notes = write_files(tmp_path / "notes", 160, 64 * KIB)
    gate = Gate()
    gate.install(a)
    handle = await offer(a, b, notes)

    await b.client.accept_transfer(handle.id)
    await gate.wait_asked()
    # The first batch is committed after the message that brings its 64th file: 80 files.
    await asyncio.to_thread(disk.fill, 80 * 64 * KIB)
    gate.opened.set()

    await failed_for_lack_of_space(b, handle.id, engine_errors)
    await failed_for_lack_of_space(a, handle.id, engine_errors)
    assert await assert_consistent(b, disk, handle.id, notes) == []
    assert files_under(disk.inbox) == []
    await descriptors_released(disk.inbox, b.data_dir / "transfers", notes)

    await asyncio.to_thread(disk.empty)
    assert len(await sends_again(a, b, disk, notes, engine_errors)) == 160


async def test_a_disk_full_to_the_last_byte_under_the_records_still_ends_the_transfer(
    nodes: Nodes, disks: Callable[..., Disk], engine_errors: EngineErrors, tmp_path: Path
) -> None:
    """The receiver's home shares the small disk with its inbox, and another writer takes every
    last byte after the accept. The file's space cannot be allocated and there is no room
    for the record either: the failure must still be announced on both sides (the record is
    written once there is room: after a restart the transfer is still failed, not resumed)."""
    disk = disks(64)
    a, b = await receiver_on(nodes, disk, home=disk.root / "home")
    (tmp_path / "clip").mkdir()
    clip = tmp_path / "clip" / "clip.bin"
    clip.write_bytes(os.urandom(4 * MIB))
    gate = Gate()
    gate.install(a)
    handle = await offer(a, b, clip)

    await b.client.accept_transfer(handle.id)
    await gate.wait_asked()
    await asyncio.to_thread(disk.fill, 0)
    gate.opened.set()

    await failed_for_lack_of_space(b, handle.id, engine_errors)
    await failed_for_lack_of_space(a, handle.id, engine_errors)
    assert hidden_files(disk.root) == []
    assert files_under(disk.inbox) == []
    assert await b.client.node()

    await asyncio.to_thread(disk.empty)
    fetches = len(gate.calls)
    b = await nodes.restart(b)
    assert (await record(b, handle.id)).state == transfer_pb2.Transfer.STATE_FAILED
    assert await assert_consistent(b, disk, handle.id, clip) == []
    await relink(a, b)
    assert await sends_again(a, b, disk, clip, engine_errors) == ["clip.bin"]
    assert handle.id not in gate.calls[fetches:]  # the failed transfer was not resumed
