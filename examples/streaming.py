"""Streaming: stream this device's screen (camera, microphone) to a peer, or watch one.

Two roles, one on each device; start the watcher first:

    python examples/streaming.py watch                           # accepts the first offer
    python examples/streaming.py send                            # the screen, to the first peer
    python examples/streaming.py send kitchen-laptop --type camera --quality 90 --seconds 5

`send [PEER]` starts the stream with the seed's call, ``start_stream(kind, peer_id, quality)``
(PEER: its name, device ID or the start of the ID; paired already, with basic_usage.py or
`kizuna pair`), prints its stats every second while it runs, and closes it. `--device synthetic`
streams a generated test picture or tone, for machines without a display, camera or microphone.
`watch` waits for a `stream_offered` event, attaches to the stream (which accepts it) and shows
what arrives, decoded when the media extra is installed (``pip install 'kizuna[media]'``). Either
role gives up after --timeout seconds (default 60).
"""

import argparse
import asyncio
import contextlib
import sys

from kizuna import Kizuna, KizunaEvent, PeerInfo


def choose(peers: list[PeerInfo], wanted: str | None) -> PeerInfo | None:
    """The peer `wanted` names (its name, its device ID or the start of it), or the first."""
    if wanted is None:
        return peers[0] if peers else None
    named = [peer for peer in peers if peer.name == wanted]
    prefix = wanted.replace("-", "").upper()
    if not named and len(prefix) >= 4:
        named = [peer for peer in peers if peer.id.startswith(prefix)]
    return named[0] if named else None


async def send(args: argparse.Namespace) -> int:
    print(f"Preparing to start {args.type} stream (quality: {args.quality})")
    print("\nInitializing Kizuna...")
    kizuna = Kizuna()
    try:
        print("Discovering peers...")
        peers = await kizuna.discover_peers()
        target = choose(peers, args.peer)
        if target is None:
            print(f"Peer {args.peer!r} not found." if args.peer else "No peers found.")
            return 1
        print(f"\nStreaming to: {target.name}")
        connection = await kizuna.connect_to_peer(target.id, pair=False)
        print(f"Connected to {connection.peer_id}")

        print(f"Starting {args.type} stream (waiting for the other side to accept)...")
        async with asyncio.timeout(args.timeout):
            stream = await kizuna.start_stream(
                args.type, target.id, args.quality, device=args.device
            )
        print(f"Stream started: {stream.stream_id} ({stream.format}, {stream.metadata})")
        async with stream:
            for _ in range(int(args.seconds)):
                await asyncio.sleep(1)  # pacing the report, not waiting for anything
                stats = await stream.stats()
                print(f"  {stats.fps:4.0f} fps  {stats.bitrate_bps / 1e6:6.2f} Mb/s", flush=True)
        print("Stream stopped.")
    except TimeoutError:
        print(f"Nobody accepted the stream within {args.timeout:g} s.")
        return 1
    except RuntimeError as e:  # every Kizuna error, as the seed catches them
        print(f"Error during streaming: {e}")
        return 1
    finally:
        print("\nShutting down...")
        await kizuna.shutdown()
        print("Done!")
    return 0


async def watch(args: argparse.Namespace) -> int:
    print("Initializing Kizuna...")
    kizuna = Kizuna()
    try:
        print("Waiting for a stream...", flush=True)
        offer = None
        async with asyncio.timeout(args.timeout):
            # From the start of the daemon's run: an offer made before this program started
            # is found too; one already answered or ended is passed over.
            events = kizuna.subscribe_events(types=["stream_offered"], from_start=True)
            async for event in events:
                offer = event.stream if isinstance(event, KizunaEvent) else None
                if offer and (await kizuna.get_stream(offer.id)).state == offer.STATE_OFFERED:
                    break
        if offer is None:
            print("The daemon stopped before a stream was offered.")
            return 1
        kind = offer.header.format or "stream"
        print(f"Offer {offer.id} from {offer.peer_name or offer.peer_id}: {kind}")
        stream = await kizuna.attach_stream(offer.id)
        print(f"Watching {stream.format} {stream.metadata}", flush=True)
        try:
            frames = stream.decoded()
        except ImportError:
            frames = aiter(stream)  # no media extra: the encoded frames themselves
        count = 0
        async with stream, asyncio.timeout(args.seconds):
            async for frame in frames:
                count += 1
                if count == 1:
                    print(f"First frame: {describe(frame)}", flush=True)
        print(f"Stream ended after {count} frames.")
    except TimeoutError:
        if "count" not in locals():
            print(f"No stream was offered within {args.timeout:g} s.")
            return 1
        print(f"Watched {count} frames in {args.seconds:g} s.")
    except RuntimeError as e:
        print(f"Error while watching: {e}")
        return 1
    finally:
        with contextlib.suppress(RuntimeError):
            await kizuna.shutdown()
        print("Done!")
    return 0


def describe(frame: object) -> str:
    width, height = getattr(frame, "width", None), getattr(frame, "height", None)
    if width and height:
        return f"picture {width}x{height}"
    rate = getattr(frame, "sample_rate", None)
    if rate:
        return f"sound at {rate} Hz"
    return f"{len(getattr(frame, 'data', b''))} bytes"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Stream to a peer, or watch a peer's stream.")
    roles = parser.add_subparsers(dest="role", required=True)
    sending = roles.add_parser("send", help="start a stream to a peer, then stop it")
    sending.add_argument("peer", nargs="?", help="name, device ID or ID prefix (default: first)")
    sending.add_argument("--type", choices=["camera", "screen", "audio"], default="screen")
    sending.add_argument("--quality", type=int, default=80, help="0-100 (default 80)")
    sending.add_argument("--device", default="", help="source device, or 'synthetic'")
    sending.add_argument("--seconds", type=float, default=10.0, help="how long to stream")
    watching = roles.add_parser("watch", help="accept the first offered stream and show it")
    watching.add_argument("--seconds", type=float, default=10.0, help="how long to watch")
    for role in (sending, watching):
        role.add_argument("--timeout", type=float, default=60.0, help="give up after (s)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    sys.exit(asyncio.run(send(arguments) if arguments.role == "send" else watch(arguments)))
