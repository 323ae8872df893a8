"""File transfer between two daemons on loopback, against other ways to copy the same data.

Two `kizuna daemon` processes (sender A, receiver B) on fresh homes on the real disk, mDNS off,
peer links on 127.0.0.1 (mutual TLS), paired through their APIs the way two people would; B
gives A auto-accept, so no human step is timed. B's inbox (`transfers.inbox`) is a folder on the
real disk. The engine always verifies every chunk's SHA-256 and every file's content hash and
fsyncs before a file gets its name.

Between runs the previous copy is set aside (the disk synced) or, for one large file, removed.
Copies of many small files, Kizuna's and every baseline's, are kept until the data set's last
run: ext4 does not hand out an inode freed in the last minute or so, and creating a file next
to thousands of just-deleted ones costs every tool several times more kernel time (measured
here: `recently_deleted` in inode allocation took a third of the receiver's samples), which no
user's transfer pays.

1. One large file (`--size-mib`, 1024): Kizuna's MB/s, from the CreateTransfer call
   (`transfer_file`) until the sender's handle reports completed (the receiver has verified,
   fsynced, renamed and told the sender), median of `--runs` (3). In the same runs, the
   baselines of bench/transfer_baselines.py: raw TLS, raw TLS + SHA-256, scp with
   aes128-gcm@openssh.com and with the default cipher, rsync over ssh, tar through a socket,
   cp -r + sync. The received file's SHA-256 is checked against the source once per run, untimed.
2. `--small-files` (1000) files of 100 KiB in one folder: the same, also in ms per file.
3. RSS of both daemons during one `--rss-gib` (4) GiB transfer, VmRSS sampled every 0.2 s:
   start, max, end (0 skips it).
4. `--concurrent 8x128,48x16` (not in the default run): each set's files, every one its own
   transfer, all offered at the same moment, against the same files one transfer at a time (the
   next once both sides reported the last completed); `--runs` rounds alternating which goes
   first. Aggregate MB/s from the first CreateTransfer call until the last transfer_completed
   event of both sides, their ratio, and the receiver's peak RSS (VmHWM reset just before each,
   and VmRSS sampled every 0.2 s), threads and transfers queued.
5. `--profile`: py-spy records the receiving daemon (`--profile-side sender`: the sending one)
   during one large-file transfer; prints the top functions by own time.

Run: `.venv/bin/python bench/transfer.py [--size-mib N] [--small-files N] [--rss-gib N]
[--runs N] [--compression auto|none] [--profile [--profile-side sender]]
[--baselines all|none|NAME,...] [--concurrent COUNTxMIB,...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

from bench._common import (
    BANNER_LAST_LINE,
    RESULTS_DIR,
    BenchError,
    ServerProcess,
    cpu_seconds,
    daemon_argv,
    environment,
    finite,
    fmt,
    fmt_ratio,
    launch,
    print_table,
    ratio,
    read_rss_kib,
    reset_peak_rss,
    short_temp_dir,
    thread_count,
    utc_stamp,
    write_result,
)
from bench.transfer_baselines import (
    SCP_FAST_CIPHER,
    Baseline,
    LocalSshd,
    LocalWormhole,
    copied_path,
    cp_sync_copy,
    disk_temp_dir,
    file_sizes,
    local_sshd,
    local_wormhole,
    raw_tls_copy,
    raw_tls_copy_hashed,
    rsync_ssh_copy,
    scp_copy,
    tar_socket_copy,
    tools_available,
    warm_up,
    wormhole_copy,
)
from kizuna_client import Kizuna, KizunaError, TransferHandle
from kizuna_client.errors import LimitExceededError
from kizuna_client.types import EventGap, KizunaEvent, PairingInfo

NAME = "transfer"
MIB = 1024 * 1024
SMALL_FILE_BYTES = 100 * 1024
TEMP_PREFIX = "kzt-"
#: The longest one Kizuna transfer may take before the benchmark gives up (and shows logs).
TRANSFER_LIMIT_SECS = 900.0
#: Pairing, links coming up, events arriving after the handle reported completion.
STEP_LIMIT_SECS = 30.0
POLL_SECS = 0.02
RSS_INTERVAL_SECS = 0.2
#: Rows of the profile's table.
PROFILE_TOP = 15
#: AF_UNIX socket paths are limited to 107 bytes.
MAX_SOCKET_PATH = 100


# --- test data -----------------------------------------------------------------------------------


def write_random(path: Path, size: int, rng: random.Random) -> None:
    with open(path, "wb", buffering=0) as f:
        remaining = size
        while remaining:
            n = min(MIB, remaining)
            f.write(rng.randbytes(n))
            remaining -= n


def sync_fs(path: Path) -> None:
    subprocess.run(["sync", "-f", str(path)], check=True, timeout=600)


def make_large(root: Path, size: int, name: str, seed: int) -> Path:
    path = root / name
    write_random(path, size, random.Random(seed))
    sync_fs(root)
    return path


def make_small(root: Path, count: int) -> Path:
    folder = root / "small"
    folder.mkdir()
    rng = random.Random(2)
    for i in range(count):
        write_random(folder / f"f{i:05d}.bin", SMALL_FILE_BYTES, rng)
    sync_fs(root)
    return folder


def sha256_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while data := f.read(MIB):
            hasher.update(data)
    return hasher.hexdigest()


def tree_hashes(src: Path) -> dict[str, str]:
    """SHA-256 of every regular file of `src`, by its path relative to `src.parent`."""
    return {rel: sha256_file(src.parent / rel) for rel in file_sizes(src)}


def set_aside(inbox: Path, keep: bool) -> None:
    """Moves what `inbox` holds into `inbox/.kept/` (keep) or removes it, then syncs."""
    kept = inbox / ".kept"
    for child in inbox.iterdir():
        if child == kept:
            continue
        if keep:
            kept.mkdir(exist_ok=True)
            child.rename(kept / f"{len(list(kept.iterdir()))}-{child.name}")
        elif child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    sync_fs(inbox)


def empty_dir(path: Path) -> None:
    """Removes everything inside `path` (hidden part files too) and syncs the disk."""
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    sync_fs(path)


# --- daemons -------------------------------------------------------------------------------------


class Completions:
    """Final transfer events of one daemon, with the time (perf_counter) they arrived here."""

    TYPES: ClassVar[tuple[str, ...]] = (
        "transfer_completed",
        "transfer_failed",
        "transfer_cancelled",
    )

    def __init__(self, api: Kizuna) -> None:
        self.seen: dict[str, tuple[float, str]] = {}
        self.gaps = 0
        self._subscription = api.subscribe_events(types=self.TYPES)
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await asyncio.wait_for(self._subscription.started(), STEP_LIMIT_SECS)
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        async for event in self._subscription:
            now = time.perf_counter()
            if isinstance(event, EventGap):
                self.gaps += 1
                continue
            assert isinstance(event, KizunaEvent)
            kind = event.message.WhichOneof("payload") or ""
            transfer_id = getattr(event.message, kind).transfer.id
            self.seen.setdefault(transfer_id, (now, event.type))
            self._changed.set()

    async def wait_for(self, transfer_id: str, limit: float = STEP_LIMIT_SECS) -> tuple[float, str]:
        deadline = time.perf_counter() + limit
        while transfer_id not in self.seen:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError(f"no final event for transfer {transfer_id} in {limit:.0f}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.seen[transfer_id]

    async def close(self) -> None:
        await self._subscription.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


@dataclass
class Node:
    """One daemon process and a client connected to it."""

    label: str
    home: Path
    server: ServerProcess
    api: Kizuna
    device_id: str
    link_port: int
    events: Completions
    socket_dir: Path | None  # outside the home when its path would be too long for AF_UNIX

    @property
    def pid(self) -> int:
        return self.server.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.server.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = []
        return "\n".join(f"  {self.label} | {line}" for line in text)


@dataclass
class Pair:
    sender: Node
    receiver: Node
    inbox: Path


def daemon_settings(name: str, inbox: Path, socket_path: Path | None) -> dict[str, str]:
    settings = {
        "identity.device_name": name,
        "discovery.enable_mdns": "false",
        "networking.listen_address": "127.0.0.1",
        "networking.listen_port": "0",
        "transfers.inbox": str(inbox),
        "transfers.free_space_reserve_mib": "64",
    }
    if socket_path is not None:
        settings["api.socket_path"] = str(socket_path)
    return settings


async def start_node(label: str, home: Path, inbox: Path, nodes: list[Node]) -> Node:
    """Starts `kizuna daemon` on `home` (on the real disk) and connects a client to it."""
    await asyncio.to_thread(home.mkdir)
    socket_path = home / "run" / "kizuna.sock"
    own_socket: Path | None = None
    own_socket_dir: Path | None = None
    if len(str(socket_path)) > MAX_SOCKET_PATH:
        own_socket_dir = short_temp_dir(TEMP_PREFIX)
        socket_path = own_socket = own_socket_dir / "kizuna.sock"
    server = await launch(
        daemon_argv(home, daemon_settings(f"bench-{label}", inbox, own_socket)),
        socket_path=socket_path,
        log_path=home / "daemon.log",
    )
    try:
        await server.wait_for_line(lambda line: line.startswith(BANNER_LAST_LINE))
        port = banner_link_port(server)
        api = Kizuna(target=server.target)
        await api.connect()
    except BaseException:
        await server.stop()
        raise
    events = Completions(api)
    device_id = (await api.node()).device_id
    node = Node(label, home, server, api, device_id, port, events, own_socket_dir)
    nodes.append(node)
    await events.start()
    return node


def banner_link_port(server: ServerProcess) -> int:
    """The peer link port from the banner ("  peers      link port N, pairing port M")."""
    for line in server.lines:
        if match := re.search(r"link port (\d+)", line):
            return int(match[1])
    raise BenchError(f"pid {server.pid}: no link port in the banner{server.tail()}")


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.perf_counter() + STEP_LIMIT_SECS
    while not await check():
        if time.perf_counter() > deadline:
            raise BenchError(f"{what}: not reached within {STEP_LIMIT_SECS:.0f}s")
        await asyncio.sleep(POLL_SECS)


async def pair_nodes(a: Node, b: Node) -> None:
    """A adds B's address, asks to pair, both confirm the code; B lets A's files in without a
    question (auto-accept); both links up."""
    await a.api.add_peer(f"127.0.0.1:{b.link_port}", persist=False)
    asked = await a.api.request_pairing(b.device_id)
    incoming: list[PairingInfo] = []

    async def shown() -> bool:
        incoming[:] = [p for p in await b.api.pairings() if p.direction == "incoming" and p.code]
        return bool(incoming)

    await until("B shows the pairing", shown)
    if incoming[0].code != asked.code:
        raise BenchError(f"codes differ: {asked.code!r} and {incoming[0].code!r}")
    await a.api.confirm_pairing(asked.id)
    await b.api.confirm_pairing(incoming[0].id, code=asked.code)

    async def linked() -> bool:
        ab, ba = await a.api.peer(b.device_id), await b.api.peer(a.device_id)
        return ab.trusted and ba.trusted and ab.connected and ba.connected

    await until("both trust each other with links up", linked)
    info = await b.api.set_peer_permissions(a.device_id, files=True, auto_accept_files=True)
    if not info.permissions.auto_accept_files:
        raise BenchError("the receiver did not record auto-accept for the sender")


# --- Kizuna's copy -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KizunaRun:
    """One timed transfer; times from the CreateTransfer call, in seconds."""

    transfer_id: str
    seconds: float  # until the sender's handle reported completed
    receiver_event_s: float  # the receiver's transfer_completed event arrived here
    sender_event_s: float  # the sender's transfer_completed event arrived here
    sender_cpu_s: float  # CPU time (user + system) the daemons used until the handle's end
    receiver_cpu_s: float
    bytes: int
    files: int
    verified: bool

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6


async def transfer_once(
    pair: Pair, src: Path, compression: str, *, check: dict[str, str] | None
) -> KizunaRun:
    """Clears the way in the inbox (set_aside), sends `src`, waits for the sender's handle; then
    (untimed) the final events of both sides, and the received files' SHA-256 against `check`
    if given."""
    sizes = file_sizes(src)
    await asyncio.to_thread(set_aside, pair.inbox, len(sizes) > 1)
    sender, receiver = pair.sender, pair.receiver
    cpu_before = [cpu_seconds(sender.pid), cpu_seconds(receiver.pid)]
    start = time.perf_counter()
    handle = await sender.api.transfer_file(src, receiver.device_id, compression=compression)
    try:
        info = await asyncio.wait_for(handle.wait(), TRANSFER_LIMIT_SECS)
    except TimeoutError:
        raise BenchError(
            f"transfer {handle.id} did not end in {TRANSFER_LIMIT_SECS:.0f}s: "
            f"{await describe(pair, handle.id)}"
        ) from None
    except KizunaError as exc:
        raise BenchError(
            f"transfer {handle.id} failed: {type(exc).__name__}: {exc} "
            f"{await describe(pair, handle.id)}"
        ) from exc
    end = time.perf_counter()
    cpu = [cpu_seconds(sender.pid) - cpu_before[0], cpu_seconds(receiver.pid) - cpu_before[1]]
    if info.state != "completed":
        raise BenchError(f"transfer {handle.id} ended {info.state}: {info.error}")
    received_at, received_kind = await receiver.events.wait_for(handle.id)
    sent_at, sent_kind = await sender.events.wait_for(handle.id)
    if (received_kind, sent_kind) != ("transfer_completed", "transfer_completed"):
        raise BenchError(f"transfer {handle.id}: final events {received_kind}, {sent_kind}")
    copy = copied_path(src, pair.inbox)
    got = await asyncio.to_thread(file_sizes, copy) if copy.exists() else {}
    if got != sizes:
        raise BenchError(f"transfer {handle.id}: {copy} does not hold the files sent")
    verified = False
    if check is not None:
        hashes = await asyncio.to_thread(tree_hashes, copy)
        if hashes != check:
            bad = sorted(k for k in check if hashes.get(k) != check[k])[:3]
            raise BenchError(f"transfer {handle.id}: SHA-256 differs for {bad}")
        verified = True
    return KizunaRun(
        transfer_id=handle.id,
        seconds=end - start,
        receiver_event_s=received_at - start,
        sender_event_s=sent_at - start,
        sender_cpu_s=cpu[0],
        receiver_cpu_s=cpu[1],
        bytes=sum(sizes.values()),
        files=len(sizes),
        verified=verified,
    )


async def describe(pair: Pair, transfer_id: str) -> str:
    """Both sides' record of a transfer and their logs, for an error message."""
    parts = []
    for node in (pair.sender, pair.receiver):
        try:
            record = await node.api.transfer(transfer_id).refresh()
            parts.append(
                f"\n{node.label}: state {record.state}, {record.bytes_done}/{record.total_bytes} "
                f"bytes, {record.files_done}/{record.total_files} files, error {record.error!r}"
            )
        except (KizunaError, OSError) as exc:
            parts.append(f"\n{node.label}: GetTransfer failed: {exc}")
    parts += [f"\n{node.log_tail()}" for node in (pair.sender, pair.receiver)]
    return "".join(parts)


# --- one data set against the baselines ---------------------------------------------------------

BaselineRun = Callable[[Path, Path], Baseline | None]
BASELINES: Final = (
    "raw TLS",
    "raw TLS + SHA-256",
    "scp aes128-gcm",
    "scp default",
    "rsync over ssh",
    "magic-wormhole",
    "tar through a socket",
    "cp -r + sync",
)


def baseline_plan(
    sshd: LocalSshd | None, hole: LocalWormhole | None, wanted: Sequence[str] | None = None
) -> list[tuple[str, BaselineRun]]:
    """The baselines to time, in order (only `wanted` ones if given); those whose tools are
    missing are left out."""
    tools = tools_available()
    plan: list[tuple[str, BaselineRun]] = [
        ("raw TLS", raw_tls_copy),
        ("raw TLS + SHA-256", raw_tls_copy_hashed),
    ]
    if sshd is not None and tools["scp"]:
        ssh = sshd
        plan.append(("scp aes128-gcm", lambda s, d: scp_copy(s, d, ssh, SCP_FAST_CIPHER)))
        plan.append(("scp default", lambda s, d: scp_copy(s, d, ssh)))
    if sshd is not None and tools["rsync"]:
        ssh = sshd
        plan.append(("rsync over ssh", lambda s, d: rsync_ssh_copy(s, d, ssh)))
    if hole is not None:
        local = hole
        plan.append(("magic-wormhole", lambda s, d: wormhole_copy(s, d, local)))
    if tools["tar"]:
        plan.append(("tar through a socket", tar_socket_copy))
    plan.append(("cp -r + sync", cp_sync_copy))
    return [item for item in plan if wanted is None or item[0] in wanted]


@dataclass
class DataSetResult:
    label: str
    bytes: int
    files: int
    kizuna: list[KizunaRun] = field(default_factory=list)
    baselines: dict[str, list[Baseline]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


async def measure(
    label: str,
    pair: Pair,
    src: Path,
    *,
    dst: Path,
    plan: Sequence[tuple[str, BaselineRun]],
    runs: int,
    compression: str,
) -> DataSetResult:
    """warm_up, then `runs` rounds of: Kizuna, then every baseline once."""
    sizes = file_sizes(src)
    result = DataSetResult(label, sum(sizes.values()), len(sizes))
    check = await asyncio.to_thread(tree_hashes, src)
    await asyncio.to_thread(warm_up, src, dst)
    keep = result.files > 1  # see the module's docstring
    for index in range(runs):
        run = await transfer_once(pair, src, compression, check=check)
        result.kizuna.append(run)
        line = [f"Kizuna {run.mb_per_s:.0f}"]
        if not keep:
            await asyncio.to_thread(empty_dir, pair.inbox)  # frees the disk space, untimed
        for number, (key, copy) in enumerate(plan):
            target = dst / f"{index}-{number}" if keep else dst
            try:
                baseline = await asyncio.to_thread(copy, src, target)
            except (BenchError, OSError, subprocess.SubprocessError) as exc:
                result.failures.append(f"run {index + 1}, {key}: {exc}")
                print(f"note: {key} failed: {exc}", file=sys.stderr)
                continue
            if baseline is not None:
                result.baselines.setdefault(baseline.name, []).append(baseline)
                line.append(f"{key} {baseline.mb_per_s:.0f}")
        if not keep:
            await asyncio.to_thread(empty_dir, dst)
        print(f"  {label}, run {index + 1}/{runs} (MB/s): {', '.join(line)}", flush=True)
    await asyncio.to_thread(empty_dir, pair.inbox)
    await asyncio.to_thread(empty_dir, dst)
    return result


def summarize(result: DataSetResult) -> dict[str, Any]:
    """Medians over the runs, and Kizuna's MB/s against each baseline's."""
    mb_per_s = statistics.median(r.mb_per_s for r in result.kizuna)
    seconds = statistics.median(r.seconds for r in result.kizuna)
    receiver_s = statistics.median(r.receiver_event_s for r in result.kizuna)
    kizuna = {
        "mb_per_s": mb_per_s,
        "seconds": seconds,
        "ms_per_file": seconds / result.files * 1e3,
        "receiver_event_seconds": receiver_s,
        "receiver_event_mb_per_s": result.bytes / receiver_s / 1e6,
        "sender_event_seconds": statistics.median(r.sender_event_s for r in result.kizuna),
        "sender_cpu_seconds": statistics.median(r.sender_cpu_s for r in result.kizuna),
        "receiver_cpu_seconds": statistics.median(r.receiver_cpu_s for r in result.kizuna),
        "runs": [asdict(r) | {"mb_per_s": r.mb_per_s} for r in result.kizuna],
    }
    baselines = {}
    for name, runs in result.baselines.items():
        seconds = statistics.median(b.seconds for b in runs)
        mb_s = statistics.median(b.mb_per_s for b in runs)
        baselines[name] = {
            "mb_per_s": mb_s,
            "seconds": seconds,
            "ms_per_file": seconds / result.files * 1e3,
            "runs": [b.seconds for b in runs],
            "kizuna_ratio": ratio(mb_per_s, mb_s),
        }
    return {
        "bytes": result.bytes,
        "files": result.files,
        "kizuna": kizuna,
        "baselines": baselines,
        "failures": result.failures,
    }


def print_data_set(title: str, summary: dict[str, Any], *, per_file: bool) -> None:
    kizuna = summary["kizuna"]
    headers = ["copy", "MB/s", "seconds"]
    if per_file:
        headers.append("ms/file")
    headers.append("Kizuna / this")

    def row(name: str, mb_s: float, seconds: float, share: float) -> list[str]:
        cells = [name, fmt(mb_s, 0), fmt(seconds, 3)]
        if per_file:
            cells.append(fmt(seconds / summary["files"] * 1e3, 3))
        return [*cells, fmt_ratio(share)]

    rows = [
        row(
            "Kizuna (until the sender's handle: completed)",
            kizuna["mb_per_s"],
            kizuna["seconds"],
            1.0,
        ),
        row(
            "  Kizuna, until the receiver's completed event",
            kizuna["receiver_event_mb_per_s"],
            kizuna["receiver_event_seconds"],
            math.nan,
        ),
        row(
            "  Kizuna, until the sender's completed event",
            summary["bytes"] / kizuna["sender_event_seconds"] / 1e6,
            kizuna["sender_event_seconds"],
            math.nan,
        ),
    ]
    for name, b in summary["baselines"].items():
        rows.append(row(name, b["mb_per_s"], b["seconds"], b["kizuna_ratio"]))
    print_table(title, headers, rows)
    cores = os.cpu_count() or 1
    wall = kizuna["seconds"]
    sender_cpu, receiver_cpu = kizuna["sender_cpu_seconds"], kizuna["receiver_cpu_seconds"]
    print(
        f"Kizuna's CPU time (median): sender {sender_cpu:.2f} s ({100 * sender_cpu / wall:.0f}% "
        f"of a core), receiver {receiver_cpu:.2f} s ({100 * receiver_cpu / wall:.0f}%); "
        f"together {100 * (sender_cpu + receiver_cpu) / wall / cores:.0f}% of the {cores} "
        "cores while it ran"
    )


# --- RSS during a long transfer ------------------------------------------------------------------


async def rss_during_transfer(pair: Pair, src: Path, compression: str) -> dict[str, Any]:
    """VmRSS of both daemons every 0.2 s during one transfer of `src`; start, max, end."""
    nodes = (pair.sender, pair.receiver)
    samples: list[tuple[float, int, int]] = []
    check = {src.name: await asyncio.to_thread(sha256_file, src)}
    await asyncio.to_thread(empty_dir, pair.inbox)
    idle = [read_rss_kib(n.pid) for n in nodes]
    stop = asyncio.Event()

    async def sample() -> None:
        begin = time.perf_counter()
        tick = 0
        while not stop.is_set():
            samples.append(
                (
                    time.perf_counter() - begin,
                    read_rss_kib(nodes[0].pid),
                    read_rss_kib(nodes[1].pid),
                )
            )
            tick += 1
            delay = begin + tick * RSS_INTERVAL_SECS - time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, delay))

    sampler = asyncio.get_running_loop().create_task(sample())
    try:
        run = await transfer_once(pair, src, compression, check=None)
        end = [read_rss_kib(n.pid) for n in nodes]
    finally:
        stop.set()
        await sampler
    verified = await asyncio.to_thread(tree_hashes, copied_path(src, pair.inbox)) == check
    if not verified:
        raise BenchError(f"transfer {run.transfer_id}: the received file's SHA-256 differs")
    await asyncio.to_thread(empty_dir, pair.inbox)
    per_daemon = {}
    for i, node in enumerate(nodes):
        series = [s[1 + i] for s in samples]
        per_daemon[node.label] = {
            "pid": node.pid,
            "idle_before_mib": idle[i] / 1024,
            "start_mib": series[0] / 1024,
            "max_mib": max([*series, end[i]]) / 1024,
            "end_mib": end[i] / 1024,
            "vm_hwm_mib": read_rss_kib(node.pid, "VmHWM") / 1024,
        }
    return {
        "bytes": run.bytes,
        "seconds": run.seconds,
        "mb_per_s": run.mb_per_s,
        "sender_cpu_seconds": run.sender_cpu_s,
        "receiver_cpu_seconds": run.receiver_cpu_s,
        "verified": verified,
        "interval_secs": RSS_INTERVAL_SECS,
        "samples": len(samples),
        "daemons": per_daemon,
        "series_kib": [list(s) for s in samples],
    }


def print_rss(summary: dict[str, Any], gib: int) -> None:
    rows = [
        [
            f"{label} (pid {d['pid']})",
            fmt(d["start_mib"], 1),
            fmt(d["max_mib"], 1),
            fmt(d["end_mib"], 1),
            fmt(d["vm_hwm_mib"], 1),
        ]
        for label, d in summary["daemons"].items()
    ]
    print_table(
        f"RSS during one {gib} GiB transfer ({summary['mb_per_s']:.0f} MB/s, "
        f"{summary['samples']} samples every {RSS_INTERVAL_SECS} s; MiB)",
        ["daemon", "start", "max", "end", "VmHWM (life)"],
        rows,
    )
    print(
        f"CPU time during it: sender {summary['sender_cpu_seconds']:.1f} s, receiver "
        f"{summary['receiver_cpu_seconds']:.1f} s, in {summary['seconds']:.1f} s"
    )


# --- many transfers at once ----------------------------------------------------------------------


@dataclass(frozen=True)
class FileGroup:
    """`count` files of `mib` MiB, each sent as a transfer of its own."""

    count: int
    mib: int

    @property
    def label(self) -> str:
        return f"{self.count}x{self.mib}"


def parse_concurrent(text: str) -> list[tuple[FileGroup, ...]]:
    """`--concurrent`'s sets: "8x128,48x16" is two sets measured one after the other (8 files of
    128 MiB, then 48 of 16 MiB); "8x128+48x16" is one set of those 56 files. Raises ValueError."""
    sets = []
    for part in text.split(","):
        if not part.strip():
            continue
        groups = []
        for item in part.split("+"):
            count, x, mib = item.strip().lower().partition("x")
            if not (x and count.isdigit() and mib.isdigit() and int(count) and int(mib)):
                raise ValueError(f"{item.strip()!r} is not COUNTxMIB (both at least 1)")
            groups.append(FileGroup(int(count), int(mib)))
        sets.append(tuple(groups))
    return sets


def set_label(groups: Sequence[FileGroup]) -> str:
    return "+".join(group.label for group in groups)


def make_many(root: Path, groups: Sequence[FileGroup], seed: int) -> list[Path]:
    """The files of one set, in a folder of their own (distinct random contents)."""
    folder = root / f"many-{set_label(groups)}"
    folder.mkdir()
    rng = random.Random(seed)
    files = []
    for group in groups:
        for i in range(group.count):
            path = folder / f"{group.mib}m-{i:03d}.bin"
            write_random(path, group.mib * MIB, rng)
            files.append(path)
    sync_fs(root)
    return files


class Queued(Completions):
    """The transfers a daemon reported queued (`transfer_queued`), with the time it arrived."""

    TYPES: ClassVar[tuple[str, ...]] = ("transfer_queued",)


@dataclass(frozen=True)
class ManyRun:
    """One set sent at once or one transfer at a time; seconds from the first CreateTransfer
    call until the last transfer's transfer_completed events of both sides arrived here."""

    mode: str  # "at once" or "one at a time"
    seconds: float
    receiver_last_event_s: float  # the last transfer_completed event of the receiver
    bytes: int
    transfers: int
    queued: int  # transfers the receiver reported queued
    refused: int  # offers the receiver refused (LIMIT_EXCEEDED) and the bench made again
    refused_limits: tuple[str, ...]  # the limits they named
    hwm_reset: bool  # False: VmHWM could not be reset, its figures are the daemons' lifetime peaks
    receiver_idle_mib: float  # VmRSS just before
    receiver_peak_mib: float  # VmHWM since just before (reset then)
    receiver_sampled_max_mib: float  # VmRSS sampled every RSS_INTERVAL_SECS
    receiver_end_mib: float  # VmRSS once the last completed event arrived
    receiver_threads_idle: int
    receiver_threads_max: int  # sampled, like VmRSS
    sender_idle_mib: float
    sender_peak_mib: float
    sender_cpu_s: float
    receiver_cpu_s: float
    samples: int

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6


class ProcessSamples:
    """VmRSS and thread count of some processes every RSS_INTERVAL_SECS, until `stop`."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self.rss_kib: list[list[int]] = [[] for _ in self.pids]
        self.threads: list[list[int]] = [[] for _ in self.pids]
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        begin = time.perf_counter()
        tick = 0
        while not self._stop.is_set():
            for i, pid in enumerate(self.pids):
                self.rss_kib[i].append(read_rss_kib(pid))
                self.threads[i].append(thread_count(pid))
            tick += 1
            delay = begin + tick * RSS_INTERVAL_SECS - time.perf_counter()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), max(0.0, delay))

    async def stop(self) -> None:
        self._stop.set()
        await self._task


async def both_completed(pair: Pair, transfer_id: str) -> tuple[float, float]:
    """When the receiver's and the sender's transfer_completed events for it arrived here."""
    try:
        received_at, received_kind = await pair.receiver.events.wait_for(
            transfer_id, TRANSFER_LIMIT_SECS
        )
        sent_at, sent_kind = await pair.sender.events.wait_for(transfer_id, STEP_LIMIT_SECS)
    except BenchError as exc:
        raise BenchError(f"{exc}: {await describe(pair, transfer_id)}") from None
    if (received_kind, sent_kind) != ("transfer_completed", "transfer_completed"):
        raise BenchError(
            f"transfer {transfer_id}: final events {received_kind}, {sent_kind}"
            f"{await describe(pair, transfer_id)}"
        )
    return received_at, sent_at


async def offer_until_admitted(
    pair: Pair, compression: str, refusals: list[str], path: Path
) -> TransferHandle:
    """CreateTransfer for `path`; an offer the receiver refuses for a limit is made again
    every POLL_SECS (for STEP_LIMIT_SECS at most), each refusal noted in `refusals`.

    An auto-accepting receiver counts an offer as waiting for an answer until its accept has
    run, so a burst of offers beyond transfers.max_pending_offers_per_peer (8) is refused
    in part; a user's script would have to do the same."""
    deadline = time.perf_counter() + STEP_LIMIT_SECS
    while True:
        try:
            return await pair.sender.api.transfer_file(
                path, pair.receiver.device_id, compression=compression
            )
        except LimitExceededError as exc:
            refusals.append(exc.metadata.get("limit") or str(exc))
            if time.perf_counter() > deadline:
                raise BenchError(f"{path.name}: refused for {STEP_LIMIT_SECS:.0f}s: {exc}") from exc
            await asyncio.sleep(POLL_SECS)


async def send_many(
    pair: Pair, files: Sequence[Path], compression: str, *, at_once: bool
) -> ManyRun:
    """Sends every file of `files` as its own transfer, all at once or one after the other
    (the next once both sides reported the last completed); RSS and threads sampled meanwhile."""
    sender, receiver = pair.sender, pair.receiver
    total = sum(path.stat().st_size for path in files)
    await asyncio.to_thread(empty_dir, pair.inbox)
    queued = Queued(receiver.api)
    await queued.start()
    refusals: list[str] = []
    try:
        idle = [read_rss_kib(sender.pid), read_rss_kib(receiver.pid)]
        threads_idle = thread_count(receiver.pid)
        hwm_reset = True
        try:
            for pid in (sender.pid, receiver.pid):
                reset_peak_rss(pid)
        except OSError as exc:
            hwm_reset = False
            print(f"note: VmHWM not reset ({exc}); its figures are lifetime peaks", flush=True)
        cpu_before = [cpu_seconds(sender.pid), cpu_seconds(receiver.pid)]
        samples = ProcessSamples([sender.pid, receiver.pid])
        try:
            start = time.perf_counter()
            send = functools.partial(offer_until_admitted, pair, compression, refusals)
            if at_once:
                handles = await asyncio.gather(*(send(path) for path in files))
                ends = await asyncio.gather(*(both_completed(pair, h.id) for h in handles))
            else:
                ends = [await both_completed(pair, (await send(path)).id) for path in files]
            end_rss = read_rss_kib(receiver.pid)
        finally:
            await samples.stop()
        cpu = [cpu_seconds(sender.pid) - cpu_before[0], cpu_seconds(receiver.pid) - cpu_before[1]]
        peaks = [read_rss_kib(sender.pid, "VmHWM"), read_rss_kib(receiver.pid, "VmHWM")]
    finally:
        await queued.close()
    return ManyRun(
        mode="at once" if at_once else "one at a time",
        seconds=max(max(end) for end in ends) - start,
        receiver_last_event_s=max(received for received, _ in ends) - start,
        bytes=total,
        transfers=len(files),
        queued=len(queued.seen),
        refused=len(refusals),
        refused_limits=tuple(sorted(set(refusals))),
        hwm_reset=hwm_reset,
        receiver_idle_mib=idle[1] / 1024,
        receiver_peak_mib=peaks[1] / 1024,
        receiver_sampled_max_mib=max([*samples.rss_kib[1], end_rss]) / 1024,
        receiver_end_mib=end_rss / 1024,
        receiver_threads_idle=threads_idle,
        receiver_threads_max=max(samples.threads[1], default=threads_idle),
        sender_idle_mib=idle[0] / 1024,
        sender_peak_mib=peaks[0] / 1024,
        sender_cpu_s=cpu[0],
        receiver_cpu_s=cpu[1],
        samples=len(samples.rss_kib[1]),
    )


def verify_many(inbox: Path, check: dict[str, str]) -> None:
    """Every source's copy in `inbox` has its SHA-256 (untimed)."""
    bad = sorted(name for name, digest in check.items() if sha256_file(inbox / name) != digest)
    if bad:
        raise BenchError(f"SHA-256 differs for {len(bad)} copies, e.g. {bad[:3]}")


async def measure_many(
    pair: Pair,
    groups: Sequence[FileGroup],
    *,
    root: Path,
    dst: Path,
    runs: int,
    seed: int,
    compression: str,
) -> dict[str, Any]:
    """`runs` rounds of the set at once and one at a time (alternating which goes first);
    medians of the times, the largest of the peaks."""
    label = set_label(groups)
    files = await asyncio.to_thread(make_many, root, groups, seed)
    try:
        check = {path.name: await asyncio.to_thread(sha256_file, path) for path in files}
        await asyncio.to_thread(warm_up, files[0].parent, dst)
        by_mode: dict[str, list[ManyRun]] = {"at once": [], "one at a time": []}
        for index in range(runs):
            line = []
            for together in (True, False) if index % 2 == 0 else (False, True):
                run = await send_many(pair, files, compression, at_once=together)
                await asyncio.to_thread(verify_many, pair.inbox, check)
                by_mode[run.mode].append(run)
                line.append(
                    f"{run.mode} {run.mb_per_s:.0f} MB/s, receiver peak "
                    f"{run.receiver_peak_mib:.0f} MiB"
                )
            print(f"  {label}, run {index + 1}/{runs}: {'; '.join(line)}", flush=True)
        await asyncio.to_thread(empty_dir, pair.inbox)
    finally:
        await asyncio.to_thread(shutil.rmtree, files[0].parent)
    modes = {mode: summarize_many(mode_runs) for mode, mode_runs in by_mode.items()}
    at_once, one_by_one = modes["at once"], modes["one at a time"]
    return {
        "set": label,
        "groups": [asdict(group) for group in groups],
        "transfers": len(files),
        "bytes": sum(group.count * group.mib * MIB for group in groups),
        "verified": True,
        **modes,
        "throughput_ratio": ratio(at_once["mb_per_s"], one_by_one["mb_per_s"]),
        "receiver_peak_ratio": ratio(at_once["receiver_peak_mib"], one_by_one["receiver_peak_mib"]),
    }


def summarize_many(runs: Sequence[ManyRun]) -> dict[str, Any]:
    """Medians of the times and idle figures; the largest peaks and thread counts."""
    return {
        "mb_per_s": statistics.median(r.mb_per_s for r in runs),
        "seconds": statistics.median(r.seconds for r in runs),
        "receiver_last_event_seconds": statistics.median(r.receiver_last_event_s for r in runs),
        "queued": max(r.queued for r in runs),
        "refused": max(r.refused for r in runs),
        "refused_limits": sorted({limit for r in runs for limit in r.refused_limits}),
        "receiver_idle_mib": statistics.median(r.receiver_idle_mib for r in runs),
        "receiver_peak_mib": max(r.receiver_peak_mib for r in runs),
        "receiver_sampled_max_mib": max(r.receiver_sampled_max_mib for r in runs),
        "receiver_end_mib": statistics.median(r.receiver_end_mib for r in runs),
        "receiver_threads_idle": min(r.receiver_threads_idle for r in runs),
        "receiver_threads_max": max(r.receiver_threads_max for r in runs),
        "sender_peak_mib": max(r.sender_peak_mib for r in runs),
        "sender_cpu_seconds": statistics.median(r.sender_cpu_s for r in runs),
        "receiver_cpu_seconds": statistics.median(r.receiver_cpu_s for r in runs),
        "hwm_reset": all(r.hwm_reset for r in runs),
        "runs": [asdict(r) | {"mb_per_s": r.mb_per_s} for r in runs],
    }


def print_many(summary: dict[str, Any], runs: int) -> None:
    rows = []
    for mode in ("at once", "one at a time"):
        m = summary[mode]
        rows.append(
            [
                mode,
                fmt(m["mb_per_s"], 0),
                fmt(m["seconds"], 2),
                str(m["queued"]),
                str(m["refused"]),
                f"{fmt(m['receiver_idle_mib'], 1)} -> {fmt(m['receiver_end_mib'], 1)}",
                fmt(m["receiver_peak_mib"], 1),
                fmt(m["receiver_sampled_max_mib"], 1),
                f"{m['receiver_threads_idle']} -> {m['receiver_threads_max']}",
                fmt(m["sender_peak_mib"], 1),
                f"{m['sender_cpu_seconds']:.1f} / {m['receiver_cpu_seconds']:.1f}",
            ]
        )
    print_table(
        f"Many at once: {summary['set']} ({summary['transfers']} transfers, "
        f"{summary['bytes'] / MIB:.0f} MiB; first CreateTransfer until both sides' last "
        f"completed event; median of {runs}, peaks the largest; RSS in MiB)",
        [
            "sent", "MB/s", "seconds", "queued", "refused", "receiver idle -> end",
            "receiver VmHWM", "sampled max", "threads", "sender VmHWM", "CPU s (snd / rcv)",
        ],
        rows,
    )  # fmt: skip
    at_once, one_by_one = summary["at once"], summary["one at a time"]
    print(
        f"at once / one at a time: {fmt_ratio(summary['throughput_ratio'])} MB/s; receiver "
        f"peak {at_once['receiver_peak_mib']:.0f} against {one_by_one['receiver_peak_mib']:.0f} "
        f"MiB ({at_once['receiver_peak_mib'] - one_by_one['receiver_peak_mib']:+.0f})"
    )
    if at_once["refused"]:
        print(
            f"note: the receiver refused up to {at_once['refused']} offers of a run at once "
            f"({', '.join(at_once['refused_limits'])}); the bench offered them again every "
            f"{POLL_SECS * 1e3:.0f} ms, within the timed span"
        )


# --- profile -------------------------------------------------------------------------------------


def py_spy() -> str | None:
    script = Path(sys.executable).parent / "py-spy"
    if script.exists():
        return str(script)
    return shutil.which("py-spy")


async def profile_transfer(
    pair: Pair, src: Path, compression: str, out: Path, side: str
) -> dict[str, Any]:
    """py-spy records one daemon (`side`: receiver or sender) during one transfer of `src`."""
    target = pair.receiver if side == "receiver" else pair.sender
    spy = py_spy()
    if spy is None:
        raise BenchError("py-spy is missing: .venv/bin/pip install py-spy")
    check = await asyncio.to_thread(tree_hashes, src)
    await asyncio.to_thread(empty_dir, pair.inbox)
    argv = [
        spy, "record", "--pid", str(target.pid), "--output", str(out), "--format",
        "raw", "--function", "--threads", "--rate", "100",
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.perf_counter() + STEP_LIMIT_SECS
        while True:  # "py-spy> Sampling process 100 times a second ..."
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError(f"py-spy did not start sampling: {output}")
            raw = await asyncio.wait_for(proc.stdout.readline(), remaining)
            if not raw:
                raise BenchError(f"py-spy exited with {await proc.wait()}: {output}")
            output.append(raw.decode(errors="replace").rstrip())
            if "Sampling" in output[-1]:
                break
        run = await transfer_once(pair, src, compression, check=check)
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), STEP_LIMIT_SECS)
        output += rest.decode(errors="replace").splitlines()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
    await asyncio.to_thread(empty_dir, pair.inbox)
    try:
        text = await asyncio.to_thread(out.read_text, errors="replace")
    except OSError as exc:
        raise BenchError(f"py-spy wrote no profile ({exc}): {output[-5:]}") from None
    profile = parse_raw_profile(text)
    return {
        "file": str(out),
        "side": side,
        "mb_per_s_while_profiled": run.mb_per_s,
        "seconds": run.seconds,
        "py_spy_output": output[-5:],
        **profile,
    }


def parse_raw_profile(text: str) -> dict[str, Any]:
    """Own and total samples per function, and samples per thread, from py-spy's raw output
    (`thread (TID): NAME;frame;...;leaf COUNT`, one stack a line)."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    threads: dict[str, int] = {}
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        if match := re.match(r"thread \(\d+\): (.*)", frames[0]):
            frames = frames[1:]
            thread = re.sub(r"[-_]?\d+$", "", match[1])  # pool threads share a name
            threads[thread] = threads.get(thread, 0) + count
        leaf = frames[-1] if frames else "(no Python frame)"
        own[leaf] = own.get(leaf, 0) + count
        for name in set(frames):
            total[name] = total.get(name, 0) + count
    top = sorted(own.items(), key=lambda item: item[1], reverse=True)[:PROFILE_TOP]
    return {
        "samples": samples,
        "threads": dict(sorted(threads.items(), key=lambda item: item[1], reverse=True)),
        "top_own": [
            {
                "function": name,
                "own_samples": count,
                "own_pct": 100 * count / samples if samples else math.nan,
                "total_pct": 100 * total.get(name, 0) / samples if samples else math.nan,
            }
            for name, count in top
        ],
    }


def print_profile(profile: dict[str, Any]) -> None:
    samples = profile["samples"]
    print_table(
        f"The {profile['side']} daemon under py-spy ({samples} samples at 100/s, active threads "
        f"only; transfer at {profile['mb_per_s_while_profiled']:.0f} MB/s while profiled): "
        f"top {PROFILE_TOP} functions by own time",
        ["function (file:first line)", "own samples", "own %", "total %"],
        [
            [f["function"], str(f["own_samples"]), fmt(f["own_pct"], 1), fmt(f["total_pct"], 1)]
            for f in profile["top_own"]
        ],
    )
    print_table(
        "Samples per thread",
        ["thread", "samples", "%"],
        [
            [name, str(count), fmt(100 * count / samples if samples else math.nan, 1)]
            for name, count in profile["threads"].items()
        ],
    )
    print(
        "note: py-spy counts threads blocked in lock waits and epoll as active here: own time "
        "of _worker (SimpleQueue.get: the worker waiting for work), EpollSelector.select (the "
        "event loop waiting) and Condition/Thread.run in gRPC's poller thread (C code) is "
        "mostly waiting, not work"
    )
    print(f"profile: {profile['file']}")


# --- the whole run -------------------------------------------------------------------------------


@dataclass
class Options:
    size_mib: int
    small_files: int
    rss_gib: int
    runs: int
    compression: str
    profile: bool
    profile_side: str
    baselines: tuple[str, ...] | None  # None: all of them
    concurrent: str = ""  # --concurrent's sets ("8x128,48x16"); empty: not measured


async def run(options: Options, root: Path, nodes: list[Node]) -> dict[str, Any]:
    stamp = utc_stamp()
    data = root / "data"
    data.mkdir()
    inbox = root / "inbox"
    inbox.mkdir()
    dst = root / "dst"
    dst.mkdir()
    (root / "unused-inbox-a").mkdir()
    print(f"test data, inbox and daemon homes in {root}", flush=True)

    sender, receiver = await asyncio.gather(
        start_node("sender", root / "a", root / "unused-inbox-a", nodes),
        start_node("receiver", root / "b", inbox, nodes),
    )
    await pair_nodes(sender, receiver)
    pair = Pair(sender, receiver, inbox)
    print(
        f"daemons paired: sender pid {sender.pid}, receiver pid {receiver.pid} "
        f"(links on 127.0.0.1, mutual TLS; receiver auto-accepts)",
        flush=True,
    )
    # An untimed first transfer: the daemons' transfer paths (threads, Fetch) warm up.
    warm = await asyncio.to_thread(make_large, data, MIB, "warm.bin", 9)
    await transfer_once(pair, warm, options.compression, check=None)
    warm.unlink()

    result: dict[str, Any] = {}
    tools = tools_available()
    with contextlib.ExitStack() as stack:
        sshd = stack.enter_context(local_sshd()) if tools["sshd"] and tools["scp"] else None
        wanted = options.baselines
        hole = (
            stack.enter_context(local_wormhole())
            if tools["wormhole"] and (wanted is None or "magic-wormhole" in wanted)
            else None
        )
        plan = baseline_plan(sshd, hole, wanted)
        missing = [tool for tool, ok in tools.items() if not ok]
        if missing:
            print(f"note: missing {', '.join(missing)}: skipped (scripts/bench-env installs them)")

        big: Path | None = None
        if options.size_mib > 0:
            print(f"writing one file of {options.size_mib} MiB ...", flush=True)
            big = await asyncio.to_thread(make_large, data, options.size_mib * MIB, "big.bin", 1)
            large = await measure(
                "one large file",
                pair,
                big,
                dst=dst,
                plan=plan,
                runs=options.runs,
                compression=options.compression,
            )
            result["large_file"] = summarize(large)
            print_data_set(
                f"One file of {options.size_mib} MiB, median of {options.runs} "
                "(TLS on loopback; durable at the end)",
                result["large_file"],
                per_file=False,
            )
        if options.small_files > 0:
            print(f"writing {options.small_files} files of 100 KiB ...", flush=True)
            small = await asyncio.to_thread(make_small, data, options.small_files)
            many = await measure(
                "small files",
                pair,
                small,
                dst=dst,
                plan=plan,
                runs=options.runs,
                compression=options.compression,
            )
            result["small_files"] = summarize(many)
            print_data_set(
                f"{options.small_files} files of 100 KiB, median of {options.runs} "
                "(durable at the end)",
                result["small_files"],
                per_file=True,
            )
            await asyncio.to_thread(shutil.rmtree, small)

    if options.profile:
        if big is None:
            raise BenchError("--profile needs the large file (--size-mib > 0)")
        side = options.profile_side
        out = RESULTS_DIR / f"{NAME}-profile-{'' if side == 'receiver' else 'sender-'}{stamp}.txt"
        RESULTS_DIR.mkdir(exist_ok=True)
        print(f"profiling the {side} during one {options.size_mib} MiB transfer ...", flush=True)
        result["profile"] = await profile_transfer(pair, big, options.compression, out, side)
        print_profile(result["profile"])
    if big is not None:
        big.unlink()

    if options.rss_gib > 0:
        print(f"writing one file of {options.rss_gib} GiB ...", flush=True)
        huge = await asyncio.to_thread(
            make_large, data, options.rss_gib * 1024 * MIB, "huge.bin", 4
        )
        await asyncio.to_thread(warm_up, huge, dst)
        result["rss"] = await rss_during_transfer(pair, huge, options.compression)
        print_rss(result["rss"], options.rss_gib)
        huge.unlink()

    many_sets = parse_concurrent(options.concurrent)
    if many_sets:
        result["concurrent"] = []
    for number, groups in enumerate(many_sets):
        print(f"many at once: writing the set {set_label(groups)} ...", flush=True)
        summary = await measure_many(
            pair,
            groups,
            root=data,
            dst=dst,
            runs=options.runs,
            seed=10 + number,
            compression=options.compression,
        )
        result["concurrent"].append(summary)
        print_many(summary, options.runs)

    return {
        "parameters": asdict(options)
        | {
            "daemon_settings": daemon_settings("bench-*", Path("<disk>/inbox"), None),
            "timing": "CreateTransfer call until the sender's TransferHandle reports completed",
            "concurrent_timing": "first CreateTransfer call until the last transfer_completed "
            "event of both sides arrived; one at a time: each offered once both sides reported "
            "the one before completed",
            "baselines": [key for key, _ in plan],
        },
        "tools": tools,
        **result,
        "environment": environment(),
    }


async def run_and_stop(options: Options, root: Path) -> dict[str, Any]:
    nodes: list[Node] = []
    try:
        return await run(options, root, nodes)
    except BaseException:
        for node in nodes:
            print(f"\n{node.label} daemon's log (last lines):\n{node.log_tail()}", file=sys.stderr)
        raise
    finally:
        for node in nodes:
            with contextlib.suppress(Exception):
                await node.events.close()
            with contextlib.suppress(Exception):
                await node.api.close()
        await asyncio.gather(*(node.server.stop() for node in nodes), return_exceptions=True)
        for node in nodes:
            if node.socket_dir is not None:
                shutil.rmtree(node.socket_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mib", type=int, default=1024, help="the large file (0 skips)")
    parser.add_argument("--small-files", type=int, default=1000, help="100 KiB files (0 skips)")
    parser.add_argument("--rss-gib", type=int, default=4, help="RSS transfer size (0 skips)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per copy (median)")
    parser.add_argument("--compression", choices=("auto", "none"), default="auto")
    parser.add_argument("--profile", action="store_true", help="py-spy on the receiver")
    parser.add_argument(
        "--profile-side", choices=("receiver", "sender"), default="receiver", help="--profile's"
    )
    parser.add_argument(
        "--baselines",
        default="all",
        help=f"comma-separated baselines to time, 'all' or 'none' (names: {', '.join(BASELINES)})",
    )
    parser.add_argument(
        "--concurrent",
        default="",
        metavar="SETS",
        help="many transfers at once against one at a time: sets of COUNTxMIB, e.g. "
        "'8x128,48x16' (two sets measured in turn; '8x128+48x16' is one set of 56 files)",
    )
    args = parser.parse_args()
    try:
        parse_concurrent(args.concurrent)
    except ValueError as exc:
        parser.error(f"--concurrent: {exc}")
    baselines = (
        None
        if args.baselines == "all"
        else tuple(
            name.strip() for name in args.baselines.split(",") if name.strip() not in ("", "none")
        )
    )
    if baselines is not None and (unknown := set(baselines) - set(BASELINES)):
        parser.error(f"unknown baselines: {', '.join(sorted(unknown))}")
    if args.runs < 1 or min(args.size_mib, args.small_files, args.rss_gib) < 0:
        parser.error("--runs must be at least 1; sizes and counts not negative")
    options = Options(
        args.size_mib,
        args.small_files,
        args.rss_gib,
        args.runs,
        args.compression,
        args.profile,
        args.profile_side,
        baselines,
        args.concurrent,
    )
    root = disk_temp_dir(TEMP_PREFIX)
    try:
        result = asyncio.run(run_and_stop(options, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    path = write_result(NAME, finite(result))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
