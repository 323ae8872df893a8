"""A third-party mDNS stack (Debian's avahi) and a Kizuna daemon see each other's services.

host0 runs avahi-daemon (with its own dbus-daemon), host1 runs `kizuna daemon`; both are
namespaces on one test LAN. avahi-browse must resolve our service with its TXT record, and a
service published with avahi-publish must appear in the daemon's peer table (as an unverified
hint) and leave it when avahi withdraws it.
"""

import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from kizuna_client import Kizuna, PeerInfo
from kizuna_server.core.device_id import device_id_from_public_key_der
from tests import avahi, netns

TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def kizuna_daemon_in(host: netns.Host, name: str) -> AsyncIterator[tuple[Path, str]]:
    """`kizuna daemon` inside `host` with mDNS on; yields its home and device ID."""
    home = Path(tempfile.mkdtemp(prefix="kz-", dir="/tmp"))
    env = {
        **os.environ,
        "KIZUNA_IDENTITY_DEVICE_NAME": name,
        "KIZUNA_DISCOVERY_INTERVAL_SECS": "1",
        "KIZUNA_DISCOVERY_TIMEOUT_SECS": "5",
    }
    env.pop("KIZUNA_HOME", None)
    process = await asyncio.create_subprocess_exec(
        *host.command(sys.executable, "-m", "kizuna_server", "daemon", "--home", str(home)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while not (line := (await process.stdout.readline()).decode()).startswith("  Stop"):
                if not line:
                    raise AssertionError((await process.stderr.read()).decode())
        async with Kizuna(home=home, embedded=False) as k:
            device_id = (await k.node()).device_id
        yield home, device_id
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        await asyncio.to_thread(shutil.rmtree, home, True)


async def _peers_until(home: Path, done: Callable[[list[PeerInfo]], bool]) -> list[PeerInfo]:
    """The daemon's peers once `done(peers)`, re-read at each peer event."""
    types = ["peer_discovered", "peer_updated", "peer_lost"]
    async with Kizuna(home=home, embedded=False) as k, k.subscribe_events(types=types) as events:
        await events.started()
        peers = await k.discover_peers()
        async with asyncio.timeout(TIMEOUT):
            while not done(peers):
                await anext(events)
                peers = await k.discover_peers()
    return peers


@pytest.fixture
def lan() -> Iterator[netns.Lan]:
    avahi.require()
    with netns.lan(2) as made:
        yield made


async def test_avahi_and_kizuna_see_each_other(lan: netns.Lan) -> None:
    with contextlib.ExitStack() as stack:
        avahi_host, kizuna_host = lan.hosts
        daemon = await asyncio.to_thread(stack.enter_context, avahi.avahi_in(avahi_host))
        try:
            async with kizuna_daemon_in(kizuna_host, "interop-kizuna") as (home, device_id):
                # avahi sees our service and its TXT record.
                records = await asyncio.to_thread(
                    daemon.browse,
                    "_kizuna._tcp",
                    timeout=TIMEOUT,
                    until=lambda found: any(r.txt.get("id") == device_id for r in found),
                )
                ours = next(r for r in records if r.txt.get("id") == device_id)
                assert ours.name == device_id[:16]
                assert ours.port == 47120
                assert ours.txt["name"] == "interop-kizuna"
                assert ours.txt["type"] == "desktop"
                assert ours.txt["pv"] == "1"
                assert ours.txt["pp"] == "47121"
                assert ours.address in (kizuna_host.ipv4, kizuna_host.ipv6)

                # We see a service avahi publishes (a hint until a handshake proves the ID).
                other = device_id_from_public_key_der(os.urandom(91))
                # avahi-publish is waited for in a thread: it may take a second to establish.
                published = await asyncio.to_thread(
                    stack.enter_context,
                    daemon.publish(
                        other[:16],
                        "_kizuna._tcp",
                        47130,
                        {"id": other, "name": "from-avahi", "type": "laptop", "pv": "1"},
                    ),
                )
                peers = await _peers_until(
                    home, lambda found: any(p.device_id == other and p.online for p in found)
                )
                seen = next(p for p in peers if p.device_id == other)
                assert published.name == other[:16]
                assert seen.name == "from-avahi" and seen.device_type == "laptop"
                assert seen.source == "mdns" and seen.trust == "untrusted"
                assert f"{avahi_host.ipv4}:47130" in seen.addresses

                # Withdrawn by avahi (a goodbye): marked gone.
                await asyncio.to_thread(stack.close)
                await _peers_until(
                    home, lambda found: all(not p.online for p in found if p.device_id == other)
                )
        finally:
            await asyncio.to_thread(stack.close)
