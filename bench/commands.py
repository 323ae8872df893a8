"""Remote commands through two daemons on loopback: the round trip of `true` and the output
throughput of a command writing 1 GiB.

Daemons A and B run on 127.0.0.1 in this namespace (bench/_pair.py), trusting each other, B
allowing A to run `true` and `head -c N /dev/zero` (approval off, output cap 1 GiB). This
process is A's app.

1. Round trip: sequential `execute_command("true", B)` (RunCommand: A's API, the peer call, B
   starting `true` with its process tree in a cgroup, its exit, the answer back). Baselines in
   the same run: spawning `true` locally (asyncio.create_subprocess_exec, what the daemon's
   runner does), and `ssh HOST true` over an already open OpenSSH connection (ControlMaster,
   a private sshd on 127.0.0.1 from bench/transfer_baselines.py).
2. Throughput: `run_command("zeros", B)` streaming 1 GiB of stdout to this process, which
   counts it. Baselines: `ssh HOST head -c 1G /dev/zero` read by this process through a pipe,
   and the same `head` run locally into a pipe (the floor).

Targets reported, never asserted: round trip p50 <= 20 ms (p99 reported), output >= 300 MB/s.
Run: `.venv/bin/python bench/commands.py [--quick]` (root not needed; sshd from
scripts/bench-env for the ssh baselines).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

from bench._common import (
    BenchError,
    cpu_seconds,
    fmt,
    fmt_ratio,
    print_table,
    ratio,
    summarize_ms,
    write_result,
)
from bench._pair import LoopbackNode, start_loopback_node, trust_each_other
from bench.transfer_baselines import LOOPBACK, LocalSshd, local_sshd

NAME: Final = "commands"
GIB: Final = 1 << 30
ROUND_TRIP_TARGET_MS: Final = 20.0
THROUGHPUT_TARGET_MBPS: Final = 300.0


def allow_list(size: int) -> str:
    return f"""
[[commands.allow]]
id = "true"
argv = ["true"]
risk = "low"
approval = "never"

[[commands.allow]]
id = "zeros"
argv = ["head", "-c", "{size}", "/dev/zero"]
risk = "low"
approval = "never"
output_cap_bytes = {GIB}
timeout_secs = 600
"""


async def timed(count: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        await call()
        seconds.append(time.perf_counter() - start)
    return seconds


async def spawn_true() -> None:
    process = await asyncio.create_subprocess_exec("true")
    if await process.wait() != 0:
        raise BenchError("true failed")


def ssh_argv(sshd: LocalSshd, control: Path, *command: str, master: bool = False) -> list[str]:
    """ssh to the private sshd through the connection at `control`; with `master`, the
    command that opens that connection and stays in the background."""
    how = ["-M", "-N", "-f", "-o", "ControlPersist=120"] if master else ["-o", "ControlMaster=no"]
    return [
        "ssh", *sshd.ssh_options(), "-p", str(sshd.port), "-o", f"ControlPath={control}", *how,
        f"{sshd.user}@{LOOPBACK}", *command,
    ]  # fmt: skip


async def run_quietly(argv: Sequence[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        raise BenchError(f"{argv[0]} exited {process.returncode}: {err.decode()[-500:]}")


async def pipe_throughput(argv: Sequence[str], size: int) -> dict[str, float]:
    """Reads a child's stdout to its end; MB/s of `size` bytes."""
    start = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, limit=1 << 20
    )
    assert process.stdout is not None
    got = 0
    while chunk := await process.stdout.read(1 << 20):
        got += len(chunk)
    await process.wait()
    elapsed = time.perf_counter() - start
    if got != size:
        raise BenchError(f"{argv[0]}: read {got} bytes, not {size}")
    return {"seconds": elapsed, "mb_per_s": size / elapsed / 1e6}


async def kizuna_throughput(a: LoopbackNode, b: LoopbackNode, size: int) -> dict[str, float]:
    pids = {"sender daemon (B)": b.server.pid, "receiver daemon (A)": a.server.pid}
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.perf_counter()
    got = 0
    async with await a.api.run_command("zeros", b.device_id) as run:
        async for chunk in run:
            got += len(chunk.data)
        result = await run.wait()
    elapsed = time.perf_counter() - start
    if got != size or not result.ok:
        raise BenchError(f"zeros: {got} bytes of {size}, {result.state} {result.exit_code}")
    figures = {"seconds": elapsed, "mb_per_s": size / elapsed / 1e6}
    for name, pid in pids.items():
        figures[f"cpu_pct {name}"] = 100 * (cpu_seconds(pid) - before[name]) / elapsed
    return figures


async def measure(options: argparse.Namespace) -> dict[str, Any]:
    size = options.mib << 20
    nodes: list[LoopbackNode] = []
    result: dict[str, Any] = {"parameters": {"round_trips": options.runs, "output_bytes": size}}
    with contextlib.ExitStack() as stack:
        sshd = stack.enter_context(local_sshd()) if shutil.which("ssh") else None
        control = Path("/tmp") / f"kzc-ssh-{time.monotonic_ns()}"
        try:
            a = await start_loopback_node("a", nodes)
            b = await start_loopback_node("b", nodes, config_toml=allow_list(size))
            await trust_each_other(a, b)
            await b.api.set_peer_permissions(a.device_id, commands=True)
            for _ in range(20):  # warm-up: the link, the code paths, the page cache
                await a.api.execute_command("true", b.device_id)
            await timed(20, spawn_true)

            print(f"round trip of `true`, {options.runs} sequential runs each:", flush=True)
            result["kizuna_round_trip_ms"] = summarize_ms(
                await timed(options.runs, lambda: a.api.execute_command("true", b.device_id))
            )
            result["local_spawn_ms"] = summarize_ms(await timed(options.runs, spawn_true))
            if sshd is not None:
                await run_quietly(ssh_argv(sshd, control, master=True))
                stack.callback(
                    subprocess.run,
                    ["ssh", "-o", f"ControlPath={control}", "-O", "exit", "x"],
                    capture_output=True,
                    check=False,
                )
                over_master = ssh_argv(sshd, control, "true")
                await timed(5, lambda: run_quietly(over_master))
                result["ssh_controlmaster_ms"] = summarize_ms(
                    await timed(options.runs, lambda: run_quietly(over_master))
                )

            print(f"output of {options.mib} MiB:", flush=True)
            result["kizuna_output"] = await kizuna_throughput(a, b, size)
            result["local_pipe"] = await pipe_throughput(
                ["head", "-c", str(size), "/dev/zero"], size
            )
            if sshd is not None:
                result["ssh_output"] = await pipe_throughput(
                    ssh_argv(sshd, control, "head", "-c", str(size), "/dev/zero"), size
                )
        finally:
            for node in nodes:
                with contextlib.suppress(Exception):
                    await node.api.close()
            await asyncio.gather(*(node.server.stop() for node in nodes), return_exceptions=True)
            for node in nodes:
                shutil.rmtree(node.home, ignore_errors=True)
    return result


def report(result: dict[str, Any]) -> None:
    rows = []
    kizuna = result["kizuna_round_trip_ms"]
    for label, key in (
        ("kizuna (two daemons)", "kizuna_round_trip_ms"),
        ("local spawn", "local_spawn_ms"),
        ("ssh, ControlMaster", "ssh_controlmaster_ms"),
    ):
        if key in result:
            figures = result[key]
            rows.append(
                [
                    label,
                    fmt(figures["p50"]),
                    fmt(figures["p99"]),
                    fmt_ratio(ratio(kizuna["p50"], figures["p50"])),
                ]
            )
    print_table("round trip of `true`", ["", "p50 ms", "p99 ms", "kizuna p50 / this"], rows)
    out = result["kizuna_output"]["mb_per_s"]
    rows = []
    for label, key in (
        ("kizuna (two daemons)", "kizuna_output"),
        ("ssh HOST head", "ssh_output"),
        ("local pipe", "local_pipe"),
    ):
        if key in result:
            rows.append(
                [
                    label,
                    fmt(result[key]["mb_per_s"], 0),
                    fmt_ratio(ratio(out, result[key]["mb_per_s"])),
                ]
            )
    print_table("output throughput", ["", "MB/s", "kizuna / this"], rows)
    result["targets"] = {
        f"round trip p50 <= {ROUND_TRIP_TARGET_MS:g} ms": kizuna["p50"] <= ROUND_TRIP_TARGET_MS,
        f"output >= {THROUGHPUT_TARGET_MBPS:g} MB/s": out >= THROUGHPUT_TARGET_MBPS,
    }
    for target, met in result["targets"].items():
        print(f"target {target}: {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (figures not quoted)")
    options = parser.parse_args()
    options.runs = 50 if options.quick else 500
    options.mib = 64 if options.quick else 1024
    result = asyncio.run(measure(options))
    report(result)
    print(f"results: {write_result(NAME, result)}")


if __name__ == "__main__":
    main()
