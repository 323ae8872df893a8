"""Unary round trip to the daemon over its Unix socket, against a bare grpc.aio server.

Measures sequential `await Kizuna.node()` calls (and raw GetNode / Health.Check stubs on the same
daemon) next to raw Health.Check on a bare grpc.aio server. Run:
`.venv/bin/python bench/unary_rtt.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._common import (
    ServerProcess,
    environment,
    finite,
    fmt,
    fmt_ratio,
    print_table,
    ratio,
    short_temp_dir,
    start_bare_health_server,
    start_daemon,
    summarize_ms,
    write_result,
)
from kizuna_client import Kizuna
from kizuna_client.v1 import node_service_pb2, node_service_pb2_grpc

NAME = "unary_rtt"
#: Target the figures are reported against (not asserted): kizuna_client p99 in ms.
TARGET_P99_MS = 1.0

Call = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Variant:
    """One way of making a unary call, timed the same way as the others."""

    key: str
    label: str
    call: Call


async def time_calls(call: Call, count: int, into: list[float]) -> None:
    """Awaits `call` `count` times in sequence, appending each round trip in seconds."""
    clock = time.perf_counter
    for _ in range(count):
        started = clock()
        await call()
        into.append(clock() - started)


async def measure(
    variants: list[Variant], *, warmup: int, calls: int, rounds: int
) -> dict[str, list[float]]:
    """Warms each variant up, then times them in interleaved rounds.

    Interleaving (round 1 of every variant, then round 2, ...) spreads this VM's slow phases over
    all variants instead of penalising whichever happened to run during one.
    """
    for variant in variants:
        await time_calls(variant.call, warmup, [])
    samples: dict[str, list[float]] = {v.key: [] for v in variants}
    per_round = calls // rounds
    for _ in range(rounds):
        for variant in variants:
            await time_calls(variant.call, per_round, samples[variant.key])
    return samples


async def run(*, warmup: int, calls: int, rounds: int) -> dict[str, Any]:
    workdir = short_temp_dir()
    home = short_temp_dir()
    bare: ServerProcess | None = None
    daemon: ServerProcess | None = None
    try:
        bare = await start_bare_health_server(workdir)
        daemon = await start_daemon(home)
        async with (
            grpc.aio.insecure_channel(bare.target) as bare_channel,
            grpc.aio.insecure_channel(daemon.target) as daemon_channel,
            Kizuna(home=home) as client,
        ):
            bare_health = health_pb2_grpc.HealthStub(bare_channel)
            daemon_health = health_pb2_grpc.HealthStub(daemon_channel)
            node_stub = node_service_pb2_grpc.NodeServiceStub(daemon_channel)
            check = health_pb2.HealthCheckRequest()
            get_node = node_service_pb2.GetNodeRequest()
            variants = [
                Variant(
                    "bare_check",
                    "bare grpc.aio, Health/Check (raw stub)",
                    lambda: bare_health.Check(check),
                ),
                Variant(
                    "daemon_check",
                    "daemon, Health/Check (raw stub)",
                    lambda: daemon_health.Check(check),
                ),
                Variant(
                    "daemon_get_node",
                    "daemon, GetNode (raw stub)",
                    lambda: node_stub.GetNode(get_node),
                ),
                Variant("client_node", "daemon, kizuna_client node()", client.node),
            ]
            samples = await measure(variants, warmup=warmup, calls=calls, rounds=rounds)
    finally:
        if daemon is not None:
            await daemon.stop()
        if bare is not None:
            await bare.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)

    stats = {key: summarize_ms(values) for key, values in samples.items()}
    base = stats["bare_check"]
    rows = []
    for variant in variants:
        s = stats[variant.key]
        rows.append(
            [
                variant.label,
                str(int(s["n"])),
                *(fmt(s[k]) for k in ("p50", "p90", "p99", "max", "mean")),
                fmt_ratio(ratio(s["p50"], base["p50"])),
                fmt_ratio(ratio(s["p99"], base["p99"])),
            ]
        )
    print_table(
        f"Unary round trip over a Unix socket, ms ({calls} sequential calls after {warmup} "
        f"warm-up, {rounds} interleaved rounds)",
        ["variant", "calls", "p50", "p90", "p99", "max", "mean", "p50/bare", "p99/bare"],
        rows,
    )
    wrapped = stats["client_node"]
    wrapper_p50 = wrapped["p50"] - stats["daemon_get_node"]["p50"]
    server_p50 = stats["daemon_get_node"]["p50"] - base["p50"]
    print(
        f"\nkizuna_client p50 {fmt(wrapped['p50'])} ms = bare {fmt(base['p50'])} "
        f"+ daemon GetNode extra {fmt(server_p50)} + client wrapper {fmt(wrapper_p50)}"
    )
    verdict = "meets" if wrapped["p99"] <= TARGET_P99_MS else "MISSES"
    print(
        f"target: kizuna_client p99 <= {TARGET_P99_MS} ms: {fmt(wrapped['p99'])} ms ({verdict}); "
        f"ratio vs bare p50 {fmt_ratio(ratio(wrapped['p50'], base['p50']))}, "
        f"p99 {fmt_ratio(ratio(wrapped['p99'], base['p99']))}"
    )
    return {
        "params": {"warmup": warmup, "calls": calls, "rounds": rounds},
        "variants": {v.key: v.label for v in variants},
        "stats_ms": stats,
        "baseline": "bare_check",
        "ratios": {
            "client_p50_vs_bare_p50": ratio(wrapped["p50"], base["p50"]),
            "client_p99_vs_bare_p99": ratio(wrapped["p99"], base["p99"]),
            "get_node_p50_vs_bare_p50": ratio(stats["daemon_get_node"]["p50"], base["p50"]),
        },
        "breakdown_p50_ms": {"server_extra": server_p50, "client_wrapper": wrapper_p50},
        "target": {"client_p99_ms": TARGET_P99_MS, "met": wrapped["p99"] <= TARGET_P99_MS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run for a smoke test")
    args = parser.parse_args()
    warmup, calls, rounds = (50, 500, 2) if args.quick else (500, 5000, 10)
    result = asyncio.run(run(warmup=warmup, calls=calls, rounds=rounds))
    path = write_result(NAME, finite({"quick": args.quick, "environment": environment(), **result}))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
