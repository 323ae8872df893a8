"""`kizuna peers | connect | disconnect | pair | trust | permissions | forget`.

PEER arguments take a full device ID (dashes optional), a unique prefix of one (at least four
characters) or a peer's exact name. Everything a peer said about itself is escaped (`safe`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from google.protobuf import json_format

from kizuna_client import (
    EventSubscription,
    Kizuna,
    KizunaError,
    KizunaEvent,
    PairingInfo,
    PeerInfo,
    PeerPermissions,
)
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
        help="pair with a peer, or (without PEER) answer a pairing waiting for this device "
        "(another device asked, or an app here started it)",
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
    permissions.add_argument("--json", action="store_true", help="print one JSON object")
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
    return choose_peer(await k.peers(), text)


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
            print(
                f"added {_safe(args.address.strip(), 80)}: {peer.device_id_display} "
                f"({_safe(peer.name)}), {peer.trust}"
            )
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
    return await k.peers(trusted_only=args.trusted, online_only=args.online)


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
        # Pairing is 'kizuna pair', which shows the code: an unpaired peer is an error here.
        if ":" in args.peer and not _canonical(args.peer).isalnum():
            connection = await k.connect_to_peer(args.peer, pair=False)
        else:
            peer_id = (await _find(k, args.peer)).device_id
            connection = await k.connect_to_peer(peer_id, pair=False)
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

_PAIRING_EVENTS = ("pairing_requested", "pairing_completed", "pairing_failed")
#: Seconds a decision refused by the daemon waits for the event saying how the pairing ended.
_OUTCOME_SECS = 5.0


async def _answer(question: str) -> bool:
    """The person's y/N answer. Read on the event loop rather than in a thread blocked in
    input(), so the question can end when the pairing does (rejected, expired, cancelled)."""
    print(question, end="", flush=True)
    return (await _read_line(sys.stdin)).strip().lower() in ("y", "yes")


async def _read_line(stream: TextIO) -> str:
    """The next line of `stream`, "" at its end or when it cannot be read."""
    try:
        fd = stream.fileno()
    except (AttributeError, ValueError, OSError):  # closed, or not a file (stdin is None)
        return ""
    loop = asyncio.get_running_loop()
    got = bytearray()
    complete: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        got.extend(data)
        if (not data or b"\n" in data) and not complete.done():
            complete.set_result(None)

    try:
        loop.add_reader(fd, readable)
    except OSError:  # a regular file (epoll refuses those): reading it never waits
        return await asyncio.to_thread(stream.readline)
    try:
        await complete
    finally:
        loop.remove_reader(fd)
    return got.decode(errors="replace").partition("\n")[0]


def _show_code(pairing: PairingInfo) -> None:
    who = _safe(pairing.peer_name or pairing.peer_id[:8], 40)
    print(f"Pairing with {who} ({pairing.peer_id[:8]}).")
    print(f"  Code on this device:  {pairing.code}")
    print("  Check that the other device shows exactly the same code.", flush=True)


async def _outcome(events: EventSubscription, pairing_id: str) -> tuple[str, PairingInfo]:
    """How the pairing ended: ("pairing_completed" | "pairing_failed", the pairing then)."""
    async for item in events:
        if isinstance(item, KizunaEvent) and item.type != "pairing_requested":
            ended = _pairing_of(item)
            if ended.id == pairing_id:
                return item.type, ended
    raise KizunaError(
        "the daemon stopped reporting on the pairing; 'kizuna peers' shows the result"
    )


def _ended(kind: str, pairing: PairingInfo) -> int:
    """Says how the pairing ended; the exit code."""
    who = _safe(pairing.peer_name or pairing.peer_id[:8], 40)
    if kind == "pairing_completed":
        print(f"paired with {who} ({pairing.peer_id[:8]})")
        return 0
    what = {
        "rejected": "was rejected",
        "expired": "expired: it was not confirmed on both devices in time",
        "cancelled": "was cancelled by the device that asked",
    }.get(pairing.state) or f"failed: {_safe(pairing.error_message or pairing.state, 300)}"
    print(f"kizuna pair: the pairing with {who} {what}; nothing was trusted", file=sys.stderr)
    return EXIT_ERROR


async def _decide(
    k: Kizuna, pairing: PairingInfo, events: EventSubscription, args: argparse.Namespace
) -> int:
    """Asks the person (or takes --yes/--reject), sends the decision, waits for the outcome.

    The pairing can end at any moment on the other device (rejected there, cancelled) or by
    expiring: that ends the question too, and the command, with what happened.
    """
    outcome = asyncio.ensure_future(_outcome(events, pairing.id))
    try:
        agreed = not args.reject
        if agreed and not args.yes:
            asked = asyncio.ensure_future(_answer("Are the codes the same? [y/N] "))
            try:
                await asyncio.wait({asked, outcome}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not asked.done():
                    asked.cancel()
                    await asyncio.gather(asked, return_exceptions=True)
            if asked.cancelled():
                print(flush=True)  # ends the question's line
                return _ended(*outcome.result())
            agreed = asked.result()
        try:
            if not agreed:
                await k.reject_pairing(pairing.id)
                print("pairing rejected")
                return EXIT_ERROR
            confirmed = await k.confirm_pairing(pairing.id)
        except KizunaError:
            # Most likely it ended just now on the other side: say how, if the daemon tells.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_OUTCOME_SECS):
                    return _ended(*await outcome)
            raise
        if confirmed.state != "completed":
            print("confirmed here; waiting for the other device ...", flush=True)
            try:
                async with asyncio.timeout(args.timeout):
                    return _ended(*await outcome)
            except TimeoutError:
                print(
                    f"kizuna pair: the other device did not answer within {args.timeout:g} s; "
                    "'kizuna peers' shows whether the pairing completed later",
                    file=sys.stderr,
                )
                return EXIT_ERROR
    finally:
        outcome.cancel()
        await asyncio.gather(outcome, return_exceptions=True)
    peer = await k.peer(pairing.peer_id)
    print(f"paired with {_safe(peer.name)} ({peer.device_id_display})")
    return 0


async def _pair(args: argparse.Namespace) -> int:
    async with _client(args) as k, k.subscribe_events(types=list(_PAIRING_EVENTS)) as events:
        # Subscribed before anything starts, so no outcome can slip by unseen.
        await events.started()
        if args.peer:
            peer = await _find(k, args.peer)
            pairing = await k.request_pairing(peer.device_id)
        else:
            incoming = await _incoming(k, events, args.timeout)
            if incoming is None:
                print(f"no device asked to pair within {args.timeout:g} s", file=sys.stderr)
                return EXIT_ERROR
            pairing = incoming
        _show_code(pairing)
        return await _decide(k, pairing, events, args)


async def _incoming(k: Kizuna, events: EventSubscription, wait: float) -> PairingInfo | None:
    """The oldest pairing awaiting this device's decision, waiting up to `wait` s for one: asked
    for by another device, or started by an app here (`connect_to_peer` pairs first and leaves
    the answer to the person)."""
    for pairing in await k.pairings():
        if pairing.state == "awaiting_confirmation":
            return pairing
    print("waiting for another device to ask to pair ...", flush=True)
    try:
        async with asyncio.timeout(wait):
            async for item in events:
                if isinstance(item, KizunaEvent) and item.type == "pairing_requested":
                    pairing = _pairing_of(item)
                    if pairing.state == "awaiting_confirmation":
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
    if args.json:
        shown = {
            "peer_id": peer.device_id,
            "name": peer.name,
            "files": p.files,
            "auto_accept": p.auto_accept_files,
            "streams": p.streams,
            "commands": p.commands,
        }
        print(json.dumps(shown))
        return 0
    print(permissions_text(peer))
    return 0


#: What each permission lets a peer do, as `kizuna permissions` explains it.
_PERMISSIONS = (
    ("files", "files", "send files here (each offer waits for 'kizuna accept')"),
    ("auto-accept", "auto_accept_files", "its files land without asking"),
    ("streams", "streams", "open camera, screen, audio and data streams"),
    ("commands", "commands", "run this device's allow-listed commands"),
)


def permissions_text(peer: PeerInfo) -> str:
    """`kizuna permissions PEER` for people: one line per permission, and how to change one."""
    lines = [f"{_safe(peer.name or '?', 40)} ({peer.device_id[:8]}), {peer.trust}"]
    for flag, field, meaning in _PERMISSIONS:
        state = "on" if getattr(peer.permissions, field) else "off"
        lines.append(f"  {flag:<12} {state:<3}  {meaning}")
    lines.append(f"change one with: kizuna permissions {peer.device_id[:8]} --PERMISSION on|off")
    return "\n".join(lines)


async def _forget(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        peer = await _find(k, args.peer)
        await k.forget_peer(peer.device_id)
    print(f"forgot {_safe(peer.name)} ({peer.device_id_display}); it must pair again")
    return 0
