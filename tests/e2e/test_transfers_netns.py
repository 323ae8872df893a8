"""File transfers between `kizuna daemon` processes on a namespace LAN, killed with SIGKILL
mid-transfer (THREATS #10, #11): the transfer completes after a restart, the hash matches, and
no partial file ever sits under a final name.

The kill point is random (seeded; the seed is in the test's name) between 15% and 50% of the
data: a crash may land anywhere in a file, before or after a checkpoint.
"""

import asyncio
import hashlib
import os
import random
from pathlib import Path

import pytest

from kizuna_client import TransferProgress
from tests import netns
from tests.e2e.peerlan import Device, PeerLan, pair
from tests.transfers.hashing import content_hash

pytestmark = pytest.mark.netns

SIZE = 384 * 1024 * 1024


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while data := file.read(4 * 1024 * 1024):
            digest.update(data)
    return digest.hexdigest()


def _write_random(path: Path, size: int, seed: int) -> None:
    generator = random.Random(seed)
    with path.open("wb") as file:
        for _ in range(size // (1024 * 1024)):
            file.write(generator.randbytes(1024 * 1024))


def _parts(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob(".kizuna-*.part")] if folder.exists() else []


async def _kill_at(sender: Device, transfer_id: str, fraction: float) -> TransferProgress:
    """Follows the sender's progress until `fraction` of the bytes moved; returns that report."""
    async for progress in sender.api.transfer(transfer_id):
        assert progress.state != "completed", "finished before the kill point"
        if progress.total_bytes and progress.bytes_done >= fraction * progress.total_bytes:
            return progress
    raise AssertionError("the progress stream ended early")


async def _send_and_kill(victim: str, seed: int) -> None:
    netns.require()
    fraction = random.Random(seed).uniform(0.15, 0.5)
    async with PeerLan(2) as lan:
        a = await lan.start(0, "alpha")
        b = await lan.start(1, "beta")
        await a.wait_peer(b, lambda p: p.online, "discovers beta")
        await pair(a, b)
        await b.api.set_peer_permissions(a.device_id, auto_accept_files=True)
        source = lan.temp_dir() / "movie.bin"
        await asyncio.to_thread(_write_random, source, SIZE, seed)
        handle = await a.api.transfer_file(source, b.device_id)
        await _kill_at(a, handle.id, fraction)
        dead = a if victim == "sender" else b
        await dead.kill()
        final = b.home / "inbox" / "movie.bin"
        assert not final.exists(), "a partial file under the final name"
        await dead.start()
        done = await asyncio.wait_for(a.api.transfer(handle.id).wait(), 120)
        assert done.state == "completed"
        assert await asyncio.to_thread(_sha256, final) == await asyncio.to_thread(_sha256, source)
        assert _parts(b.home / "inbox") == []
        incoming = await b.api.transfer(handle.id).refresh()
        assert incoming.state == "completed"
        assert incoming.files[0].content_hash == await asyncio.to_thread(content_hash, source)
        os.unlink(source)


@pytest.mark.parametrize("seed", [11, 29])
async def test_receiver_killed_mid_transfer_resumes_after_restart(seed: int) -> None:
    await _send_and_kill("receiver", seed)


@pytest.mark.parametrize("seed", [7, 41])
async def test_sender_killed_mid_transfer_resumes_after_restart(seed: int) -> None:
    await _send_and_kill("sender", seed)
