"""Shared pieces of the benchmarks: server processes, readiness, percentiles, tables, results.

Nothing here measures by itself; each bench/NAME.py script decides what to time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"

#: Other work on this machine skews the figures; the results record the load around a run.
LOADAVG_AT_START = os.getloadavg()

#: The line of `kizuna daemon`'s banner that says it is ready (the banner's last line).
BANNER_LAST_LINE = "  Stop with"

#: How long a server process may take to print its ready line before the bench gives up.
START_TIMEOUT_SECS = 30.0
#: How long a server process may take to exit after SIGTERM before it is killed.
STOP_TIMEOUT_SECS = 15.0

#: A bare grpc.aio server with only the standard health service on a Unix socket: the baseline
#: for what Python + grpc.aio cost on this machine. argv[1] is the socket path.
BARE_HEALTH_SERVER = '''\
"""Bare grpc.aio server: the standard health service only, on the Unix socket argv[1]."""

import asyncio
import signal
import sys

import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer


async def main(socket_path: str) -> None:
    server = grpc.aio.server()
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    server.add_insecure_port(f"unix:{socket_path}")
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await server.stop(0)


asyncio.run(main(sys.argv[1]))
'''


class BenchError(Exception):
    """A benchmark could not run (a server did not start, a child process misbehaved)."""


# --- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (0-100) of `values`, interpolating linearly between ranks.

    Same definition as numpy's default ("linear"); NaN for an empty sequence.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of durations given in seconds, in milliseconds."""
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0, "p50": math.nan, "p90": math.nan, "p99": math.nan, "max": math.nan}
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 50) * 1e3,
        "p90": percentile(ordered, 90) * 1e3,
        "p99": percentile(ordered, 99) * 1e3,
        "max": ordered[-1] * 1e3,
        "mean": sum(ordered) / len(ordered) * 1e3,
    }


def ratio(value: float, baseline: float) -> float:
    """value / baseline; NaN when the baseline is zero or missing."""
    if not baseline or math.isnan(baseline):
        return math.nan
    return value / baseline


def fmt(value: float, digits: int = 3) -> str:
    """A number for a table cell ('-' for NaN)."""
    if math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def fmt_ratio(value: float) -> str:
    """A ratio for a table cell, like '1.42x'."""
    return "-" if math.isnan(value) else f"{value:.2f}x"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Prints a plain-text table; the first column is left-aligned, the others right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


# --- results -----------------------------------------------------------------------------------


def utc_stamp() -> str:
    """A UTC timestamp usable in file names: 20250101T120000Z."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def environment() -> dict[str, Any]:
    """What the figures depend on: CPU count, Python, grpcio and protobuf versions."""
    from google.protobuf import __version__ as protobuf_version  # noqa: PLC0415

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": protobuf_version,
        "platform": platform.platform(),
        "loadavg_at_start": list(LOADAVG_AT_START),
        "loadavg_at_end": list(os.getloadavg()),
    }


def write_result(name: str, data: Mapping[str, Any]) -> Path:
    """Writes bench/results/NAME-<UTC timestamp>.json and returns its path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{utc_stamp()}.json"
    document = {"benchmark": name, "written": datetime.now(UTC).isoformat(), **data}
    document.setdefault("environment", environment())
    path.write_text(json.dumps(document, indent=2, allow_nan=False, default=_json_default) + "\n")
    return path


def _json_default(value: object) -> object:
    raise TypeError(f"cannot write {type(value).__name__} to a result file")


def finite(data: Any) -> Any:
    """`data` with every NaN/inf float replaced by None, so it can be written as JSON."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, Mapping):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [finite(value) for value in data]
    return data


# --- processes ---------------------------------------------------------------------------------


def read_rss_kib(pid: int, field_name: str = "VmRSS") -> int:
    """A memory figure of a process from /proc/PID/status, in KiB (VmRSS, VmHWM, ...)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    raise BenchError(f"/proc/{pid}/status has no {field_name}")


def reset_peak_rss(pid: int) -> None:
    """Sets a process's VmHWM (peak RSS) back to its VmRSS now, so a VmHWM read later is the
    peak since this call: writes 5 to /proc/PID/clear_refs (Linux 4.0+; the process's owner or
    root). Raises OSError where that is not allowed."""
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as clear_refs:
        clear_refs.write("5")


def thread_count(pid: int) -> int:
    """How many threads a process has now (Threads in /proc/PID/status)."""
    return read_rss_kib(pid, "Threads")  # the same "Name:  N" line format as the memory figures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        text = stat.read()
    # The command name (field 2) may contain spaces; fields after the closing paren are fixed.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def io_counters(pid: int) -> dict[str, int]:
    """A process's I/O counters from /proc/PID/io (rchar, wchar, syscr, read_bytes, ...).

    rchar and wchar count the bytes of read and write system calls through the filesystem
    layer (read, write, pread, pwrite, ... on files and pipes), over all threads; sends and
    receives on sockets (send, recv, sendmsg) are not counted.
    """
    counters: dict[str, int] = {}
    with open(f"/proc/{pid}/io", encoding="ascii") as io:
        for line in io:
            key, _, value = line.partition(":")
            counters[key] = int(value)
    return counters


def short_temp_dir(prefix: str = "kz-") -> Path:
    """A fresh directory under /tmp with a short path (AF_UNIX paths are limited to 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def kizuna_command() -> list[str]:
    """How to run `kizuna`: the console script next to this Python, else `python -m`."""
    script = Path(sys.executable).parent / "kizuna"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "kizuna_server"]


@dataclass
class ServerProcess:
    """A server running in a child process, with its stdout as a pipe."""

    proc: asyncio.subprocess.Process
    socket_path: Path
    log_path: Path
    spawned_at: float  # time.perf_counter() just before the spawn
    lines: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def target(self) -> str:
        return f"unix:{self.socket_path}"

    async def wait_for_line(
        self, is_wanted: Callable[[str], bool], *, limit_secs: float = START_TIMEOUT_SECS
    ) -> tuple[float, str]:
        """Reads stdout until a wanted line; returns (time.perf_counter() then, the line)."""
        assert self.proc.stdout is not None
        deadline = time.perf_counter() + limit_secs
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchError(
                    f"pid {self.pid}: no expected line in {limit_secs:.0f}s{self.tail()}"
                )
            try:
                raw = await asyncio.wait_for(self.proc.stdout.readline(), remaining)
            except TimeoutError:
                continue
            now = time.perf_counter()
            if not raw:
                code = await self.proc.wait()
                raise BenchError(f"pid {self.pid} exited with {code} early{self.tail()}")
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append(line)
            if is_wanted(line):
                return now, line

    async def send_line(self, text: str) -> None:
        """Writes one line to the child's stdin (children started with stdin=True)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def stop(self, *, limit_secs: float = STOP_TIMEOUT_SECS) -> int:
        """SIGTERM, then SIGKILL if it has not exited after `limit_secs`; returns the exit code."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), limit_secs)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        return self.proc.returncode if self.proc.returncode is not None else -1

    def tail(self) -> str:
        """The last lines of its stdout and log, for error messages."""
        try:
            log = self.log_path.read_text(errors="replace").strip().splitlines()[-15:]
        except OSError:
            log = []
        out = self.lines[-5:]
        return "".join(f"\n  | {line}" for line in [*out, *log])


async def launch(
    argv: Sequence[str], *, socket_path: Path, log_path: Path, stdin: bool = False
) -> ServerProcess:
    """Spawns a server process: stdout piped, stderr to `log_path`, stdin piped if asked."""
    log = _open_log(log_path)
    try:
        spawned_at = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    finally:
        os.close(log)  # the child has its own copy
    return ServerProcess(proc, socket_path, log_path, spawned_at)


def _open_log(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)


#: Settings every benchmark daemon gets unless its caller sets them: no UDP beacon, so daemons
#: started in the host's network namespace announce nothing on the machine's own network (the
#: mDNS benchmarks in namespaces measure mDNS alone).
QUIET_DAEMON: Mapping[str, str] = {"discovery.enable_udp": "false"}


def daemon_argv(home: Path, settings: Mapping[str, str] | None = None) -> list[str]:
    """`kizuna daemon --home HOME [--set k=v ...]`, with QUIET_DAEMON's settings unless
    `settings` names them."""
    argv = [*kizuna_command(), "daemon", "--home", str(home)]
    for key, value in {**QUIET_DAEMON, **(settings or {})}.items():
        argv += ["--set", f"{key}={value}"]
    return argv


async def start_daemon(home: Path, settings: Mapping[str, str] | None = None) -> ServerProcess:
    """Starts `kizuna daemon --home HOME` and returns once its banner is complete."""
    server = await launch(
        daemon_argv(home, settings),
        socket_path=home / "run" / "kizuna.sock",
        log_path=home / "daemon.log",
    )
    try:
        await server.wait_for_line(lambda line: line.startswith(BANNER_LAST_LINE))
    except BaseException:
        await server.stop()
        raise
    return server


def bare_server_argv(workdir: Path) -> tuple[list[str], Path]:
    """Writes the bare health server program into `workdir`; returns (argv, socket path)."""
    program = workdir / "bare_health_server.py"
    if not program.exists():
        program.write_text(BARE_HEALTH_SERVER)
    socket_path = workdir / "health.sock"
    return [sys.executable, str(program), str(socket_path)], socket_path


async def start_bare_health_server(workdir: Path) -> ServerProcess:
    """Starts the bare grpc.aio health server in a child process; returns once it is ready."""
    argv, socket_path = bare_server_argv(workdir)
    server = await launch(argv, socket_path=socket_path, log_path=workdir / "bare.log")
    try:
        await server.wait_for_line(lambda line: line == "ready")
    except BaseException:
        await server.stop()
        raise
    return server


async def wait_for_serving(
    socket_path: Path, *, limit_secs: float = START_TIMEOUT_SECS, poll_secs: float = 0.002
) -> float:
    """Polls the health service on `socket_path` until it answers SERVING.

    Returns time.perf_counter() at the first SERVING answer. Each attempt uses a fresh channel:
    a channel that failed to connect waits out gRPC's reconnect backoff (1 s at first), which
    would hide when the server actually became ready.
    """
    deadline = time.perf_counter() + limit_secs
    while time.perf_counter() < deadline:
        # A stat is cheaper than a channel, and the poll runs next to the starting server.
        if socket_path.exists():  # noqa: ASYNC240
            async with grpc.aio.insecure_channel(f"unix:{socket_path}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                try:
                    response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                except grpc.aio.AioRpcError:
                    pass
                else:
                    if response.status == health_pb2.HealthCheckResponse.SERVING:
                        return time.perf_counter()
        await asyncio.sleep(poll_secs)
    raise BenchError(f"{socket_path}: health did not answer SERVING within {limit_secs:.0f}s")
