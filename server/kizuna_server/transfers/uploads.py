"""UploadTransfer: files an app streams to its daemon, which sends them on like any others.

The bytes are spooled to DATA/spool/<transfer id>/<index> as they arrive and offered at once:
the peer can accept and start pulling while the app is still uploading (a Fetch waits for bytes
not spooled yet). The spool survives a restart, so an interrupted upload continues with a header
naming its transfer_id (or request_id) from each file's offset; the daemon's first answer,
`started`, gives the transfer's ID and those offsets right after the header, before any data.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import grpc.aio

from kizuna_server.core.device_id import parse_device_id
from kizuna_server.errors import InvalidArgument, LimitExceeded
from kizuna_server.transfers.model import (
    CHUNK_BYTES,
    Entry,
    SourceNotReadable,
    Transfer,
    TransferInvalidState,
)
from kizuna_server.transfers.names import split_transfer_path
from kizuna_server.transfers.source import Growing

if TYPE_CHECKING:
    from kizuna_server.transfers.engine import Transfers

#: An upload chunk holds at most this much (the API's message limit is 8 MiB).
MAX_UPLOAD_CHUNK: Final = 4 * CHUNK_BYTES
#: A peer pulling bytes the app has not uploaded yet waits this long before the transfer fails.
UPLOAD_WAIT_SECS: Final = 600.0
_EOF: Any = getattr(grpc.aio, "EOF")  # noqa: B009 - missing from the grpc type stubs


class Spool:
    """How far each spooled file has arrived; read from the sending worker thread."""

    def __init__(self, directory: Path, sizes: list[int]) -> None:
        self.directory = directory
        self.sizes = sizes
        self.arrived = [0] * len(sizes)
        self._condition = threading.Condition()
        self._closed = False

    def path(self, index: int) -> Path:
        return self.directory / str(index)

    def measure(self) -> None:
        """After a restart: what is on disk is what arrived (the upload resumes from there)."""
        for index in range(len(self.sizes)):
            try:
                self.arrived[index] = min(self.path(index).stat().st_size, self.sizes[index])
            except FileNotFoundError:
                self.arrived[index] = 0

    def advance(self, index: int, arrived: int) -> None:
        with self._condition:
            self.arrived[index] = arrived
            self._condition.notify_all()

    def remaining(self) -> int:
        """Bytes the app has still to upload."""
        return sum(self.sizes) - sum(self.arrived)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def wait(self, index: int, wanted: int) -> None:
        deadline = time.monotonic() + UPLOAD_WAIT_SECS
        with self._condition:
            while self.arrived[index] < wanted:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise SourceNotReadable(
                        "the app that uploads these files stopped sending them",
                        path=str(index),
                    )
                self._condition.wait(left)

    def growing(self) -> Growing:
        return Growing(wait=self.wait)


class Uploads:
    """Receives UploadTransfer calls for the transfer engine."""

    def __init__(self, transfers: Transfers) -> None:
        self._transfers = transfers

    async def receive(
        self,
        context: Any,
        started: Callable[[Transfer, list[int]], Awaitable[None]],
    ) -> Transfer:
        """Reads one UploadTransfer call to its end; returns the transfer once every byte is in.

        `started` is awaited with the transfer and each file's offset (bytes already held) as
        soon as the header is accepted, before any data is read.
        """
        first = await context.read()
        if first is _EOF or first.WhichOneof("part") != "header":
            raise InvalidArgument("the first message must be a header", field="header")
        header = first.header
        if header.transfer_id:
            transfer, spool = self._continued(header, self._transfers.get(header.transfer_id))
        else:
            transfer, spool = await self._started(header)
        await started(transfer, list(spool.arrived))
        files = {i: open_spool(spool, i) for i in range(len(spool.sizes))}
        try:
            while (message := await context.read()) is not _EOF:
                if message.WhichOneof("part") != "chunk":
                    raise InvalidArgument("only the first message is a header", field="header")
                await self._write(spool, files, message.chunk)
        finally:
            for fd in files.values():
                os.close(fd)
        missing = [
            transfer.entries[i].path for i, n in enumerate(spool.arrived) if n < spool.sizes[i]
        ]
        if missing:
            raise InvalidArgument(
                f"the upload ended before {len(missing)} files were complete (first: "
                f"{missing[0]!r}); continue it with a header naming transfer_id {transfer.id}",
                field="chunk",
            )
        return transfer

    async def _started(self, header: Any) -> tuple[Transfer, Spool]:
        peer_id = parse_device_id(header.peer_id, field="peer_id")
        if header.request_id:
            existing = self._transfers.by_request(header.request_id)
            if existing is not None:
                return self._continued(header, existing)
        entries = _entries(header, self._transfers.config.transfers.max_files)
        self._transfers.require_peer(peer_id)
        await self._transfers.admit_upload(entries)
        transfer_id = secrets.token_hex(16)
        directory = self._transfers.spool_dir(transfer_id)
        await asyncio.to_thread(directory.mkdir, 0o700, True, True)
        spool = Spool(directory, [e.size for e in entries])
        for index, entry in enumerate(entries):
            entry.source = str(spool.path(index))
        transfer = Transfer(
            id=transfer_id,
            peer_id=peer_id,
            peer_name="",
            outgoing=True,
            entries=entries,
            request_id=header.request_id[:128],
            upload=True,
        )
        await asyncio.to_thread(_create_spool_files, spool)
        self._transfers.add_spool(transfer.id, spool)
        try:
            await self._transfers.offer_upload(transfer, compression=header.compression != 2)
        except BaseException:
            self._transfers.drop_spool(transfer.id)
            await asyncio.to_thread(shutil.rmtree, directory, True)
            raise
        return transfer, spool

    def _continued(self, header: Any, transfer: Transfer) -> tuple[Transfer, Spool]:
        if not transfer.upload or transfer.state.final:
            raise TransferInvalidState(
                "that transfer is not an upload in progress",
                transfer_id=transfer.id,
                state=transfer.state.value,
            )
        offered = [(e.path, e.size) for e in transfer.entries]
        if [(f.path, f.size) for f in header.files] != offered:
            raise InvalidArgument(
                "files: a continued upload must list the same files and sizes", field="files"
            )
        return transfer, self._spool_of(transfer)

    def _spool_of(self, transfer: Transfer) -> Spool:
        spool = self._transfers.spool_of(transfer.id)
        if spool is None:
            raise TransferInvalidState(
                "that upload's data is gone", transfer_id=transfer.id, state=transfer.state.value
            )
        return spool

    async def _write(self, spool: Spool, files: dict[int, int], chunk: Any) -> None:
        index = chunk.file_index
        if index >= len(spool.sizes):
            raise InvalidArgument(f"chunk: no file {index} in the header", field="file_index")
        arrived = spool.arrived[index]
        if chunk.offset != arrived:
            raise InvalidArgument(
                f"chunk: file {index} continues at {arrived}, not {chunk.offset}",
                field="offset",
                expected=arrived,
            )
        if len(chunk.data) > MAX_UPLOAD_CHUNK:
            raise InvalidArgument("chunk: more than 4 MiB in one chunk", field="data")
        if arrived + len(chunk.data) > spool.sizes[index]:
            raise InvalidArgument(
                f"chunk: more bytes than the {spool.sizes[index]} declared for file {index}",
                field="data",
            )
        await asyncio.to_thread(os.pwrite, files[index], chunk.data, arrived)
        spool.advance(index, arrived + len(chunk.data))


def open_spool(spool: Spool, index: int) -> int:
    return os.open(spool.path(index), os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)


def _create_spool_files(spool: Spool) -> None:
    for index in range(len(spool.sizes)):
        os.close(os.open(spool.path(index), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _entries(header: Any, max_files: int) -> list[Entry]:
    if not header.files:
        raise InvalidArgument("files: an upload needs at least one file", field="files")
    if len(header.files) > max_files:
        raise LimitExceeded(
            f"more than {max_files} files (transfers.max_files)", limit="transfers.max_files"
        )
    now = time.time_ns()
    entries = []
    seen: set[str] = set()
    for item in header.files:
        split_transfer_path(item.path)
        if item.path in seen:
            raise InvalidArgument(f"files: {item.path!r} is listed twice", field="files")
        seen.add(item.path)
        mtime = item.mtime.ToNanoseconds() if item.HasField("mtime") else now
        entries.append(
            Entry(
                path=item.path,
                directory=False,
                size=item.size,
                mode=(item.mode & 0o777) or 0o644,
                mtime_ns=mtime,
            )
        )
    return entries
