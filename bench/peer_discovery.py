"""mDNS discovery between two daemons on a namespace LAN, against bare python-zeroconf.

Host 0 runs daemon A for the whole benchmark; each run spawns daemon B on host 1 with a fresh
home (a new identity, so A reports it with `peer_discovered`), times spawn -> banner, spawn ->
A's event and spawn -> A's ListPeers showing B with addresses, then SIGTERMs B and times
SIGTERM -> A's `peer_lost`. The baseline, in the same run (interleaved), is a bare zeroconf
responder on host 1 (register with default probing, unregister on SIGTERM) seen by a bare
AsyncServiceBrowser on host 0. Needs root (network namespaces).
Run: `.venv/bin/python bench/peer_discovery.py [--runs N] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import signal
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench._common import (
    BANNER_LAST_LINE,
    BenchError,
    ServerProcess,
    daemon_argv,
    environment,
    finite,
    fmt,
    fmt_ratio,
    launch,
    print_table,
    ratio,
    short_temp_dir,
    write_result,
)
from kizuna_client import Kizuna, KizunaEvent
from kizuna_client.types import enum_name
from kizuna_client.v1 import event_pb2
from tests import netns

NAME = "peer_discovery"
#: Targets the figures are reported against (not asserted).
TARGET_DISCOVERY_SECS = 1.5
TARGET_GOODBYE_SECS = 1.0
#: How long one step of a run may take before the benchmark gives up.
STEP_LIMIT_SECS = 20.0
#: Pause between runs, so that one run's goodbye traffic is over before the next spawn.
SETTLE_SECS = 0.5
#: The service type of the bare baseline (not Kizuna's, so daemon A ignores it).
BARE_TYPE = "_kzbench._tcp.local."
#: Temporary directories of these benchmarks start with this (homes, programs, logs).
TEMP_PREFIX = "kzb-"
#: A's peer table holds 256 entries by default; every run adds one (B has a new ID each time).
MAX_RUNS = 200

#: A bare python-zeroconf responder: AsyncZeroconf() with its defaults, one service registered
#: with the default probing, unregistered (goodbye) on SIGTERM. Prints perf_counter stamps
#: (CLOCK_MONOTONIC, the same clock as the parent's). argv: type, instance name, host, addresses.
BARE_RESPONDER = '''\
"""Bare zeroconf responder: registers one service, unregisters it on SIGTERM."""

import asyncio
import signal
import sys
import time

from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf


async def main(service_type: str, name: str, host: str, addresses: list[str]) -> None:
    print(f"imported {time.perf_counter()}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    zc = AsyncZeroconf()
    info = AsyncServiceInfo(
        service_type,
        name,
        port=47120,
        properties={"id": name.split(".")[0], "name": "bare", "pv": "1"},
        server=host,
        parsed_addresses=addresses,
    )
    print(f"registering {time.perf_counter()}", flush=True)
    announcing = await zc.async_register_service(info)
    print(f"probed {time.perf_counter()}", flush=True)
    await announcing
    print(f"registered {time.perf_counter()}", flush=True)
    await stop.wait()
    await (await zc.async_unregister_service(info))
    await zc.async_close()


asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
'''

#: A bare AsyncServiceBrowser (AsyncZeroconf() defaults) that prints "added|resolved|removed
#: <perf_counter> <name>" for every change; "resolved" once AsyncServiceInfo.async_request
#: has the service's records (what the daemon waits for before it reports a peer).
BARE_BROWSER = '''\
"""Bare zeroconf browser: prints when services appear, resolve and disappear."""

import asyncio
import signal
import sys
import time

from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf


async def main(service_type: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    zc = AsyncZeroconf()
    tasks: set[asyncio.Task[None]] = set()

    async def resolve(name: str) -> None:
        info = AsyncServiceInfo(service_type, name)
        if await info.async_request(zc.zeroconf, 3000):
            print(f"resolved {time.perf_counter()} {name}", flush=True)

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        now = time.perf_counter()
        if state_change is ServiceStateChange.Added:
            print(f"added {now} {name}", flush=True)
            task = loop.create_task(resolve(name))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        elif state_change is ServiceStateChange.Removed:
            print(f"removed {now} {name}", flush=True)

    browser = AsyncServiceBrowser(zc.zeroconf, [service_type], handlers=[on_change])
    print("ready", flush=True)
    await stop.wait()
    await browser.async_cancel()
    await zc.async_close()


asyncio.run(main(sys.argv[1]))
'''


# --- processes in namespaces (shared with peer_mesh.py) -----------------------------------------


@dataclass
class Children:
    """What a namespace benchmark started, so that all of it goes even on Ctrl-C or an error.

    `stop_all()` is the graceful end on the event loop; `kill_all()` is the synchronous safety
    net run after the loop is gone and before the namespaces are deleted.
    """

    processes: list[ServerProcess] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)

    def temp_dir(self) -> Path:
        path = short_temp_dir(TEMP_PREFIX)
        self.dirs.append(path)
        return path

    async def launch(
        self, argv: Sequence[str], *, socket_path: Path, log_path: Path
    ) -> ServerProcess:
        server = await launch(argv, socket_path=socket_path, log_path=log_path)
        self.processes.append(server)
        return server

    async def stop_all(self) -> None:
        await asyncio.gather(*(p.stop() for p in self.processes), return_exceptions=True)

    def kill_all(self) -> None:
        pids = [p.pid for p in self.processes if p.proc.returncode is None]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _alive(pid)]
            if pids:
                time.sleep(0.02)

    def remove_dirs(self) -> None:
        for path in self.dirs:
            shutil.rmtree(path, ignore_errors=True)
        self.dirs.clear()


def _alive(pid: int) -> bool:
    """False once `pid` has exited (a zombie has left its namespaces already)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")


def run_in_namespaces(count: int, body: Callable[[netns.Lan, Children], Any]) -> Any:
    """Runs `asyncio.run(body(lan, children))` on a fresh LAN of `count` hosts, then removes
    every process, namespace and temporary directory, also after Ctrl-C or an error."""
    children = Children()
    try:
        with netns.lan(count) as lan:
            try:
                return asyncio.run(body(lan, children))
            finally:
                children.kill_all()
    finally:
        children.remove_dirs()


async def spawn_daemon(
    children: Children, host: netns.Host, home: Path, name: str
) -> ServerProcess:
    """`kizuna daemon --home HOME --set identity.device_name=NAME` inside `host`."""
    argv = host.command(*daemon_argv(home, {"identity.device_name": name}))
    return await children.launch(
        argv, socket_path=home / "run" / "kizuna.sock", log_path=home / "daemon.log"
    )


def starts_with(prefix: str) -> Callable[[str], bool]:
    return lambda line: line.startswith(prefix)


is_banner_end = starts_with(BANNER_LAST_LINE)


def banner_device_id(server: ServerProcess) -> str:
    """The device ID (canonical, ungrouped) from the banner a daemon printed."""
    for line in server.lines:
        label, _, value = line.strip().partition("  ")
        if label == "device ID":
            return value.strip().replace("-", "")
    raise BenchError(f"pid {server.pid}: no device ID in the banner{server.tail()}")


def stats_s(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of durations in seconds, in milliseconds; NaN (not seen) left out
    and counted as `missing`."""
    seen = [v for v in values if not math.isnan(v)]
    if not seen:
        nan = math.nan
        return {"n": 0, "missing": len(values), "median_ms": nan, "min_ms": nan, "max_ms": nan}
    return {
        "n": len(seen),
        "missing": len(values) - len(seen),
        "median_ms": statistics.median(seen) * 1e3,
        "min_ms": min(seen) * 1e3,
        "max_ms": max(seen) * 1e3,
    }


def require_namespaces(parser: argparse.ArgumentParser) -> None:
    reason = netns.available()
    if reason is not None:
        parser.exit(2, f"{parser.prog}: {reason}\n")


# --- events of daemon A -------------------------------------------------------------------------


class Inbox:
    """Events of one subscription with their time of receipt (perf_counter), in order."""

    def __init__(self) -> None:
        self.items: list[tuple[float, KizunaEvent]] = []
        self.started = asyncio.Event()
        self._changed = asyncio.Event()

    async def collect(self, client: Kizuna, types: Sequence[str]) -> None:
        async with client.subscribe_events(types=types) as events:
            await events.started()
            self.started.set()
            async for item in events:
                if isinstance(item, KizunaEvent):
                    self.items.append((time.perf_counter(), item))
                    self._changed.set()

    async def wait_for(
        self, match: Callable[[KizunaEvent], bool], *, start: int, limit: float = STEP_LIMIT_SECS
    ) -> tuple[float, KizunaEvent]:
        """The first event from index `start` on that `match`es, waiting for it if needed."""
        deadline = time.perf_counter() + limit
        index = start
        while True:
            while index < len(self.items):
                received, event = self.items[index]
                if match(event):
                    return received, event
                index += 1
            self._changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError(f"no matching event within {limit:.0f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


# --- one run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaemonRun:
    """One spawn and stop of daemon B; seconds from B's spawn (or from SIGTERM for the last)."""

    to_banner_s: float  # B's own banner (its last line) on B's stdout
    to_published_s: float  # `peer_discovered` for B published in A (the event's time field)
    to_event_s: float  # that event received by the subscriber of A
    to_listed_s: float  # A's ListPeers shows B online with addresses
    to_registered_s: float  # B's discovery reports its registration done (polled every 50 ms)
    event_addresses: int  # addresses in the peer_discovered event's snapshot of B
    listed_addresses: int  # addresses ListPeers showed
    goodbye_s: float  # SIGTERM to B -> `peer_lost` for B received from A (NaN: none in time)
    goodbye_published_s: float  # SIGTERM -> `peer_lost` published in A (its time field)
    lost_reason: str  # the peer_lost reason ("" when none came)
    still_online_after_wait: bool  # no peer_lost, and A's ListPeers still shows B online
    exit_s: float  # SIGTERM -> B exited


@dataclass(frozen=True)
class BareRun:
    """One bare responder; seconds from its spawn (or from SIGTERM for the last)."""

    to_imported_s: float  # interpreter up and zeroconf imported
    to_probed_s: float  # probing done, first announcement going out (responder's stamp)
    to_registered_s: float  # the announcements (3, 225 ms apart) sent too
    to_added_s: float  # browser: ServiceStateChange.Added
    to_resolved_s: float  # browser: records resolved (AsyncServiceInfo.async_request)
    register_to_resolved_s: float  # async_register_service called -> resolved in the browser
    goodbye_s: float  # SIGTERM -> browser: ServiceStateChange.Removed


class Browser:
    """The bare browser process and what it printed, by (kind, name)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.seen: dict[tuple[str, str], float] = {}
        self._changed = asyncio.Event()

    async def collect(self) -> None:
        stdout = self.server.proc.stdout
        assert stdout is not None
        while raw := await stdout.readline():
            kind, _, rest = raw.decode(errors="replace").strip().partition(" ")
            stamp, _, name = rest.partition(" ")
            if name:
                self.seen.setdefault((kind, name), float(stamp))
                self._changed.set()

    async def wait_for(self, kind: str, name: str, *, limit: float = STEP_LIMIT_SECS) -> float:
        deadline = time.perf_counter() + limit
        while (kind, name) not in self.seen:
            self._changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError(f"bare browser: no '{kind}' for {name} in {limit:.0f}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.seen[kind, name]


async def bare_run(
    index: int, children: Children, host: netns.Host, browser: Browser, workdir: Path
) -> BareRun:
    name = f"bare{index}-{os.getpid()}.{BARE_TYPE}"
    argv = host.command(
        sys.executable,
        str(workdir / "responder.py"),
        BARE_TYPE,
        name,
        f"bare{index}-{os.getpid()}.local.",
        host.ipv4,
        host.ipv6,
    )
    responder = await children.launch(
        argv, socket_path=workdir / "none", log_path=workdir / "responder.log"
    )
    spawned = responder.spawned_at
    stamps: dict[str, float] = {}
    for kind in ("imported", "registering", "probed", "registered"):
        _, line = await responder.wait_for_line(starts_with(f"{kind} "))
        stamps[kind] = float(line.split()[1])
    added = await browser.wait_for("added", name)
    resolved = await browser.wait_for("resolved", name)
    await asyncio.sleep(SETTLE_SECS)
    stop_sent = time.perf_counter()
    responder.proc.send_signal(signal.SIGTERM)
    removed = await browser.wait_for("removed", name)
    await responder.stop()
    return BareRun(
        to_imported_s=stamps["imported"] - spawned,
        to_probed_s=stamps["probed"] - spawned,
        to_registered_s=stamps["registered"] - spawned,
        to_added_s=added - spawned,
        to_resolved_s=resolved - spawned,
        register_to_resolved_s=resolved - stamps["registering"],
        goodbye_s=removed - stop_sent,
    )


async def daemon_run(
    index: int,
    children: Children,
    host: netns.Host,
    inbox: Inbox,
    client: Kizuna,
    *,
    goodbye_wait: float,
) -> DaemonRun:
    home = children.temp_dir()  # fresh home: a new identity, so A sees a new peer
    mark = len(inbox.items)
    spawned_wall = time.time()
    daemon = await spawn_daemon(children, host, home, f"bench-b{index}")
    spawned = daemon.spawned_at
    banner_at, _ = await daemon.wait_for_line(is_banner_end)
    peer_id = banner_device_id(daemon)

    def discovered(event: KizunaEvent) -> bool:
        return (
            event.type == "peer_discovered"
            and event.message.peer_discovered.peer.device_id == peer_id
        )

    received, event = await inbox.wait_for(discovered, start=mark)
    published = event.message.time.ToNanoseconds() / 1e9
    # A fills the entry before it publishes the event, so the first ListPeers after it normally
    # shows the addresses; poll (bounded) in case it does not.
    listed_at, listed_addresses = 0.0, 0
    deadline = time.perf_counter() + STEP_LIMIT_SECS
    while time.perf_counter() < deadline:
        peers = {p.device_id: p for p in await client.discover_peers()}
        peer = peers.get(peer_id)
        if peer is not None and peer.online and peer.addresses:
            listed_at, listed_addresses = time.perf_counter(), len(peer.addresses)
            break
        await asyncio.sleep(0.005)
    else:
        raise BenchError(f"A's ListPeers never showed {peer_id} with addresses")

    # Stop B as a daemon that has been running a while: once its registration has finished
    # (probing and the three announcements; polled, so later by up to one poll).
    async with Kizuna(home=home) as own:
        await wait_announcing(own)
    registered_at = time.perf_counter()
    await asyncio.sleep(SETTLE_SECS)
    mark = len(inbox.items)
    stop_sent_wall = time.time()
    stop_sent = time.perf_counter()
    daemon.proc.send_signal(signal.SIGTERM)

    def lost(event: KizunaEvent) -> bool:
        return event.type == "peer_lost" and event.message.peer_lost.peer.device_id == peer_id

    await asyncio.wait_for(daemon.proc.wait(), STEP_LIMIT_SECS)
    exited = time.perf_counter()
    goodbye, goodbye_published, reason = math.nan, math.nan, ""
    with contextlib.suppress(BenchError):
        lost_at, lost_event = await inbox.wait_for(
            lost, start=mark, limit=goodbye_wait - (exited - stop_sent)
        )
        goodbye = lost_at - stop_sent
        goodbye_published = lost_event.message.time.ToNanoseconds() / 1e9 - stop_sent_wall
        reason = enum_name(
            event_pb2.PeerLost.Reason, lost_event.message.peer_lost.reason, "REASON_"
        )
    still_online = False
    if math.isnan(goodbye):
        listed = {p.device_id: p for p in await client.discover_peers()}
        still_online = peer_id in listed and listed[peer_id].online
    await daemon.stop()
    shutil.rmtree(home, ignore_errors=True)
    return DaemonRun(
        to_banner_s=banner_at - spawned,
        to_published_s=published - spawned_wall,
        to_event_s=received - spawned,
        to_listed_s=listed_at - spawned,
        to_registered_s=registered_at - spawned,
        event_addresses=len(event.message.peer_discovered.peer.addresses),
        listed_addresses=listed_addresses,
        goodbye_s=goodbye,
        goodbye_published_s=goodbye_published,
        lost_reason=reason,
        still_online_after_wait=still_online,
        exit_s=exited - stop_sent,
    )


async def wait_announcing(client: Kizuna, *, limit: float = STEP_LIMIT_SECS) -> str:
    """Waits until a daemon's discovery has registered (probing done); returns the detail."""
    deadline = time.perf_counter() + limit
    detail = ""
    while time.perf_counter() < deadline:
        node = await client.node()
        detail = next((s.detail for s in node.subsystems if s.name == "discovery"), "")
        if detail.startswith("announcing"):
            return detail
        await asyncio.sleep(0.05)
    raise BenchError(f"daemon A's discovery did not start announcing: {detail!r}")


async def run(
    lan: netns.Lan, children: Children, *, runs: int, goodbye_wait: float
) -> dict[str, Any]:
    host_a, host_b = lan.hosts
    workdir = children.temp_dir()
    (workdir / "responder.py").write_text(BARE_RESPONDER)
    (workdir / "browser.py").write_text(BARE_BROWSER)
    tasks: list[asyncio.Task[None]] = []
    bare: list[BareRun] = []
    daemon: list[DaemonRun] = []
    try:
        browser_process = await children.launch(
            host_a.command(sys.executable, str(workdir / "browser.py"), BARE_TYPE),
            socket_path=workdir / "none",
            log_path=workdir / "browser.log",
        )
        await browser_process.wait_for_line(lambda line: line == "ready")
        browser = Browser(browser_process)
        tasks.append(asyncio.create_task(browser.collect()))

        home_a = children.temp_dir()
        daemon_a = await spawn_daemon(children, host_a, home_a, "bench-a")
        await daemon_a.wait_for_line(is_banner_end)
        async with Kizuna(home=home_a) as client:
            detail = await wait_announcing(client)
            inbox = Inbox()
            tasks.append(
                asyncio.create_task(
                    inbox.collect(client, ["peer_discovered", "peer_lost", "peer_updated"])
                )
            )
            await asyncio.wait_for(inbox.started.wait(), STEP_LIMIT_SECS)
            for index in range(runs):
                # Interleaved, so that a slow phase of the VM hits both alike.
                bare.append(await bare_run(index, children, host_b, browser, workdir))
                await asyncio.sleep(SETTLE_SECS)
                daemon.append(
                    await daemon_run(
                        index, children, host_b, inbox, client, goodbye_wait=goodbye_wait
                    )
                )
                await asyncio.sleep(SETTLE_SECS)
                d, b = daemon[-1], bare[-1]
                gone = (
                    f"{d.goodbye_s * 1e3:.0f} ms"
                    if not math.isnan(d.goodbye_s)
                    else f"none in {goodbye_wait:g} s"
                )
                print(
                    f"run {index + 1}/{runs}: daemon spawn->discovered {d.to_event_s * 1e3:.0f} "
                    f"ms, goodbye {gone}; bare spawn->resolved {b.to_resolved_s * 1e3:.0f} ms, "
                    f"goodbye {b.goodbye_s * 1e3:.0f} ms",
                    flush=True,
                )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await children.stop_all()
    return report(bare, daemon, a_discovery=detail, goodbye_wait=goodbye_wait)


def stat_row(label: str, s: dict[str, float], base_ms: float | None) -> list[str]:
    return [
        label,
        str(s["n"]),
        str(s["missing"]) if s["missing"] else "",
        fmt(s["median_ms"], 0),
        fmt(s["min_ms"], 0),
        fmt(s["max_ms"], 0),
        fmt_ratio(ratio(s["median_ms"], base_ms)) if base_ms is not None else "",
    ]


HEADERS = ["what", "runs", "missing", "median", "min", "max", "vs bare"]


def report(
    bare: list[BareRun], daemon: list[DaemonRun], *, a_discovery: str, goodbye_wait: float
) -> dict[str, Any]:
    d = {name: stats_s([getattr(r, name) for r in daemon]) for name in DAEMON_ROWS}
    b = {name: stats_s([getattr(r, name) for r in bare]) for name in BARE_ROWS}
    base = b["to_resolved_s"]["median_ms"]
    rows = [stat_row(f"daemon: {label}", d[name], base) for name, label in DAEMON_ROWS.items()]
    rows += [stat_row(f"bare: {label}", b[name], base) for name, label in BARE_ROWS.items()]
    print_table(
        "Discovery, from spawning the announcing process (ms); ratio to bare spawn -> resolved",
        HEADERS,
        rows,
    )
    split = {
        "daemon_banner_to_event": stats_s([r.to_event_s - r.to_banner_s for r in daemon]),
        "bare_register_to_resolved": stats_s([r.register_to_resolved_s for r in bare]),
        "daemon_goodbye": stats_s([r.goodbye_s for r in daemon]),
        "daemon_goodbye_published": stats_s([r.goodbye_published_s for r in daemon]),
        "daemon_exit_after_sigterm": stats_s([r.exit_s for r in daemon]),
        "bare_goodbye": stats_s([r.goodbye_s for r in bare]),
    }
    after_base = split["bare_register_to_resolved"]["median_ms"]
    goodbye_base = split["bare_goodbye"]["median_ms"]
    print_table(
        f"After start-up, and goodbye (ms; 'missing': no peer_lost within {goodbye_wait:g} s)",
        HEADERS,
        [
            stat_row(
                "daemon: B's banner -> A's event", split["daemon_banner_to_event"], after_base
            ),
            stat_row("bare: register call -> resolved", split["bare_register_to_resolved"], None),
            stat_row(
                "daemon: SIGTERM B -> peer_lost received", split["daemon_goodbye"], goodbye_base
            ),
            stat_row(
                "daemon: SIGTERM B -> peer_lost published", split["daemon_goodbye_published"], None
            ),
            stat_row("daemon: SIGTERM B -> B exited", split["daemon_exit_after_sigterm"], None),
            stat_row("bare: SIGTERM -> Removed", split["bare_goodbye"], None),
        ],
    )
    reasons = sorted({r.lost_reason or "(none)" for r in daemon})
    still_online = sum(r.still_online_after_wait for r in daemon)
    event_addresses = sorted({r.event_addresses for r in daemon})
    listed_addresses = sorted({r.listed_addresses for r in daemon})
    print(
        f"\npeer_lost reasons: {', '.join(reasons)}; B still online in A's ListPeers "
        f"{goodbye_wait:g} s after SIGTERM: {still_online} of {len(daemon)} runs"
    )
    print(
        f"addresses in the peer_discovered event: {event_addresses}, in ListPeers right after: "
        f"{listed_addresses}"
    )
    discovery_s = d["to_event_s"]["median_ms"] / 1e3
    goodbye = split["daemon_goodbye"]
    goodbye_s = goodbye["median_ms"] / 1e3 if not goodbye["missing"] else math.inf
    discovery_ok = discovery_s <= TARGET_DISCOVERY_SECS
    goodbye_ok = goodbye_s <= TARGET_GOODBYE_SECS
    print(
        f"target spawn -> discovered <= {TARGET_DISCOVERY_SECS:g} s (median): {discovery_s:.3f} s "
        f"({'meets' if discovery_ok else 'MISSES'}); bare zeroconf spawn -> resolved here: "
        f"{base / 1e3:.3f} s"
    )
    shown = (
        f"{goodbye_s:.3f} s"
        if not goodbye["missing"]
        else f"no peer_lost within {goodbye_wait:g} s in {goodbye['missing']:.0f} of "
        f"{len(daemon)} runs"
    )
    print(
        f"target goodbye -> gone <= {TARGET_GOODBYE_SECS:g} s (median): {shown} "
        f"({'meets' if goodbye_ok else 'MISSES'})"
    )
    return {
        "params": {
            "runs": len(daemon),
            "b_home": "fresh per run (new identity each time), removed after the run",
            "b_stopped": "after its discovery reported the registration done, + settle_s",
            "daemon_settings": {"identity.device_name": "bench-a / bench-bN (--set)"},
            "env_overrides": {},
            "settle_s": SETTLE_SECS,
            "goodbye_wait_s": goodbye_wait,
            "a_discovery": a_discovery,
            "bare": "AsyncZeroconf() defaults (IPv4 only); register with default probing",
        },
        "stats": {"daemon": d, "bare": b, **split},
        "runs": {"daemon": [asdict(r) for r in daemon], "bare": [asdict(r) for r in bare]},
        "baseline": "bare to_resolved_s (spawn -> resolved) and bare goodbye",
        "ratios": {
            "discovered_vs_bare_resolved": ratio(d["to_event_s"]["median_ms"], base),
            "listed_vs_bare_resolved": ratio(d["to_listed_s"]["median_ms"], base),
            "after_banner_vs_after_register": ratio(
                split["daemon_banner_to_event"]["median_ms"], after_base
            ),
            "goodbye_vs_bare": ratio(split["daemon_goodbye"]["median_ms"], goodbye_base),
        },
        "lost_reasons": reasons,
        "still_online_after_wait": still_online,
        "event_addresses": event_addresses,
        "target": {
            "discovery_s": TARGET_DISCOVERY_SECS,
            "goodbye_s": TARGET_GOODBYE_SECS,
            "discovery_met": discovery_ok,
            "goodbye_met": goodbye_ok,
        },
    }


DAEMON_ROWS = {
    "to_banner_s": "spawn B -> B's banner",
    "to_published_s": "spawn B -> peer_discovered published in A",
    "to_event_s": "spawn B -> peer_discovered received",
    "to_listed_s": "spawn B -> A's ListPeers with addresses",
    "to_registered_s": "spawn B -> B's registration done (polled)",
}
BARE_ROWS = {
    "to_imported_s": "spawn -> zeroconf imported",
    "to_probed_s": "spawn -> probing done",
    "to_registered_s": "spawn -> announcements done",
    "to_added_s": "spawn -> browser Added",
    "to_resolved_s": "spawn -> browser resolved",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="spawns of B (and of the baseline)")
    parser.add_argument(
        "--goodbye-wait",
        type=float,
        default=5.0,
        help="how long to wait for peer_lost after SIGTERM to B (s; default 5)",
    )
    parser.add_argument("--quick", action="store_true", help="short run for a smoke test (2 runs)")
    args = parser.parse_args()
    runs = 2 if args.quick else args.runs
    if not 1 <= runs <= MAX_RUNS:
        parser.error(f"--runs must be from 1 to {MAX_RUNS}")
    if not 0 < args.goodbye_wait <= 600:
        parser.error("--goodbye-wait must be above 0 and at most 600")
    require_namespaces(parser)
    result = run_in_namespaces(
        2,
        lambda lan, children: run(lan, children, runs=runs, goodbye_wait=args.goodbye_wait),
    )
    path = write_result(NAME, finite({"quick": args.quick, "environment": environment(), **result}))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
