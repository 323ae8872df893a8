"""Daemon start to ready, and idle memory, against a bare grpc.aio health server process.

Spawns `kizuna daemon` on fresh homes (first start creates the identity) and restarts one home,
timing spawn -> banner and spawn -> health SERVING, then reads VmRSS after an idle pause.
Run: `.venv/bin/python bench/startup.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._common import (
    BANNER_LAST_LINE,
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
) -> Start:
    """Spawns `argv`, times readiness both ways, idles, reads memory, stops it."""
    server: ServerProcess = await launch(argv, socket_path=socket_path, log_path=log_path)
    try:
        (ready_at, _), serving_at = await asyncio.gather(
            server.wait_for_line(is_ready), wait_for_serving(socket_path)
        )
        await asyncio.sleep(idle_secs)
        rss = read_rss_kib(server.pid) / 1024
        peak = read_rss_kib(server.pid, "VmHWM") / 1024
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run for a smoke test")
    args = parser.parse_args()
    count, idle_secs = (2, 1.0) if args.quick else (10, 3.0)
    result = asyncio.run(run(count=count, idle_secs=idle_secs))
    path = write_result(NAME, finite({"quick": args.quick, "environment": environment(), **result}))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
