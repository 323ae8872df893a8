"""A program written against the seed binding's documented Python API (its README and kizuna.pyi),
kept so `mypy --strict` proves that such a program type-checks against this package unchanged.

mypy checks it with the rest of tests/ ([tool.mypy] files), and test_seed_typing.py checks it on
its own beside programs that must fail. `assert_type` pins what each call returns, so a change
of type in the client shows up here. It is never run by the tests (it needs peers), but it is a
real program: `python tests/typing/seed_program.py` with a peer on the network.
"""

import asyncio
from typing import assert_type

from kizuna import (
    CommandResult,
    EventGap,
    Kizuna,
    KizunaConfig,
    KizunaEvent,
    PeerConnection,
    PeerInfo,
    StreamHandle,
    TransferHandle,
    TransferInfo,
    TransferProgress,
)


async def with_defaults() -> None:
    kizuna = Kizuna()
    try:
        peers = await kizuna.discover_peers()
        assert_type(peers, list[PeerInfo])
        print(f"Found {len(peers)} peers")
        for peer in peers:
            assert_type(peer.id, str)
            assert_type(peer.name, str)
            assert_type(peer.addresses, list[str])
            assert_type(peer.capabilities, list[str])
            assert_type(peer.discovery_method, str)
            print(f"  - {peer.name} ({peer.id}) at {', '.join(peer.addresses)}")

        if peers:
            peer_id = peers[0].id
            connection = await kizuna.connect_to_peer(peer_id)
            assert_type(connection, PeerConnection)
            print(f"Connected to {connection.peer_id}")

            handle = await kizuna.transfer_file("document.pdf", peer_id)
            assert_type(handle, TransferHandle)
            assert_type(handle.transfer_id, str)
            async for progress in handle:
                assert_type(progress, TransferProgress)
                assert_type(progress.transfer_id, str)
                assert_type(progress.bytes_transferred, int)
                assert_type(progress.total_bytes, int)
                assert_type(progress.speed_bps, int)
                print(f"{progress.percentage():.1f}%")
            assert_type(await handle, TransferInfo)

            stream = await kizuna.start_stream("screen", peer_id, quality=90)
            assert_type(stream, StreamHandle)
            print(f"Stream started: {stream.stream_id}")

            result = await kizuna.execute_command("ls -la", peer_id)
            assert_type(result, CommandResult)
            assert_type(result.exit_code, int)
            print(f"Exit code: {result.exit_code}\nOutput:\n{result.stdout}{result.stderr}")

        events = await kizuna.subscribe_events()
        assert_type(events, list[KizunaEvent | EventGap])
        for event in events:
            assert_type(event.event_type, str)
            assert_type(event.data, str)
            if event.event_type == "peer_discovered":
                print(f"New peer discovered: {event.data}")
            elif event.event_type == "transfer_offered" and isinstance(event, KizunaEvent):
                offer = event.transfer
                if offer is not None:
                    await kizuna.accept_transfer(offer.id)

    except RuntimeError as e:
        print(f"Error: {e}")

    finally:
        await kizuna.shutdown()


async def with_a_plain_dict() -> None:
    # The seed's README builds its configuration as an unannotated dict literal (mypy infers
    # dict[str, object] for it, so indexing into it needs an annotation; passing it does not).
    config = {
        "identity": {"device_name": "My Python App", "user_name": "Alice"},
        "discovery": {
            "enable_mdns": True,
            "enable_udp": True,
            "enable_bluetooth": False,
            "interval_secs": 5,
            "timeout_secs": 30,
        },
        "security": {
            "enable_encryption": True,
            "require_authentication": True,
            "trust_mode": "manual",
        },
        "networking": {
            "listen_port": 8080,
            "enable_ipv6": True,
            "enable_quic": True,
            "enable_webrtc": True,
            "enable_websocket": True,
            "connection_timeout_secs": 30,
        },
    }
    kizuna = Kizuna(config)
    try:
        async for event in kizuna.subscribe_events():
            print(event.event_type, event.data)
            break
    finally:
        await kizuna.shutdown()


async def with_a_typed_config() -> None:
    config: KizunaConfig = {
        "security": {
            "enable_encryption": True,
            "require_authentication": True,
            "trust_mode": "allowlist_only",
        },
        "discovery": {"enable_mdns": True, "enable_udp": False, "enable_bluetooth": False},
        "plugins": [{"name": "transfers", "enabled": True}],
    }
    kizuna = Kizuna(config)
    try:
        peers = await kizuna.discover_peers()
        print(f"Found {len(peers)} trusted peers")
    finally:
        await kizuna.shutdown()


if __name__ == "__main__":
    asyncio.run(with_defaults())
