"""A file's content hash: SHA-256 over the SHA-256 digests of its 1 MiB blocks, in order.

Both ends already compute every block's SHA-256 (chunks are verified one by one), so the file's
hash costs 32 bytes of hashing per MiB instead of a second pass over the data: on a 2-core
machine that pass was a quarter of the CPU a transfer used. It identifies the contents as
strongly as a plain SHA-256 (the same construction as Dropbox's content hash, with 1 MiB
blocks); `kizuna hash FILE` computes it for people who want to compare by hand. An empty file's
content hash is SHA-256 of nothing.
"""

from __future__ import annotations

import hashlib
import os

from kizuna_server.transfers.model import CHUNK_BYTES


class ContentHash:
    """Accumulates block digests in file order."""

    __slots__ = ("_hasher",)

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()

    def add(self, block_sha256: bytes) -> None:
        self._hasher.update(block_sha256)

    def add_block(self, block: bytes) -> bytes:
        """Hashes one block, adds its digest and returns it."""
        digest = hashlib.sha256(block).digest()
        self._hasher.update(digest)
        return digest

    def digest(self) -> bytes:
        return self._hasher.digest()

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def read_block(fd: int, offset: int, length: int) -> bytes:
    """Up to `length` bytes at `offset`: fewer only at the end of the file."""
    block = os.pread(fd, length, offset)
    if 0 < len(block) < length:  # a short read is legal; blocks must still line up
        parts = [block]
        got = len(block)
        while got < length and (more := os.pread(fd, length - got, offset + got)):
            parts.append(more)
            got += len(more)
        block = b"".join(parts)
    return block


def hash_prefix(fd: int, length: int, into: ContentHash) -> int:
    """Adds the blocks of `fd`'s first `length` bytes (a multiple of CHUNK_BYTES, or the whole
    file); returns how many bytes there were, less than `length` if the file is shorter."""
    done = 0
    while done < length:
        block = read_block(fd, done, min(CHUNK_BYTES, length - done))
        if not block:
            break
        into.add_block(block)
        done += len(block)
    return done


def content_hash_of(fd: int) -> str:
    """The content hash of everything `fd` holds, read from its start, in lower-case hex."""
    result = ContentHash()
    hash_prefix(fd, os.fstat(fd).st_size, result)
    return result.hexdigest()
