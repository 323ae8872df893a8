"""Daemon start to ready, and idle memory, against a bare grpc.aio health server process.

Spawns `kizuna daemon` on fresh homes (first start creates the identity) and restarts one home,
timing spawn -> banner and spawn -> health SERVING, then reads VmRSS after an idle pause.
`--history` instead restarts homes holding the transfer records a hostile paired peer can leave
(#33): none, the most the limits allow now, and what the attack left before them.
Run: `.venv/bin/python bench/startup.py [--quick] [--history]`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import math
import secrets
import shutil
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from bench._common import (
    BANNER_LAST_LINE,
    START_TIMEOUT_SECS,
    BenchError,
    ServerProcess,
    bare_server_argv,
    daemon_argv,
    environment,
    finite,
    fmt,
    fmt_ratio,
    launch,
    print_table,
    ratio,
    read_rss_kib,
    short_temp_dir,
    wait_for_serving,
    write_result,
)
from kizuna_client import Kizuna
from kizuna_client._layout import resolve_layout
from kizuna_server.config import Config, load_config
from kizuna_server.core.device_id import device_id_from_public_key_der
from kizuna_server.errors import KizunaError
from kizuna_server.transfers.engine import KEPT_UNANSWERED_ENTRIES
from kizuna_server.transfers.model import (
    Entry,
    Failure,
    FileState,
    State,
    Transfer,
    TransferExpired,
    TransferRejected,
)
from kizuna_server.transfers.store import TransferStore

NAME = "startup"
#: Targets the figures are reported against (not asserted).
TARGET_READY_SECS = 1.0
TARGET_IDLE_RSS_MIB = 60.0


@dataclass(frozen=True)
class Start:
    """One start of a server process."""

    to_ready_line_s: float  # spawn -> the ready line on stdout (the daemon's banner's last line)
    to_serving_s: float  # spawn -> first health Check answering SERVING
    idle_rss_mib: float  # VmRSS after the idle pause
    peak_rss_mib: float  # VmHWM at the same moment


async def measure_start(
    argv: list[str],
    *,
    socket_path: Path,
    log_path: Path,
    is_ready: Callable[[str], bool],
    idle_secs: float,
    limit_secs: float = START_TIMEOUT_SECS,
    check: Callable[[ServerProcess], Awaitable[None]] | None = None,
) -> Start:
    """Spawns `argv`, times readiness both ways, idles, reads memory, stops it.

    `check`, if given, runs after the memory is read (so it changes no figure) and before the
    stop; it raises BenchError when the server is not what the figures claim to measure.
    """
    server: ServerProcess = await launch(argv, socket_path=socket_path, log_path=log_path)
    try:
        (ready_at, _), serving_at = await asyncio.gather(
            server.wait_for_line(is_ready, limit_secs=limit_secs),
            wait_for_serving(socket_path, limit_secs=limit_secs),
        )
        await asyncio.sleep(idle_secs)
        rss = read_rss_kib(server.pid) / 1024
        peak = read_rss_kib(server.pid, "VmHWM") / 1024
        if check is not None:
            await check(server)
    finally:
        await server.stop()
    return Start(ready_at - server.spawned_at, serving_at - server.spawned_at, rss, peak)


def is_banner_end(line: str) -> bool:
    return line.startswith(BANNER_LAST_LINE)


async def daemon_starts(count: int, *, idle_secs: float) -> tuple[list[Start], list[Start]]:
    """`count` first starts on fresh homes, then `count` restarts of one of those homes."""
    homes = [short_temp_dir() for _ in range(count)]
    fresh: list[Start] = []
    again: list[Start] = []
    try:
        for home in homes:
            fresh.append(
                await measure_start(
                    daemon_argv(home),
                    socket_path=home / "run" / "kizuna.sock",
                    log_path=home / "daemon.log",
                    is_ready=is_banner_end,
                    idle_secs=idle_secs,
                )
            )
        home = homes[0]
        for _ in range(count):
            again.append(
                await measure_start(
                    daemon_argv(home),
                    socket_path=home / "run" / "kizuna.sock",
                    log_path=home / "daemon.log",
                    is_ready=is_banner_end,
                    idle_secs=idle_secs,
                )
            )
    finally:
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)
    return fresh, again


async def bare_starts(count: int, *, idle_secs: float) -> list[Start]:
    """`count` starts of the bare grpc.aio health server."""
    workdir = short_temp_dir()
    starts: list[Start] = []
    try:
        argv, socket_path = bare_server_argv(workdir)
        for _ in range(count):
            starts.append(
                await measure_start(
                    argv,
                    socket_path=socket_path,
                    log_path=workdir / "bare.log",
                    is_ready=lambda line: line == "ready",
                    idle_secs=idle_secs,
                )
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return starts


def figures(starts: list[Start]) -> dict[str, float]:
    """Median and max of each measurement, times in ms and memory in MiB."""
    out: dict[str, float] = {}
    for name in ("to_ready_line_s", "to_serving_s"):
        values = [getattr(s, name) * 1e3 for s in starts]
        key = name.removesuffix("_s")
        out[f"{key}_median_ms"] = statistics.median(values) if values else math.nan
        out[f"{key}_max_ms"] = max(values, default=math.nan)
    for name in ("idle_rss_mib", "peak_rss_mib"):
        values = [getattr(s, name) for s in starts]
        out[f"{name}_median"] = statistics.median(values) if values else math.nan
        out[f"{name}_max"] = max(values, default=math.nan)
    return out


async def run(*, count: int, idle_secs: float) -> dict[str, Any]:
    # The baseline first, so both kinds of start see a warm page cache for Python and grpc.
    bare = await bare_starts(count, idle_secs=idle_secs)
    fresh, again = await daemon_starts(count, idle_secs=idle_secs)
    groups = {
        "bare": ("bare grpc.aio + health", bare),
        "daemon_fresh": ("daemon, fresh home", fresh),
        "daemon_restart": ("daemon, restart", again),
    }
    stats = {key: figures(starts) for key, (_, starts) in groups.items()}
    base = stats["bare"]
    rows = []
    for key, (label, starts) in groups.items():
        s = stats[key]
        rows.append(
            [
                label,
                str(len(starts)),
                fmt(s["to_ready_line_median_ms"], 0),
                fmt(s["to_ready_line_max_ms"], 0),
                fmt(s["to_serving_median_ms"], 0),
                fmt(s["to_serving_max_ms"], 0),
                fmt(s["idle_rss_mib_median"], 1),
                fmt(s["idle_rss_mib_max"], 1),
                fmt(s["peak_rss_mib_median"], 1),
                fmt_ratio(ratio(s["to_serving_median_ms"], base["to_serving_median_ms"])),
                fmt_ratio(ratio(s["idle_rss_mib_median"], base["idle_rss_mib_median"])),
            ]
        )
    print_table(
        f"Start to ready (ms, from spawn) and idle memory (MiB, VmRSS after {idle_secs:g} s idle)",
        [
            "server",
            "runs",
            "ready line med",
            "max",
            "SERVING med",
            "max",
            "idle RSS med",
            "max",
            "peak RSS med",
            "SERVING/bare",
            "RSS/bare",
        ],
        rows,
    )
    daemon_keys = ("daemon_fresh", "daemon_restart")
    worst_ready = max(
        stats[k][m] / 1e3
        for k in daemon_keys
        for m in ("to_ready_line_max_ms", "to_serving_max_ms")
    )
    rss = max(stats[k]["idle_rss_mib_median"] for k in daemon_keys)
    ready_ok = worst_ready <= TARGET_READY_SECS
    rss_ok = rss <= TARGET_IDLE_RSS_MIB
    print(
        f"target ready <= {TARGET_READY_SECS:g} s (slowest daemon start, banner or SERVING): "
        f"{worst_ready:.3f} s ({'meets' if ready_ok else 'MISSES'})"
    )
    print(
        f"target idle RSS <= {TARGET_IDLE_RSS_MIB:g} MiB (median): {rss:.1f} MiB "
        f"({'meets' if rss_ok else 'MISSES'})"
    )
    return {
        "params": {"runs": count, "idle_s": idle_secs},
        "stats": stats,
        "runs": {key: [asdict(s) for s in starts] for key, (_, starts) in groups.items()},
        "baseline": "bare",
        "ratios": {
            f"{key}_{name}_vs_bare": ratio(stats[key][name], base[name])
            for key in daemon_keys
            for name in ("to_ready_line_median_ms", "to_serving_median_ms", "idle_rss_mib_median")
        },
        "target": {
            "ready_s": TARGET_READY_SECS,
            "idle_rss_mib": TARGET_IDLE_RSS_MIB,
            "ready_met": ready_ok,
            "idle_rss_met": rss_ok,
        },
    }


# --- --history: restarts with the records a hostile paired peer can leave (#33) ---------------

#: The peer every record names: a device ID of the right form (52 base32 characters) that no
#: device of this run has. Nothing at start checks that a record's peer is known.
HOSTILE_PEER_ID: Final = device_id_from_public_key_der(b"bench/startup.py: a hostile peer")
#: The offered files' modification time (any fixed value).
MTIME_NS: Final = 1_700_000_000_000_000_000
#: The attack as found: this many offers of transfers.max_files entries, all left pending.
OLD_ATTACK_OFFERS: Final = 20
#: Pending offers must not expire during the run (an expiry would trim and rewrite them).
PENDING_FOR_SECS: Final = 24 * 3600.0
#: A home like the old attack's took 28 s to start; a start may take this long before the
#: bench gives up (the default 30 s would cut a slow start short on a busy machine).
HISTORY_LIMIT_SECS: Final = 300.0
#: What the daemon logs for a record it ignores (transfers/store.py).
IGNORED_RECORD_LOG: Final = "cannot be read"


@dataclass(frozen=True)
class HistoryHome:
    """A home of the --history scenario: which transfer records it holds."""

    key: str
    label: str
    pending: int  # incoming offers waiting for an answer, each of max_files entries, whole
    unanswered: int  # incoming offers of max_files entries that ended unanswered, trimmed


@dataclass(frozen=True)
class Records:
    """What a home's transfer records hold, as written."""

    transfers: int
    entries_written: int  # entries stored in the records
    entries_offered: int  # their entry_count: what the peer offered, trimmed entries included
    disk_bytes: int  # the sizes of DATA/transfers/*.json together
    expected: dict[str, int]  # "direction/state/entry_count" -> how many ListTransfers shows


def history_homes(config: Config) -> list[HistoryHome]:
    """Empty; the most the configured limits let a peer leave now; the attack before them."""
    limits = config.transfers
    return [
        HistoryHome("empty", "empty (no records)", 0, 0),
        HistoryHome(
            "allowed_now",
            "worst allowed now",
            limits.max_pending_files // limits.max_files,
            limits.history_size,
        ),
        HistoryHome("before_fix", "before the fix", OLD_ATTACK_OFFERS, 0),
    ]


def offered_entries(first: int, count: int) -> list[Entry]:
    """Entries as an offer of one-byte files `junk/NNNNNN` lands in a record (the flood of
    tests/transfers/test_transfer_safety.py)."""
    return [
        Entry(path=f"junk/{n:06d}", directory=False, size=1, mode=0o644, mtime_ns=MTIME_NS)
        for n in range(first, first + count)
    ]


def pending_offer(entries: list[Entry], created: float, timeout: float) -> Transfer:
    """An incoming offer waiting for an answer, as `Transfers.offered` records it."""
    return Transfer(
        id=secrets.token_hex(16),
        peer_id=HOSTILE_PEER_ID,
        peer_name="hostile",
        outgoing=False,
        entries=entries,
        created=created,
        expires=created + timeout,
    )


def unanswered_offer(
    entries: list[Entry], created: float, timeout: float, *, expired: bool
) -> Transfer:
    """An incoming offer of `entries` that ended unanswered (rejected or expired), recorded as
    the engine's `_end` (private to transfers/engine.py) does: trimmed to its first
    KEPT_UNANSWERED_ENTRIES entries with the totals kept, those entries failed."""
    transfer = pending_offer(entries, created, timeout)
    error: KizunaError = (
        TransferExpired("the offer was not answered in time", transfer_id=transfer.id)
        if expired
        else TransferRejected("the offer was rejected", transfer_id=transfer.id)
    )
    transfer.trim(KEPT_UNANSWERED_ENTRIES)
    transfer.ended = transfer.expires if expired else created + 60.0
    for entry in transfer.entries:
        entry.state = FileState.FAILED
    transfer.state = State.FAILED
    transfer.error = Failure.of(error)
    return transfer


def write_records(config: Config, home: HistoryHome) -> Records:
    """Writes `home`'s records with the daemon's own TransferStore; blocking."""
    store = TransferStore(config.paths.data_dir)
    store.prepare()
    per_offer = config.transfers.max_files
    now = time.time()
    # Per record: how ListTransfers shows it, entries stored, entries offered.
    saved: list[tuple[str, int, int]] = []

    def save(transfer: Transfer) -> None:
        store.save(transfer)
        direction = "outgoing" if transfer.outgoing else "incoming"
        shown = f"{direction}/{transfer.state.value}/{transfer.entry_count}"
        saved.append((shown, len(transfer.entries), transfer.entry_count))

    for i in range(home.pending):
        save(pending_offer(offered_entries(0, per_offer), now - i, PENDING_FOR_SECS))
    # The entries an unanswered offer drops are shared by all of them: trim only reads them,
    # and building 100 million entries would take minutes. The kept ones are each offer's own.
    dropped = offered_entries(KEPT_UNANSWERED_ENTRIES, per_offer - KEPT_UNANSWERED_ENTRIES)
    timeout = config.transfers.offer_timeout_secs
    for i in range(home.unanswered):
        entries = offered_entries(0, KEPT_UNANSWERED_ENTRIES) + dropped
        created = now - timeout - 60.0 * (i + 1)  # ended before the pending offers came
        save(unanswered_offer(entries, created, timeout, expired=i % 2 == 1))
    return Records(
        transfers=len(saved),
        entries_written=sum(stored for _, stored, _ in saved),
        entries_offered=sum(offered for _, _, offered in saved),
        disk_bytes=sum(path.stat().st_size for path in store.directory.glob("*.json")),
        expected=dict(collections.Counter(shown for shown, _, _ in saved)),
    )


async def check_records_loaded(server: ServerProcess, records: Records) -> None:
    """Raises BenchError unless the daemon lists exactly the records written (direction, state
    and entry_count of each) and its log names no record it ignored."""
    async with Kizuna(target=server.target) as client:
        listed = await client.transfers()
    found = collections.Counter(f"{t.direction}/{t.state}/{t.entry_count}" for t in listed)
    if found != records.expected:
        raise BenchError(
            f"pid {server.pid} lists {dict(found)}, not the records written: {records.expected}"
        )
    log = await asyncio.to_thread(server.log_path.read_text, errors="replace")
    if IGNORED_RECORD_LOG in log:
        raise BenchError(f"pid {server.pid} ignored transfer records{server.tail()}")


async def history_starts(
    count: int, *, idle_secs: float
) -> list[tuple[HistoryHome, Records, list[Start]]]:
    """Prepares the homes, starts each once (creates its identity; untimed), then restarts them
    in turns `count` times each, so a slow phase of the machine hits every home alike. Every
    start is checked to hold the records written."""
    root = short_temp_dir()
    try:
        prepared: list[tuple[HistoryHome, Path, Records]] = []
        # The limits every home of the run gets: the defaults and any KIZUNA_* variables.
        for spec in history_homes(load_config(resolve_layout(root))):
            home = root / spec.key
            began = time.perf_counter()
            records = await asyncio.to_thread(
                write_records, load_config(resolve_layout(home)), spec
            )
            print(
                f"{spec.label}: {records.transfers} records, {records.entries_offered:,} entries"
                f" offered, {records.entries_written:,} stored, "
                f"{records.disk_bytes / 2**20:.1f} MiB (written in "
                f"{time.perf_counter() - began:.1f} s)",
                flush=True,
            )
            prepared.append((spec, home, records))
        starts: dict[str, list[Start]] = {spec.key: [] for spec, _, _ in prepared}
        for round_number in range(count + 1):
            for spec, home, records in prepared:
                start = await measure_start(
                    daemon_argv(home),
                    socket_path=home / "run" / "kizuna.sock",
                    log_path=home / "daemon.log",
                    is_ready=is_banner_end,
                    idle_secs=idle_secs,
                    limit_secs=HISTORY_LIMIT_SECS,
                    check=functools.partial(check_records_loaded, records=records),
                )
                if round_number == 0:
                    continue  # the first start of a home also creates its identity
                starts[spec.key].append(start)
                print(
                    f"  {spec.label} restart {round_number}: SERVING "
                    f"{start.to_serving_s * 1e3:.0f} ms, RSS {start.idle_rss_mib:.1f} MiB",
                    flush=True,
                )
        return [(spec, records, starts[spec.key]) for spec, _, records in prepared]
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def run_history(*, count: int, idle_secs: float) -> dict[str, Any]:
    homes = await history_starts(count, idle_secs=idle_secs)
    stats = {spec.key: figures(starts) for spec, _, starts in homes}
    base = stats["empty"]
    rows = []
    for spec, records, starts in homes:
        s = stats[spec.key]
        rows.append(
            [
                spec.label,
                str(records.transfers),
                f"{records.entries_offered:,}",
                f"{records.entries_written:,}",
                fmt(records.disk_bytes / 2**20, 1),
                str(len(starts)),
                fmt(s["to_ready_line_median_ms"], 0),
                fmt(s["to_serving_median_ms"], 0),
                fmt(s["to_serving_max_ms"], 0),
                fmt(s["idle_rss_mib_median"], 1),
                fmt(s["peak_rss_mib_median"], 1),
                fmt_ratio(ratio(s["to_serving_median_ms"], base["to_serving_median_ms"])),
                fmt_ratio(ratio(s["idle_rss_mib_median"], base["idle_rss_mib_median"])),
            ]
        )
    print_table(
        "Restart to ready (ms, from spawn) and memory (MiB, VmRSS after "
        f"{idle_secs:g} s idle) with transfer records (#33)",
        [
            "home",
            "records",
            "entries offered",
            "stored",
            "on disk MiB",
            "runs",
            "ready line med",
            "SERVING med",
            "max",
            "idle RSS med",
            "peak RSS med",
            "SERVING/empty",
            "RSS/empty",
        ],
        rows,
    )
    others = [spec.key for spec, _, _ in homes if spec.key != "empty"]
    return {
        "scenario": "history",
        "params": {"runs": count, "idle_s": idle_secs, "peer_id": HOSTILE_PEER_ID},
        "homes": {
            spec.key: {
                "label": spec.label,
                "pending_offers": spec.pending,
                "unanswered_offers": spec.unanswered,
                **asdict(records),
            }
            for spec, records, _ in homes
        },
        "stats": stats,
        "runs": {spec.key: [asdict(s) for s in starts] for spec, _, starts in homes},
        "baseline": "empty",
        "ratios": {
            f"{key}_{name}_vs_empty": ratio(stats[key][name], base[name])
            for key in others
            for name in (
                "to_ready_line_median_ms",
                "to_serving_median_ms",
                "idle_rss_mib_median",
                "peak_rss_mib_median",
            )
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run for a smoke test")
    parser.add_argument(
        "--history",
        action="store_true",
        help="restart homes holding transfer records a hostile peer can leave (#33)",
    )
    args = parser.parse_args()
    if args.history:
        count, idle_secs = (2, 1.0) if args.quick else (5, 3.0)
        result = asyncio.run(run_history(count=count, idle_secs=idle_secs))
        name = f"{NAME}-history"
    else:
        count, idle_secs = (2, 1.0) if args.quick else (10, 3.0)
        result = asyncio.run(run(count=count, idle_secs=idle_secs))
        name = NAME
    path = write_result(name, finite({"quick": args.quick, "environment": environment(), **result}))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
