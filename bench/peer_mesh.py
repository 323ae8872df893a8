"""A LAN of N daemons finding each other over mDNS, against a bare python-zeroconf mesh.

Each daemon runs in its own network namespace on one bridge (tests/netns.py); all are spawned
at once on fresh homes. Times, from the first spawn: each daemon's banner, and when each has
reported all N-1 others (`peer_discovered`, read back from its event log: a subscription that
names another run replays every retained event, each stamped when it was published). Checks
the end state with ListPeers on every daemon. Baseline in the same run: spawn -> all banners
(the start-up share), and the same mesh of bare zeroconf processes (register + browse +
resolve, nothing else). Needs root.
Run: `.venv/bin/python bench/peer_mesh.py [--daemons N] [--runs R] [--no-bare] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._common import (
    BenchError,
    ServerProcess,
    cpu_seconds,
    environment,
    finite,
    fmt,
    fmt_ratio,
    print_table,
    ratio,
    write_result,
)
from bench.peer_discovery import (
    Browser,
    Children,
    banner_device_id,
    is_banner_end,
    require_namespaces,
    run_in_namespaces,
    spawn_daemon,
)
from kizuna_client import Kizuna, KizunaEvent
from tests import netns

NAME = "peer_mesh"
TARGET_SECS = 5.0
#: A run that has not converged after this long is reported as such.
LIMIT_SECS = 60.0
#: Names no run of any daemon: SubscribeEvents then replays every retained event.
OTHER_RUN_ID = "0" * 32
BARE_TYPE = "_kzmesh._tcp.local."

#: One bare mesh node: AsyncZeroconf() defaults, browses and resolves BARE_TYPE and registers
#: its own service (default probing), like a daemon's discovery without the daemon. Prints
#: "imported|registered <perf_counter> -" and "resolved <perf_counter> <instance name>".
BARE_NODE = '''\
"""Bare zeroconf mesh node: announce one service, resolve every other one."""

import asyncio
import signal
import sys
import time

from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf


async def main(service_type: str, name: str, addresses: list[str]) -> None:
    print(f"imported {time.perf_counter()} -", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    zc = AsyncZeroconf()
    tasks: set[asyncio.Task[None]] = set()
    own = f"{name}.{service_type}"

    async def resolve(found: str) -> None:
        info = AsyncServiceInfo(service_type, found)
        if await info.async_request(zc.zeroconf, 3000):
            print(f"resolved {time.perf_counter()} {found}", flush=True)

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added and name != own:
            task = loop.create_task(resolve(name))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    browser = AsyncServiceBrowser(zc.zeroconf, [service_type], handlers=[on_change])
    info = AsyncServiceInfo(
        service_type,
        own,
        port=47120,
        properties={"id": name, "name": name, "pv": "1"},
        server=f"{name}.local.",
        parsed_addresses=addresses,
    )
    await (await zc.async_register_service(info))
    print(f"registered {time.perf_counter()} -", flush=True)
    await stop.wait()
    await browser.async_cancel()
    await zc.async_close()


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
'''


@dataclass(frozen=True)
class Node:
    """One daemon (or bare node) of a run; seconds from the first spawn."""

    to_spawn_s: float  # when it was spawned (the spawns are not instant)
    to_ready_s: float  # daemon: banner; bare: zeroconf imported
    to_complete_s: float  # all others reported (daemon: the last event's publish time)
    to_complete_seen_s: float  # ... as received here (delivery and this process's CPU added)
    found: int  # others reported within the limit
    cpu_s: float  # CPU time the process used until the end of the run


@dataclass(frozen=True)
class Mesh:
    """One mesh of `nodes`; `listed` is the end state ListPeers gave (daemons only)."""

    kind: str
    nodes: list[Node]
    listed_online: list[int]
    wall_s: float  # first spawn -> all complete (or the limit)
    main_cpu_s: float  # CPU time this process used meanwhile


def _main_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class Start:
    """What the nodes of one daemon mesh share: the start and what is known of the others."""

    t0: float  # perf_counter() at the first spawn
    t0_wall: float  # time.time() then (events carry the daemon's wall-clock time)
    deadline: float
    count: int
    ids: dict[int, str] = field(default_factory=dict)
    everyone: asyncio.Event = field(default_factory=asyncio.Event)


async def daemon_node(
    server: ServerProcess, home: Path, index: int, start: Start
) -> tuple[float, float, float, int]:
    """(banner, complete by publish time, complete as received, found) for one daemon."""
    try:
        banner_at, _ = await server.wait_for_line(is_banner_end)
        start.ids[index] = banner_device_id(server)
    finally:
        if len(start.ids) == start.count or index not in start.ids:
            start.everyone.set()  # all IDs known (or this start failed: stop waiting)
    await start.everyone.wait()
    others = {device_id for i, device_id in start.ids.items() if i != index}
    first_seen: dict[str, tuple[float, float]] = {}  # id -> (published wall, received perf)
    async with Kizuna(home=home) as client:
        # Names another run, so the daemon replays its whole event log, then goes on live.
        events = client.subscribe_events(types=["peer_discovered"], run_id=OTHER_RUN_ID)
        async with events:
            while not others <= first_seen.keys():
                remaining = start.deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(anext(events), remaining)
                except (TimeoutError, StopAsyncIteration):
                    break
                if not isinstance(item, KizunaEvent):
                    continue  # the "restarted" gap in front of the replay
                peer_id = item.message.peer_discovered.peer.device_id
                if peer_id in others and peer_id not in first_seen:
                    published = item.message.time.ToNanoseconds() / 1e9
                    first_seen[peer_id] = (published, time.perf_counter())
    found = len(first_seen)
    if found < len(others):
        return banner_at - start.t0, math.nan, math.nan, found
    return (
        banner_at - start.t0,
        max(p for p, _ in first_seen.values()) - start.t0_wall,
        max(r for _, r in first_seen.values()) - start.t0,
        found,
    )


async def daemon_mesh(lan: netns.Lan, children: Children, run_index: int, limit: float) -> Mesh:
    hosts = lan.hosts
    homes = [children.temp_dir() for _ in hosts]
    cpu_before = _main_cpu()
    t0_wall = time.time()
    t0 = time.perf_counter()
    servers = await asyncio.gather(
        *(
            spawn_daemon(children, host, home, f"mesh{run_index}-{i}")
            for i, (host, home) in enumerate(zip(hosts, homes, strict=True))
        )
    )
    start = Start(t0, t0_wall, t0 + limit, len(servers))
    results = await asyncio.gather(
        *(
            daemon_node(s, home, i, start)
            for i, (s, home) in enumerate(zip(servers, homes, strict=True))
        )
    )
    wall = time.perf_counter() - t0
    main_cpu = _main_cpu() - cpu_before
    cpu = [cpu_seconds(s.pid) for s in servers]
    listed: list[int] = []
    for home in homes:
        async with Kizuna(home=home) as client:
            peers = await client.discover_peers()
        listed.append(sum(1 for p in peers if p.online and p.addresses))
    await asyncio.gather(*(s.stop() for s in servers))
    nodes = [
        Node(
            to_spawn_s=s.spawned_at - t0,
            to_ready_s=banner,
            to_complete_s=complete,
            to_complete_seen_s=seen,
            found=found,
            cpu_s=c,
        )
        for s, (banner, complete, seen, found), c in zip(servers, results, cpu, strict=True)
    ]
    seen_all = [n.to_complete_seen_s for n in nodes]
    converged = not any(math.isnan(v) for v in seen_all)
    return Mesh("daemon", nodes, listed, max(seen_all) if converged else wall, main_cpu)


async def bare_mesh(
    lan: netns.Lan, children: Children, run_index: int, limit: float, workdir: Path
) -> Mesh:
    hosts = lan.hosts
    names = [f"m{run_index}n{i}p{os.getpid()}" for i in range(len(hosts))]
    cpu_before = _main_cpu()
    t0 = time.perf_counter()
    servers = await asyncio.gather(
        *(
            children.launch(
                host.command(
                    sys.executable,
                    str(workdir / "node.py"),
                    BARE_TYPE,
                    name,
                    host.ipv4,
                    host.ipv6,
                ),
                socket_path=workdir / "none",
                log_path=workdir / f"{name}.log",
            )
            for host, name in zip(hosts, names, strict=True)
        )
    )
    deadline = t0 + limit

    async def node(server: ServerProcess, own: str) -> tuple[float, float, int]:
        browser = Browser(server)
        reader = asyncio.create_task(browser.collect())
        others = {f"{n}.{BARE_TYPE}" for n in names if n != own}
        try:
            imported = await browser.wait_for("imported", "-", limit=deadline - t0)
            last = math.nan
            for other in others:
                remaining = deadline - time.perf_counter()
                try:
                    at = await browser.wait_for("resolved", other, limit=max(remaining, 0.001))
                except BenchError:
                    break
                last = at if math.isnan(last) else max(last, at)
            found = sum(1 for o in others if ("resolved", o) in browser.seen)
            if found < len(others):
                last = math.nan
            return imported - t0, last - t0, found
        finally:
            reader.cancel()

    results = await asyncio.gather(*(node(s, n) for s, n in zip(servers, names, strict=True)))
    wall = time.perf_counter() - t0
    main_cpu = _main_cpu() - cpu_before
    cpu = [cpu_seconds(s.pid) for s in servers]
    await asyncio.gather(*(s.stop() for s in servers))
    nodes = [
        Node(
            to_spawn_s=s.spawned_at - t0,
            to_ready_s=ready,
            to_complete_s=complete,
            to_complete_seen_s=complete,
            found=found,
            cpu_s=c,
        )
        for s, (ready, complete, found), c in zip(servers, results, cpu, strict=True)
    ]
    done = [n.to_complete_s for n in nodes]
    return Mesh("bare", nodes, [], max(done) if not any(map(math.isnan, done)) else wall, main_cpu)


# --- report -------------------------------------------------------------------------------------


def summary(mesh: Mesh) -> dict[str, float]:
    """Seconds from the first spawn: spread, readiness and completion (median, max)."""
    nodes = mesh.nodes
    complete = [n.to_complete_s for n in nodes]
    converged = not any(math.isnan(v) for v in complete)
    after_ready = [n.to_complete_s - n.to_ready_s for n in nodes]
    cpus = os.cpu_count() or 1
    total = max(complete) if converged else math.nan
    cpu = sum(n.cpu_s for n in nodes)
    return {
        "nodes": len(nodes),
        "converged": converged,
        "found_min": min(n.found for n in nodes),
        "spawn_spread_s": max(n.to_spawn_s for n in nodes),
        "ready_median_s": statistics.median(n.to_ready_s for n in nodes),
        "ready_max_s": max(n.to_ready_s for n in nodes),
        "complete_median_s": statistics.median(complete) if converged else math.nan,
        "complete_max_s": total,
        "seen_max_s": max(n.to_complete_seen_s for n in nodes) if converged else math.nan,
        "after_ready_median_s": statistics.median(after_ready) if converged else math.nan,
        "after_ready_max_s": max(after_ready) if converged else math.nan,
        "wall_s": mesh.wall_s,
        "cpu_s": cpu,
        "cpu_busy": cpu / (cpus * mesh.wall_s),
        "main_cpu_s": mesh.main_cpu_s,
        "startup_share": ratio(max(n.to_ready_s for n in nodes), total),
    }


ROWS = {
    "spawn_spread_s": "last spawn issued",
    "ready_median_s": "ready (daemon banner / bare import), median",
    "ready_max_s": "all ready (the start-up part)",
    "complete_median_s": "node has all others, median",
    "complete_max_s": "every node has all others (TOTAL)",
    "seen_max_s": "... as received by this process",
    "after_ready_median_s": "own ready -> all others, median",
    "after_ready_max_s": "own ready -> all others, max",
}


def report_run(index: int, daemon: Mesh, bare: Mesh | None) -> dict[str, Any]:
    d = summary(daemon)
    b = summary(bare) if bare is not None else None
    rows = []
    for key, label in ROWS.items():
        rows.append(
            [
                label,
                fmt(d[key], 3),
                fmt(b[key], 3) if b else "",
                fmt_ratio(ratio(d[key], b[key])) if b else "",
            ]
        )
    n = int(d["nodes"])
    print_table(
        f"Run {index + 1}: mesh of {n} on one bridge, seconds from the first spawn",
        ["", "daemons", "bare zeroconf", "daemon/bare"],
        rows,
    )
    cpus = os.cpu_count() or 1
    for label, s in (("daemons", d), ("bare", b)):
        if s is None:
            continue
        print(
            f"{label}: CPU {s['cpu_s']:.1f} s in {s['wall_s']:.2f} s on {cpus} cores "
            f"({s['cpu_busy'] * 100:.0f}% busy), this process {s['main_cpu_s']:.1f} s; "
            f"fewest others found {s['found_min']:.0f} of {n - 1}"
        )
    listed = daemon.listed_online
    print(
        f"ListPeers at the end: online peers with addresses per daemon: min {min(listed)}, "
        f"max {max(listed)} (want {n - 1}); start-up share of the total: "
        f"{d['startup_share'] * 100:.0f}%"
        if not math.isnan(d["startup_share"])
        else f"did not converge within the limit; ListPeers min {min(listed)} of {n - 1}"
    )
    return {
        "daemon": d,
        "bare": b,
        "listed_online": listed,
        "nodes": {
            "daemon": [asdict(x) for x in daemon.nodes],
            "bare": [asdict(x) for x in bare.nodes] if bare else [],
        },
    }


async def run(
    lan: netns.Lan, children: Children, *, runs: int, bare: bool, limit: float
) -> dict[str, Any]:
    workdir = children.temp_dir()
    (workdir / "node.py").write_text(BARE_NODE)
    reports = []
    try:
        for index in range(runs):
            bare_result = None
            if bare:
                bare_result = await bare_mesh(lan, children, index, limit, workdir)
                await asyncio.sleep(1.0)
            daemon_result = await daemon_mesh(lan, children, index, limit)
            await asyncio.sleep(1.0)
            reports.append(report_run(index, daemon_result, bare_result))
    finally:
        await children.stop_all()
    totals = [r["daemon"]["complete_max_s"] for r in reports]
    ready = [r["daemon"]["ready_max_s"] for r in reports]
    total = statistics.median(totals)
    met = not math.isnan(total) and total <= TARGET_SECS
    bare_totals = [r["bare"]["complete_max_s"] for r in reports if r["bare"]]
    print(
        f"\ntarget every daemon has all others <= {TARGET_SECS:g} s"
        f"{' (median of runs)' if runs > 1 else ''}: {total:.3f} s "
        f"({'meets' if met else 'MISSES'}); all banners {statistics.median(ready):.3f} s"
        + (f"; bare zeroconf mesh {statistics.median(bare_totals):.3f} s" if bare_totals else "")
        + f"; {os.cpu_count()} CPUs"
    )
    return {
        "params": {
            "daemons": len(lan.hosts),
            "runs": runs,
            "bare": bare,
            "limit_s": limit,
            "homes": "fresh per daemon and run, removed at the end",
            "env_overrides": {},
            "daemon_settings": {"identity.device_name": "meshR-I (--set)"},
            "spawn": "all at once (asyncio.gather of the spawns), each via ip netns exec",
            "complete": "time field of the last needed peer_discovered (publish time in the "
            "daemon), from the daemon's replayed event log",
        },
        "runs": reports,
        "baseline": "spawn -> all banners (start-up share) and a bare zeroconf mesh",
        "ratios": {
            "total_vs_all_banners": ratio(total, statistics.median(ready)),
            "total_vs_bare_mesh": ratio(total, statistics.median(bare_totals))
            if bare_totals
            else math.nan,
        },
        "target": {"total_s": TARGET_SECS, "met": met},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--daemons", type=int, default=20, help="daemons (namespaces), 2-100")
    parser.add_argument("--runs", type=int, default=1, help="meshes started one after another")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare zeroconf mesh")
    parser.add_argument(
        "--limit", type=float, default=LIMIT_SECS, help="seconds a mesh may take to converge"
    )
    parser.add_argument("--quick", action="store_true", help="short run for a smoke test (5)")
    args = parser.parse_args()
    count = 5 if args.quick else args.daemons
    if not 2 <= count <= 100:
        parser.error("--daemons must be from 2 to 100")
    if args.runs < 1 or not 1 <= args.limit <= 600:
        parser.error("--runs must be at least 1 and --limit from 1 to 600")
    require_namespaces(parser)
    result = run_in_namespaces(
        count,
        lambda lan, children: run(
            lan, children, runs=args.runs, bare=not args.no_bare, limit=args.limit
        ),
    )
    path = write_result(NAME, finite({"quick": args.quick, "environment": environment(), **result}))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
