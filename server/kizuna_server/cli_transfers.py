"""`kizuna send | inbox | accept | reject | transfers | cancel | pause | resume | hash`.

ID arguments take a full transfer ID or a unique prefix of one (at least four characters). Names
and paths that come from peers are escaped (`safe`). Progress is one line redrawn in place on a
terminal, one JSON object per line with --json, and only the outcome otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import shutil
import stat
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import Any, TextIO

from google.protobuf import json_format

from kizuna_client import Kizuna, KizunaError, TransferHandle, TransferInfo, TransferProgress
from kizuna_client.errors import TransferNotFoundError
from kizuna_client.types import FINAL_TRANSFER_STATES, enum_name
from kizuna_client.v1 import errors_pb2, transfer_pb2
from kizuna_server.cli_ids import SHORT, choose_by_id, hinted
from kizuna_server.cli_peers import choose_peer
from kizuna_server.transfers.digest import content_hash_of

EXIT_ERROR = 1
_SHORT = SHORT
#: The live progress line fits this many terminal columns (less on a narrower terminal).
_WIDTH = 80
#: Seconds between redraws of the live line when no progress arrives (the offer's countdown).
_REDRAW_SECS = 1.0
#: Seconds `send` waits for the daemon to cancel after Ctrl-C.
_CANCEL_SECS = 10.0
#: File names shown per offer in `kizuna inbox`.
_NAMES_SHOWN = 3
#: Entries left out of the folders that `send` names (all: 'kizuna transfers --json').
_SKIPPED_SHOWN = 5
_SKIP_REASONS = {
    transfer_pb2.SkippedSource.REASON_SYMLINK: "symlink",
    transfer_pb2.SkippedSource.REASON_SPECIAL_FILE: "special_file",
}
_SKIP_WORDS = {
    transfer_pb2.SkippedSource.REASON_SYMLINK: "a symbolic link",
    transfer_pb2.SkippedSource.REASON_SPECIAL_FILE: "not a regular file or folder",
}
#: What the daemon says when the receiver gave no reason (nothing worth repeating).
_NO_REASON = frozenset({"the offer was rejected", "the peer rejected the offer"})
#: What to do about a daemon error, by reason (added where the daemon's message does not say).
_HINTS = {
    "PEER_UNREACHABLE": "is it on and running Kizuna? 'kizuna peers' shows who is online",
    "PERMISSION_DENIED_BY_PEER": (
        "that device does not take files from this one; on it, run "
        "'kizuna permissions <this device> --files on'"
    ),
    "SOURCE_NOT_READABLE": "check that the path exists and that the daemon's user may read it",
    "TRANSFER_INVALID_STATE": "'kizuna transfers' shows where it stands",
    "TRANSFER_EXPIRED": "ask the sender to send it again",
    "INSUFFICIENT_STORAGE": "free some space, or accept only some files: kizuna accept ID PATH...",
}


def add_commands(
    commands: Any,
    common: argparse.ArgumentParser,
    client: Callable[[argparse.Namespace], Kizuna],
    safe: Callable[..., str],
) -> None:
    """Adds the transfer commands to the `kizuna` parser."""
    global _client, _safe
    _client, _safe = client, safe

    send = commands.add_parser(
        "send", parents=[common], help="send files and folders to a peer and follow the transfer"
    )
    send.add_argument("peer", metavar="PEER", help="device ID, ID prefix or name")
    send.add_argument("paths", nargs="+", metavar="PATH", help="a file or folder to send")
    send.add_argument(
        "--json", action="store_true", help="one JSON object per progress update, then the result"
    )
    send.add_argument(
        "--no-compress", action="store_true", help="never compress (data already compressed)"
    )
    send.set_defaults(handler=_send)

    inbox = commands.add_parser(
        "inbox", parents=[common], help="list the files other devices offer to this one"
    )
    inbox.add_argument("--json", action="store_true", help="print a JSON list")
    inbox.add_argument(
        "--all", action="store_true", help="every incoming transfer, not only offers to answer"
    )
    inbox.set_defaults(handler=_inbox)

    accept = commands.add_parser(
        "accept", parents=[common], help="accept an offer: all of it, or only the given paths"
    )
    accept.add_argument("id", metavar="ID", help="transfer ID or a unique prefix of it")
    accept.add_argument(
        "paths", nargs="*", metavar="PATH", help="only this entry (as 'kizuna inbox' shows it)"
    )
    accept.add_argument(
        "--wait", action="store_true", help="follow the progress until the end (Ctrl-C cancels)"
    )
    accept.set_defaults(handler=_accept)

    reject = commands.add_parser("reject", parents=[common], help="reject an offer")
    reject.add_argument("id", metavar="ID", help="transfer ID or a unique prefix of it")
    reject.add_argument("--reason", default="", metavar="TEXT", help="shown to the sender")
    reject.set_defaults(handler=_reject)

    transfers = commands.add_parser(
        "transfers", parents=[common], help="list recent transfers, sent and received"
    )
    transfers.add_argument("--json", action="store_true", help="one JSON object per transfer")
    transfers.set_defaults(handler=_transfers)

    for name, text in (
        ("cancel", "cancel a transfer (either side; partial files are removed)"),
        ("pause", "pause a running transfer (either side)"),
        ("resume", "resume a paused transfer from its last verified offset"),
    ):
        control = commands.add_parser(name, parents=[common], help=text)
        control.add_argument("id", metavar="ID", help="transfer ID or a unique prefix of it")
        control.set_defaults(handler=_control)

    digest = commands.add_parser(
        "hash",
        parents=[common],
        help="print files' content hashes, as transfers report them (no daemon needed)",
    )
    digest.add_argument("paths", nargs="+", metavar="FILE", help="a file to hash")
    digest.set_defaults(handler=_hash)


def _unset_client(args: argparse.Namespace) -> Kizuna:
    raise RuntimeError("add_commands was not called")


def _unset_safe(text: str, limit: int = 120) -> str:
    raise RuntimeError("add_commands was not called")


_client: Callable[[argparse.Namespace], Kizuna] = _unset_client
_safe: Callable[..., str] = _unset_safe


# --- finding transfers ------------------------------------------------------------------------


def choose_transfer(transfers: Sequence[TransferInfo], text: str) -> TransferInfo:
    """The transfer `text` names: its full ID or a unique prefix (>= 4 characters)."""
    return choose_by_id(
        transfers,
        text,
        id_of=lambda t: t.id,
        describe=lambda t: f"{_who(t)}, {t.state}",
        noun="transfer",
        lists="kizuna transfers",
        not_found=lambda wanted: TransferNotFoundError(
            f"no transfer matches {text!r}; 'kizuna transfers' lists this device's transfers "
            "and 'kizuna inbox' the offers waiting for an answer",
            metadata={"transfer_id": wanted},
        ),
    )


async def _find(k: Kizuna, text: str) -> TransferInfo:
    return choose_transfer(await k.transfers(), text)


# --- formatting -------------------------------------------------------------------------------


def human_size(count: float) -> str:
    """Bytes in decimal units, as file managers show them: 532 B, 1.2 MB, 4.7 GB."""
    if count < 1000:
        return f"{count:.0f} B"
    for unit in ("kB", "MB", "GB", "TB"):
        count /= 1000
        if count < 999.95:
            return f"{count:.1f} {unit}"
    return f"{count / 1000:.1f} PB"


def clock(seconds: float | None) -> str:
    """A duration as m:ss (h:mm:ss from an hour on); -:-- when unknown."""
    if seconds is None:
        return "-:--"
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _span(seconds: float) -> str:
    """A duration in words, rounded: "5 minutes", "40 seconds"."""
    if seconds >= 90:
        return f"{round(seconds / 60)} minutes"
    if seconds >= 60:
        return "1 minute"
    return f"{max(1, round(seconds))} seconds"


def _columns(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width_of(text: str) -> int:
    return sum(_columns(ch) for ch in text)


def _keep_end(text: str, width: int) -> str:
    """`text` in at most `width` columns, cut at the start: a path's end is its most telling."""
    if _width_of(text) <= width:
        return text
    kept: list[str] = []
    used = 1  # the ellipsis
    for ch in reversed(text):
        used += _columns(ch)
        if used > width:
            break
        kept.append(ch)
    return "…" + "".join(reversed(kept))


def _keep_start(text: str, width: int) -> str:
    """`text` in at most `width` columns, cut at the end."""
    if _width_of(text) <= width:
        return text
    kept: list[str] = []
    used = 1
    for ch in text:
        used += _columns(ch)
        if used > width:
            break
        kept.append(ch)
    return "".join(kept) + "…"


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (wide characters count twice)."""
    return text + " " * max(0, width - _width_of(text))


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _percent(done: int, total: int) -> int:
    """Rounded down, so 100% means done."""
    return 100 if total == 0 else min(100, done * 100 // total)


def progress_line(
    progress: TransferProgress,
    *,
    peer_name: str,
    sending: bool = True,
    expires_in: float | None = None,
    width: int = _WIDTH,
) -> str:
    """The live line for one progress report, at most `width - 1` columns (the last column
    stays free so the terminal never wraps). `peer_name` must already be escaped."""
    short = progress.transfer_id[:_SHORT]
    state = progress.state
    if state == "pending":
        until = f" (expires in {clock(expires_in)})" if expires_in is not None else ""
        line = f"waiting for {peer_name} to accept{until}"
    elif state == "negotiating":
        line = f"{peer_name} accepted; starting" if sending else "accepted; starting"
    elif state == "queued":
        line = (
            f"{peer_name} accepted; queued behind its other transfers"
            if sending
            else "accepted; queued behind other transfers (transfers.max_running)"
        )
    elif state == "paused":
        line = (
            f"paused at {_percent(progress.bytes_done, progress.total_bytes)}% "
            f"({human_size(progress.bytes_done)}/{human_size(progress.total_bytes)}); "
            f"'kizuna resume {short}' continues"
        )
    else:
        speed = f"{human_size(progress.bytes_per_second)}/s"
        line = (
            f"{_percent(progress.bytes_done, progress.total_bytes):3d}%  "
            f"{human_size(progress.bytes_done)}/{human_size(progress.total_bytes)}  "
            f"{speed}  ETA {clock(progress.eta_seconds)}"
        )
        room = width - 1 - _width_of(line) - 2
        if progress.current_file and room >= 8:
            line += "  " + _keep_end(_safe(progress.current_file, 1000), room)
    return _keep_start(line, width - 1)


def _progress_json(progress: TransferProgress) -> str:
    return json.dumps(
        {
            "transfer_id": progress.transfer_id,
            "state": progress.state,
            "bytes_done": progress.bytes_done,
            "total_bytes": progress.total_bytes,
            "files_done": progress.files_done,
            "total_files": progress.total_files,
            "bytes_per_second": progress.bytes_per_second,
            "eta_seconds": progress.eta_seconds,
            "current_file": progress.current_file,
        }
    )


def _error_reason(info: TransferInfo) -> str:
    if not info.message.HasField("error"):
        return ""
    return enum_name(errors_pb2.ErrorReason, info.message.error.reason, "ERROR_REASON_").upper()


def _result_json(info: TransferInfo) -> str:
    reason = _error_reason(info)
    return json.dumps(
        {
            "transfer_id": info.id,
            "final": True,
            "state": info.state,
            "error_reason": reason or None,
            "error": info.error or None,
            "peer_id": info.peer_id,
            "peer_name": info.message.peer_name,
            "bytes_done": info.bytes_done,
            "total_bytes": info.total_bytes,
            "files_done": info.files_done,
            "total_files": info.total_files,
            "skipped_sources": [
                {"path": s.path, "reason": _SKIP_REASONS.get(s.reason, "unspecified")}
                for s in info.message.skipped_sources
            ],
            "skipped_source_count": info.message.skipped_source_count,
        }
    )


def skipped_notice(info: TransferInfo) -> str:
    """What `send` says about what inside the folders is not sent ("" when nothing is left out):
    the first few paths, and how many in all ('kizuna transfers --json' lists up to 100)."""
    count = info.message.skipped_source_count
    if not count:
        return ""
    shown = [
        f"{_safe(s.path, 200)} ({_SKIP_WORDS.get(s.reason, 'not sent')})"
        for s in info.message.skipped_sources[:_SKIPPED_SHOWN]
    ]
    more = count - len(shown)
    listed = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    entries = "1 entry" if count == 1 else f"{count} entries"
    return (
        f"not sending {entries} from inside the folders: {listed}; only files and folders are "
        "sent, never links or special files"
    )


def _expires_in(info: TransferInfo) -> float | None:
    if not info.message.HasField("expire_time"):
        return None
    return info.message.expire_time.ToDatetime(tzinfo=UTC).timestamp() - time.time()


def _offer_window(info: TransferInfo) -> float | None:
    """How long the receiver had to answer (known while the offer is pending)."""
    if not (info.message.HasField("expire_time") and info.message.HasField("create_time")):
        return None
    return (
        info.message.expire_time.ToDatetime(tzinfo=UTC)
        - info.message.create_time.ToDatetime(tzinfo=UTC)
    ).total_seconds()


def _name(info: TransferInfo, limit: int = 40) -> str:
    return _safe(info.message.peer_name or info.peer_id[:_SHORT], limit)


def _who(info: TransferInfo) -> str:
    arrow = "→" if info.direction == "outgoing" else "←"
    return f"{arrow} {_name(info, 24)}"


# --- following a transfer ---------------------------------------------------------------------


class ProgressView:
    """Shows one transfer as it goes: a line redrawn in place, JSON lines, or nothing."""

    def __init__(
        self,
        out: TextIO,
        *,
        live: bool,
        as_json: bool,
        peer_name: str,
        sending: bool,
        expires_at: float | None = None,
    ) -> None:
        self.out = out
        self.live = live and not as_json
        self.as_json = as_json
        self.peer_name = peer_name
        self.sending = sending
        self.expires_at = expires_at
        self.last: TransferProgress | None = None
        self.started: float | None = None  # when data started to move (for the average)
        self._drawn = False

    @property
    def redraw_every(self) -> float | None:
        return _REDRAW_SECS if self.live else None

    def show(self, progress: TransferProgress) -> None:
        if self.started is None and progress.state not in ("pending", *FINAL_TRANSFER_STATES):
            self.started = time.monotonic()
        self.last = progress
        if self.as_json:
            print(_progress_json(progress), file=self.out, flush=True)
        elif self.live and progress.state not in FINAL_TRANSFER_STATES:
            self.redraw()

    def redraw(self) -> None:
        if not self.live or self.last is None:
            return
        expires_in = None if self.expires_at is None else self.expires_at - time.time()
        width = min(_WIDTH, shutil.get_terminal_size((_WIDTH, 24)).columns)
        line = progress_line(
            self.last,
            peer_name=self.peer_name,
            sending=self.sending,
            expires_in=expires_in,
            width=width,
        )
        self.out.write(f"\r{line}\x1b[K")  # erase what a longer previous line left
        self.out.flush()
        self._drawn = True

    def end(self) -> None:
        """Leaves the live line so what follows starts on a line of its own."""
        if self._drawn:
            self.out.write("\n")
            self.out.flush()
            self._drawn = False

    def elapsed(self) -> float | None:
        return None if self.started is None else time.monotonic() - self.started


async def _follow(handle: TransferHandle, view: ProgressView) -> TransferInfo:
    """Shows progress until the transfer ends; returns its final record."""
    updates = aiter(handle)
    upcoming = asyncio.ensure_future(anext(updates))
    try:
        while True:
            done, _ = await asyncio.wait({upcoming}, timeout=view.redraw_every)
            if not done:
                view.redraw()  # nothing new: the countdown still moves
                continue
            try:
                progress = upcoming.result()
            except StopAsyncIteration:
                break
            view.show(progress)
            upcoming = asyncio.ensure_future(anext(updates))
    finally:
        upcoming.cancel()
        await asyncio.gather(upcoming, return_exceptions=True)
        view.end()
    info = await handle.refresh()
    if info.state not in FINAL_TRANSFER_STATES:
        raise KizunaError(
            f"the daemon stopped reporting on transfer {info.id[:_SHORT]} while it was "
            f"{info.state}; 'kizuna transfers' shows where it stands"
        )
    return info


async def _follow_or_cancel(
    handle: TransferHandle, view: ProgressView, command: str
) -> TransferInfo:
    """`_follow`; Ctrl-C cancels the transfer before the command exits (with 130)."""
    try:
        return await _follow(handle, view)
    except asyncio.CancelledError:
        try:
            info = await asyncio.wait_for(handle.cancel(), _CANCEL_SECS)
        except (KizunaError, TimeoutError) as exc:
            print(
                f"kizuna {command}: interrupted, and cancelling failed ({_safe(str(exc), 200)}); "
                f"run 'kizuna cancel {handle.id[:_SHORT]}'",
                file=sys.stderr,
            )
        else:
            if view.as_json:
                print(_result_json(info), file=view.out, flush=True)
            print(f"kizuna {command}: cancelled", file=sys.stderr)
        raise


def _failure(info: TransferInfo, peer: str, offer_window: float | None) -> str:
    """What went wrong with a finished transfer, and what to do about it."""
    reason = _error_reason(info)
    message = _safe(info.error, 300)
    if info.state == "cancelled":
        return f"cancelled (on this device or on {peer}); nothing more is sent"
    if reason == "TRANSFER_REJECTED":
        said = "" if info.error in _NO_REASON or not info.error else f": {message}"
        return f"rejected by {peer}{said}"
    if reason == "TRANSFER_EXPIRED":
        within = f" within {_span(offer_window)}" if offer_window else " in time"
        return (
            f"expired: nobody accepted on {peer}{within}; ask them to run 'kizuna inbox' "
            "and accept, then send again"
        )
    hint = _HINTS.get(reason)
    return f"failed: {message or reason.lower()}" + (f"; {hint}" if hint else "")


def _summary(info: TransferInfo, view: ProgressView, verb: str, whom: str) -> str:
    """For example "sent 3 files (1.2 GB) to beta in 0:41 (29.3 MB/s)"."""
    line = f"{verb} {_files(info.files_done)} ({human_size(info.bytes_done)}) {whom}"
    elapsed = view.elapsed()
    if elapsed is not None and elapsed >= 1:  # shorter ones say nothing about speed
        line += f" in {clock(elapsed)} ({human_size(info.bytes_done / elapsed)}/s)"
    return line


# --- commands ---------------------------------------------------------------------------------


async def _send(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        with hinted(_HINTS):
            peer = choose_peer(await k.peers(), args.peer)
            handle = await k.transfer_file(
                args.paths, peer.device_id, compression="none" if args.no_compress else "auto"
            )
        name = _safe(handle.info.message.peer_name or peer.name or peer.device_id[:_SHORT], 40)
        notice = skipped_notice(handle.info)
        if notice:
            print(f"kizuna send: {notice}", file=sys.stderr, flush=True)
        expires_in = _expires_in(handle.info)
        view = ProgressView(
            sys.stdout,
            live=sys.stdout.isatty(),
            as_json=args.json,
            peer_name=name,
            sending=True,
            expires_at=None if expires_in is None else time.time() + expires_in,
        )
        window = _offer_window(handle.info)
        info = await _follow_or_cancel(handle, view, "send")
    if args.json:
        print(_result_json(info), flush=True)
    if info.state == "completed":
        if not args.json:
            print(_summary(info, view, "sent", f"to {name}"))
        return 0
    print(f"kizuna send: {_failure(info, name, window)}", file=sys.stderr)
    return EXIT_ERROR


async def _inbox(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        states = () if args.all else ("pending",)
        offers = await k.transfers(direction="incoming", states=states)
    if args.json:
        listed = [
            json_format.MessageToDict(t.message, preserving_proto_field_name=True) for t in offers
        ]
        print(json.dumps(listed))
        return 0
    print(inbox_table(offers, with_state=args.all))
    return 0


def _top_names(info: TransferInfo) -> list[str]:
    """The offer's top-level entries, folders with a trailing '/', escaped."""
    tops: dict[str, bool] = {}
    for entry in info.files:
        top, _, rest = entry.path.partition("/")
        directory = bool(rest) or entry.kind == transfer_pb2.TransferFile.KIND_DIRECTORY
        tops[top] = tops.get(top, False) or directory
    return [_safe(top, 30) + ("/" if directory else "") for top, directory in tops.items()]


def _inbox_row(info: TransferInfo, *, with_state: bool) -> str:
    names = _top_names(info)
    shown = ", ".join(names[:_NAMES_SHOWN])
    if len(names) > _NAMES_SHOWN:
        shown += f", +{len(names) - _NAMES_SHOWN} more"
    expires_in = _expires_in(info)
    expires = clock(expires_in) if expires_in is not None else "-"
    state = f"{info.state:<12}  " if with_state else ""
    return (
        f"{info.id[:_SHORT]}  {_pad(_name(info, 20), 20)}  {state}{info.total_files:>5}  "
        f"{human_size(info.total_bytes):>9}  {expires:>7}  {shown}"
    )


def inbox_table(offers: Sequence[TransferInfo], *, with_state: bool) -> str:
    """`kizuna inbox` for people: one offer per line; peers' names and paths escaped."""
    if not offers:
        return (
            "no offers waiting; files other devices send to this one show up here "
            "(for every incoming transfer: 'kizuna inbox --all')"
        )
    state = f"{'STATE':<12}  " if with_state else ""
    header = f"{'ID':<8}  {'FROM':<20}  {state}{'FILES':>5}  {'SIZE':>9}  {'EXPIRES':>7}  NAMES"
    rows = [_inbox_row(t, with_state=with_state) for t in offers]
    if any(t.state == "pending" for t in offers):
        rows.append("accept: kizuna accept ID [PATH...]   reject: kizuna reject ID [--reason TEXT]")
    return "\n".join([header, *rows])


async def _accept(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        with hinted(_HINTS):
            offer = await _find(k, args.id)
            handle = await k.accept_transfer(offer.id, *args.paths)
            inbox = (await k.config_message()).transfers.inbox
        accepted = handle.info
        name = _name(accepted)
        print(
            f"accepted {_files(accepted.total_files)} ({human_size(accepted.total_bytes)}) "
            f"from {name}, saving into {_safe(inbox, 500)}",
            flush=True,
        )
        if not args.wait:
            print(
                f"  follow with 'kizuna transfers'; stop with 'kizuna cancel {offer.id[:_SHORT]}'"
            )
            return 0
        view = ProgressView(
            sys.stdout, live=sys.stdout.isatty(), as_json=False, peer_name=name, sending=False
        )
        info = await _follow_or_cancel(handle, view, "accept")
    if info.state != "completed":
        print(f"kizuna accept: {_failure(info, name, None)}", file=sys.stderr)
        return EXIT_ERROR
    saved = {f.saved_path.partition("/")[0] for f in info.files if f.saved_path}
    where = ", ".join(_safe(s, 60) for s in sorted(saved))
    landed = f"into {_safe(inbox, 500)}: {where or '-'}"
    print(f"{_summary(info, view, 'received', f'from {name}')} {landed}")
    return 0


async def _reject(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        with hinted(_HINTS):
            offer = await _find(k, args.id)
            await k.reject_transfer(offer.id, args.reason)
    print(f"rejected {_files(offer.total_files)} from {_name(offer)}")
    return 0


async def _hash(args: argparse.Namespace) -> int:
    """Like sha256sum: one `HASH  PATH` line per file; errors go to stderr."""
    status = 0
    for path in args.paths:
        try:
            digest = await asyncio.to_thread(_content_hash_of_path, path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            print(f"kizuna hash: {_safe(path)}: {reason}", file=sys.stderr)
            status = EXIT_ERROR
            continue
        print(f"{digest}  {path}")
    return status


def _content_hash_of_path(path: str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EISDIR, "not a regular file (hash the files inside it)")
        return content_hash_of(fd)
    finally:
        os.close(fd)


async def _transfers(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        found = await k.transfers()
    if args.json:
        for info in found:
            print(
                json_format.MessageToJson(
                    info.message, indent=None, preserving_proto_field_name=True
                )
            )
        return 0
    print(transfers_table(found))
    return 0


def transfers_table(found: Sequence[TransferInfo]) -> str:
    """`kizuna transfers` for people: one transfer per line, newest first."""
    if not found:
        return "no transfers yet; send files with 'kizuna send PEER PATH...'"
    lines = [f"{'ID':<8}  {'PEER':<26}  {'STATE':<12}  {'SIZE':>9}  {'FILES':>9}  ERROR"]
    for info in found:
        files = f"{info.files_done}/{info.total_files}"
        row = (
            f"{info.id[:_SHORT]}  {_pad(_who(info), 26)}  {info.state:<12}  "
            f"{human_size(info.total_bytes):>9}  {files:>9}  {_safe(info.error, 80)}"
        )
        lines.append(row.rstrip())
    return "\n".join(lines)


async def _control(args: argparse.Namespace) -> int:
    async with _client(args) as k:
        with hinted(_HINTS):
            found = await _find(k, args.id)
            handle = k.transfer(found.id)
            if args.command == "cancel":
                info = await handle.cancel()
            elif args.command == "pause":
                info = await handle.pause()
            else:
                info = await handle.resume()
    short = info.id[:_SHORT]
    if args.command == "cancel":
        print(f"cancelled {short} ({_who(info)}); partial files are removed")
    elif args.command == "pause":
        print(f"paused {short} ({_who(info)}); 'kizuna resume {short}' continues")
    else:
        print(f"resumed {short} ({_who(info)}) from its last verified offset")
    return 0
