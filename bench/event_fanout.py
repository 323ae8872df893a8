"""Event fan-out: 100 subscribers x 250 events/s for 20 s, latency from publish to receipt.

Three scenarios in one run: (a) 100 kizuna_client readers; (b) the same plus one subscriber that
never reads; and the baseline, a bare grpc.aio server-streaming fan-out with one asyncio.Queue
per subscriber. The publisher (daemon or bare server) runs in a child process (`--role daemon` /
`--role bare`), the subscribers in this one.
Run: `.venv/bin/python bench/event_fanout.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import sys
import time
import uuid
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from google.protobuf.timestamp_pb2 import Timestamp

from bench._common import (
    BenchError,
    environment,
    finite,
    fmt,
    fmt_ratio,
    launch,
    print_table,
    ratio,
    short_temp_dir,
    summarize_ms,
    write_result,
)
from kizuna_client import EventGap, EventSubscription, Kizuna
from kizuna_client.v1 import (
    errors_pb2,
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    node_pb2,
)

NAME = "event_fanout"
SCRIPT = str(Path(__file__).resolve())
#: Targets the figures are reported against (not asserted).
TARGET_P99_MS = 25.0
#: Large enough that a reader that keeps up never loses events (the default is 1024).
QUEUE_SIZE = 4096
#: Text of each published event; with the envelope a one-event response is about 130 bytes.
EVENT_MESSAGE = "benchmark event: the quick brown fox jumps over the lazy dog"
EVENT_SUBSYSTEM = "transfers"
BARE_SERVICE = "bench.Fanout"
BARE_METHOD = f"/{BARE_SERVICE}/Subscribe"
#: Same receive limit as kizuna_client, so both kinds of reader get identical channels.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 8 * 1024 * 1024)]
#: Bounded waits: subscribers appearing on the server, and readers draining after publishing.
SUBSCRIBE_LIMIT_SECS = 30.0
DRAIN_LIMIT_SECS = 15.0
STOP_LIMIT_SECS = 15.0
#: Below this change in p99 (absolute ms, or relative) the stalled subscriber is called noise.
NOISE_MS = 2.0
NOISE_RATIO = 0.25
#: A server-side backlog from which a subscriber counts as stalled at the daemon.
STALL_BACKLOG = 100
#: CPU use of a process (percent of one core) from which the run is called CPU-bound.
SATURATED_PCT = 90


# --- the publishing side (child processes) -----------------------------------------------------


async def read_stdin_line() -> str:
    """One line from the parent (the loop keeps running meanwhile)."""
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def wait_for_subscribers(count: Callable[[], int], wanted: int) -> None:
    """Waits (bounded) until the server has `wanted` subscribers."""
    polls = int(SUBSCRIBE_LIMIT_SECS / 0.01)
    for _ in range(polls):
        if count() >= wanted:
            return
        await asyncio.sleep(0.01)
    raise BenchError(f"only {count()} of {wanted} subscribers arrived")


async def publish_steadily(
    publish: Callable[[], None], *, rate: float, duration: float
) -> dict[str, Any]:
    """Calls `publish` `rate` times a second for `duration` seconds, on absolute deadlines.

    Deadline i is start + i/rate on the loop clock, so time spent publishing or serving does not
    accumulate as drift; when the loop falls behind, the late events go out at once (and the
    lateness is reported) so every run publishes the same number of events.
    """
    loop = asyncio.get_running_loop()
    count = round(rate * duration)
    interval = 1.0 / rate
    lags = array("d")
    cpu_before = time.process_time()
    start = loop.time()
    for i in range(count):
        deadline = start + i * interval
        # sleep(0) when late still yields, so subscribers are served between late events.
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        lags.append(max(0.0, loop.time() - deadline))
        publish()
    elapsed = loop.time() - start
    cpu = time.process_time() - cpu_before
    return {
        "published": count,
        "elapsed_s": elapsed,
        "rate": count / elapsed if elapsed > 0 else math.nan,
        "lag_ms": summarize_ms(lags),
        "cpu_s": cpu,
        "cpu_pct": 100 * cpu / elapsed if elapsed > 0 else math.nan,
    }


def print_result(report: dict[str, Any]) -> None:
    print("result " + json.dumps(finite(report)), flush=True)


async def daemon_role(args: argparse.Namespace) -> None:
    """Runs a Daemon in this process and publishes ErrorOccurred events at a steady rate."""
    from kizuna_client._layout import resolve_layout  # noqa: PLC0415 - child-only imports
    from kizuna_server.app import Daemon  # noqa: PLC0415
    from kizuna_server.config import load_config  # noqa: PLC0415
    from kizuna_server.core.events import ErrorOccurred  # noqa: PLC0415
    from kizuna_server.rpc.convert import encode_event  # noqa: PLC0415

    config = load_config(
        resolve_layout(args.dir),
        env={},
        data={
            "api": {"event_queue_size": args.queue_size, "event_batch_ms": args.batch_ms},
            # The host namespace's interface is shared: announce nothing, listen on loopback.
            "discovery": {"enable_mdns": False, "enable_udp": False},
            "networking": {"listen_port": 0, "listen_address": "127.0.0.1"},
        },
    )
    daemon = Daemon(config)
    await daemon.start()
    try:
        payload = ErrorOccurred(reason="INTERNAL", message=EVENT_MESSAGE, subsystem=EVENT_SUBSYSTEM)
        print(f"ready {daemon.api_endpoints[0].target}", flush=True)
        wanted = int((await read_stdin_line()).removeprefix("go "))
        await wait_for_subscribers(lambda: daemon.events.subscriber_count, wanted)
        print("started", flush=True)
        report = await publish_steadily(
            lambda: daemon.publish(payload), rate=args.rate, duration=args.duration
        )
        # Diagnostic only (private): the largest backlog shows whether a stall reached the daemon.
        backlogs = [s.pending for s in daemon.events._subscriptions]
        report["max_backlog"] = max(backlogs, default=0)
        # Size of a one-event response as the daemon would encode the last event published.
        last = encode_event(daemon.run_id)(daemon.events.last_sequence, time.time(), payload)
        report["message_bytes"] = event_service_pb2.SubscribeEventsResponse(
            events=[last]
        ).ByteSize()
        print_result(report)
        await read_stdin_line()  # "stop"
    finally:
        await daemon.stop(grace=0)


@dataclass
class FanoutHub:
    """The bare baseline: one unbounded asyncio.Queue of encoded responses per subscriber."""

    queues: set[asyncio.Queue[bytes]] = field(default_factory=set)

    async def subscribe(self, request: bytes, context: Any) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.queues.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self.queues.discard(queue)

    def publish(self, response: bytes) -> None:
        for queue in self.queues:
            queue.put_nowait(response)


async def bare_role(args: argparse.Namespace) -> None:
    """Runs the bare grpc.aio fan-out server and publishes the same events at the same rate."""
    hub = FanoutHub()
    server = grpc.aio.server()
    handler = grpc.unary_stream_rpc_method_handler(hub.subscribe)  # bytes in, bytes out
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(BARE_SERVICE, {"Subscribe": handler})]
    )
    socket_path = Path(args.dir) / "fanout.sock"
    server.add_insecure_port(f"unix:{socket_path}")
    await server.start()
    run_id = uuid.uuid4().hex
    sequence = 0

    def encode() -> bytes:
        # What the daemon sends for one event, built once and shared by every subscriber.
        nonlocal sequence
        sequence += 1
        stamp = Timestamp()
        stamp.FromNanoseconds(time.time_ns())
        error = errors_pb2.Error(reason=errors_pb2.ERROR_REASON_INTERNAL, message=EVENT_MESSAGE)
        event = event_pb2.Event(
            sequence=sequence,
            time=stamp,
            run_id=run_id,
            error=event_pb2.ErrorOccurred(error=error, subsystem=node_pb2.SUBSYSTEM_NAME_TRANSFERS),
        )
        return event_service_pb2.SubscribeEventsResponse(events=[event]).SerializeToString()

    try:
        print(f"ready unix:{socket_path}", flush=True)
        wanted = int((await read_stdin_line()).removeprefix("go "))
        await wait_for_subscribers(lambda: len(hub.queues), wanted)
        print("started", flush=True)
        report = await publish_steadily(
            lambda: hub.publish(encode()), rate=args.rate, duration=args.duration
        )
        report["max_backlog"] = max((q.qsize() for q in hub.queues), default=0)
        report["message_bytes"] = len(encode())
        print_result(report)
        await read_stdin_line()  # "stop"
    finally:
        await server.stop(0)


# --- the subscribing side (this process) -------------------------------------------------------


@dataclass
class Reader:
    """What one subscriber received: per-event latency, loss and order."""

    latencies: array[float] = field(default_factory=lambda: array("d"))
    count: int = 0
    gaps: int = 0
    missed: int = 0
    disorder: int = 0  # events whose sequence was not the previous one + 1 (without a gap)
    last_sequence: int = 0
    first_event_time: float = math.inf
    last_receive_time: float = 0.0

    def event(self, sequence: int, event_time: float, received: float) -> None:
        self.latencies.append(received - event_time)
        self.count += 1
        if self.last_sequence and sequence != self.last_sequence + 1:
            self.disorder += 1
        self.last_sequence = sequence
        self.first_event_time = min(self.first_event_time, event_time)
        self.last_receive_time = received

    def gap(self, first: int, last: int) -> None:
        self.gaps += 1
        self.missed += max(0, last - first + 1)
        self.last_sequence = last


def seconds(stamp: Timestamp) -> float:
    return stamp.seconds + stamp.nanos * 1e-9


async def read_kizuna(subscription: EventSubscription, reader: Reader) -> None:
    async for item in subscription:
        received = time.time()
        if isinstance(item, EventGap):
            reader.gap(item.first_sequence, item.last_sequence)
        else:
            reader.event(item.sequence, seconds(item.message.time), received)


async def read_bare(call: grpc.aio.UnaryStreamCall[Any, Any], reader: Reader) -> None:
    try:
        async for response in call:
            received = time.time()
            for event in response.events:
                reader.event(event.sequence, seconds(event.time), received)
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.CANCELLED:
            raise


@dataclass
class Subscribers:
    """The subscribers of one scenario: reader tasks, how to end them, what to close after."""

    readers: list[Reader]
    tasks: list[asyncio.Task[None]]
    cancel: list[Callable[[], object]]  # ends the calls, so the reader tasks finish
    close: list[Callable[[], Awaitable[None]]]  # channels and clients, once the tasks are done

    async def aclose(self) -> None:
        for cancel in self.cancel:
            outcome = cancel()
            if asyncio.iscoroutine(outcome):
                await outcome
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for close in self.close:
            await close()


async def kizuna_subscribers(home: Path, count: int, *, stalled: bool) -> Subscribers:
    """`count` apps, each its own Kizuna client with one subscription; maybe one that stalls."""
    readers = [Reader() for _ in range(count)]
    clients = [Kizuna(home=home) for _ in range(count)]
    for client in clients:
        await client.connect()
    subscriptions = [client.subscribe_events(types=["error"]) for client in clients]
    tasks = [
        asyncio.create_task(read_kizuna(sub, reader))
        for sub, reader in zip(subscriptions, readers, strict=True)
    ]
    subscribers = Subscribers(
        readers, tasks, [sub.close for sub in subscriptions], [c.close for c in clients]
    )
    if stalled:
        # Its own connection (as another app would have), and a call that is never read. With
        # BDP probing (the default) the client's transport would soak up about 4 MB (~30k events)
        # before the daemon noticed, more than a run publishes; without it the stream window stays
        # at 64 KiB, so the stall reaches the daemon and its queue overflows during the run.
        channel = grpc.aio.insecure_channel(
            f"unix:{home / 'run' / 'kizuna.sock'}",
            options=[("grpc.use_local_subchannel_pool", 1), ("grpc.http2.bdp_probe", 0)],
        )
        call = event_service_pb2_grpc.EventServiceStub(channel).SubscribeEvents(
            event_service_pb2.SubscribeEventsRequest(types=[event_pb2.EVENT_TYPE_ERROR])
        )
        subscribers.cancel.append(call.cancel)
        subscribers.close.append(partial(channel.close, None))
    return subscribers


async def bare_subscribers(target: str, count: int) -> Subscribers:
    """`count` raw subscribers of the bare server, on channels set up like kizuna_client's."""
    readers = [Reader() for _ in range(count)]
    channels = [grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS) for _ in range(count)]
    calls = [
        channel.unary_stream(
            BARE_METHOD,
            request_serializer=None,
            response_deserializer=event_service_pb2.SubscribeEventsResponse.FromString,
        )(b"")
        for channel in channels
    ]
    tasks = [
        asyncio.create_task(read_bare(call, reader))
        for call, reader in zip(calls, readers, strict=True)
    ]
    closers = [partial(channel.close, None) for channel in channels]
    return Subscribers(readers, tasks, [c.cancel for c in calls], list(closers))


async def drain(readers: list[Reader], published: int) -> None:
    """Waits (bounded) until every reader has received or been told it missed each event."""
    for _ in range(int(DRAIN_LIMIT_SECS / 0.05)):
        if all(r.count + r.missed >= published for r in readers):
            return
        await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    role: str  # "daemon" or "bare"
    stalled: bool = False


async def run_scenario(
    scenario: Scenario, *, readers: int, rate: float, duration: float, batch_ms: int
) -> dict[str, Any]:
    """Starts the publishing child, subscribes, lets it publish, drains and summarizes."""
    workdir = short_temp_dir()
    argv = [
        sys.executable,
        SCRIPT,
        *("--role", scenario.role, "--dir", str(workdir)),
        *("--rate", str(rate), "--duration", str(duration), "--queue-size", str(QUEUE_SIZE)),
        *("--batch-ms", str(batch_ms)),
    ]
    child = await launch(
        argv,
        socket_path=workdir / "run" / "kizuna.sock",
        log_path=workdir / "child.log",
        stdin=True,
    )
    try:
        _, ready = await child.wait_for_line(lambda line: line.startswith("ready "))
        if scenario.role == "daemon":
            subs = await kizuna_subscribers(workdir, readers, stalled=scenario.stalled)
        else:
            subs = await bare_subscribers(ready.removeprefix("ready "), readers)
        await child.send_line(f"go {readers + int(scenario.stalled)}")
        started, _ = await child.wait_for_line(lambda line: line == "started")
        cpu_before = time.process_time()
        finished, line = await child.wait_for_line(
            lambda line: line.startswith("result "), limit_secs=duration + 60
        )
        cpu_pct = 100 * (time.process_time() - cpu_before) / (finished - started)
        report: dict[str, Any] = json.loads(line.removeprefix("result "))
        await drain(subs.readers, report["published"])
        await subs.aclose()
        await child.send_line("stop")
        code = await asyncio.wait_for(child.proc.wait(), STOP_LIMIT_SECS)
        if code != 0:
            raise BenchError(f"{scenario.role} child exited with {code}{child.tail()}")
        return summarize(scenario, subs.readers, report, subscriber_cpu_pct=cpu_pct)
    finally:
        await child.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def summarize(
    scenario: Scenario, readers: list[Reader], report: dict[str, Any], *, subscriber_cpu_pct: float
) -> dict[str, Any]:
    latencies = array("d")
    for reader in readers:
        latencies.extend(reader.latencies)
    deliveries = sum(r.count for r in readers)
    first = min(r.first_event_time for r in readers)
    last = max(r.last_receive_time for r in readers)
    window = last - first
    return {
        "label": scenario.label,
        "readers": len(readers),
        "stalled_subscriber": scenario.stalled,
        "published": report["published"],
        "publish_rate": report["rate"],
        "publisher_lag_ms": report["lag_ms"],
        "publisher_cpu_pct": report["cpu_pct"],
        "subscriber_cpu_pct": subscriber_cpu_pct,
        "message_bytes": report["message_bytes"],
        "max_backlog": report["max_backlog"],
        "deliveries": deliveries,
        "expected_deliveries": len(readers) * report["published"],
        "deliveries_per_s": deliveries / window if window > 0 else math.nan,
        "latency_ms": summarize_ms(latencies),
        "gaps": sum(r.gaps for r in readers),
        "missed": sum(r.missed for r in readers),
        "out_of_order": sum(r.disorder for r in readers),
    }


def stall_reach(backlog: int) -> str:
    """Says how far the stalled subscriber's back-pressure got, from the largest backlog."""
    if backlog >= QUEUE_SIZE:
        return f"its queue overflowed (backlog {backlog}): the stall reached the daemon"
    if backlog >= STALL_BACKLOG:
        return f"its queue filled to {backlog} of {QUEUE_SIZE} (no overflow yet)"
    return f"largest backlog {backlog}: the stall did not reach the daemon's queue"


def print_report(results: dict[str, dict[str, Any]], *, rate: float, duration: float) -> None:
    base = results["bare"]
    rows = []
    for result in results.values():
        lat = result["latency_ms"]
        rows.append(
            [
                result["label"],
                f"{result['deliveries']}/{result['expected_deliveries']}",
                fmt(result["deliveries_per_s"], 0),
                *(fmt(lat[k], 2) for k in ("p50", "p90", "p99", "max")),
                f"{result['gaps']}/{result['missed']}",
                fmt_ratio(ratio(lat["p99"], base["latency_ms"]["p99"])),
                fmt_ratio(ratio(result["deliveries_per_s"], base["deliveries_per_s"])),
            ]
        )
    print_table(
        f"Event fan-out, {rate:g} events/s for {duration:g} s; "
        "latency = receipt - event.time, ms (readers only)",
        [
            "scenario",
            "delivered/expected",
            "deliv/s",
            "p50",
            "p90",
            "p99",
            "max",
            "gaps/missed",
            "p99/bare",
            "deliv/s vs bare",
        ],
        rows,
    )
    rows = []
    for result in results.values():
        lag = result["publisher_lag_ms"]
        rows.append(
            [
                result["label"],
                str(result["message_bytes"]),
                fmt(result["publish_rate"], 1),
                fmt(lag["p99"], 2),
                fmt(lag["max"], 2),
                fmt(result["publisher_cpu_pct"], 0),
                fmt(result["subscriber_cpu_pct"], 0),
                str(result["max_backlog"]),
            ]
        )
    print_table(
        "Load: publisher schedule lag (ms), CPU (% of one core) of the publishing and the "
        "subscribing process, largest server-side subscriber queue when publishing ended",
        ["scenario", "msg B", "pub/s", "lag p99", "lag max", "cpu pub", "cpu sub", "backlog"],
        rows,
    )
    readers, stalled = results["readers"], results["stalled"]
    before, after = readers["latency_ms"]["p99"], stalled["latency_ms"]["p99"]
    change = after - before
    slowed = change > max(NOISE_MS, NOISE_RATIO * before)
    print(
        f"\nstalled subscriber: readers' p99 {fmt(before, 2)} -> {fmt(after, 2)} ms "
        f"({fmt_ratio(ratio(after, before))}, {change:+.2f} ms): "
        + ("readers SLOWED" if slowed else "readers not slowed")
        + f" (noise band {NOISE_MS:g} ms or {NOISE_RATIO:.0%}); readers' gaps "
        f"{stalled['gaps']}; " + stall_reach(stalled["max_backlog"])
    )
    for result in (readers, stalled):
        p99 = result["latency_ms"]["p99"]
        verdict = "meets" if p99 <= TARGET_P99_MS else "MISSES"
        print(f"target p99 <= {TARGET_P99_MS:g} ms, {result['label']}: {fmt(p99, 2)} ({verdict})")
    saturated = [
        r["label"]
        for r in results.values()
        if max(r["publisher_cpu_pct"], r["subscriber_cpu_pct"]) >= SATURATED_PCT
    ]
    if saturated:
        print(
            f"note: a process used >= {SATURATED_PCT}% of a core ({os.cpu_count()} cores) in: "
            + "; ".join(saturated)
            + ". Latency there is mostly waiting for CPU; try a lower --readers or --rate."
        )


async def run(*, readers: int, rate: float, duration: float, batch_ms: int) -> dict[str, Any]:
    scenarios = [
        Scenario("readers", f"(a) daemon, {readers} readers", "daemon"),
        Scenario("stalled", f"(b) daemon, {readers} readers + 1 stalled", "daemon", stalled=True),
        Scenario("bare", f"bare grpc.aio, {readers} readers", "bare"),
    ]
    results: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        print(f"running {scenario.label} ...", flush=True)
        results[scenario.key] = await run_scenario(
            scenario, readers=readers, rate=rate, duration=duration, batch_ms=batch_ms
        )
    print_report(results, rate=rate, duration=duration)
    base = results["bare"]
    return {
        "params": {
            "readers": readers,
            "rate": rate,
            "duration_s": duration,
            "event_queue_size": QUEUE_SIZE,
            "event_batch_ms": batch_ms,
        },
        "scenarios": results,
        "baseline": "bare",
        "ratios": {
            "readers_p99_vs_bare": ratio(
                results["readers"]["latency_ms"]["p99"], base["latency_ms"]["p99"]
            ),
            "readers_deliveries_per_s_vs_bare": ratio(
                results["readers"]["deliveries_per_s"], base["deliveries_per_s"]
            ),
            "stalled_p99_vs_readers_p99": ratio(
                results["stalled"]["latency_ms"]["p99"], results["readers"]["latency_ms"]["p99"]
            ),
        },
        "target": {
            "p99_ms": TARGET_P99_MS,
            "met": all(
                results[k]["latency_ms"]["p99"] <= TARGET_P99_MS for k in ("readers", "stalled")
            ),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run for a smoke test")
    parser.add_argument("--readers", type=int, default=100, help="subscribers that read")
    parser.add_argument("--rate", type=float, default=250.0, help="events per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of publishing")
    # For the publishing child processes this script starts for itself.
    parser.add_argument(
        "--role", choices=["main", "daemon", "bare"], default="main", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--batch-ms",
        type=int,
        default=5,
        help="the daemon's api.event_batch_ms (default 5, the daemon's default; 0 disables)",
    )
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--queue-size", type=int, default=QUEUE_SIZE, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "daemon":
        asyncio.run(daemon_role(args))
        return
    if args.role == "bare":
        asyncio.run(bare_role(args))
        return
    readers, duration = (20, 2.0) if args.quick else (args.readers, args.duration)
    result = asyncio.run(
        run(readers=readers, rate=args.rate, duration=duration, batch_ms=args.batch_ms)
    )
    path = write_result(NAME, finite({"quick": args.quick, "environment": environment(), **result}))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
