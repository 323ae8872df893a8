"""`kizuna stream | streams | watch | accept-stream | reject-stream | close-stream`.

ID arguments take a full stream ID or a unique prefix of one (at least four characters).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from google.protobuf import json_format

from kizuna_client import Kizuna, KizunaError
from kizuna_client.errors import InvalidArgumentError, StreamNotFoundError
from kizuna_client.v1 import stream_pb2
from kizuna_server.cli_ids import SHORT, choose_by_id, hinted
from kizuna_server.cli_peers import choose_peer

EXIT_ERROR = 1
_SHORT = SHORT
#: Seconds between stats lines while streaming or watching on a terminal.
_STATS_SECS = 2.0
#: Players `--play` looks for, in order, with their low-latency options; each reads Matroska
#: from its standard input.
_PLAYERS = {
    "ffplay": [
        "-loglevel",
        "error",
        "-autoexit",
        "-fflags",
        "nobuffer",
        "-flags",
        "low_delay",
        "-i",
        "-",
    ],
    "mpv": ["--profile=low-latency", "--really-quiet", "-"],
    "vlc": ["--network-caching=50", "-"],
}
_HINTS = {
    "PERMISSION_DENIED_BY_PEER": (
        "that device does not take streams from this one; on it, run "
        "'kizuna permissions <this device> --streams on'"
    ),
    "SUBSYSTEM_UNAVAILABLE": "that device has streams off ('streams' is not in plugins.enabled)",
    "PEER_UNREACHABLE": "is it on and running Kizuna? 'kizuna peers' shows who is online",
}


def add_commands(
    commands: Any,
    common: argparse.ArgumentParser,
    client: Callable[[argparse.Namespace], Kizuna],
    safe: Callable[..., str],
) -> None:
    """Adds the stream commands to the `kizuna` parser."""
    global _client, _safe
    _client, _safe = client, safe
    stream = commands.add_parser(
        "stream",
        parents=[common],
        help="stream this device's screen, camera or microphone to a peer until Ctrl-C",
    )
    stream.add_argument("kind", choices=("screen", "camera", "audio"), help="what to capture")
    stream.add_argument("peer", metavar="PEER", help="device ID, ID prefix or name")
    stream.add_argument("--quality", type=int, default=80, metavar="N", help="0-100 (80)")
    stream.add_argument(
        "--device",
        default="",
        metavar="NAME",
        help="X display (:0), camera (/dev/video0), PulseAudio source or alsa:hw:0; "
        "'synthetic' for a test picture or tone",
    )
    stream.add_argument("--size", default="", metavar="WxH", help="largest picture size to send")
    stream.add_argument("--fps", type=int, default=30, metavar="N", help="frames per second (30)")
    stream.add_argument("--channel", default="", metavar="APP", help="app channel on the peer")
    stream.set_defaults(handler=_stream)

    streams = commands.add_parser(
        "streams", parents=[common], help="list offered and open streams with their stats"
    )
    streams.add_argument("--json", action="store_true", help="one JSON object per stream")
    streams.set_defaults(handler=_streams)

    watch = commands.add_parser(
        "watch",
        parents=[common],
        help="watch an incoming stream (accepting it): show its stats, record it, or play it",
    )
    watch.add_argument("id", metavar="ID", help="stream ID or a unique prefix of it")
    watch.add_argument(
        "--record", type=Path, metavar="FILE", help="write it to FILE (.mkv or .mp4) as it arrives"
    )
    watch.add_argument(
        "--play", action="store_true", help="hand it to a local player (ffplay, mpv or vlc)"
    )
    watch.set_defaults(handler=_watch)

    for name, text in (
        ("accept-stream", "accept an offered stream (apps then attach to it)"),
        ("reject-stream", "reject an offered stream"),
        ("close-stream", "close a stream (either end)"),
    ):
        control = commands.add_parser(name, parents=[common], help=text)
        control.add_argument("id", metavar="ID", help="stream ID or a unique prefix of it")
        if name == "reject-stream":
            control.add_argument("--reason", default="", metavar="TEXT", help="shown to the opener")
        control.set_defaults(handler=_control)


def _unset_client(args: argparse.Namespace) -> Kizuna:
    raise RuntimeError("add_commands was not called")


def _unset_safe(text: str, limit: int = 120) -> str:
    raise RuntimeError("add_commands was not called")


_client: Callable[[argparse.Namespace], Kizuna] = _unset_client
_safe: Callable[..., str] = _unset_safe


def choose_stream(streams: Sequence[stream_pb2.Stream], text: str) -> stream_pb2.Stream:
    """The stream `text` names: its full ID or a unique prefix (>= 4 characters)."""
    return choose_by_id(
        streams,
        text,
        id_of=lambda s: s.id,
        describe=lambda s: f"{_kind(s)} with {_name(s)}, {_state(s)}",
        noun="stream",
        lists="kizuna streams",
        not_found=lambda wanted: StreamNotFoundError(
            f"no offered or open stream matches {text!r}; 'kizuna streams' lists them",
            metadata={"stream_id": wanted[:40]},
        ),
    )


async def _find(k: Kizuna, text: str) -> stream_pb2.Stream:
    return choose_stream(await k.streams(), text)


def _size(text: str) -> tuple[int, int] | None:
    if not text:
        return None
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or not int(width) or not int(height):
        raise InvalidArgumentError(
            f"--size takes WIDTHxHEIGHT, for example 1280x720, not {text!r}",
            metadata={"field": "size"},
        )
    return int(width), int(height)


def _name(stream: stream_pb2.Stream) -> str:
    return _safe(stream.peer_name or stream.peer_id[:_SHORT], 40)


def _kind(stream: stream_pb2.Stream) -> str:
    return stream_pb2.StreamKind.Name(stream.header.kind).removeprefix("STREAM_KIND_").lower()


def _state(stream: stream_pb2.Stream) -> str:
    return stream_pb2.Stream.State.Name(stream.state).removeprefix("STATE_").lower()


def stats_line(stream: stream_pb2.Stream) -> str:
    """One line of a stream's measurements, as people read them."""
    stats = stream.stats
    parts = [f"{stats.fps:.0f} fps", f"{stats.bitrate_bps / 1e6:.2f} Mb/s"]
    if stats.latency_p50_ms:
        parts.append(f"latency {stats.latency_p50_ms:.0f}/{stats.latency_p99_ms:.0f} ms p50/p99")
    parts.append(f"{stream.frames_dropped} dropped")
    if stats.max_gap_ms:
        parts.append(f"longest gap {stats.max_gap_ms:.0f} ms")
    return ", ".join(parts)


def streams_table(streams: Sequence[stream_pb2.Stream]) -> str:
    if not streams:
        return "no streams; start one with 'kizuna stream screen PEER'"
    lines = [f"{'ID':<8}  {'PEER':<20}  {'DIR':<3}  {'KIND':<6}  {'STATE':<8}  {'VIA':<6}  STATS"]
    for stream in streams:
        direction = "out" if stream.direction == stream_pb2.Stream.DIRECTION_OUTGOING else "in"
        via = stream_pb2.StreamTransport.Name(stream.transport).removeprefix("STREAM_TRANSPORT_")
        capture = " [capturing]" if stream.capturing else ""
        lines.append(
            f"{stream.id[:_SHORT]}  {_name(stream):<20}  {direction:<3}  {_kind(stream):<6}  "
            f"{_state(stream):<8}  {via.lower().replace('unspecified', '-'):<6}  "
            f"{stats_line(stream)}{capture}"
        )
    return "\n".join(lines)


async def _streams(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        found = await k.streams()
    if args.json:
        for stream in found:
            print(json_format.MessageToJson(stream, indent=None, preserving_proto_field_name=True))
        return 0
    print(streams_table(found))
    return 0


async def _control(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        with hinted(_HINTS):
            stream = await _find(k, args.id)
            await _answer(k, args, stream)
    return 0


async def _answer(k: Kizuna, args: argparse.Namespace, stream: stream_pb2.Stream) -> None:
    if args.command == "accept-stream":
        await k.accept_stream(stream.id)
        print(
            f"accepted {_kind(stream)} stream {stream.id[:_SHORT]} from {_name(stream)}; "
            f"'kizuna watch {stream.id[:_SHORT]}' shows it"
        )
    elif args.command == "reject-stream":
        await k.reject_stream(stream.id, args.reason)
        print(f"rejected {_kind(stream)} stream {stream.id[:_SHORT]} from {_name(stream)}")
    else:
        await k.close_stream(stream.id)
        print(f"closed {_kind(stream)} stream {stream.id[:_SHORT]} ({_name(stream)})")


async def _stream(args: argparse.Namespace) -> int:
    size = _size(args.size)
    async with _client(args) as k:
        with hinted(_HINTS):
            peer = choose_peer(await k.peers(), args.peer)
            print(
                f"waiting for {_safe(peer.name, 40)} to accept the {args.kind} stream...",
                file=sys.stderr,
            )
            handle = await k.start_stream(
                args.kind,
                peer.device_id,
                args.quality,
                device=args.device,
                max_size=size,
                fps=args.fps,
                channel=args.channel,
            )
        info = handle.info
        assert info is not None
        details = ", ".join(f"{key} {value}" for key, value in sorted(handle.metadata.items()))
        print(
            f"streaming {args.kind} to {_safe(peer.name, 40)} as {handle.format} ({details}); "
            f"stream {handle.id[:_SHORT]}; Ctrl-C stops"
        )
        ticker = asyncio.ensure_future(_print_stats(k, handle.id))
        try:
            async for _ in handle:
                pass  # frames a peer app sends back are not shown here
        except asyncio.CancelledError:
            await handle.close()
            raise
        finally:
            ticker.cancel()
        final = await k.get_stream(handle.id)
    print(f"stream ended ({_state(final)}): {_safe(final.error.message, 200) or 'closed'}")
    return 0 if final.state == stream_pb2.Stream.STATE_CLOSED else EXIT_ERROR


async def _print_stats(k: Kizuna, stream_id: str) -> None:
    if not sys.stdout.isatty():
        return
    while True:
        await asyncio.sleep(_STATS_SECS)
        with contextlib.suppress(KizunaError):
            print(f"  {stats_line(await k.get_stream(stream_id))}", flush=True)


async def _watch(args: argparse.Namespace) -> int:
    player = _player() if args.play else None
    if args.play and player is None:
        print(
            "kizuna watch: --play needs a player: apt-get install ffmpeg (ffplay), mpv or vlc",
            file=sys.stderr,
        )
        return EXIT_ERROR
    async with _client(args) as k:
        with hinted(_HINTS):
            stream = await _find(k, args.id)
            handle = await k.attach_stream(stream.id)
        sinks: list[Any] = []
        process: subprocess.Popen[bytes] | None = None
        try:
            if args.record is not None or player is not None:
                media = _media_module()
            if args.record is not None:
                sinks.append(media.Recorder(args.record, handle.format, handle.metadata))
            if player is not None:
                # Starts the player and returns at once.
                process = subprocess.Popen(player, stdin=subprocess.PIPE)  # noqa: S603, ASYNC220
                stdin: BinaryIO = process.stdin  # type: ignore[assignment]
                sinks.append(media.Recorder(stdin, handle.format, handle.metadata, "matroska"))
            print(
                f"watching {_kind(stream)} from {_name(stream)} ({handle.format}); Ctrl-C stops",
                file=sys.stderr,
            )
            ticker = asyncio.ensure_future(_print_stats(k, handle.id))
            try:
                async for frame in handle:
                    for sink in sinks:
                        sink.write(frame)
            finally:
                ticker.cancel()
        finally:
            for sink in sinks:
                with contextlib.suppress(Exception):
                    sink.close()
            if process is not None:
                with contextlib.suppress(Exception):
                    process.stdin.close()  # type: ignore[union-attr]
                await asyncio.to_thread(process.wait)  # the player ends at the end of its input
            await handle.close()
        final = await k.get_stream(handle.id)
    if args.record is not None:
        print(f"recorded to {args.record}")
    if process is not None and player is not None:
        print(f"played with {Path(player[0]).name} (exit status {process.returncode})")
    print(f"stream ended ({_state(final)}): {_safe(final.error.message, 200) or 'closed'}")
    return 0 if final.state == stream_pb2.Stream.STATE_CLOSED else EXIT_ERROR


def _player() -> list[str] | None:
    for name, options in _PLAYERS.items():
        path = shutil.which(name)
        if path is not None:
            return [path, *options]
    return None


def _media_module() -> Any:
    try:
        from kizuna_client import media  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise InvalidArgumentError(
            f"recording and playing need the media extra ({exc.name}): pip install 'kizuna[media]'",
            metadata={"field": "record"},
        ) from None
    return media
