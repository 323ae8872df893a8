"""Streaming: start a live screen (camera, audio) stream to a peer, show its ID, stop it.

    python examples/streaming.py                                 # the first peer found
    python examples/streaming.py kitchen-laptop --type camera --quality 90 --seconds 5

The peer (its name, device ID or the start of the ID) must be paired already: pair with
examples/basic_usage.py or `kizuna pair`.

This version of the daemon defines streams in its API but does not carry them yet: start_stream
raises NotImplementedByDaemonError (a RuntimeError, like every Kizuna error) with the daemon's
message. The example prints it, notes that streams arrive in a later version and exits 0; the
same code streams once they do. Any other error exits 1.
"""

import argparse
import asyncio
import sys

from kizuna import Kizuna, NotImplementedByDaemonError, PeerInfo


def choose(peers: list[PeerInfo], wanted: str | None) -> PeerInfo | None:
    """The peer `wanted` names (its name, its device ID or the start of it), or the first."""
    if wanted is None:
        return peers[0] if peers else None
    named = [peer for peer in peers if peer.name == wanted]
    prefix = wanted.replace("-", "").upper()
    if not named and len(prefix) >= 4:
        named = [peer for peer in peers if peer.id.startswith(prefix)]
    return named[0] if named else None


async def main(args: argparse.Namespace) -> int:
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

        print(f"Starting {args.type} stream...")
        stream = await kizuna.start_stream(args.type, target.id, args.quality)
        print(f"Stream started: {stream.stream_id}")
        print(f"Streaming {args.type} at {args.quality}% quality for {args.seconds:g} s...")
        await asyncio.sleep(args.seconds)
        await stream.close()
        print("Stream stopped.")

    except NotImplementedByDaemonError as e:
        print(f"The daemon cannot stream yet: {e}")
        print("Note: live streams arrive in a later version of Kizuna; this example then")
        print("streams as written.")
        return 0
    except RuntimeError as e:  # every other Kizuna error, as the seed catches them
        print(f"Error during streaming: {e}")
        return 1

    finally:
        print("\nShutting down...")
        await kizuna.shutdown()
        print("Done!")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Start a live stream to a peer, then stop it.")
    parser.add_argument("peer", nargs="?", help="name, device ID or ID prefix (default: first)")
    parser.add_argument("--type", choices=["camera", "screen", "audio"], default="screen")
    parser.add_argument("--quality", type=int, default=80, help="0-100 (default 80)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to stream")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
