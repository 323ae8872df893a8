"""The content hash transfers report, computed independently of the daemon's code."""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK = 1024 * 1024


def content_hash(path: Path) -> str:
    """SHA-256 over the SHA-256 digests of the file's 1 MiB blocks (docs/transfers.md)."""
    digests = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(BLOCK):
            digests.update(hashlib.sha256(block).digest())
    return digests.hexdigest()


def content_digest(data: bytes) -> bytes:
    """content_hash of a file holding `data`, as raw bytes (what the peer protocol carries)."""
    digests = b"".join(
        hashlib.sha256(data[at : at + BLOCK]).digest() for at in range(0, len(data), BLOCK)
    )
    return hashlib.sha256(digests).digest()
