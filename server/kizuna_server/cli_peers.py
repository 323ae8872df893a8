"""`kizuna peers | connect | disconnect | pair | trust | permissions | forget`.

PEER arguments take a full device ID (dashes optional), a unique prefix of one (at least four
characters) or a peer's exact name. Everything a peer said about itself is escaped (`safe`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import json_format

from kizuna_client import Kizuna, KizunaEvent, PairingInfo, PeerInfo, PeerPermissions
from kizuna_client.errors import InvalidArgumentError, PeerNotFoundError

EXIT_ERROR = 1
_MIN_PREFIX = 4
_PEER_EVENTS = (
    "peer_discovered",
    "peer_updated",
    "peer_lost",
    "peer_connected",
    "peer_disconnected",
    "peer_identity_mismatch",
    "peer_forgotten",
    "pairing_requested",
    "pairing_completed",
    "pairing_failed",
)


def add_commands(
    commands: Any,
    common: argparse.ArgumentParser,
    client: Callable[[argparse.Namespace], Kizuna],
    safe: Callable[..., str],
) -> None:
    """Adds the peer commands to the `kizuna` parser."""
    global _client, _safe
    _client, _safe = client, safe

    peers = commands.add_parser(
        "peers", parents=[common], help="list the devices this one knows (add/remove addresses)"
    )
    peers.add_argument("--json", action="store_true", help="one JSON object per peer")
    peers.add_argument("--trusted", action="store_true", help="only trusted peers")
    peers.add_argument("--online", action="store_true", help="only peers online now")
    peers.add_argument("--watch", action="store_true", help="keep showing changes as they happen")
    actions = peers.add_subparsers(dest="peers_action", metavar="ACTION")
    add = actions.add_parser(
        "add", parents=[common], help="add a peer by address (other subnets, VPNs)"
    )
    add.add_argument("address", help="HOST:PORT, [IPv6]:PORT, or HOST (port 47120)")
    add.add_argument("--no-persist", action="store_true", help="forget the address at restart")
    remove = actions.add_parser("remove", parents=[common], help="remove a peer from the list")
    remove.add_argument("peer", help="device ID, ID prefix or name")
    peers.set_defaults(handler=_peers)

    connect = commands.add_parser("connect", parents=[common], help="open the link to a peer")
    connect.add_argument("peer", help="device ID, ID prefix, name, or HOST:PORT")
    connect.set_defaults(handler=_connect)
    disconnect = commands.add_parser(
        "disconnect", parents=[common], help="close the link to a peer until 'kizuna connect'"
    )
    disconnect.add_argument("peer", help="device ID, ID prefix or name")
    disconnect.set_defaults(handler=_disconnect)

    pair = commands.add_parser(
        "pair",
        parents=[common],
        help="pair with a peer, or (without PEER) answer a pairing another device started",
    )
    pair.add_argument("peer", nargs="?", help="device ID, ID prefix or name")
    pair.add_argument(
        "--yes", action="store_true", help="confirm without asking (only after comparing codes)"
    )
    pair.add_argument("--reject", action="store_true", help="reject the incoming pairing")
    pair.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for a pairing (default 120)"
    )
    pair.set_defaults(handler=_pair)

    trust = commands.add_parser(
        "trust", parents=[common], help="trust a device by its full ID, compared out of band"
    )
    trust.add_argument("device_id", help="the full device ID (52 characters, dashes optional)")
    trust.add_argument("--allow-commands", action="store_true", help="also allow commands")
    trust.set_defaults(handler=_trust)

    permissions = commands.add_parser(
        "permissions", parents=[common], help="show or change what a trusted peer may do"
    )
    permissions.add_argument("peer", help="device ID, ID prefix or name")
    for name in ("files", "auto-accept", "streams", "commands"):
        permissions.add_argument(f"--{name}", choices=("on", "off"))
    permissions.set_defaults(handler=_permissions)

    forget = commands.add_parser(
        "forget", parents=[common], help="remove trust in a peer (it must pair again)"
    )
    forget.add_argument("peer", help="device ID, ID prefix or name")
    forget.set_defaults(handler=_forget)


def _unset_client(args: argparse.Namespace) -> Kizuna:
    raise RuntimeError("add_commands was not called")


def _unset_safe(text: str, limit: int = 120) -> str:
    raise RuntimeError("add_commands was not called")


_client: Callable[[argparse.Namespace], Kizuna] = _unset_client
_safe: Callable[..., str] = _unset_safe


# --- finding peers ----------------------------------------------------------------------------


def _canonical(text: str) -> str:
    return "".join(text.split("-")).upper()


def choose_peer(peers: Sequence[PeerInfo], text: str) -> PeerInfo:
    """The peer `text` names: full ID, unique ID prefix (>= 4 characters) or exact name."""
    wanted = _canonical(text.strip())
    exact = [p for p in peers if p.device_id == wanted]
    if exact:
        return exact[0]
    by_prefix = [p for p in peers if len(wanted) >= _MIN_PREFIX and p.device_id.startswith(wanted)]
    by_name = [p for p in peers if p.name == text]
    found = {p.device_id: p for p in [*by_prefix, *by_name]}
    if len(found) == 1:
        return next(iter(found.values()))
    if not found:
        raise PeerNotFoundError(
            f"no peer matches {text!r}; 'kizuna peers' lists the known ones (for another subnet, "
            "add it with 'kizuna peers add HOST:PORT')"
        )
    names = ", ".join(f"{p.device_id[:8]} ({_safe(p.name, 40)})" for p in found.values())
    raise InvalidArgumentError(f"{text!r} matches several peers: {names}; give more of the ID")


async def _find(k: Kizuna, text: str) -> PeerInfo:
    return choose_peer(await k.discover_peers(), text)


# --- showing peers ----------------------------------------------------------------------------


def _row(peer: PeerInfo) -> str:
    state = peer.connection if peer.trusted else ("online" if peer.online else "offline")
    if peer.trusted and not peer.online and peer.connection == "disconnected":
        state = "offline"
    address = peer.addresses[0] if peer.addresses else "-"
    return (
        f"{peer.device_id[:8]}  {_safe(peer.name or '?', 24):<24}  {peer.trust:<9}  "
        f"{state:<12}  {_safe(address, 40)}"
    )


def _table(peers: Sequence[PeerInfo]) -> str:
    if not peers:
        return (
            "no peers yet: devices running Kizuna on this network appear here; for another "
            "subnet use 'kizuna peers add HOST:PORT'"
        )
    header = f"{'ID':<8}  {'NAME':<24}  {'TRUST':<9}  {'STATE':<12}  ADDRESS"
    return "\n".join([header, *(_row(p) for p in peers)])


def _peer_json(peer: PeerInfo) -> str:
    return json_format.MessageToJson(peer.message, indent=None, preserving_proto_field_name=True)


async def _peers(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        if args.peers_action == "add":
            peer = await k.add_peer(args.address, persist=not args.no_persist)
            print(f"added {peer.device_id_display} ({_safe(peer.name)}), {peer.trust}")
            if not peer.trusted:
                print(f"  pair with it: kizuna pair {peer.device_id[:8]}")
            return 0
        if args.peers_action == "remove":
            peer = await _find(k, args.peer)
            await k.remove_peer(peer.device_id)
            print(f"removed {peer.device_id_display} from the list (trust is kept)")
            return 0
        if not args.watch:
            _print_peers(await _listed(k, args), args)
            return 0
        async with k.subscribe_events(types=list(_PEER_EVENTS)) as events:
            await events.started()
            _print_peers(await _listed(k, args), args)
            async for item in events:
                if not isinstance(item, KizunaEvent):
                    continue  # a gap: the next listing is complete anyway
                if args.json:
                    print(json_format.MessageToJson(item.message, indent=None), flush=True)
                    continue
                print(f"-- {item.type.replace('_', ' ')}", flush=True)
                _print_peers(await _listed(k, args), args)
    return 0


async def _listed(k: Kizuna, args: argparse.Namespace) -> list[PeerInfo]:
    return await k.discover_peers(trusted_only=args.trusted, online_only=args.online)


def _print_peers(peers: Sequence[PeerInfo], args: argparse.Namespace) -> None:
    if args.json:
        for peer in peers:
            print(_peer_json(peer))
    else:
        print(_table(peers))
    sys.stdout.flush()


# --- links ------------------------------------------------------------------------------------


async def _connect(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        if ":" in args.peer and not _canonical(args.peer).isalnum():
            connection = await k.connect_to_peer(args.peer)
        else:
            connection = await k.connect_to_peer((await _find(k, args.peer)).device_id)
        peer = connection.peer
    print(f"connected to {_safe(peer.name)} ({peer.device_id_display})")
    return 0


async def _disconnect(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        peer = await _find(k, args.peer)
        await k.disconnect_peer(peer.device_id)
    print(f"disconnected from {_safe(peer.name)}; 'kizuna connect' reconnects")
    return 0


# --- pairing ----------------------------------------------------------------------------------


def _ask(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _show_code(pairing: PairingInfo) -> None:
    who = _safe(pairing.peer_name or pairing.peer_id[:8], 40)
    print(f"Pairing with {who} ({pairing.peer_id[:8]}).")
    print(f"  Code on this device:  {pairing.code}")
    print("  Check that the other device shows exactly the same code.")


async def _decide(k: Kizuna, pairing: PairingInfo, args: argparse.Namespace) -> int:
    """Asks the person (or takes --yes/--reject), sends the decision, waits for the outcome."""
    async with k.subscribe_events(types=["pairing_completed", "pairing_failed"]) as events:
        await events.started()
        if args.reject or not (
            args.yes or await asyncio.to_thread(_ask, "Are the codes the same? [y/N] ")
        ):
            await k.reject_pairing(pairing.id)
            print("pairing rejected")
            return EXIT_ERROR
        confirmed = await k.confirm_pairing(pairing.id)
        if confirmed.state != "completed":
            print("confirmed here; waiting for the other device ...", flush=True)
            async with asyncio.timeout(args.timeout):
                async for item in events:
                    if not isinstance(item, KizunaEvent):
                        continue
                    ended = _pairing_of(item)
                    if ended.id != pairing.id:
                        continue
                    if item.type == "pairing_failed":
                        print(f"pairing failed: {_safe(ended.error_message or ended.state)}")
                        return EXIT_ERROR
                    break
    peer = await k.peer(pairing.peer_id)
    print(f"paired with {_safe(peer.name)} ({peer.device_id_display})")
    return 0


async def _pair(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        if args.peer:
            peer = await _find(k, args.peer)
            pairing = await k.request_pairing(peer.device_id)
            _show_code(pairing)
            return await _decide(k, pairing, args)
        incoming = await _incoming(k, args.timeout)
        if incoming is None:
            print(f"no device asked to pair within {args.timeout:g} s", file=sys.stderr)
            return EXIT_ERROR
        _show_code(incoming)
        return await _decide(k, incoming, args)


async def _incoming(k: Kizuna, wait: float) -> PairingInfo | None:
    """The oldest incoming pairing awaiting a decision, waiting up to `wait` s for one."""
    async with k.subscribe_events(types=["pairing_requested"]) as events:
        await events.started()
        for pairing in await k.pairings():
            if pairing.direction == "incoming" and pairing.state == "awaiting_confirmation":
                return pairing
        print("waiting for another device to ask to pair ...", flush=True)
        try:
            async with asyncio.timeout(wait):
                async for item in events:
                    if isinstance(item, KizunaEvent):
                        pairing = _pairing_of(item)
                        if pairing.direction == "incoming":
                            return pairing
        except TimeoutError:
            return None
    return None


def _pairing_of(event: KizunaEvent) -> PairingInfo:
    payload: Any = event.payload  # a pairing_* event
    return PairingInfo.from_proto(payload.pairing)


# --- trust ------------------------------------------------------------------------------------


async def _trust(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        peer = await k.trust_peer(args.device_id, PeerPermissions(commands=args.allow_commands))
    print(f"trusting {peer.device_id_display}; its certificate is pinned at the first connection")
    return 0


async def _permissions(args: argparse.Namespace) -> int:
    changes = {
        field: value == "on"
        for field, value in (
            ("files", args.files),
            ("auto_accept_files", args.auto_accept),
            ("streams", args.streams),
            ("commands", args.commands),
        )
        if value is not None
    }
    async with _client(args) as k:
        peer = await _find(k, args.peer)
        if changes:
            peer = await k.set_peer_permissions(peer.device_id, **changes)
    p = peer.permissions
    shown = {
        "files": p.files,
        "auto_accept": p.auto_accept_files,
        "streams": p.streams,
        "commands": p.commands,
    }
    print(f"{_safe(peer.name)} ({peer.device_id[:8]}): " + json.dumps(shown))
    return 0


async def _forget(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        peer = await _find(k, args.peer)
        await k.forget_peer(peer.device_id)
    print(f"forgot {_safe(peer.name)} ({peer.device_id_display}); it must pair again")
    return 0
