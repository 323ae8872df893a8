"""Basic usage: find the devices around you, pair with one and connect to it.

Shows `Kizuna()` (this device's daemon: the one of $KIZUNA_HOME or this user's, or one run inside
this program when none runs), `discover_peers()` and what each peer says about itself, and
`connect_to_peer()`, which pairs first when the two devices have never met: both show the same
six-digit code and each person confirms it.

    python examples/basic_usage.py                             # the first peer found
    python examples/basic_usage.py --peer kitchen-laptop --yes

--peer picks a peer by name, device ID or the start of its ID. Without --yes the code is printed
and the answer left to you: compare it with the other device's and confirm on both (here with
`kizuna pair`) while the example waits. --yes confirms it here at once (for scripts and CI; the
other device's person still confirms it there). Ends within --wait seconds of discovery plus the
pairing limit (networking.connection_timeout_secs, or --pairing-timeout).
"""

import argparse
import asyncio
import sys

from kizuna import Kizuna, PairingInfo, PeerInfo


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
    print("Initializing Kizuna...")
    kizuna = Kizuna()

    def show_code(pairing: PairingInfo) -> bool | None:
        """Called once the pairing code is known: True confirms it here, None leaves it to you."""
        print(f"\nPairing with {pairing.peer_name or pairing.peer_id}: the code is {pairing.code}")
        if args.yes:
            print("Confirmed here (--yes). Confirm the same code on the other device.", flush=True)
            return True
        print("Compare it with the code on the other device; if they are the same, confirm on")
        print("both (here: kizuna pair). Waiting...", flush=True)
        return None

    try:
        print("\nDiscovering peers...")
        peers = await kizuna.discover_peers(wait=args.wait)

        print(f"Found {len(peers)} peer(s):")
        for peer in peers:
            print(f"  - {peer.name}")
            print(f"    ID: {peer.id}")
            print(f"    Addresses: {', '.join(peer.addresses) or '-'}")
            print(f"    Discovery method: {peer.discovery_method}")
            # What a peer offers comes from its authenticated hello: known once linked.
            print(f"    Capabilities: {', '.join(peer.capabilities) or '- (not linked yet)'}")
            print()

        target = choose(peers, args.peer)
        if target is None:
            print(f"No peer named {args.peer!r}." if args.peer else "No peers found to connect to.")
            return 1 if args.peer else 0

        print(f"Connecting to peer: {target.name}...")
        try:
            connection = await kizuna.connect_to_peer(
                target.id, on_pairing=show_code, pairing_timeout=args.pairing_timeout
            )
        except RuntimeError as e:  # every Kizuna error is a RuntimeError, as in the seed
            print(f"Failed to connect: {e}")
            return 1
        peer = connection.peer
        print(f"Successfully connected to {peer.name} ({connection.peer_id})")
        print(f"  Connection: {peer.connection}, trust: {peer.trust}")
        print(f"  Addresses: {', '.join(peer.addresses) or '-'}")
        print(f"  Capabilities: {', '.join(peer.capabilities) or '-'}")

    except RuntimeError as e:
        print(f"Error: {e}")
        return 1

    finally:
        # Always shut down: this ends this program's instance (a shared daemon keeps running).
        print("\nShutting down...")
        await kizuna.shutdown()
        print("Done!")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Discover peers, pair and connect to one.")
    parser.add_argument("--peer", help="name, device ID or ID prefix (default: the first found)")
    parser.add_argument("--yes", action="store_true", help="confirm the pairing code here")
    parser.add_argument(
        "--wait", type=float, default=3.0, help="seconds to wait for a first peer (default 3)"
    )
    parser.add_argument(
        "--pairing-timeout",
        type=float,
        default=None,
        help="seconds to wait for both confirmations (default networking.connection_timeout_secs)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
