"""Pairing two daemons and the link it gives, against bare grpc.aio over mutual TLS.

Two daemons run in this process on loopback (listen_address 127.0.0.1, listen_port 0, mDNS
off), on fresh homes each repetition. Times, through the peer networks (what the PeerService
calls run): AddPeer; RequestPairing until both sides show the code; both confirms until both
trust; ConnectPeer until CONNECTED right after pairing (the pairing already starts the link)
and again after DisconnectPeer (a full dial); the first LinkService.Hello on the network's
channel; then Hello round trips on that link. Baseline in the same repetition: a bare grpc.aio
server with a constant LinkService.Hello on a mutual-TLS port with the same two identities,
called over its own channel (first call on a new channel, then the same round trips).
Run: `.venv/bin/python bench/peer_pairing.py [--repeats N] [--calls N] [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import shutil
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

from bench._common import (
    BenchError,
    environment,
    finite,
    fmt,
    fmt_ratio,
    print_table,
    ratio,
    short_temp_dir,
    summarize_ms,
    write_result,
)
from kizuna_client._layout import resolve_layout
from kizuna_server import PROTOCOL_VERSION, __version__
from kizuna_server.app import Daemon
from kizuna_server.config import load_config
from kizuna_server.core.peers import Connection, Trust
from kizuna_server.p2p.identity import Identity
from kizuna_server.p2p.network import PeerNetwork
from kizuna_server.p2p.wire import device_pb2, link_service_pb2, link_service_pb2_grpc

NAME = "peer_pairing"
#: How long one step may take before the benchmark gives up.
STEP_LIMIT_SECS = 20.0
#: A state is re-checked this often besides on every event the daemons publish.
POLL_SECS = 0.002
#: Round trips are timed in rounds of this many, alternating link and bare.
ROUND = 100
WARMUP_CALLS = 100
TEMP_PREFIX = "kzb-"


# --- waiting for a state ------------------------------------------------------------------------


async def until(
    predicate: Callable[[], bool], daemons: Sequence[Daemon], *, limit: float = STEP_LIMIT_SECS
) -> float:
    """perf_counter() when `predicate` first held.

    Checked inside every event either daemon publishes (the daemons change state and publish
    on this loop), and every POLL_SECS in case a change publishes nothing.
    """
    now = time.perf_counter()
    if predicate():
        return now
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    subscriptions: list[Any] = []

    def on_event() -> None:
        for subscription in subscriptions:
            while subscription.take() is not None:
                pass
        if not done.done() and predicate():
            done.set_result(time.perf_counter())

    for daemon in daemons:
        subscriptions.append(daemon.events.subscribe(notify=on_event))
    try:
        deadline = now + limit
        while not done.done():
            if predicate():
                done.set_result(time.perf_counter())
                break
            if time.perf_counter() > deadline:
                raise BenchError(f"state not reached within {limit:.0f}s")
            await asyncio.wait([done], timeout=POLL_SECS)
        return done.result()
    finally:
        for subscription in subscriptions:
            subscription.cancel()


# --- daemons ------------------------------------------------------------------------------------


def new_daemon(home: Path, name: str) -> Daemon:
    settings = {
        "identity": {"device_name": name},
        "discovery": {"enable_mdns": False, "enable_udp": False},
        "networking": {"listen_address": "127.0.0.1", "listen_port": 0},
    }
    return Daemon(load_config(resolve_layout(home), env={}, data=settings))


def network(daemon: Daemon) -> PeerNetwork:
    assert daemon.peers is not None
    return daemon.peers


def identity(daemon: Daemon) -> Identity:
    assert daemon.identity is not None
    return daemon.identity


def hello_request(daemon: Daemon) -> link_service_pb2.HelloRequest:
    """The Hello the daemon's own link sends (so the peer's entry does not change)."""
    config = daemon.config.identity
    return link_service_pb2.HelloRequest(
        device=device_pb2.DeviceInfo(
            name=config.device_name,
            device_type=config.device_type.upper(),
            protocol_version=PROTOCOL_VERSION,
            software_version=__version__,
        ),
        link_port=network(daemon).link_port,
    )


# --- the bare baseline --------------------------------------------------------------------------


class BareLink(link_service_pb2_grpc.LinkServiceServicer):
    """LinkService with a constant answer and nothing else."""

    def __init__(self) -> None:
        self._response = link_service_pb2.HelloResponse(
            device=device_pb2.DeviceInfo(name="bare", device_type="DESKTOP", protocol_version=1),
            protocol_version=1,
        )

    async def Hello(
        self, request: link_service_pb2.HelloRequest, context: Any
    ) -> link_service_pb2.HelloResponse:
        return self._response


async def bare_server(server_id: Identity, client_id: Identity) -> tuple[grpc.aio.Server, int]:
    """A grpc.aio server on 127.0.0.1 requiring the client's certificate (mutual TLS)."""
    server = grpc.aio.server()
    link_service_pb2_grpc.add_LinkServiceServicer_to_server(BareLink(), server)
    credentials = grpc.ssl_server_credentials(
        [(server_id.private_key_pem, server_id.certificate_pem)],
        root_certificates=client_id.certificate_pem,
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    return server, port


def bare_channel(port: int, server_id: Identity, client_id: Identity) -> grpc.aio.Channel:
    """A channel pinned to the server's certificate, presenting the client's."""
    credentials = grpc.ssl_channel_credentials(
        root_certificates=server_id.certificate_pem,
        private_key=client_id.private_key_pem,
        certificate_chain=client_id.certificate_pem,
    )
    return grpc.aio.secure_channel(
        f"127.0.0.1:{port}",
        credentials,
        options=[("grpc.ssl_target_name_override", server_id.device_id.lower())],
    )


# --- one repetition -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pairing:
    """One repetition; durations in seconds."""

    start_s: float  # both daemons started (concurrently), fresh homes
    add_peer_s: float  # AddPeer (A adds B's 127.0.0.1:port)
    request_a_s: float  # RequestPairing returned (A shows the code)
    request_both_s: float  # ... and B shows it too (from the same start)
    confirm_a_s: float  # A's ConfirmPairing call
    confirm_b_s: float  # B's ConfirmPairing call, after A's
    confirms_to_trust_s: float  # from A's confirm to both trusting each other
    trust_to_linked_s: float  # both trust -> A's link to B CONNECTED (started by the pairing)
    connect_after_pairing_s: float  # ConnectPeer called right after both trust, until it returns
    connected_at_call: bool  # the link was already up when ConnectPeer was called
    first_hello_s: float  # the first Hello on channel_for(B) after that
    cold_connect_s: float  # after DisconnectPeer: ConnectPeer until CONNECTED (a full dial)
    cold_first_hello_s: float  # the first Hello on the new channel
    bare_first_call_s: float  # bare: new mTLS channel + its first call (connect, handshake)
    total_s: float  # AddPeer .. first Hello after the pairing


@dataclass
class RoundTrips:
    link: list[float]
    bare: list[float]


async def timed_calls(call: Callable[[], Any], count: int) -> list[float]:
    out = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out


async def repetition(calls: int, dirs: list[Path]) -> tuple[Pairing, RoundTrips]:
    homes = [short_temp_dir(TEMP_PREFIX) for _ in range(2)]
    dirs.extend(homes)
    a, b = new_daemon(homes[0], "bench-a"), new_daemon(homes[1], "bench-b")
    daemons = (a, b)
    bare: grpc.aio.Server | None = None
    channel: grpc.aio.Channel | None = None
    try:
        started = time.perf_counter()
        await asyncio.gather(a.start(), b.start())
        start_s = time.perf_counter() - started
        pa, pb = network(a), network(b)
        a_id, b_id = identity(a).device_id, identity(b).device_id

        begin = time.perf_counter()
        await pa.add_peer(f"127.0.0.1:{pb.link_port}", persist=False)
        added = time.perf_counter()

        shown_a = await pa.request_pairing(b_id)
        requested = time.perf_counter()
        both_shown = await until(lambda: any(p.code for p in pb.pairings()), daemons)
        shown_b = next(p for p in pb.pairings() if p.code)
        if shown_a.code != shown_b.code:
            raise BenchError(f"codes differ: {shown_a.code!r} and {shown_b.code!r}")

        confirming = time.perf_counter()
        await pa.confirm_pairing(shown_a.id, None)
        confirmed_a = time.perf_counter()
        await pb.confirm_pairing(shown_b.id, None)
        confirmed_b = time.perf_counter()
        trusted = await until(
            lambda: (
                pa.snapshot(b_id).trust is Trust.TRUSTED
                and pb.snapshot(a_id).trust is Trust.TRUSTED
            ),
            daemons,
        )

        # The pairing has started the link on both sides: watch for A's coming up (an event)
        # while ConnectPeer waits for it.
        watch = asyncio.create_task(
            until(lambda: pa.snapshot(b_id).connection is Connection.CONNECTED, daemons)
        )
        at_call = pa.snapshot(b_id).connection is Connection.CONNECTED
        calling = time.perf_counter()
        snapshot = await pa.connect_peer(b_id)
        connected = time.perf_counter()
        if snapshot.connection is not Connection.CONNECTED:
            raise BenchError(f"ConnectPeer returned {snapshot.connection}")
        linked = min(await watch, connected)

        stub = link_service_pb2_grpc.LinkServiceStub(pa.channel_for(b_id))
        request = hello_request(a)
        hello_started = time.perf_counter()
        await stub.Hello(request, timeout=STEP_LIMIT_SECS)
        first_hello = time.perf_counter()

        await pa.disconnect_peer(b_id)
        cold_started = time.perf_counter()
        await pa.connect_peer(b_id)
        cold_connected = time.perf_counter()
        stub = link_service_pb2_grpc.LinkServiceStub(pa.channel_for(b_id))
        await stub.Hello(request, timeout=STEP_LIMIT_SECS)
        cold_hello = time.perf_counter()

        bare, port = await bare_server(identity(b), identity(a))
        bare_started = time.perf_counter()
        channel = bare_channel(port, identity(b), identity(a))
        bare_stub = link_service_pb2_grpc.LinkServiceStub(channel)
        await bare_stub.Hello(request, timeout=STEP_LIMIT_SECS)
        bare_first = time.perf_counter() - bare_started

        async def link_call() -> None:
            await stub.Hello(request, timeout=STEP_LIMIT_SECS)

        async def bare_call() -> None:
            await bare_stub.Hello(request, timeout=STEP_LIMIT_SECS)

        await timed_calls(link_call, WARMUP_CALLS)
        await timed_calls(bare_call, WARMUP_CALLS)
        trips = RoundTrips([], [])
        for _ in range(math.ceil(calls / ROUND)):
            trips.link += await timed_calls(link_call, ROUND)
            trips.bare += await timed_calls(bare_call, ROUND)
        trips.link, trips.bare = trips.link[:calls], trips.bare[:calls]

        pairing = Pairing(
            start_s=start_s,
            add_peer_s=added - begin,
            request_a_s=requested - added,
            request_both_s=max(both_shown, requested) - added,
            confirm_a_s=confirmed_a - confirming,
            confirm_b_s=confirmed_b - confirmed_a,
            confirms_to_trust_s=trusted - confirming,
            trust_to_linked_s=max(0.0, linked - trusted),
            connect_after_pairing_s=connected - calling,
            connected_at_call=at_call,
            first_hello_s=first_hello - hello_started,
            cold_connect_s=cold_connected - cold_started,
            cold_first_hello_s=cold_hello - cold_connected,
            bare_first_call_s=bare_first,
            total_s=first_hello - begin,
        )
        return pairing, trips
    finally:
        if channel is not None:
            await channel.close(None)
        if bare is not None:
            await bare.stop(None)
        await asyncio.gather(*(d.stop() for d in daemons), return_exceptions=True)
        for home in homes:
            shutil.rmtree(home, ignore_errors=True)


# --- report -------------------------------------------------------------------------------------

STEPS = {
    "start_s": "start both daemons (fresh homes)",
    "add_peer_s": "AddPeer",
    "request_a_s": "RequestPairing -> A shows the code",
    "request_both_s": "RequestPairing -> both show the code",
    "confirm_a_s": "ConfirmPairing on A (call)",
    "confirm_b_s": "ConfirmPairing on B (call)",
    "confirms_to_trust_s": "A's confirm -> both trust",
    "trust_to_linked_s": "both trust -> link CONNECTED (automatic)",
    "connect_after_pairing_s": "ConnectPeer right after pairing",
    "first_hello_s": "first Hello on the link",
    "total_s": "AddPeer .. first Hello (sum of the steps)",
    "cold_connect_s": "ConnectPeer after DisconnectPeer (full dial)",
    "cold_first_hello_s": "first Hello on the new link",
    "bare_first_call_s": "bare: new mTLS channel + first call",
}


def step_stats(values: Sequence[float]) -> dict[str, float]:
    ms = [v * 1e3 for v in values]
    return {
        "median_ms": statistics.median(ms) if ms else math.nan,
        "min_ms": min(ms, default=math.nan),
        "max_ms": max(ms, default=math.nan),
    }


def report(pairings: list[Pairing], trips: list[RoundTrips], calls: int) -> dict[str, Any]:
    steps = {key: step_stats([getattr(p, key) for p in pairings]) for key in STEPS}
    bare_first = steps["bare_first_call_s"]["median_ms"]
    rows = []
    for key, label in STEPS.items():
        s = steps[key]
        base = bare_first if key in ("cold_connect_s", "connect_after_pairing_s") else math.nan
        rows.append(
            [
                label,
                fmt(s["median_ms"], 2),
                fmt(s["min_ms"], 2),
                fmt(s["max_ms"], 2),
                fmt_ratio(ratio(s["median_ms"], base)),
            ]
        )
    print_table(
        f"Pairing on loopback, {len(pairings)} repetitions with fresh homes (ms)",
        ["step", "median", "min", "max", "vs bare first call"],
        rows,
    )
    already = sum(p.connected_at_call for p in pairings)
    print(
        f"ConnectPeer right after pairing found the link already up in {already} of "
        f"{len(pairings)} repetitions (the pairing starts the link on both sides)"
    )
    link_all = [t for r in trips for t in r.link]
    bare_all = [t for r in trips for t in r.bare]
    link = summarize_ms(link_all)
    bare = summarize_ms(bare_all)
    per_rep = {
        "link_p50_ms": [summarize_ms(r.link)["p50"] for r in trips],
        "link_p99_ms": [summarize_ms(r.link)["p99"] for r in trips],
        "bare_p50_ms": [summarize_ms(r.bare)["p50"] for r in trips],
        "bare_p99_ms": [summarize_ms(r.bare)["p99"] for r in trips],
    }
    print_table(
        f"Hello round trips, {calls} per repetition after {WARMUP_CALLS} warm-up, in rounds of "
        f"{ROUND} alternating (ms, all repetitions pooled)",
        ["channel", "calls", "p50", "p90", "p99", "max", "mean", "p50/bare", "p99/bare"],
        [
            [
                label,
                str(s["n"]),
                fmt(s["p50"]),
                fmt(s["p90"]),
                fmt(s["p99"]),
                fmt(s["max"]),
                fmt(s["mean"]),
                fmt_ratio(ratio(s["p50"], bare["p50"])),
                fmt_ratio(ratio(s["p99"], bare["p99"])),
            ]
            for label, s in (
                ("daemon link (network's channel)", link),
                ("bare grpc.aio, mutual TLS", bare),
            )
        ],
    )
    median_of = {key: statistics.median(values) for key, values in per_rep.items()}
    print(
        f"median over repetitions: link p50 {median_of['link_p50_ms']:.3f} / p99 "
        f"{median_of['link_p99_ms']:.3f} ms, bare p50 {median_of['bare_p50_ms']:.3f} / p99 "
        f"{median_of['bare_p99_ms']:.3f} ms"
    )
    return {
        "params": {
            "repeats": len(pairings),
            "calls": calls,
            "warmup_calls": WARMUP_CALLS,
            "round": ROUND,
            "daemon_settings": {
                "discovery.enable_mdns": False,
                "discovery.enable_udp": False,
                "networking.listen_address": "127.0.0.1",
                "networking.listen_port": 0,
            },
            "add_peer_persist": False,
            "in_process": "both daemons, the bare server and every client share one event loop",
        },
        "steps": steps,
        "round_trips": {"link": link, "bare": bare, "per_repetition": per_rep},
        "runs": [asdict(p) for p in pairings],
        "baseline": "bare grpc.aio unary over mutual TLS with the same identities",
        "ratios": {
            "hello_p50_vs_bare": ratio(link["p50"], bare["p50"]),
            "hello_p99_vs_bare": ratio(link["p99"], bare["p99"]),
            "cold_connect_vs_bare_first_call": ratio(
                steps["cold_connect_s"]["median_ms"], bare_first
            ),
            "cold_connect_plus_hello_vs_bare_first_call": ratio(
                steps["cold_connect_s"]["median_ms"] + steps["cold_first_hello_s"]["median_ms"],
                bare_first,
            ),
        },
    }


async def run(repeats: int, calls: int, dirs: list[Path]) -> dict[str, Any]:
    pairings: list[Pairing] = []
    trips: list[RoundTrips] = []
    for index in range(repeats):
        pairing, rt = await repetition(calls, dirs)
        pairings.append(pairing)
        trips.append(rt)
        print(
            f"repetition {index + 1}/{repeats}: AddPeer..first Hello {pairing.total_s * 1e3:.1f} "
            f"ms, Hello p50 {summarize_ms(rt.link)['p50']:.3f} ms (bare "
            f"{summarize_ms(rt.bare)['p50']:.3f})",
            flush=True,
        )
    return report(pairings, trips, calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10, help="pairings with fresh homes")
    parser.add_argument("--calls", type=int, default=1000, help="Hello round trips per repeat")
    parser.add_argument("--quick", action="store_true", help="short run for a smoke test")
    args = parser.parse_args()
    repeats, calls = (2, 200) if args.quick else (args.repeats, args.calls)
    if repeats < 1 or calls < 1:
        parser.error("--repeats and --calls must be at least 1")
    dirs: list[Path] = []
    try:
        result = asyncio.run(run(repeats, calls, dirs))
    finally:
        for path in dirs:
            with contextlib.suppress(OSError):
                shutil.rmtree(path)
    path = write_result(NAME, finite({"quick": args.quick, "environment": environment(), **result}))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
