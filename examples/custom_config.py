"""Custom configuration: a Kizuna node inside this program, with settings of its own.

The seed's high-security configuration (only allow-listed devices, encryption and authentication
required, no UDP beacon, no WebRTC or WebSocket, QUIC preferred), run in this process:
`Kizuna(config)` starts a node here and `shutdown()` stops it. The example prints the
configuration the node really runs with (`await kizuna.config()`), section by section, then its
notes: preferences this version keeps but cannot honour (QUIC, for one: links are TCP with TLS
1.3), and what it does instead. Then it looks for peers, as the seed did.

    python examples/custom_config.py                      # home: DATA/nodes/secure-python-client
    python examples/custom_config.py --home /tmp/kz-demo --allow QMOS-5WDY-...

Without --home the node keeps its identity in a folder of its own under this user's Kizuna data
(~/.local/share/kizuna/nodes/), so it is the same device at every run. --allow adds a device ID
to security.allowlist (repeatable). Needs the full `kizuna` distribution (the daemon), not
kizuna-client alone. Ends within a few seconds (one discovery round).
"""

import argparse
import asyncio
import sys

from kizuna import Kizuna, KizunaConfig


async def main(args: argparse.Namespace) -> int:
    config: KizunaConfig = {
        "identity": {"device_name": "Secure Python Client"},
        "discovery": {
            "enable_mdns": True,
            "enable_udp": False,  # no UDP broadcast beacon
            "enable_bluetooth": False,
        },
        "security": {
            "enable_encryption": True,  # always on: False is refused
            "require_authentication": True,  # always on: False is refused
            "trust_mode": "allowlist_only",  # only allow-listed devices, no pairing
            "allowlist": list(args.allow),
        },
        "networking": {
            "enable_ipv6": True,
            "enable_quic": True,  # a preference this version notes (see below)
            "enable_webrtc": False,
            "enable_websocket": False,
        },
    }
    if args.home:
        config["home"] = args.home

    print("High-security configuration:")
    print("  - Encryption: enabled")
    print("  - Authentication: required")
    print("  - Trust mode: allowlist only")
    print("  - UDP broadcast: disabled")
    print("  - QUIC: preferred")

    print("\nInitializing Kizuna in this process...")
    kizuna = Kizuna(config)

    try:
        effective = await kizuna.config()
        notes: dict[str, str] = effective.pop("notes", {})
        print("\nThe configuration the node runs with:")
        for section, values in effective.items():
            print(f"[{section}]")
            if isinstance(values, dict):
                for key, value in values.items():
                    print(f"  {key}: {value}")
            else:  # a list of tables, such as plugin entries
                print(f"  {values}")

        print("\nNotes (preferences this version keeps but cannot honour):")
        for key, message in notes.items():
            print(f"  {key}: {message}")
        if not notes:
            print("  none")

        peers = await kizuna.discover_peers()
        allowed = [peer for peer in peers if peer.trusted]
        print(f"\nFound {len(peers)} peer(s), {len(allowed)} of them allow-listed:")
        for peer in peers:
            print(f"  - {peer.name} ({peer.id}), trust: {peer.trust}")

    except RuntimeError as e:
        print(f"Error: {e}")
        return 1

    finally:
        print("\nShutting down...")
        await kizuna.shutdown()
        print("Done!")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run an in-process node with custom settings.")
    parser.add_argument("--home", help="the node's folder (default: its own persistent one)")
    parser.add_argument(
        "--allow", action="append", default=[], metavar="DEVICE_ID", help="allow-list a device"
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
