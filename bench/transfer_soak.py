"""Soak: kill -9 of either daemon during a transfer, restart, and check what landed (THREATS #10).

Two `kizuna daemon` processes (sender, receiver) on fresh homes on the real disk, mDNS off, links
on 127.0.0.1, paired and given auto-accept as in bench/transfer.py. Each of `--rounds` (50)
rounds empties the receiver's inbox and sends one file of `--size-mib` (256) MiB; at a random
point of the transfer one daemon, the sender or the receiver at random, gets SIGKILL. The inbox
is then audited (every file under a final name must be a whole copy of the source), the killed
daemon is restarted on the same home and ports (with the other as a static peer, so it dials at
once), and the round waits, with a time limit, until both sides report the transfer completed.
Then: both sides' content hashes equal each other and the source's, the received file's SHA-256
equals the source's, the inbox holds exactly that file and no part file.

Kill points are found by watching the inbox with inotify, never by sleeping: a byte offset
(whole MiB, uniform over the file) is reached when the receiver's part file was just written
and the receiver daemon has written at least that many bytes since the round began
(/proc/PID/io wchar). A fifth of the rounds use an edge instead: right after CreateTransfer
returned (`offered`), when the part file is created (`created`), when all data is written but
not yet committed (`written`), when the file gets its final name (`renamed`).

Figures: rounds completed, kills per side and per point, restart time (kill -> the restarted
daemon's banner), resume time (banner -> the receiver writes or commits again; for rounds with
nothing left to write, -> both sides completed), completion time after the restart, and bytes
sent again: what the receiver wrote (wchar, both incarnations) beyond what a transfer without a
kill writes, against the file size. Data lost in flight (sent, not yet written) is not counted,
so it is a lower bound of what the sender sent again.

A kill -9 leaves the page cache alone, so this checks crash consistency of the daemon, not
durability across a power cut.

Run: `.venv/bin/python bench/transfer_soak.py [--rounds N] [--size-mib N] [--seed S]
[--side random|sender|receiver] [--at offered|created|written|renamed|MIB]
[--round-limit-secs S] [--keep-temp]`. A failed round prints why, its side and point, both
sides' record of the transfer and the daemons' last log lines; the round's own log lines go to
the result file and both logs are copied next to it. Exit status 1 when a round failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import math
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import kizuna_server
from bench._common import (
    BANNER_LAST_LINE,
    RESULTS_DIR,
    BenchError,
    daemon_argv,
    environment,
    finite,
    fmt,
    io_counters,
    launch,
    print_table,
    summarize_ms,
    utc_stamp,
    write_result,
)
from bench.transfer import (
    MIB,
    Completions,
    Node,
    Pair,
    banner_link_port,
    daemon_settings,
    describe,
    empty_dir,
    make_large,
    pair_nodes,
    sha256_file,
    start_node,
)
from bench.transfer_baselines import disk_temp_dir
from kizuna_client import Kizuna, KizunaError
from kizuna_client.types import TransferInfo
from kizuna_server.transfers.digest import content_hash_of

NAME = "transfer_soak"
TEMP_PREFIX = "kzs-"
SIDES: Final = ("sender", "receiver")
EDGES: Final = ("offered", "created", "written", "renamed")
#: Share of the rounds killed at an edge instead of a byte offset.
EDGE_SHARE: Final = 0.2
#: The longest a round waits for its kill point, and for both sides to complete after the
#: restart (--round-limit-secs).
ROUND_LIMIT_SECS: Final = 120.0
#: The killed daemon's exit.
STEP_LIMIT_SECS: Final = 60.0
#: A receiver's hidden part file (kizuna_server/transfers/inbox.py `part_name`).
PART_NAME: Final = re.compile(r"\.kizuna-[0-9a-f]{16}-\d+\.part")
#: Log lines of a failed round kept in the result file (printed: the last 40 of each daemon).
LOG_LINES_KEPT: Final = 300

# inotify (linux/inotify.h)
_IN_MODIFY: Final = 0x00000002
_IN_MOVED_TO: Final = 0x00000080
_IN_CREATE: Final = 0x00000100
_IN_EVENT: Final = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name


# --- the inbox, watched and audited --------------------------------------------------------------


class InboxWatch:
    """inotify on one folder: creates, writes and renames into it, handed to `on_event` on the
    event loop as (mask, name, time.perf_counter() when read)."""

    MASK: Final = _IN_CREATE | _IN_MODIFY | _IN_MOVED_TO

    def __init__(self, folder: Path, on_event: Callable[[int, str, float], None]) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if int(libc.inotify_add_watch(fd, os.fsencode(folder), self.MASK)) < 0:
            code = ctypes.get_errno()
            os.close(fd)
            raise OSError(code, f"inotify_add_watch {folder} failed")
        self._fd = fd
        self.on_event = on_event
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(fd, self.drain)

    def drain(self) -> None:
        """Hands over every event queued so far."""
        while True:
            try:
                data = os.read(self._fd, 64 * 1024)
            except BlockingIOError:
                return
            now = time.perf_counter()
            offset = 0
            while offset < len(data):
                _, mask, _, length = _IN_EVENT.unpack_from(data, offset)
                start = offset + _IN_EVENT.size
                name = os.fsdecode(data[start : start + length].rstrip(b"\0"))
                offset = start + length
                self.on_event(mask, name, now)

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        os.close(self._fd)


@dataclass(frozen=True)
class InboxAudit:
    """What the inbox holds: files under final names (and whether each is a whole copy of the
    source), and hidden part files."""

    finals: dict[str, bool]
    parts: list[str]

    @property
    def partial(self) -> list[str]:
        return [name for name, whole in self.finals.items() if not whole]


def audit_inbox(inbox: Path, source_sha256: str) -> InboxAudit:
    finals: dict[str, bool] = {}
    parts: list[str] = []
    for root, dirs, names in os.walk(inbox):
        dirs.sort()
        for name in sorted(names):
            path = Path(root, name)
            rel = str(path.relative_to(inbox))
            if PART_NAME.fullmatch(name):
                parts.append(rel)
            else:
                finals[rel] = path.is_file() and sha256_file(path) == source_sha256
    return InboxAudit(finals, parts)


# --- daemons -------------------------------------------------------------------------------------


@dataclass
class Daemons:
    """The two daemons, their inboxes, and every Node ever started (to stop them at the end)."""

    pair: Pair
    inboxes: dict[str, Path]
    started: list[Node]

    def node(self, side: str) -> Node:
        return self.pair.sender if side == "sender" else self.pair.receiver

    def other(self, side: str) -> Node:
        return self.pair.receiver if side == "sender" else self.pair.sender

    def replace(self, side: str, node: Node) -> None:
        if side == "sender":
            self.pair.sender = node
        else:
            self.pair.receiver = node


async def restart(daemons: Daemons, side: str) -> tuple[Node, float, int]:
    """Starts the daemon of `side` again on its home, link port and socket, with the other
    daemon as a static peer; returns the new Node, when its banner was complete, and the
    receiver's wchar then."""
    old, peer = daemons.node(side), daemons.other(side)
    own_socket = None if old.socket_dir is None else old.socket_dir / "kizuna.sock"
    settings = daemon_settings(f"bench-{side}", daemons.inboxes[side], own_socket) | {
        "networking.listen_port": str(old.link_port),
        "discovery.static_peers": f"127.0.0.1:{peer.link_port}",
    }
    server = await launch(
        daemon_argv(old.home, settings),
        socket_path=old.server.socket_path,
        log_path=old.server.log_path,
    )
    try:
        ready_at, _ = await server.wait_for_line(lambda line: line.startswith(BANNER_LAST_LINE))
        receiver = server if side == "receiver" else daemons.pair.receiver.server
        wchar_at_ready = io_counters(receiver.pid)["wchar"]
        port = banner_link_port(server)
        api = Kizuna(target=server.target)
        await api.connect()
    except BaseException:
        await server.stop()
        raise
    if port != old.link_port:
        await server.stop()
        raise BenchError(f"the restarted {side} listens on port {port}, not {old.link_port}")
    events = Completions(api)
    node = Node(side, old.home, server, api, old.device_id, old.link_port, events, old.socket_dir)
    daemons.started.append(node)
    await events.start()
    daemons.replace(side, node)
    return node, ready_at, wchar_at_ready


async def close_client(node: Node) -> None:
    with contextlib.suppress(Exception):
        await node.events.close()
    with contextlib.suppress(Exception):
        await node.api.close()


def log_size(node: Node) -> int:
    try:
        return node.server.log_path.stat().st_size
    except OSError:
        return 0


def log_since(node: Node, offset: int) -> list[str]:
    try:
        with open(node.server.log_path, "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-LOG_LINES_KEPT:]


# --- one round -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Whom to kill and when: `point` is an edge or "offset" (at `offset` bytes written)."""

    side: str
    point: str
    offset: int

    def describe(self) -> str:
        where = f"{self.offset // MIB} MiB written" if self.point == "offset" else self.point
        return f"{self.side} at {where}"


def plan_round(seed: int, index: int, size: int, side: str, at: str) -> Plan:
    """The round's kill, drawn from (seed, round) alone: it does not depend on how earlier
    rounds went; `side` and `at` ("random", "") override what is drawn."""
    rng = random.Random(f"{seed}:{index}")
    drawn_side = rng.choice(SIDES)
    edge = rng.choice(EDGES)
    chunks = math.ceil(size / MIB)
    at_edge = rng.random() < EDGE_SHARE or chunks < 2
    offset = rng.randint(1, max(1, chunks - 1)) * MIB
    if side != "random":
        drawn_side = side
    if at in EDGES:
        at_edge, edge = True, at
    elif at:
        at_edge, offset = False, int(at) * MIB
    if at_edge:
        return Plan(drawn_side, edge, size if edge == "written" else 0)
    return Plan(drawn_side, "offset", offset)


@dataclass
class Source:
    path: Path
    size: int
    sha256: str
    content_hash: str


@dataclass
class RoundResult:
    index: int
    side: str
    point: str
    target_bytes: int
    transfer_id: str = ""
    killed: bool = False
    written_at_kill: int | None = None  # bytes the receiver had written when the kill was sent
    kill_to_ready_s: float | None = None
    ready_to_resume_s: float | None = None
    resume_kind: str = ""  # "data" (the receiver wrote or committed) or "completion"
    ready_to_complete_s: float | None = None
    received_bytes: int | None = None  # the receiver's wchar over the round, both incarnations
    resent_bytes: int | None = None
    completed: bool = False
    hashes_equal: bool = False
    sha256_equal: bool = False
    partial_at_kill: list[str] = field(default_factory=list)
    partial_at_end: list[str] = field(default_factory=list)
    parts_left: list[str] = field(default_factory=list)
    final_files: list[str] = field(default_factory=list)
    failure: str = ""
    logs: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            self.completed
            and self.hashes_equal
            and self.sha256_equal
            and not self.partial_at_kill
            and not self.partial_at_end
            and not self.parts_left
            and len(self.final_files) == 1
            and not self.failure
        )


class KillSwitch:
    """Follows the inbox's events during one round: kills the chosen daemon when its point is
    reached (inside the event callback, so the kill lands as close to the point as possible),
    then notes when the receiver writes again."""

    def __init__(self, plan: Plan, daemons: Daemons, wchar_base: int) -> None:
        self.plan = plan
        self.daemons = daemons
        self.wchar_base = wchar_base
        self.killed_at: float | None = None
        self.written_at_kill: int | None = None
        self.fired = asyncio.Event()
        self.after_kill: list[float] = []  # times of inbox events after the kill
        self.ready_at: float | None = None  # the restarted daemon's banner
        self.wchar_at_ready = 0  # the receiver's wchar then

    def received(self) -> int:
        return io_counters(self.daemons.pair.receiver.pid)["wchar"] - self.wchar_base

    def kill(self) -> None:
        self.written_at_kill = self.received()
        self.daemons.node(self.plan.side).server.proc.send_signal(signal.SIGKILL)
        self.killed_at = time.perf_counter()
        self.fired.set()

    def on_event(self, mask: int, name: str, now: float) -> None:
        if self.killed_at is not None:
            self.after_kill.append(now)
            return
        part = PART_NAME.fullmatch(name) is not None
        point = self.plan.point
        if (
            (point == "created" and part and mask & _IN_CREATE)
            or (point == "renamed" and not part and mask & _IN_MOVED_TO)
            or (
                point in ("offset", "written")
                and part
                and mask & _IN_MODIFY
                and self.received() >= self.plan.offset
            )
        ):
            self.kill()


async def transfer_ends(node: Node, transfer_id: str) -> tuple[float, TransferInfo]:
    """Waits (WatchTransfer) for a final state; returns when it was seen, and the record."""
    info = await node.api.transfer(transfer_id).wait()
    return time.perf_counter(), info


@dataclass
class Soak:
    """What every round shares."""

    daemons: Daemons
    source: Source
    clean_overhead: int  # bytes the receiver writes besides the file in a transfer without a kill
    limit: float  # --round-limit-secs

    @property
    def inbox(self) -> Path:
        return self.daemons.inboxes["receiver"]


async def run_round(soak: Soak, plan: Plan, index: int) -> RoundResult:
    """One transfer, one kill, one restart; every check of the round."""
    daemons = soak.daemons
    result = RoundResult(index, plan.side, plan.point, plan.offset)
    await asyncio.to_thread(empty_dir, soak.inbox)
    logs_at = {side: log_size(daemons.node(side)) for side in SIDES}
    switch = KillSwitch(plan, daemons, io_counters(daemons.pair.receiver.pid)["wchar"])
    watch = InboxWatch(soak.inbox, switch.on_event)
    try:
        await kill_and_restart(soak, result, switch, watch)
        await finish(soak, result, switch)
    except (BenchError, KizunaError, OSError, TimeoutError) as exc:
        result.failure = result.failure or f"{type(exc).__name__}: {exc}"
    finally:
        watch.close()
    if not result.ok:
        result.logs = {side: log_since(daemons.node(side), logs_at[side]) for side in SIDES}
        if result.transfer_id:
            result.failure = result.failure or "checks failed"
            result.failure += await describe(daemons.pair, result.transfer_id)
            for side in SIDES:  # the next round starts clean
                with contextlib.suppress(KizunaError, OSError):
                    await daemons.node(side).api.transfer(result.transfer_id).cancel()
    return result


async def kill_and_restart(
    soak: Soak, result: RoundResult, switch: KillSwitch, watch: InboxWatch
) -> None:
    """Starts the transfer, kills at the planned point, audits the inbox, restarts."""
    daemons, plan = soak.daemons, switch.plan
    pair = daemons.pair
    handle = await pair.sender.api.transfer_file(soak.source.path, pair.receiver.device_id)
    result.transfer_id = handle.id
    if plan.point == "offered":
        switch.kill()
    else:
        loop = asyncio.get_running_loop()
        ended = loop.create_task(transfer_ends(pair.receiver, handle.id))
        fired = loop.create_task(switch.fired.wait())
        try:
            await asyncio.wait(
                {ended, fired}, timeout=soak.limit, return_when=asyncio.FIRST_COMPLETED
            )
            watch.drain()  # events read after the end arrived still count
        finally:
            for task in (ended, fired):
                task.cancel()
            await asyncio.gather(ended, fired, return_exceptions=True)
        if switch.killed_at is None:
            raise BenchError(f"the kill point ({plan.describe()}) was not reached")
    result.killed = True
    result.written_at_kill = switch.written_at_kill
    victim = daemons.node(plan.side)
    await asyncio.wait_for(victim.server.proc.wait(), STEP_LIMIT_SECS)
    await close_client(victim)
    audit = await asyncio.to_thread(audit_inbox, soak.inbox, soak.source.sha256)
    result.partial_at_kill = audit.partial
    _, switch.ready_at, switch.wchar_at_ready = await restart(daemons, plan.side)
    assert switch.killed_at is not None
    result.kill_to_ready_s = switch.ready_at - switch.killed_at


async def finish(soak: Soak, result: RoundResult, switch: KillSwitch) -> None:
    """Waits for both sides to complete, then checks hashes and the inbox."""
    ready_at, written_at_kill = switch.ready_at, switch.written_at_kill
    assert ready_at is not None and written_at_kill is not None
    sender, receiver = soak.daemons.pair.sender, soak.daemons.pair.receiver
    try:
        (sent_at, sent), (received_at, received) = await asyncio.wait_for(
            asyncio.gather(
                transfer_ends(sender, result.transfer_id),
                transfer_ends(receiver, result.transfer_id),
            ),
            soak.limit,
        )
    except TimeoutError:
        raise BenchError(
            f"not completed on both sides {soak.limit:.0f} s after the restart"
        ) from None
    wchar_at_end = io_counters(receiver.pid)["wchar"]
    if result.side == "receiver":  # two incarnations: until the kill, and since the banner
        result.received_bytes = written_at_kill + wchar_at_end - switch.wchar_at_ready
    else:
        result.received_bytes = wchar_at_end - switch.wchar_base
    result.resent_bytes = result.received_bytes - soak.source.size - soak.clean_overhead
    done_at = max(sent_at, received_at)
    result.ready_to_complete_s = done_at - ready_at
    moved = [t for t in switch.after_kill if t >= ready_at]
    if moved:
        result.ready_to_resume_s, result.resume_kind = moved[0] - ready_at, "data"
    else:
        result.ready_to_resume_s, result.resume_kind = done_at - ready_at, "completion"
    result.completed = sent.state == received.state == "completed"
    if not result.completed:
        result.failure = f"ended {sent.state} on the sender, {received.state} on the receiver"
    hashes = {f.content_hash for f in (*sent.files, *received.files)}
    result.hashes_equal = hashes == {soak.source.content_hash}
    audit = await asyncio.to_thread(audit_inbox, soak.inbox, soak.source.sha256)
    result.final_files = sorted(audit.finals)
    result.partial_at_end = audit.partial
    result.parts_left = audit.parts
    saved = [f.saved_path for f in received.files]
    result.sha256_equal = saved == result.final_files and all(audit.finals.values())


# --- the whole run -------------------------------------------------------------------------------


def code_under_test() -> dict[str, Any]:
    """Which kizuna_server the daemons run (they inherit this process's environment, so the
    same one as imported here) and, in a git checkout, its commit and uncommitted changes."""
    package = Path(kizuna_server.__file__).parent
    info: dict[str, Any] = {"kizuna_server": str(package)}
    git = ["git", "-C", str(package.parent.parent)]
    try:
        head = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        changed = subprocess.run(
            [*git, "status", "--porcelain", "--", "server", "kizuna_client", "kizuna"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return info  # not a checkout (a snapshot of one)
    return info | {"git_head": head, "uncommitted": changed}


@dataclass
class Options:
    rounds: int
    size_mib: int
    seed: int
    side: str
    at: str
    round_limit_secs: float


async def clean_transfer(daemons: Daemons, path: Path) -> tuple[float, int]:
    """One transfer without a kill: (seconds, bytes the receiver wrote)."""
    pair = daemons.pair
    await asyncio.to_thread(empty_dir, daemons.inboxes["receiver"])
    before = io_counters(pair.receiver.pid)["wchar"]
    start = time.perf_counter()
    handle = await pair.sender.api.transfer_file(path, pair.receiver.device_id)
    (_, sent), (_, received) = await asyncio.wait_for(
        asyncio.gather(
            transfer_ends(pair.sender, handle.id), transfer_ends(pair.receiver, handle.id)
        ),
        ROUND_LIMIT_SECS,
    )
    seconds = time.perf_counter() - start
    if sent.state != "completed" or received.state != "completed":
        raise BenchError(f"a transfer without a kill ended {sent.state}/{received.state}")
    return seconds, io_counters(pair.receiver.pid)["wchar"] - before


async def run(options: Options, root: Path, started: list[Node]) -> dict[str, Any]:
    data = root / "data"
    inbox = root / "inbox"
    sender_inbox = root / "unused-inbox-a"
    for folder in (data, inbox, sender_inbox):
        folder.mkdir()
    code = code_under_test()
    print(f"test data, inbox and daemon homes in {root}; seed {options.seed}", flush=True)
    print(
        f"daemon code: {code['kizuna_server']}"
        + (f" (commit {code['git_head'][:12]})" if "git_head" in code else "")
        + (
            f"; uncommitted changes: {len(code['uncommitted'])} files"
            if code.get("uncommitted")
            else ""
        ),
        flush=True,
    )
    sender, receiver = await asyncio.gather(
        start_node("sender", root / "a", sender_inbox, started),
        start_node("receiver", root / "b", inbox, started),
    )
    await pair_nodes(sender, receiver)
    daemons = Daemons(
        Pair(sender, receiver, inbox), {"sender": sender_inbox, "receiver": inbox}, started
    )

    size = options.size_mib * MIB
    print(f"writing one file of {options.size_mib} MiB ...", flush=True)
    path = await asyncio.to_thread(make_large, data, size, "soak.bin", 10)
    sha256 = await asyncio.to_thread(sha256_file, path)
    content_hash = await asyncio.to_thread(_content_hash, path)
    source = Source(path, size, sha256, content_hash)
    warm = await asyncio.to_thread(make_large, data, MIB, "warm.bin", 9)
    await clean_transfer(daemons, warm)
    clean_seconds, clean_written = await clean_transfer(daemons, path)
    clean_overhead = clean_written - size
    print(
        f"daemons paired (links on 127.0.0.1, mutual TLS, receiver auto-accepts); one transfer "
        f"without a kill: {clean_seconds:.2f} s ({size / clean_seconds / 1e6:.0f} MB/s), the "
        f"receiver wrote {clean_overhead} bytes besides the file",
        flush=True,
    )

    soak = Soak(daemons, source, clean_overhead, options.round_limit_secs)
    results: list[RoundResult] = []
    for index in range(options.rounds):
        plan = plan_round(options.seed, index, size, options.side, options.at)
        result = await run_round(soak, plan, index)
        results.append(result)
        print(round_line(result, options, size), flush=True)
        if result.failure:
            print_failure(result, options)
        if any(daemons.node(side).server.proc.returncode is not None for side in SIDES):
            print("a daemon is not running; the soak stops here", file=sys.stderr)
            break

    await asyncio.to_thread(empty_dir, inbox)
    summary = summarize(results, options, size)
    print_summary(summary, options)
    return {
        "parameters": asdict(options)
        | {
            "daemon_settings": daemon_settings("bench-*", Path("<disk>/inbox"), None),
            "edge_share": EDGE_SHARE,
            "reproduce": "--seed S --rounds R replays rounds 0..R-1; --side/--at force a kill",
        },
        "code": code,
        "clean_transfer": {
            "seconds": clean_seconds,
            "mb_per_s": size / clean_seconds / 1e6,
            "receiver_overhead_bytes": clean_overhead,
        },
        "summary": summary,
        "rounds": [asdict(r) | {"ok": r.ok} for r in results],
        "environment": environment(),
    }


def _content_hash(path: Path) -> str:
    with open(path, "rb") as file:
        return content_hash_of(file.fileno())


def round_line(result: RoundResult, options: Options, size: int) -> str:
    plan = Plan(result.side, result.point, result.target_bytes)
    parts = [f"round {result.index + 1}/{options.rounds}: {plan.describe()}"]
    if result.written_at_kill is not None:
        parts.append(f"killed with {result.written_at_kill / MIB:.1f} MiB written")
    if result.kill_to_ready_s is not None:
        parts.append(f"restart {result.kill_to_ready_s:.2f} s")
    if result.ready_to_resume_s is not None:
        parts.append(f"resumed after {result.ready_to_resume_s:.2f} s ({result.resume_kind})")
    if result.ready_to_complete_s is not None:
        parts.append(f"completed after {result.ready_to_complete_s:.2f} s")
    if result.resent_bytes is not None:
        parts.append(f"sent again {result.resent_bytes / MIB:.1f} MiB")
    parts.append("ok" if result.ok else f"FAILED ({result.failure.splitlines()[0]})")
    return ", ".join(parts)


def print_failure(result: RoundResult, options: Options) -> None:
    """The failure with both sides' record of the transfer and their last log lines, and how
    to replay the round's kill."""
    at = result.point if result.point != "offset" else str(result.target_bytes // MIB)
    print(
        f"  round {result.index + 1} failed: {result.failure}\n"
        f"  replay this kill: .venv/bin/python bench/transfer_soak.py --size-mib "
        f"{options.size_mib} --side {result.side} --at {at} --rounds 10 (seed {options.seed}, "
        f"round {result.index})",
        file=sys.stderr,
    )


def summarize(results: list[RoundResult], options: Options, size: int) -> dict[str, Any]:
    killed = [r for r in results if r.killed]
    per_side: dict[str, Any] = {}
    for side in ("all", *SIDES):
        rounds = [r for r in killed if side in ("all", r.side)]
        resent = [r.resent_bytes for r in rounds if r.resent_bytes is not None]
        per_side[side] = {
            "kills": len(rounds),
            "completed": sum(r.completed for r in rounds),
            "restart_ms": summarize_ms([r.kill_to_ready_s for r in rounds if r.kill_to_ready_s]),
            "resume_ms": summarize_ms(
                [r.ready_to_resume_s for r in rounds if r.ready_to_resume_s is not None]
            ),
            "complete_ms": summarize_ms(
                [r.ready_to_complete_s for r in rounds if r.ready_to_complete_s is not None]
            ),
            "resent_bytes": sum(resent),
            "resent_per_kill_file_sizes": (
                sum(resent) / len(resent) / size if resent else math.nan
            ),
            "resent_max_file_sizes": max(resent) / size if resent else math.nan,
        }
    points: dict[str, int] = {}
    for r in killed:
        points[r.point] = points.get(r.point, 0) + 1
    return {
        "rounds": options.rounds,
        "rounds_run": len(results),
        "rounds_ok": sum(r.ok for r in results),
        "completed": sum(r.completed for r in results),
        "hashes_equal": sum(r.hashes_equal and r.sha256_equal for r in results),
        "partial_files_at_kill": sum(len(r.partial_at_kill) for r in results),
        "partial_files_at_end": sum(len(r.partial_at_end) for r in results),
        "part_files_left": sum(len(r.parts_left) for r in results),
        "extra_final_files": sum(max(0, len(r.final_files) - 1) for r in results),
        "kills_by_point": points,
        "by_side": per_side,
        "failed_rounds": [r.index for r in results if not r.ok],
    }


def print_summary(summary: dict[str, Any], options: Options) -> None:
    rows = []
    for side, figures in summary["by_side"].items():
        rows.append(
            [
                side,
                str(figures["kills"]),
                str(figures["completed"]),
                fmt(figures["restart_ms"]["p50"] / 1e3, 2),
                fmt(figures["resume_ms"]["p50"] / 1e3, 2),
                fmt(figures["resume_ms"]["p99"] / 1e3, 2),
                fmt(figures["complete_ms"]["p50"] / 1e3, 2),
                fmt(figures["complete_ms"]["p99"] / 1e3, 2),
                fmt(figures["resent_per_kill_file_sizes"], 3),
                fmt(figures["resent_max_file_sizes"], 3),
            ]
        )
    print_table(
        f"{summary['rounds_run']} rounds of one {options.size_mib} MiB file, one kill -9 each "
        "(times in s after the restarted daemon's banner; sent again in file sizes)",
        [
            "killed",
            "kills",
            "completed",
            "restart p50",
            "resume p50",
            "resume p99",
            "complete p50",
            "complete p99",
            "sent again/kill",
            "max",
        ],
        rows,
    )
    points = ", ".join(f"{k} {v}" for k, v in sorted(summary["kills_by_point"].items()))
    print(f"kill points: {points}")
    print(
        f"completed {summary['completed']}/{summary['rounds']}; hashes equal (content hash both "
        f"sides = source, SHA-256 of the copy = source) {summary['hashes_equal']}/"
        f"{summary['rounds']}; partial files under a final name: "
        f"{summary['partial_files_at_kill']} at kill points, "
        f"{summary['partial_files_at_end']} at round ends; part files left "
        f"{summary['part_files_left']}; extra copies {summary['extra_final_files']}; "
        f"rounds ok {summary['rounds_ok']}/{summary['rounds']}"
    )


async def run_and_stop(options: Options, root: Path, started: list[Node]) -> dict[str, Any]:
    try:
        return await run(options, root, started)
    except BaseException:
        for node in started[-2:]:
            print(f"\n{node.label} daemon's log (last lines):\n{node.log_tail()}", file=sys.stderr)
        raise
    finally:
        for node in started:
            await close_client(node)
        await asyncio.gather(*(node.server.stop() for node in started), return_exceptions=True)
        for node in started:
            if node.socket_dir is not None:
                shutil.rmtree(node.socket_dir, ignore_errors=True)


def keep_logs(started: list[Node]) -> None:
    """Copies both daemons' logs (every incarnation appends to one) next to the results."""
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = utc_stamp()
    for node in {n.server.log_path: n for n in started}.values():
        target = RESULTS_DIR / f"{NAME}-{stamp}-{node.label}.log"
        shutil.copyfile(node.server.log_path, target)
        print(f"{node.label} daemon's log: {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50, help="transfers, one kill each")
    parser.add_argument("--size-mib", type=int, default=256, help="the file sent each round")
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("--side", choices=("random", *SIDES), default="random", help="kill whom")
    parser.add_argument(
        "--at", default="", help=f"kill point: {', '.join(EDGES)} or MiB written (default random)"
    )
    parser.add_argument(
        "--keep-temp", action="store_true", help="keep the daemons' homes and the inbox"
    )
    parser.add_argument(
        "--round-limit-secs",
        type=float,
        default=ROUND_LIMIT_SECS,
        help="the longest a round waits for its kill point, and for completion after the restart",
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.size_mib < 1:
        parser.error("--rounds and --size-mib must be at least 1")
    at_mib = args.at.isdigit() and 1 <= int(args.at) < args.size_mib
    if args.at and args.at not in EDGES and not at_mib:
        parser.error(f"--at takes {', '.join(EDGES)} or MiB from 1 to --size-mib - 1")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    options = Options(args.rounds, args.size_mib, seed, args.side, args.at, args.round_limit_secs)
    root = disk_temp_dir(TEMP_PREFIX)
    started: list[Node] = []
    failed = True
    try:
        result = asyncio.run(run_and_stop(options, root, started))
        failed = bool(result["summary"]["failed_rounds"])
    finally:
        if failed and started:
            keep_logs(started)
        if args.keep_temp:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    path = write_result(NAME, finite(result))
    print(f"\nresult: {path}")
    if failed:
        sys.exit(1)  # a defect was found: scripts running the soak should not miss it


if __name__ == "__main__":
    main()
