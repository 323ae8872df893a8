"""`kizuna send | inbox | accept | reject | transfers | cancel | pause | resume | hash` as
people and scripts use them: the real command in a subprocess against two paired daemons in
this process.

Tests wait on the daemons' events or on the command's own output, never on the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import pty
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kizuna_client import InvalidArgumentError, Kizuna, TransferInfo, TransferNotFoundError
from kizuna_client.types import TransferProgress
from kizuna_client.v1 import errors_pb2, transfer_pb2
from kizuna_server.cli import safe
from kizuna_server.cli_transfers import (
    add_commands,
    choose_transfer,
    clock,
    human_size,
    inbox_table,
    progress_line,
    transfers_table,
)
from kizuna_server.p2p.wire import transfer_service_pb2 as peer_pb
from tests.p2p.peerpair import WAIT, Node, Nodes, paired
from tests.transfers.hashing import content_hash

TIMEOUT = 30


async def start(node: Node, *args: str, **options: Any) -> asyncio.subprocess.Process:
    """`kizuna ARGS --home HOME` as a subprocess, stdout and stderr piped unless given."""
    options.setdefault("stdout", asyncio.subprocess.PIPE)
    options.setdefault("stderr", asyncio.subprocess.PIPE)
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kizuna_server", *args, "--home", str(node.home)), **options
    )


async def kizuna(node: Node, *args: str) -> tuple[int, str, str]:
    """Runs `kizuna ARGS` against `node`'s daemon: exit code, stdout, stderr."""
    return await finish(await start(node, *args))


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    """Waits for the command to exit (killing it after TIMEOUT): exit code, stdout, stderr."""
    try:
        async with asyncio.timeout(TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, (out or b"").decode(), (err or b"").decode()


async def offered(node: Node, after: int) -> str:
    event = await node.events.wait_for("transfer_offered", after=after)
    return event.message.transfer_offered.transfer.id


def inbox(node: Node) -> Path:
    return node.daemon.config.transfers.inbox


def hold_fetches(node: Node) -> tuple[asyncio.Event, asyncio.Event]:
    """Holds the sender's data until the first event is set, so a transfer stays running; the
    second is set once the receiver asked for data."""
    gate, asked = asyncio.Event(), asyncio.Event()
    original = node.daemon.transfers.serve_fetch  # type: ignore[union-attr]

    async def held(caller: str, request: Any) -> AsyncIterator[peer_pb.FetchResponse]:
        asked.set()
        await gate.wait()
        async for message in original(caller, request):
            yield message

    node.daemon.transfers.serve_fetch = held  # type: ignore[method-assign,union-attr]
    return gate, asked


# --- send -------------------------------------------------------------------------------------


async def test_send_json_follows_until_completed(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    source = tmp_path / "photo.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    mark = b.events.mark()
    process = await start(a, "send", "beta", str(source), "--json")
    try:
        transfer_id = await offered(b, mark)
        await b.client.accept_transfer(transfer_id)
    finally:
        code, out, err = await finish(process)
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    progress, result = lines[:-1], lines[-1]
    assert progress and all(p["transfer_id"] == transfer_id for p in progress)
    assert set(progress[0]) == {
        "transfer_id",
        "state",
        "bytes_done",
        "total_bytes",
        "files_done",
        "total_files",
        "bytes_per_second",
        "eta_seconds",
        "current_file",
    }
    done = [p["bytes_done"] for p in progress]
    assert done == sorted(done) and done[-1] == source.stat().st_size
    lifecycle = ["pending", "negotiating", "transferring", "completed"]
    steps = [lifecycle.index(p["state"]) for p in progress]
    assert steps == sorted(steps) and steps[-1] == 3
    assert result["final"] is True and result["state"] == "completed"
    assert result["error_reason"] is None and result["peer_name"] == "beta"
    assert (inbox(b) / "photo.bin").read_bytes() == source.read_bytes()


async def test_send_on_a_terminal_redraws_one_line(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    (tmp_path / "a.txt").write_text("hello")
    controller, terminal = pty.openpty()
    mark = b.events.mark()
    try:
        process = await start(a, "send", b.id[:6], str(tmp_path / "a.txt"), stdout=terminal)
    finally:
        os.close(terminal)
    shown = b""
    try:
        async with asyncio.timeout(TIMEOUT):
            while b"waiting for beta to accept (expires in " not in shown:
                chunk = await asyncio.to_thread(_read_or_eof, controller)
                assert chunk, f"the command ended early: {shown!r}"
                shown += chunk
            await b.client.accept_transfer(await offered(b, mark))
            while chunk := await asyncio.to_thread(_read_or_eof, controller):
                shown += chunk
        code, _, err = await finish(process)
    finally:
        if process.returncode is None:
            process.kill()  # its end also ends a read still waiting on the terminal
            await process.wait()
        os.close(controller)
    assert code == 0, err
    text = shown.decode()
    assert re.match(r"\rwaiting for beta to accept \(expires in (5:00|4:5\d)\)\x1b\[K", text)
    assert re.search(r"\r\nsent 1 file \(5 B\) to beta( in [^\r\n]*)?\r\n$", text)
    assert all(len(line) < 80 for line in text.replace("\x1b[K", "").split("\r"))


def _read_or_eof(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the command exited and closed the terminal
        return b""


async def test_a_rejected_send_exits_non_zero_saying_so(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    (tmp_path / "a.txt").write_text("hello")
    mark = b.events.mark()
    process = await start(a, "send", "beta", str(tmp_path / "a.txt"))
    try:
        transfer_id = await offered(b, mark)
        code, out, err = await kizuna(b, "reject", transfer_id[:8], "--reason", "not now")
        assert code == 0 and out == "rejected 1 file from alpha\n"
    finally:
        code, out, err = await finish(process)
    assert code == 1 and out == ""
    assert err == "kizuna send: rejected by beta: not now\n"
    assert not (inbox(b) / "a.txt").exists()


async def test_send_says_what_the_folder_leaves_out(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    await b.client.set_peer_permissions(a.id, auto_accept_files=True)
    trip = tmp_path / "trip"
    (trip / "raw").mkdir(parents=True)
    (trip / "a.txt").write_text("hello")
    (trip / "raw" / "latest").symlink_to(trip / "a.txt")
    os.mkfifo(trip / "pipe")

    code, out, err = await kizuna(a, "send", "beta", str(trip))
    assert code == 0, err
    assert out.startswith("sent 1 file (5 B) to beta")
    assert err == (
        "kizuna send: not sending 2 entries from inside the folders: trip/pipe (not a regular "
        "file or folder), trip/raw/latest (a symbolic link); only files and folders are sent, "
        "never links or special files\n"
    )

    code, out, err = await kizuna(a, "send", "beta", str(trip / "raw"), "--json")
    assert code == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result["skipped_sources"] == [{"path": "raw/latest", "reason": "symlink"}]
    assert result["skipped_source_count"] == 1
    assert "raw/latest (a symbolic link)" in err


async def test_ctrl_c_cancels_the_send(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    (tmp_path / "a.txt").write_text("hello")
    mark = b.events.mark()
    process = await start(a, "send", "beta", str(tmp_path / "a.txt"), "--json")
    assert process.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            first = json.loads(await process.stdout.readline())  # it follows the transfer now
        assert first["state"] == "pending"
        process.send_signal(signal.SIGINT)
    finally:
        code, out, err = await finish(process)
    assert code == 130, err
    assert json.loads(out.splitlines()[-1])["state"] == "cancelled"
    assert "cancelled" in err and "Traceback" not in err
    transfer_id = first["transfer_id"]
    await b.events.wait_for(
        "transfer_cancelled", lambda p: p.transfer.id == transfer_id, after=mark
    )
    assert (await a.client.transfer(transfer_id).refresh()).state == "cancelled"


# --- receiving --------------------------------------------------------------------------------


async def test_inbox_lists_the_offer_and_accept_takes_a_short_prefix(
    nodes: Nodes, tmp_path: Path
) -> None:
    a, b = await paired(nodes)
    (tmp_path / "trip").mkdir()
    (tmp_path / "trip" / "one.txt").write_text("one")
    (tmp_path / "notes.txt").write_text("notes")
    mark = b.events.mark()
    handle = await a.client.transfer_file([tmp_path / "trip", tmp_path / "notes.txt"], b.id)
    transfer_id = await offered(b, mark)

    code, out, _ = await kizuna(b, "inbox")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith(transfer_id[:8]))
    assert "alpha" in row and row.endswith("trip/, notes.txt")
    assert re.search(r"  (5:00|4:5\d)  ", row)  # expires in (5 minutes offered)
    code, out, _ = await kizuna(b, "inbox", "--json")
    assert code == 0
    [listed] = json.loads(out)
    assert listed["id"] == transfer_id and listed["peer_name"] == "alpha"

    code, out, err = await kizuna(b, "accept", transfer_id[:5])
    assert code == 0, err
    assert out.startswith(f"accepted 2 files (8 B) from alpha, saving into {inbox(b)}\n")
    info = await asyncio.wait_for(handle.wait(), WAIT)
    assert info.state == "completed"
    assert (inbox(b) / "trip" / "one.txt").read_text() == "one"
    code, out, _ = await kizuna(b, "inbox")
    assert code == 0 and out.startswith("no offers waiting")
    code, out, _ = await kizuna(b, "inbox", "--all")
    assert transfer_id[:8] in out and "completed" in out


async def test_accept_wait_follows_until_the_files_are_in(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "b.txt").write_text("skipped")
    mark = b.events.mark()
    handle = await a.client.transfer_file([tmp_path / "a.txt", tmp_path / "b.txt"], b.id)
    transfer_id = await offered(b, mark)
    code, out, err = await kizuna(b, "accept", transfer_id, "a.txt", "--wait")
    assert code == 0, err
    first, last = out.splitlines()[0], out.splitlines()[-1]
    assert first.startswith("accepted 1 file (5 B) from alpha")
    assert last.startswith("received 1 file (5 B) from alpha")
    assert last.endswith(f"into {inbox(b)}: a.txt")
    assert (await asyncio.wait_for(handle.wait(), WAIT)).state == "completed"
    assert (inbox(b) / "a.txt").read_text() == "hello" and not (inbox(b) / "b.txt").exists()


# --- listing and control ----------------------------------------------------------------------


async def test_transfers_lists_both_directions(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    await b.client.set_peer_permissions(a.id, auto_accept_files=True)
    (tmp_path / "a.txt").write_text("hello")
    sent = await a.client.transfer_file(tmp_path / "a.txt", b.id)
    assert (await asyncio.wait_for(sent.wait(), WAIT)).state == "completed"
    mark = a.events.mark()
    received = await b.client.transfer_file(tmp_path / "a.txt", a.id)
    await offered(a, mark)
    await a.client.reject_transfer(received.id, "full")

    code, out, _ = await kizuna(a, "transfers")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "PEER", "STATE", "SIZE", "FILES", "ERROR"]
    outgoing = next(line for line in lines if line.startswith(sent.id[:8]))
    incoming = next(line for line in lines if line.startswith(received.id[:8]))
    assert "→ beta" in outgoing and "completed" in outgoing and "1/1" in outgoing
    assert "← beta" in incoming and "failed" in incoming and incoming.endswith("full")
    code, out, _ = await kizuna(a, "transfers", "--json")
    assert code == 0
    listed = {t["id"]: t["direction"] for t in map(json.loads, out.splitlines())}
    assert listed == {sent.id: "DIRECTION_OUTGOING", received.id: "DIRECTION_INCOMING"}


async def test_pause_resume_and_cancel_from_either_side(nodes: Nodes, tmp_path: Path) -> None:
    a, b = await paired(nodes)
    gate, asked = hold_fetches(a)
    (tmp_path / "a.bin").write_bytes(os.urandom(1024 * 1024))
    mark_a, mark_b = a.events.mark(), b.events.mark()
    handle = await a.client.transfer_file(tmp_path / "a.bin", b.id)
    transfer_id = await offered(b, mark_b)
    await b.client.accept_transfer(transfer_id)
    await asyncio.wait_for(asked.wait(), WAIT)

    code, out, err = await kizuna(b, "pause", transfer_id[:6])
    assert code == 0, err
    assert (
        out == f"paused {transfer_id[:8]} (← alpha); 'kizuna resume {transfer_id[:8]}' continues\n"
    )
    await a.events.wait_for("transfer_paused", lambda p: p.transfer.id == transfer_id, after=mark_a)
    asked.clear()
    code, out, err = await kizuna(a, "resume", transfer_id[:6])
    assert code == 0, err
    assert out.startswith(f"resumed {transfer_id[:8]} (→ beta)")
    await asyncio.wait_for(asked.wait(), WAIT)  # the receiver asks for the data again
    code, out, err = await kizuna(b, "cancel", transfer_id)
    assert code == 0, err
    assert out.startswith(f"cancelled {transfer_id[:8]} (← alpha)")
    assert (await asyncio.wait_for(handle.wait(), WAIT)).state == "cancelled"
    gate.set()
    code, _, err = await kizuna(b, "cancel", transfer_id)
    assert code == 1
    assert err.startswith("kizuna cancel: the transfer is already cancelled; ")
    assert "'kizuna transfers'" in err


async def test_an_unknown_id_is_a_clear_error(nodes: Nodes) -> None:
    a = await nodes.start("alpha")
    for command in (("cancel",), ("accept",), ("reject", "--reason", "no")):
        code, out, err = await kizuna(a, *command, "0123abcd")
        assert code == 1 and out == ""
        assert err == (
            f"kizuna {command[0]}: no transfer matches '0123abcd'; 'kizuna transfers' lists this "
            "device's transfers and 'kizuna inbox' the offers waiting for an answer\n"
        )
    code, _, err = await kizuna(a, "pause", "012")
    assert code == 1 and "at least 4 characters" in err


async def test_send_to_an_unknown_peer_says_what_to_do(nodes: Nodes, tmp_path: Path) -> None:
    a = await nodes.start("alpha")
    (tmp_path / "a.txt").write_text("hello")
    code, out, err = await kizuna(a, "send", "nobody", str(tmp_path / "a.txt"))
    assert code == 1 and out == ""
    assert err.startswith("kizuna send: no peer matches 'nobody'; 'kizuna peers' lists")


# --- pure formatting --------------------------------------------------------------------------


@pytest.fixture
def wired() -> None:
    """Hands the CLI's `safe` to the transfer commands, as `kizuna` does at start."""
    commands = argparse.ArgumentParser().add_subparsers()
    add_commands(commands, argparse.ArgumentParser(add_help=False), lambda _: Kizuna(), safe)


def transfer(transfer_id: str, **fields: Any) -> TransferInfo:
    return TransferInfo.from_proto(transfer_pb2.Transfer(id=transfer_id, **fields))


@pytest.mark.usefixtures("wired")
async def test_hash_prints_what_both_daemons_report(nodes: Nodes, tmp_path: Path) -> None:
    """`kizuna hash` is how people check a received file by hand: its line for each file is the
    content hash both daemons report, computed independently here too."""
    a, b = await paired(nodes)
    source = tmp_path / "kit"
    source.mkdir()
    (source / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024 + 512 * 1024))
    (source / "block.bin").write_bytes(os.urandom(1024 * 1024))
    (source / "empty").write_bytes(b"")
    mark = b.events.mark()
    handle = await a.client.transfer_file(source, b.id)
    await b.client.accept_transfer(await offered(b, mark))
    sent = await asyncio.wait_for(handle.wait(), WAIT)
    received = await b.client.transfer(handle.id).refresh()
    assert sent.state == received.state == "completed"

    names = ["big.bin", "block.bin", "empty"]
    code, out, err = await kizuna(b, "hash", *(str(inbox(b) / "kit" / n) for n in names))

    assert code == 0, err
    lines = [line.split("  ", 1) for line in out.splitlines()]
    printed = {Path(path).name: digest for digest, path in lines}
    for side in (sent, received):
        reported = {Path(f.path).name: f.content_hash for f in side.files}
        assert all(printed[n] == reported[n] for n in names)
    assert all(printed[n] == content_hash(source / n) for n in names)
    assert printed["empty"] == hashlib.sha256(b"").hexdigest()


async def test_hash_names_what_it_cannot_read(nodes: Nodes, tmp_path: Path) -> None:
    a = await nodes.start("alpha")
    (tmp_path / "ok.txt").write_bytes(b"fine\n")

    code, out, err = await kizuna(
        a, "hash", str(tmp_path), str(tmp_path / "missing"), str(tmp_path / "ok.txt")
    )

    assert code == 1
    assert out == f"{content_hash(tmp_path / 'ok.txt')}  {tmp_path / 'ok.txt'}\n"
    assert "not a regular file" in err and "No such file" in err


def test_choose_transfer_by_id_or_unique_prefix() -> None:
    listed = [
        transfer("ab12cd34" + "0" * 24, peer_name="laptop"),
        transfer("ab12cd35" + "0" * 24, peer_name="phone"),
        transfer("ff00" + "1" * 28),
    ]
    assert choose_transfer(listed, "FF00").id == listed[2].id
    assert choose_transfer(listed, "ab12cd34").id == listed[0].id
    assert choose_transfer(listed, listed[1].id).id == listed[1].id
    with pytest.raises(InvalidArgumentError, match=r"several transfers: ab12cd34 .*laptop.*phone"):
        choose_transfer(listed, "ab12")
    with pytest.raises(TransferNotFoundError, match="no transfer matches 'abcd'"):
        choose_transfer(listed, "abcd")


@pytest.mark.usefixtures("wired")
def test_what_peers_say_reaches_the_terminal_escaped() -> None:
    hostile = "\x1b]0;pwned\x07evil\u202etxt.exe"
    offer = transfer(
        "ab12cd34" + "0" * 24,
        peer_name=hostile,
        direction=transfer_pb2.Transfer.DIRECTION_INCOMING,
        state=transfer_pb2.Transfer.STATE_FAILED,
        files=[
            transfer_pb2.TransferFile(path=f"{hostile}/a", size=1),
            transfer_pb2.TransferFile(path="b\nc", size=1),
        ],
        total_files=2,
        total_bytes=2,
        error=errors_pb2.Error(message=f"rejected: {hostile}"),
    )
    escaped = "\\x1b]0;pwned\\x07evi"  # names are also shortened to fit their column
    for text in (
        inbox_table([offer], with_state=True),
        transfers_table([offer]),
        progress_line(progress("pending"), peer_name=safe(hostile)),
    ):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert escaped in text
    assert transfers_table([offer]).endswith("rejected: \\x1b]0;pwned\\x07evil\\u202etxt.exe")
    assert inbox_table([offer], with_state=False).endswith("\\u202etxt…/, b\\x0ac")
    with pytest.raises(InvalidArgumentError) as ambiguous:
        choose_transfer([offer, transfer("ab12" + "f" * 28, peer_name=hostile)], "ab12")
    assert "\x1b" not in ambiguous.value.message and escaped in ambiguous.value.message


def progress(state: str = "transferring", **fields: Any) -> TransferProgress:
    values: dict[str, Any] = {
        "transfer_id": "ab12cd34" + "0" * 24,
        "state": state,
        "bytes_done": 540_200_000,
        "total_bytes": 1_200_000_000,
        "files_done": 1,
        "total_files": 3,
        "bytes_per_second": 35_100_000.0,
        "eta_seconds": 18.9,
        "current_file": "photos/2026/big.bin",
    }
    values.update(fields)
    return TransferProgress(**values)


@pytest.mark.usefixtures("wired")
def test_progress_line_fits_80_columns_and_escapes_names() -> None:
    line = progress_line(progress(), peer_name="beta")
    assert line == " 45%  540.2 MB/1.2 GB  35.1 MB/s  ETA 0:19  photos/2026/big.bin"
    hostile = progress(current_file="dir/" + "x" * 100 + "\x1b[31m\u202ered.txt")
    line = progress_line(hostile, peer_name="beta")
    assert len(line) == 79 and "ETA 0:19  …xxx" in line
    assert "\x1b" not in line and "\u202e" not in line and line.endswith("\\x1b[31m\\u202ered.txt")
    wide = progress_line(progress(current_file="写真/" + "旅" * 60 + ".jpg"), peer_name="beta")
    columns = sum(2 if "\u3000" <= ch <= "\u9fff" else 1 for ch in wide)
    assert columns <= 79 and wide.endswith("旅.jpg")
    waiting = progress_line(progress("pending"), peer_name="beta", expires_in=299.4)
    assert waiting == "waiting for beta to accept (expires in 4:59)"
    starting = progress_line(progress("negotiating"), peer_name="beta", sending=False)
    assert starting == "accepted; starting"
    paused = progress_line(progress("paused"), peer_name="beta")
    assert paused == "paused at 45% (540.2 MB/1.2 GB); 'kizuna resume ab12cd34' continues"


def test_sizes_and_times_read_like_a_file_manager() -> None:
    assert [human_size(n) for n in (0, 999, 1000, 1_234_567, 999_960, 1_200_000_000)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.2 MB",
        "1.0 MB",
        "1.2 GB",
    ]
    assert [clock(s) for s in (None, 0, 59.6, 299, 3725)] == [
        "-:--",
        "0:00",
        "1:00",
        "4:59",
        "1:02:05",
    ]
