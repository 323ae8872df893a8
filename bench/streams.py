"""Live streams between two daemons: screen glass-to-glass, audio one-way, data frames.

1. Screen (`--only screen`): two namespace hosts (tests/e2e/peerlan.py); Xvfb 1280x720 on host 0
   shows a stamper's pictures (this script's `--role stamper`: 60 pictures a second of moving
   colour bars with the wall-clock time drawn in by `kizuna_client.media.stamp_time`, piped as
   rawvideo into ffplay). Latency per picture = time of arrival - the time read back from the
   picture (`media.read_stamp`). Measured: two floors (the screen read back on host 0 without
   encoder or network, with PyAV's x11grab as the daemon uses it and with Debian's ffmpeg as the
   baseline does), the baseline (ffmpeg x11grab -> libx264 ultrafast/zerolatency -> MPEG-TS over
   UDP -> ffmpeg decoding to rawvideo on host 1), Kizuna over the peer link
   (`start_stream("screen", ...)` on host 0, `attach_stream` + `decoded()` on host 1) and Kizuna
   over WebRTC. Then all of it again on a fresh LAN with 40 ms delay and 2% loss each way
   (`PeerLan.impair`).
2. Audio (`--only audio`): `start_stream("audio", device="synthetic")`, Opus 20 ms frames;
   latency = arrival of a decoded frame - its capture time (`frame.opaque`), link and WebRTC.
   Baseline: ffmpeg libopus over MPEG-TS/UDP between the same hosts, fed s16le by this script
   with a click every 500 ms, each click found again in the receiving ffmpeg's decoded PCM. The
   same click method is also applied to Kizuna (this process encodes the clicks and sends them
   as an app's own Opus frames), which does not depend on the capture times the daemons carry.
3. Data (`--only data`): two daemons on loopback in this namespace (no mDNS, no UDP beacon), the
   sending app a child process (`--role data-sender`): 256 KiB frames at 60 fps (latency from
   `capture_time`, sequence gaps), then 1 MiB frames as fast as the link takes them (MB/s).
   Baseline: the same through a raw TLS 1.3 socket pair on loopback (two child processes).

Targets are reported as met or not, never asserted. Needs root (namespaces), Xvfb, ffmpeg, ffplay.
Run: `.venv/bin/python bench/streams.py [--quick] [--only screen,audio,data] [--[no-]impaired]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import itertools
import json
import math
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import av
import numpy as np
import numpy.typing as npt

from bench._common import (
    BenchError,
    cpu_seconds,
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
from bench._pair import LoopbackNode, start_loopback_node, trust_each_other
from kizuna_client import Kizuna, KizunaError, StreamHandle, StreamKind
from kizuna_client.media import STAMP_BITS, STAMP_BLOCK, Picture, read_stamp, stamp_time
from kizuna_client.memory import reuse_large_buffers
from kizuna_client.v1 import stream_pb2

NAME: Final = "streams"
REPO: Final = Path(__file__).resolve().parents[1]
TEMP_PREFIX: Final = "kzs-"
PARTS: Final = ("screen", "audio", "data")

# --- screen -------------------------------------------------------------------------------------
WIDTH: Final = 1280
HEIGHT: Final = 720
SCREEN_SIZE: Final = f"{WIDTH}x{HEIGHT}"
FRAME_BYTES: Final = WIDTH * HEIGHT * 3
#: The stamper's picture rate (the screen changes this often) and the captured rate.
STAMP_FPS: Final = 60
VIDEO_FPS: Final = 30
QUALITY: Final = 80
#: The stamp: 32 blocks of 16x16 in the top-left corner.
STAMP_WIDTH: Final = STAMP_BITS * STAMP_BLOCK
#: A block whose centre is closer than this to mid-grey is unreadable (a picture torn or
#: smeared by loss): the picture counts as delivered, its latency as unknown.
STAMP_MARGIN: Final = 48.0
#: A stamp read further than this from now is a misread (counted as unreadable).
MAX_PLAUSIBLE_SECS: Final = 10.0
VIDEO_PORT: Final = 5004
AUDIO_PORT: Final = 5006
DELAY_MS: Final = 40.0
LOSS: Final = 0.02
RELAY_SEED: Final = 7
WEBRTC_ENV: Final = {"KIZUNA_NETWORKING_ENABLE_WEBRTC": "true"}
#: The link alone (WebRTC is on by default).
LINK_ENV: Final = {"KIZUNA_NETWORKING_ENABLE_WEBRTC": "false"}

# --- audio --------------------------------------------------------------------------------------
SAMPLE_RATE: Final = 48_000
AUDIO_FRAME: Final = 960  # 20 ms
#: The baseline's signal: a quiet 440 Hz tone with a click (5 ms of 2 kHz, loud) every 25 frames.
CLICK_EVERY: Final = 25
CLICK_SAMPLES: Final = 240
TONE_LEVEL: Final = 0.02
CLICK_LEVEL: Final = 0.8
CLICK_THRESHOLD: Final = 0.3
#: Kizuna's Opus bitrate at QUALITY (docs/streams.md: 12 + 1.16 q kb/s), given to the baseline.
OPUS_BITRATE: Final = 12_000 + 1160 * QUALITY

# --- data ---------------------------------------------------------------------------------------
KIB: Final = 1024
MIB: Final = 1024 * KIB
DATA_FRAME: Final = 256 * KIB
DATA_FPS: Final = 60
BULK_FRAME: Final = MIB
#: glibc settings docs/streams.md suggests for Python apps moving bulk data: megabyte buffers
#: from the heap and kept for reuse instead of page-faulted in afresh (kizuna_client/memory.py,
#: which the client now applies itself while a data stream is open).
APP_MALLOC: Final = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * MIB),
    "MALLOC_TRIM_THRESHOLD_": str(64 * MIB),
}

# --- targets (reported against, never asserted) -------------------------------------------------
TARGET_SCREEN_P50_MS: Final = 100.0
TARGET_SCREEN_P99_MS: Final = 200.0
TARGET_SCREEN_FPS: Final = 29.0
TARGET_IMPAIRED_P99_MS: Final = 400.0
TARGET_IMPAIRED_FREEZE_MS: Final = 1000.0
TARGET_AUDIO_P50_MS: Final = 60.0
TARGET_DATA_P99_MS: Final = 10.0
TARGET_BULK_MB_S: Final = 500.0

# --- limits -------------------------------------------------------------------------------------
#: One step (a program starting, a stream opening, the first picture) may take this long.
STEP_LIMIT_SECS: Final = 30.0
STOP_LIMIT_SECS: Final = 10.0
#: No consumer keeps more arrivals than this (a bound on every reading loop).
MAX_ITEMS: Final = 200_000
#: Longest the stamper runs (a bound on its loop; the script stops it long before).
STAMPER_LIMIT_SECS: Final = 3600.0


@dataclass(frozen=True)
class Options:
    quick: bool
    parts: tuple[str, ...]
    impaired: bool
    warmup_s: float
    screen_s: float
    floor_s: float
    audio_s: float
    data_s: float
    bulk_s: float


# --- child processes ----------------------------------------------------------------------------


def guarded(argv: Sequence[str]) -> list[str]:
    """`argv` killed when this process dies (util-linux setpriv sets the parent-death signal,
    which survives the execs of `ip netns exec`), so nothing outlives a run."""
    guard = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    return [*guard, *argv]


class Child:
    """A program started by this script; stderr goes to a log file, stdout where asked."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.proc = proc
        self.log = log

    @classmethod
    async def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        stdin: int | None = asyncio.subprocess.DEVNULL,
        stdout: int | None = asyncio.subprocess.DEVNULL,
    ) -> Child:
        log = workdir / f"{name.replace(' ', '-')}.log"
        errors = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            proc = await asyncio.create_subprocess_exec(
                *guarded(argv),
                stdin=stdin,
                stdout=stdout,
                stderr=errors,
                env={**os.environ, **(env or {})},
                cwd=REPO,
            )
        finally:
            os.close(errors)  # the child has its own copy
        return cls(name, proc, log)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.proc.stdout is not None
        return self.proc.stdout

    async def stop(self, *, sig: int = signal.SIGTERM) -> int:
        """`sig`, then SIGKILL if it has not exited within STOP_LIMIT_SECS."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            try:
                await asyncio.wait_for(self.proc.wait(), STOP_LIMIT_SECS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        return self.proc.returncode if self.proc.returncode is not None else -1

    def tail(self, lines: int = 8) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            text = []
        return "".join(f"\n  {self.name} | {line}" for line in text)


def cpu_or_nan(pid: int) -> float:
    try:
        return cpu_seconds(pid)
    except (OSError, ValueError, IndexError):
        return math.nan


# --- arrivals and windows -----------------------------------------------------------------------


class Arrivals:
    """What a consumer saw: arrival times (perf_counter) and a latency (s) or None per item."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.latencies: list[float | None] = []
        self.readable = asyncio.Event()

    def add(self, arrived: float, latency: float | None) -> bool:
        """Records one item; False once MAX_ITEMS were recorded (the consumer should stop)."""
        self.times.append(arrived)
        self.latencies.append(latency)
        if latency is not None:
            self.readable.set()
        return len(self.times) < MAX_ITEMS

    async def wait_readable(self, consumer: asyncio.Task[Any], what: str) -> None:
        """Waits for the first item with a latency; raises if the consumer ended first."""
        waiter = asyncio.ensure_future(self.readable.wait())
        try:
            done, _ = await asyncio.wait(
                {waiter, consumer}, timeout=STEP_LIMIT_SECS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if self.readable.is_set():
            return
        if consumer in done:
            exc = consumer.exception()
            raise BenchError(f"{what}: ended before the first readable item ({exc!r})")
        raise BenchError(
            f"{what}: no readable item within {STEP_LIMIT_SECS:.0f}s ({len(self.times)} unreadable)"
        )


@dataclass
class Window:
    """The measured span (perf_counter) and each watched process's CPU in % of one core."""

    start: float
    end: float
    cpu_pct: dict[str, float]

    @property
    def seconds(self) -> float:
        return self.end - self.start


async def timed_window(warmup: float, seconds: float, pids: Mapping[str, int]) -> Window:
    """Sleeps `warmup`, then measures `seconds` of wall time and the CPU time of `pids`."""
    await asyncio.sleep(warmup)
    start = time.perf_counter()
    before = {name: cpu_or_nan(pid) for name, pid in pids.items()}
    await asyncio.sleep(seconds)
    end = time.perf_counter()
    after = {name: cpu_or_nan(pid) for name, pid in pids.items()}
    return Window(
        start, end, {name: 100 * (after[name] - before[name]) / (end - start) for name in pids}
    )


def window_summary(arrivals: Arrivals, window: Window, *, unit: str) -> dict[str, Any]:
    """Latency percentiles (ms), items per second, the longest gap (window edges included, so a
    stream that stops shows as a freeze) and CPU, over the items that arrived in the window."""
    inside = [
        (t, lat)
        for t, lat in zip(arrivals.times, arrivals.latencies, strict=True)
        if window.start <= t <= window.end
    ]
    times = [t for t, _ in inside]
    latencies = [lat for _, lat in inside if lat is not None]
    edges = [window.start, *times, window.end]
    return {
        unit: len(inside),
        "unreadable": len(inside) - len(latencies),
        "per_s": len(inside) / window.seconds,
        "latency_ms": summarize_ms(latencies),
        "longest_gap_ms": max(b - a for a, b in itertools.pairwise(edges)) * 1e3,
        "seconds": window.seconds,
        "cpu_pct": window.cpu_pct,
    }


async def finish(task: asyncio.Task[Any], limit: float = STOP_LIMIT_SECS) -> None:
    """Waits for a consumer to end by itself (its stream ended), cancelling it after `limit`."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait({task}, timeout=limit)
    if not task.done():
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task


# --- stamps -------------------------------------------------------------------------------------


def stamp_latency(region: Picture, now: float) -> float | None:
    """now - the time stamped into `region` (the top-left STAMP_BLOCK x STAMP_WIDTH pixels, RGB
    or luma), or None when a block is not clearly black or white or the time is implausible."""
    half = STAMP_BLOCK // 2
    for bit in range(STAMP_BITS):
        x = bit * STAMP_BLOCK + half
        if abs(float(region[half - 2 : half + 2, x - 2 : x + 2].mean()) - 127.5) < STAMP_MARGIN:
            return None
    latency = now - read_stamp(region, now)
    if not -0.005 <= latency <= MAX_PLAUSIBLE_SECS:
        return None
    return max(latency, 0.0)


def rgb_region(data: bytes) -> Picture:
    """The stamp's rows of one rgb24 picture of WIDTH x HEIGHT."""
    rows = np.frombuffer(data, dtype=np.uint8, count=STAMP_BLOCK * WIDTH * 3)
    return rows.reshape(STAMP_BLOCK, WIDTH, 3)[:, :STAMP_WIDTH]


def decoded_region(picture: Any) -> Picture:
    """The stamp's rows of a decoded PyAV picture: the luma plane as it is for 4:2:0 (no colour
    conversion of the whole picture on this process's event loop), else converted to RGB."""
    if picture.format.name in ("yuv420p", "yuvj420p"):
        plane = picture.planes[0]
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
        region: Picture = rows[:STAMP_BLOCK, :STAMP_WIDTH]
        return region
    rgb: Picture = picture.to_ndarray(format="rgb24")
    return rgb[:STAMP_BLOCK, :STAMP_WIDTH]


async def read_raw_pictures(stdout: asyncio.StreamReader, arrivals: Arrivals) -> None:
    """Reads rgb24 pictures of WIDTH x HEIGHT from a program's stdout until it ends."""
    while True:
        try:
            data = await stdout.readexactly(FRAME_BYTES)
        except asyncio.IncompleteReadError:
            return
        arrived, now = time.perf_counter(), time.time()
        if not arrivals.add(arrived, stamp_latency(rgb_region(data), now)):
            return


async def read_decoded_pictures(viewer: StreamHandle, arrivals: Arrivals) -> None:
    """Decodes a stream's pictures until it ends; the latency is read from each picture."""
    async for picture in viewer.decoded():
        arrived, now = time.perf_counter(), time.time()
        if not arrivals.add(arrived, stamp_latency(decoded_region(picture), now)):
            return


async def read_decoded_audio(viewer: StreamHandle, arrivals: Arrivals) -> None:
    """Decodes a stream's sound until it ends; latency = now - the frame's capture time."""
    async for frame in viewer.decoded():
        arrived, now = time.perf_counter(), time.time()
        captured = frame.opaque
        latency = now - captured if isinstance(captured, float) and captured > 0 else None
        if not arrivals.add(arrived, latency):
            return


# --- the stamper (a child process: --role stamper) ----------------------------------------------


def background_pictures(count: int) -> list[Picture]:
    """`count` pictures of colour bars shaded top to bottom, with a band of fine stripes and a
    square, each moved WIDTH / count pixels to the right of the one before (a seamless cycle)."""
    bars = np.array(
        [
            [235, 235, 235],
            [235, 235, 16],
            [16, 235, 235],
            [16, 235, 16],
            [235, 16, 235],
            [235, 16, 16],
            [16, 16, 235],
            [40, 40, 40],
        ],
        dtype=np.float32,
    )
    columns = np.repeat(bars, WIDTH // len(bars), axis=0)
    shade = np.linspace(1.0, 0.35, HEIGHT, dtype=np.float32)[:, None, None]
    base = (columns[None, :, :] * shade).astype(np.uint8)
    stripes = (np.indices((120, WIDTH)).sum(axis=0) % 6 < 3).astype(np.uint8) * 200
    base[520:640] = stripes[:, :, None]
    step = WIDTH // count
    pictures = []
    for index in range(count):
        picture = np.ascontiguousarray(np.roll(base, index * step, axis=1))
        top = 100 + (index * 11) % 300
        left = (index * step * 2) % (WIDTH - 160)
        picture[top : top + 160, left : left + 160] = 255
        pictures.append(picture)
    return pictures


def stamper_role(fps: int) -> None:
    """Writes rgb24 pictures to stdout at `fps` on absolute deadlines, each stamped with the
    time it is written; never bursts to catch up (a late picture moves the schedule). Prints
    {"pictures", "late", "seconds"} on stderr when stopped (SIGTERM) or when stdout closes."""
    stop = False

    def on_term(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    pictures = background_pictures(32)
    interval = 1 / fps
    out: Any = getattr(sys.stdout.buffer, "raw", sys.stdout.buffer)
    started = next_at = time.monotonic()
    written = late = 0
    while not stop and time.monotonic() - started < STAMPER_LIMIT_SECS:
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
        elif now - next_at > interval:
            late += 1
            next_at = now
        picture = pictures[written % len(pictures)]
        stamp_time(picture, time.time())
        view = memoryview(picture.data).cast("B")
        try:
            while view:
                view = view[out.write(view) :]
        except (BrokenPipeError, OSError):
            break
        written += 1
        next_at += interval
    summary = {"pictures": written, "late": late, "seconds": time.monotonic() - started}
    print(json.dumps(summary), file=sys.stderr, flush=True)


@dataclass
class StampedScreen:
    stamper: Child
    player: Child
    summary: dict[str, Any] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def stamped_screen(host: Any, display: str, workdir: Path) -> AsyncIterator[StampedScreen]:
    """The stamper's pictures shown full screen on `display` by ffplay inside `host`."""
    read_end, write_end = os.pipe()
    children: list[Child] = []
    try:
        children.append(
            await Child.start(
                "stamper",
                [sys.executable, "-m", "bench.streams", "--role", "stamper"],
                workdir=workdir,
                stdout=write_end,
            )
        )
        children.append(
            await Child.start(
                "ffplay",
                host.command(
                    "ffplay",
                    *f"-loglevel error -f rawvideo -pixel_format rgb24 -video_size {SCREEN_SIZE}"
                    f" -framerate {STAMP_FPS} -i - -noborder -left 0 -top 0 -fflags nobuffer"
                    " -framedrop -an".split(),
                ),
                workdir=workdir,
                env={"DISPLAY": display, "SDL_AUDIODRIVER": "dummy"},
                stdin=read_end,
            )
        )
    except BaseException:
        for child in children:
            await child.stop()
        raise
    finally:
        os.close(read_end)
        os.close(write_end)
    screen = StampedScreen(children[0], children[1])
    try:
        yield screen
    finally:
        await screen.stamper.stop()
        await screen.player.stop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            lines = screen.stamper.log.read_text().strip().splitlines()
            screen.summary = json.loads(lines[-1])


# --- screen: runs -------------------------------------------------------------------------------


def ffmpeg(*args: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *args]


async def raw_capture_run(
    label: str,
    receiver: Child,
    others: Mapping[str, Child],
    options: Options,
    seconds: float,
) -> dict[str, Any]:
    """Reads `receiver`'s rawvideo output and measures a window; stops every program after."""
    arrivals = Arrivals()
    reader = asyncio.ensure_future(read_raw_pictures(receiver.stdout, arrivals))
    everyone = {**others, "receiver": receiver}
    try:
        try:
            await arrivals.wait_readable(reader, label)
        except BenchError as exc:
            raise BenchError(f"{exc}{''.join(c.tail() for c in everyone.values())}") from None
        pids = {name: child.pid for name, child in everyone.items()}
        window = await timed_window(options.warmup_s, seconds, pids)
    finally:
        for child in [*others.values(), receiver]:
            await child.stop()
        await finish(reader)
    return window_summary(arrivals, window, unit="pictures")


async def cli_capture(host: Any, display: str, options: Options, workdir: Path) -> dict[str, Any]:
    """The screen read back raw on its own host through Debian's ffmpeg (the baseline's grabber):
    drawing and grabbing before any encoder or network."""
    grabber = await Child.start(
        "local-capture",
        host.command(
            *ffmpeg(
                *f"-f x11grab -framerate {VIDEO_FPS} -video_size {SCREEN_SIZE} -i {display}"
                " -threads 1 -fps_mode passthrough -flush_packets 1"
                " -f rawvideo -pix_fmt rgb24 -".split()
            )
        ),
        workdir=workdir,
        stdout=asyncio.subprocess.PIPE,
    )
    seconds = options.floor_s
    return await raw_capture_run("ffmpeg x11grab", grabber, {}, options, seconds)


def grab_locally(display: str, warmup: float, seconds: float) -> tuple[list[float], list[Any]]:
    """Reads the screen with PyAV's x11grab (what the daemon's screen source uses) on a thread of
    this process; returns arrival times and latencies."""
    container: Any = av.open(
        display, format="x11grab", options={"framerate": str(VIDEO_FPS), "draw_mouse": "1"}
    )
    times: list[float] = []
    latencies: list[float | None] = []
    limit = int((warmup + seconds + STEP_LIMIT_SECS) * VIDEO_FPS)
    deadline = time.perf_counter() + warmup + seconds
    try:
        for picture in itertools.islice(container.decode(container.streams.video[0]), limit):
            arrived, now = time.perf_counter(), time.time()
            latency = stamp_latency(decoded_region(picture), now)
            if latency is None and not any(lat is not None for lat in latencies):
                deadline = arrived + warmup + seconds  # the window starts at the first stamp
            times.append(arrived)
            latencies.append(latency)
            if arrived >= deadline:
                break
    finally:
        container.close()
    return times, latencies


async def pyav_capture(display: str, options: Options) -> dict[str, Any]:
    """The floor with the daemon's own grabber: PyAV x11grab in this process, no encoder."""
    seconds = options.floor_s
    times, latencies = await asyncio.to_thread(grab_locally, display, options.warmup_s, seconds)
    first = next((t for t, lat in zip(times, latencies, strict=True) if lat is not None), None)
    if first is None:
        raise BenchError(f"PyAV x11grab: no readable stamp in {len(times)} pictures")
    arrivals = Arrivals()
    for arrived, latency in zip(times, latencies, strict=True):
        arrivals.add(arrived, latency)
    start = first + options.warmup_s
    return window_summary(
        arrivals, Window(start, min(start + seconds, times[-1]), {}), unit="pictures"
    )


async def ffmpeg_screen(lan: Any, display: str, options: Options, workdir: Path) -> dict[str, Any]:
    """The baseline: ffmpeg x11grab -> libx264 -> MPEG-TS over UDP -> ffmpeg -> rawvideo."""
    sender_host, receiver_host = lan.hosts[0], lan.hosts[1]
    receiver = await Child.start(
        "ffmpeg-video-receiver",
        receiver_host.command(
            *ffmpeg(
                *f"-fflags nobuffer -flags low_delay -probesize 32 -analyzeduration 0"
                f" -i udp://0.0.0.0:{VIDEO_PORT} -threads 1 -fps_mode passthrough"
                " -flush_packets 1 -f rawvideo -pix_fmt rgb24 -".split()
            )
        ),
        workdir=workdir,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        sender = await Child.start(
            "ffmpeg-video-sender",
            sender_host.command(
                *ffmpeg(
                    *f"-f x11grab -framerate {VIDEO_FPS} -video_size {SCREEN_SIZE} -i {display}"
                    " -c:v libx264 -preset ultrafast -tune zerolatency -g 60 -f mpegts"
                    f" udp://{receiver_host.ipv4}:{VIDEO_PORT}?pkt_size=1316".split()
                )
            ),
            workdir=workdir,
            env={"DISPLAY": display},
        )
    except BaseException:
        await receiver.stop()
        raise
    return await raw_capture_run(
        "ffmpeg over UDP", receiver, {"sender": sender}, options, options.screen_s
    )


async def open_stream(
    a: Any, b: Any, kind: StreamKind, **stream_options: Any
) -> tuple[StreamHandle, StreamHandle]:
    """A opens a stream to B; B attaches once it is offered. Returns (opener, viewer)."""
    since = len(b.events)
    opening = asyncio.ensure_future(a.api.start_stream(kind, b.device_id, **stream_options))
    try:
        offer = await b.wait_event("stream_offered", since=since, limit=STEP_LIMIT_SECS)
        viewer = await asyncio.wait_for(
            b.api.attach_stream(offer.message.stream_offered.stream.id), STEP_LIMIT_SECS
        )
        sender: StreamHandle = await asyncio.wait_for(opening, STEP_LIMIT_SECS)
    except BaseException:
        opening.cancel()
        with contextlib.suppress(BaseException):
            await opening
        raise
    return sender, viewer


def transport_name(value: stream_pb2.StreamTransport.ValueType) -> str:
    return stream_pb2.StreamTransport.Name(value).removeprefix("STREAM_TRANSPORT_").lower()


def stats_of(info: stream_pb2.Stream) -> dict[str, Any]:
    """What a daemon reports about a stream (Stream.stats and counters)."""
    stats = info.stats
    return {
        "transport": transport_name(info.transport),
        "frames_sent": info.frames_sent,
        "frames_received": info.frames_received,
        "frames_dropped": info.frames_dropped,
        "bitrate_bps": stats.bitrate_bps,
        "fps": stats.fps,
        "latency_p50_ms": stats.latency_p50_ms,
        "latency_p99_ms": stats.latency_p99_ms,
        "max_gap_ms": stats.max_gap_ms,
        "keyframe_requests": stats.keyframe_requests,
        "rtt_ms": stats.rtt_ms,
    }


async def kizuna_run(
    a: Any,
    b: Any,
    kind: StreamKind,
    consume: Callable[[StreamHandle, Arrivals], Awaitable[None]],
    *,
    seconds: float,
    options: Options,
    unit: str,
    **stream_options: Any,
) -> dict[str, Any]:
    """A streams to B; B's viewer (in this process) is consumed by `consume` for a window."""
    sender, viewer = await open_stream(a, b, kind, **stream_options)
    arrivals = Arrivals()
    consumer = asyncio.ensure_future(consume(viewer, arrivals))
    try:
        await arrivals.wait_readable(consumer, f"kizuna {kind}")
        pids = {
            "sender daemon": a.process.pid,
            "receiver daemon": b.process.pid,
            "viewer (this process)": os.getpid(),
        }
        window = await timed_window(options.warmup_s, seconds, pids)
        outgoing = await a.api.get_stream(sender.id)
        incoming = await b.api.get_stream(sender.id)
    finally:
        with contextlib.suppress(KizunaError, TimeoutError):
            await asyncio.wait_for(sender.close(), STOP_LIMIT_SECS)
        await finish(consumer)
        with contextlib.suppress(KizunaError, TimeoutError):
            await asyncio.wait_for(viewer.close(), STOP_LIMIT_SECS)
    summary = window_summary(arrivals, window, unit=unit)
    summary["transport"] = transport_name(incoming.transport)
    summary["sender_stats"] = stats_of(outgoing)
    summary["receiver_stats"] = stats_of(incoming)
    return summary


async def start_pair(
    lan: Any, env_a: Mapping[str, str], env_b: Mapping[str, str]
) -> tuple[Any, Any]:
    """Daemons alpha (host 0) and beta (host 1), paired the way two people would."""
    from tests.e2e.peerlan import pair  # noqa: PLC0415 - root-only part

    a, b = await asyncio.gather(
        lan.start(0, "alpha", env=dict(env_a)), lan.start(1, "beta", env=dict(env_b))
    )
    await a.wait_peer(b, lambda p: p.online, "discovers beta", limit=STEP_LIMIT_SECS)
    await pair(a, b)
    await linked(a, b)
    return a, b


async def linked(a: Any, b: Any) -> None:
    await a.wait_peer(b, lambda p: p.trusted and p.connected, "link up", limit=STEP_LIMIT_SECS)
    await b.wait_peer(a, lambda p: p.trusted and p.connected, "link up", limit=STEP_LIMIT_SECS)


async def restart_pair(a: Any, b: Any, extra_env: Mapping[str, str]) -> None:
    """Restarts both daemons on their homes (trust kept) with `extra_env` added."""
    await asyncio.gather(a.stop(), b.stop())
    a.env.update(extra_env)
    b.env.update(extra_env)
    await asyncio.gather(a.start(), b.start())
    await linked(a, b)


async def attempt(label: str, run: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Runs one measurement; a failure is recorded (and printed), not fatal to the others."""
    print(f"  {label} ...", flush=True)
    try:
        return await run()
    except (BenchError, KizunaError, AssertionError, TimeoutError, OSError) as exc:
        message = f"{type(exc).__name__}: {exc}"
        print(f"  {label} FAILED: {message}", flush=True)
        return {"error": message}


async def screen_scenario(options: Options, impaired: bool, workdir: Path) -> dict[str, Any]:
    from tests.e2e import media_env  # noqa: PLC0415 - root-only part
    from tests.e2e.peerlan import PeerLan  # noqa: PLC0415

    title = (
        f"with {DELAY_MS:.0f} ms delay and {LOSS:.0%} loss each way"
        if impaired
        else "no impairment"
    )
    print(f"\nscreen, {title}:", flush=True)
    result: dict[str, Any] = {}
    async with PeerLan(2) as lan:
        if impaired:
            await lan.impair(delay_ms=DELAY_MS, loss=LOSS, seed=RELAY_SEED)
        host = lan.hosts[0]
        async with (
            media_env.xvfb(host, SCREEN_SIZE) as display,
            stamped_screen(host, display, workdir) as screen,
        ):
            result["floor_pyav"] = await attempt(
                "screen read back with PyAV x11grab (no encoder, no network)",
                lambda: pyav_capture(display, options),
            )
            result["floor_ffmpeg"] = await attempt(
                "screen read back with ffmpeg x11grab (no encoder, no network)",
                lambda: cli_capture(host, display, options, workdir),
            )
            result["ffmpeg"] = await attempt(
                "ffmpeg over UDP", lambda: ffmpeg_screen(lan, display, options, workdir)
            )
            a, b = await start_pair(lan, {"DISPLAY": display, **LINK_ENV}, LINK_ENV)

            def screen_run() -> Awaitable[dict[str, Any]]:
                return kizuna_run(
                    a,
                    b,
                    "screen",
                    read_decoded_pictures,
                    seconds=options.screen_s,
                    options=options,
                    unit="pictures",
                    quality=QUALITY,
                    max_size=(WIDTH, HEIGHT),
                    fps=VIDEO_FPS,
                )

            result["kizuna_link"] = await attempt("kizuna over the link", screen_run)
            await restart_pair(a, b, WEBRTC_ENV)
            result["kizuna_webrtc"] = await attempt("kizuna over WebRTC", screen_run)
        result["stamper"] = screen.summary
    return result


# --- audio --------------------------------------------------------------------------------------


def baseline_chunk(index: int) -> bytes:
    """20 ms of the baseline's signal as s16le: the quiet tone, and a click starting the chunk
    every CLICK_EVERY chunks."""
    t = (np.arange(AUDIO_FRAME) + index * AUDIO_FRAME) / SAMPLE_RATE
    samples = TONE_LEVEL * np.sin(2 * math.pi * 440 * t)
    if index % CLICK_EVERY == 0:
        burst = np.arange(CLICK_SAMPLES) / SAMPLE_RATE
        samples[:CLICK_SAMPLES] += CLICK_LEVEL * np.sin(2 * math.pi * 2000 * burst)
    return (samples * 32767).astype("<i2").tobytes()


class Clicks:
    """Clicks sent (wall time of each click's chunk) and found again in decoded sound."""

    def __init__(self) -> None:
        self.sent: list[float] = []
        self.found: list[tuple[float, float]] = []  # (perf_counter, wall time) of the read
        self.heard = asyncio.Event()
        self._position = 0
        self._last = -CLICK_EVERY * AUDIO_FRAME

    def feed(self, samples: npt.NDArray[np.floating[Any]], arrived: float, now: float) -> bool:
        """Scans decoded samples (-1..1, in order) for the first loud sample of each click;
        False once MAX_ITEMS were found."""
        refractory = CLICK_EVERY * AUDIO_FRAME // 2
        for offset in np.flatnonzero(np.abs(samples) > CLICK_THRESHOLD):
            at = self._position + int(offset)
            if at - self._last >= refractory:
                self.found.append((arrived, now))
                self.heard.set()
                self._last = at
        self._position += len(samples)
        return len(self.found) < MAX_ITEMS

    async def wait_heard(self, consumer: asyncio.Task[Any], what: str) -> None:
        waiter = asyncio.ensure_future(self.heard.wait())
        try:
            await asyncio.wait(
                {waiter, consumer}, timeout=STEP_LIMIT_SECS, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if not self.found:
            raise BenchError(f"{what}: no click arrived within {STEP_LIMIT_SECS:.0f}s")

    def arrivals(self) -> Arrivals:
        """Each click found, with its latency: found - the latest click sent before it (within
        one click period; none: unreadable)."""
        period = CLICK_EVERY * AUDIO_FRAME / SAMPLE_RATE
        arrivals = Arrivals()
        for arrived, now in self.found:
            earlier = [sent for sent in self.sent if -0.005 <= now - sent < period]
            arrivals.add(arrived, max(now - max(earlier), 0.0) if earlier else None)
        return arrivals


def click_summary(clicks: Clicks, window: Window) -> dict[str, Any]:
    period = CLICK_EVERY * AUDIO_FRAME / SAMPLE_RATE
    summary = window_summary(clicks.arrivals(), window, unit="clicks")
    summary["clicks_sent_in_window"] = round(window.seconds / period)
    summary["method"] = "clicks"
    return summary


async def paced_chunks(
    stop: asyncio.Event, clicks: Clicks, max_secs: float
) -> AsyncIterator[tuple[int, bytes, float]]:
    """(index, 20 ms of the click signal as s16le, wall time) when each chunk's last sample is
    due (absolute deadlines, as a microphone hands over a full frame); records click times."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(int(max_secs * SAMPLE_RATE / AUDIO_FRAME)):
        if stop.is_set():
            return
        delay = start + (index + 1) * AUDIO_FRAME / SAMPLE_RATE - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.time()
        if index % CLICK_EVERY == 0:
            clicks.sent.append(now)
        yield index, baseline_chunk(index), now


async def feed_ffmpeg(
    stdin: asyncio.StreamWriter, stop: asyncio.Event, clicks: Clicks, max_secs: float
) -> None:
    """Writes the click signal into ffmpeg's standard input in real time."""
    async for _, data, _ in paced_chunks(stop, clicks, max_secs):
        try:
            stdin.write(data)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return
    stdin.close()


async def read_ffmpeg_pcm(stdout: asyncio.StreamReader, clicks: Clicks) -> None:
    """Reads s16le mono PCM from ffmpeg until it ends, looking for clicks."""
    pending = b""
    while True:
        data = await stdout.read(65536)
        if not data:
            return
        arrived, now = time.perf_counter(), time.time()
        data = pending + data
        usable = len(data) // 2 * 2
        pending = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768
        if not clicks.feed(samples, arrived, now):
            return


def opus_encoder() -> Any:
    """libopus as the daemon's audio source sets it up (20 ms, lowdelay, QUALITY's bitrate)."""
    codec: Any = av.CodecContext.create("libopus", "w")
    codec.sample_rate = SAMPLE_RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = OPUS_BITRATE
    codec.time_base = fractions.Fraction(1, SAMPLE_RATE)
    codec.options = {"application": "lowdelay", "frame_duration": "20"}
    return codec


async def send_opus_clicks(
    sender: StreamHandle, stop: asyncio.Event, clicks: Clicks, max_secs: float
) -> None:
    """Encodes the click signal with libopus in this process and sends each packet as the
    app's own frame, with the chunk's wall time as its capture time."""
    encoder = opus_encoder()
    async for index, data, now in paced_chunks(stop, clicks, max_secs):
        samples = np.frombuffer(data, dtype="<i2").reshape(1, -1)
        chunk = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        chunk.sample_rate = SAMPLE_RATE
        chunk.pts = index * AUDIO_FRAME
        chunk.time_base = fractions.Fraction(1, SAMPLE_RATE)
        for packet in encoder.encode(chunk):
            await sender.send(bytes(packet), keyframe=True, capture_time=now)


async def read_decoded_clicks(viewer: StreamHandle, clicks: Clicks) -> None:
    """Decodes a stream's sound until it ends, looking for clicks."""
    async for frame in viewer.decoded():
        arrived, now = time.perf_counter(), time.time()
        samples = frame.to_ndarray().reshape(-1)
        if samples.dtype.kind == "i":
            samples = samples.astype(np.float32) / 32768
        if not clicks.feed(samples, arrived, now):
            return


async def ffmpeg_audio(lan: Any, options: Options, workdir: Path) -> dict[str, Any]:
    """The baseline: s16le from this script -> ffmpeg libopus (20 ms, lowdelay) -> MPEG-TS over
    UDP -> ffmpeg decoding to s16le; latency = a click found in the output - its chunk's write."""
    sender_host, receiver_host = lan.hosts[0], lan.hosts[1]
    receiver = await Child.start(
        "ffmpeg-audio-receiver",
        receiver_host.command(
            *ffmpeg(
                *f"-fflags nobuffer -flags low_delay -probesize 32 -analyzeduration 0"
                f" -i udp://0.0.0.0:{AUDIO_PORT} -flush_packets 1"
                f" -f s16le -ac 1 -ar {SAMPLE_RATE} -".split()
            )
        ),
        workdir=workdir,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        sender = await Child.start(
            "ffmpeg-audio-sender",
            sender_host.command(
                *ffmpeg(
                    *f"-f s16le -ar {SAMPLE_RATE} -ac 1 -i - -c:a libopus -b:a {OPUS_BITRATE}"
                    " -frame_duration 20 -application lowdelay -flush_packets 1 -f mpegts"
                    " -pes_payload_size 0 -muxdelay 0"
                    f" udp://{receiver_host.ipv4}:{AUDIO_PORT}?pkt_size=1316".split()
                )
            ),
            workdir=workdir,
            stdin=asyncio.subprocess.PIPE,
        )
    except BaseException:
        await receiver.stop()
        raise
    assert sender.proc.stdin is not None
    clicks = Clicks()
    stop = asyncio.Event()
    longest = STEP_LIMIT_SECS + options.warmup_s + options.audio_s + 5
    feeder = asyncio.ensure_future(feed_ffmpeg(sender.proc.stdin, stop, clicks, longest))
    reader = asyncio.ensure_future(read_ffmpeg_pcm(receiver.stdout, clicks))
    pids = {"sender": sender.pid, "receiver": receiver.pid}
    try:
        try:
            await clicks.wait_heard(reader, "ffmpeg audio")
        except BenchError as exc:
            raise BenchError(f"{exc}{sender.tail()}{receiver.tail()}") from None
        window = await timed_window(options.warmup_s, options.audio_s, pids)
    finally:
        stop.set()
        await finish(feeder)
        for child in (sender, receiver):
            await child.stop()
        await finish(reader)
    return click_summary(clicks, window)


async def kizuna_clicks(a: Any, b: Any, options: Options) -> dict[str, Any]:
    """The baseline's method applied to Kizuna: this process encodes the click signal and
    sends it as an app's own Opus frames through A; B's viewer decodes and finds the clicks.
    Independent of the capture times the daemons carry."""
    sender, viewer = await open_stream(
        a,
        b,
        "audio",
        own_frames=True,
        format="opus",
        metadata={"sample_rate": str(SAMPLE_RATE), "channels": "1", "frame_ms": "20"},
    )
    clicks = Clicks()
    stop = asyncio.Event()
    longest = STEP_LIMIT_SECS + options.warmup_s + options.audio_s + 5
    feeder = asyncio.ensure_future(send_opus_clicks(sender, stop, clicks, longest))
    reader = asyncio.ensure_future(read_decoded_clicks(viewer, clicks))
    pids = {
        "sender daemon": a.process.pid,
        "receiver daemon": b.process.pid,
        "apps (this process)": os.getpid(),
    }
    try:
        await clicks.wait_heard(reader, "kizuna audio clicks")
        window = await timed_window(options.warmup_s, options.audio_s, pids)
        incoming = await b.api.get_stream(sender.id)
    finally:
        stop.set()
        await finish(feeder)
        with contextlib.suppress(KizunaError, TimeoutError):
            await asyncio.wait_for(sender.close(), STOP_LIMIT_SECS)
        await finish(reader)
        with contextlib.suppress(KizunaError, TimeoutError):
            await asyncio.wait_for(viewer.close(), STOP_LIMIT_SECS)
    summary = click_summary(clicks, window)
    summary["transport"] = transport_name(incoming.transport)
    summary["receiver_stats"] = stats_of(incoming)
    return summary


async def audio_scenario(options: Options, workdir: Path) -> dict[str, Any]:
    from tests.e2e.peerlan import PeerLan  # noqa: PLC0415 - root-only part

    print("\naudio, no impairment:", flush=True)
    result: dict[str, Any] = {}
    async with PeerLan(2) as lan:
        result["ffmpeg"] = await attempt(
            "ffmpeg over UDP (clicks)", lambda: ffmpeg_audio(lan, options, workdir)
        )
        a, b = await start_pair(lan, LINK_ENV, LINK_ENV)

        def audio_run() -> Awaitable[dict[str, Any]]:
            return kizuna_run(
                a,
                b,
                "audio",
                read_decoded_audio,
                seconds=options.audio_s,
                options=options,
                unit="frames",
                device="synthetic",
                quality=QUALITY,
            )

        result["kizuna_link"] = await attempt("kizuna over the link (synthetic)", audio_run)
        result["kizuna_link_clicks"] = await attempt(
            "kizuna over the link (clicks)", lambda: kizuna_clicks(a, b, options)
        )
        await restart_pair(a, b, WEBRTC_ENV)
        result["kizuna_webrtc"] = await attempt("kizuna over WebRTC (synthetic)", audio_run)
        result["kizuna_webrtc_clicks"] = await attempt(
            "kizuna over WebRTC (clicks)", lambda: kizuna_clicks(a, b, options)
        )
    return result


# --- data ---------------------------------------------------------------------------------------

#: The raw TLS baseline, run as `python -I tls_peer.py recv CERT KEY MODE` (prints its port,
#: then a JSON result) and `... send CERT PORT MODE BYTES FPS SECONDS` (prints a JSON result).
#: Paced frames carry a header: payload length and the capture time (time.time()).
TLS_PEER = '''\
"""Raw TLS 1.3 on loopback: paced frames (latency) or a bulk stream (throughput)."""

import json
import os
import socket
import ssl
import struct
import sys
import time

HEADER = struct.Struct("!Id")
MAX_FRAMES = 1_000_000


def recv_exact(tls, view):
    got = 0
    while got < len(view):
        n = tls.recv_into(view[got:])
        if not n:
            return False
        got += n
    return True


def receive(cert, key, mode):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.load_cert_chain(cert, key)
    context.num_tickets = 0  # nothing left unread at the sender when it closes
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(60)
        print(listener.getsockname()[1], flush=True)
        conn, _ = listener.accept()
    conn.settimeout(120)
    result = {"times": [], "latencies": [], "sizes": []}
    with context.wrap_socket(conn, server_side=True) as tls:
        if mode == "bulk":
            buffer = memoryview(bytearray(1 << 20))
            first = last = None
            total = first_bytes = 0
            deadline = time.perf_counter() + 600
            while time.perf_counter() < deadline:
                n = tls.recv_into(buffer)
                if not n:
                    break
                last = time.perf_counter()
                if first is None:
                    first, first_bytes = last, n
                total += n
            result = {"bytes_after_first": total - first_bytes, "first": first, "last": last}
        else:
            header = bytearray(HEADER.size)
            payload = bytearray(1 << 20)
            for _ in range(MAX_FRAMES):
                if not recv_exact(tls, memoryview(header)):
                    break
                size, captured = HEADER.unpack(header)
                if not recv_exact(tls, memoryview(payload)[:size]):
                    break
                result["times"].append(time.perf_counter())
                result["latencies"].append(time.time() - captured)
                result["sizes"].append(size)
    print(json.dumps(result), flush=True)


def send(cert, port, mode, size, fps, seconds):
    context = ssl.create_default_context(cafile=cert)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    payload = os.urandom(size)
    frames = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            start = time.perf_counter()
            if mode == "bulk":
                while time.perf_counter() - start < seconds:
                    tls.sendall(payload)
                    frames += 1
            else:
                for index in range(int(seconds * fps)):
                    delay = start + index / fps - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    tls.sendall(HEADER.pack(size, time.time()))
                    tls.sendall(payload)
                    frames += 1
    print(json.dumps({"frames": frames}), flush=True)


if sys.argv[1] == "recv":
    receive(sys.argv[2], sys.argv[3], sys.argv[4])
else:
    send(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]),
         float(sys.argv[7]))
'''


async def read_line(child: Child, limit: float) -> str:
    raw = await asyncio.wait_for(child.stdout.readline(), limit)
    if not raw:
        code = await child.proc.wait()
        raise BenchError(f"{child.name} exited with {code} without output{child.tail()}")
    return raw.decode(errors="replace").strip()


def paced_summary(
    times: Sequence[float],
    latencies: Sequence[float],
    sequences: Sequence[int] | None,
    sent: int,
    warmup: float,
) -> dict[str, Any]:
    """Latency of the frames that arrived after the first `warmup` seconds; lost frames."""
    kept = [
        lat for t, lat in zip(times, latencies, strict=True) if times and t >= times[0] + warmup
    ]
    gaps = 0
    if sequences:
        gaps = sum(max(0, b - a - 1) for a, b in itertools.pairwise(sequences))
    span = times[-1] - times[0] if len(times) > 1 else math.nan
    return {
        "frames_sent": sent,
        "frames_received": len(times),
        "frames_missing": sent - len(times),
        "sequence_gaps": gaps,
        "per_s": (len(times) - 1) / span if span and not math.isnan(span) else math.nan,
        "latency_ms": summarize_ms(kept),
        "measured_frames": len(kept),
    }


def bulk_summary(times: Sequence[float], sizes: Sequence[int], sent: int) -> dict[str, Any]:
    span = times[-1] - times[0] if len(times) > 1 else math.nan
    after_first = sum(sizes[1:])
    return {
        "frames_sent": sent,
        "frames_received": len(times),
        "seconds": span,
        "mb_per_s": after_first / span / 1e6 if span and not math.isnan(span) else math.nan,
    }


async def tls_run(
    mode: str, size: int, seconds: float, options: Options, workdir: Path
) -> dict[str, Any]:
    """The raw TLS baseline: a receiver and a sender process on loopback."""
    from bench.transfer_baselines import _write_self_signed  # noqa: PLC0415

    cert, key = await asyncio.to_thread(_write_self_signed, workdir)
    program = workdir / "tls_peer.py"
    program.write_text(TLS_PEER)
    python = [sys.executable, "-I", str(program)]
    receiver = await Child.start(
        f"tls-receiver-{mode}",
        [*python, "recv", str(cert), str(key), mode],
        workdir=workdir,
        stdout=asyncio.subprocess.PIPE,
    )
    sender: Child | None = None
    try:
        port = await read_line(receiver, STEP_LIMIT_SECS)
        sender = await Child.start(
            f"tls-sender-{mode}",
            [*python, "send", str(cert), port, mode, str(size), str(DATA_FPS), str(seconds)],
            workdir=workdir,
            stdout=asyncio.subprocess.PIPE,
        )
        pids = {"sender": sender.pid, "receiver": receiver.pid}
        before = {name: cpu_or_nan(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        sent = json.loads(await read_line(sender, seconds + STEP_LIMIT_SECS))["frames"]
        elapsed = time.perf_counter() - started
        after = {name: cpu_or_nan(pid) for name, pid in pids.items()}
        received = json.loads(await read_line(receiver, STEP_LIMIT_SECS))
    finally:
        for child in (sender, receiver):
            if child is not None:
                await child.stop()
    cpu = {name: 100 * (after[name] - before[name]) / elapsed for name in pids}
    if mode == "bulk":
        span = (received["last"] or 0) - (received["first"] or 0)
        summary = {
            "frames_sent": sent,
            "seconds": span,
            "mb_per_s": received["bytes_after_first"] / span / 1e6 if span > 0 else math.nan,
        }
    else:
        summary = paced_summary(
            received["times"], received["latencies"], None, sent, options.warmup_s
        )
    summary["cpu_pct"] = cpu
    return summary


async def data_sender_role(args: argparse.Namespace) -> None:
    """The sending app of the data runs: opens a data stream to `--peer` through the daemon at
    `--target`, prints "open ID", sends, closes, prints a JSON summary."""
    async with Kizuna(target=args.target) as api:
        handle = await api.start_stream("data", args.peer)
        print(f"open {handle.id}", flush=True)
        payload = os.urandom(args.bytes)
        loop = asyncio.get_running_loop()
        lags: list[float] = []
        sent = 0
        start = loop.time()
        if args.mode == "paced":
            for index in range(int(args.seconds * DATA_FPS)):
                delay = start + index / DATA_FPS - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                lags.append(max(0.0, -delay))
                await handle.send(payload, capture_time=time.time())
                sent += 1
        else:
            while loop.time() - start < args.seconds:
                await handle.send(payload)
                sent += 1
        elapsed = loop.time() - start
        await handle.close()
    print(json.dumps({"frames": sent, "seconds": elapsed, "lag_ms": summarize_ms(lags)}))


async def kizuna_data(
    a: LoopbackNode,
    b: LoopbackNode,
    mode: str,
    *,
    size: int,
    seconds: float,
    options: Options,
    workdir: Path,
    app_malloc: bool = False,
) -> dict[str, Any]:
    """The sending app (a child process) streams to B; this process is B's app. With
    `app_malloc` both apps run with glibc's malloc set as docs/streams.md suggests for Python
    apps moving bulk data (the daemons always are, and the client is while a data stream is
    open: kizuna_client/memory.py)."""
    if app_malloc:
        reuse_large_buffers()  # what APP_MALLOC does for the child
    subscription = b.api.subscribe_events(types=["stream_offered"])
    await asyncio.wait_for(subscription.started(), STEP_LIMIT_SECS)
    argv = [
        sys.executable, "-m", "bench.streams", "--role", "data-sender",
        "--target", a.server.target, "--peer", b.device_id, "--mode", mode,
        "--bytes", str(size), "--seconds", str(seconds),
    ]  # fmt: skip
    sender = await Child.start(
        f"data-sender-{mode}",
        argv,
        workdir=workdir,
        stdout=asyncio.subprocess.PIPE,
        env=APP_MALLOC if app_malloc else None,
    )
    times: list[float] = []
    latencies: list[float] = []
    sequences: list[int] = []
    sizes: list[int] = []

    async def receive(viewer: StreamHandle) -> None:
        async for frame in viewer:
            now = time.time()
            times.append(time.perf_counter())
            latencies.append(now - frame.capture_time)
            sequences.append(frame.sequence)
            sizes.append(len(frame.data))
            if len(times) >= MAX_ITEMS:
                return

    consumer: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(STEP_LIMIT_SECS):
            stream_id = ""
            async for event in subscription:
                message = getattr(event, "message", None)
                if message is not None and message.WhichOneof("payload") == "stream_offered":
                    stream_id = message.stream_offered.stream.id
                    break
        viewer = await asyncio.wait_for(b.api.attach_stream(stream_id), STEP_LIMIT_SECS)
        consumer = asyncio.ensure_future(receive(viewer))
        opened = await read_line(sender, STEP_LIMIT_SECS)
        if opened != f"open {stream_id}":
            raise BenchError(f"data sender: {opened!r}{sender.tail()}")
        pids = {
            "sender app": sender.pid,
            "sender daemon": a.server.pid,
            "receiver daemon": b.server.pid,
            "receiver app (this process)": os.getpid(),
        }
        before = {name: cpu_or_nan(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        report = json.loads(await read_line(sender, seconds + STEP_LIMIT_SECS))
        await asyncio.wait_for(asyncio.shield(consumer), STEP_LIMIT_SECS)
        elapsed = time.perf_counter() - started
        after = {name: cpu_or_nan(pid) for name, pid in pids.items()}
    finally:
        await sender.stop()
        if consumer is not None:
            await finish(consumer)
        await subscription.close()
    if mode == "bulk":
        summary = bulk_summary(times, sizes, report["frames"])
    else:
        summary = paced_summary(times, latencies, sequences, report["frames"], options.warmup_s)
        summary["sender_lag_ms"] = report["lag_ms"]
    summary["cpu_pct"] = {name: 100 * (after[name] - before[name]) / elapsed for name in pids}
    return summary


async def data_part(options: Options, workdir: Path) -> dict[str, Any]:
    print("\ndata, two daemons on loopback:", flush=True)
    nodes: list[LoopbackNode] = []
    result: dict[str, Any] = {}
    try:
        a, b = await asyncio.gather(
            start_loopback_node("a", nodes), start_loopback_node("b", nodes)
        )
        await trust_each_other(a, b)
        result["kizuna_paced"] = await attempt(
            f"kizuna, {DATA_FPS} x {DATA_FRAME // KIB} KiB frames a second",
            lambda: kizuna_data(
                a,
                b,
                "paced",
                size=DATA_FRAME,
                seconds=options.data_s,
                options=options,
                workdir=workdir,
            ),
        )
        result["tls_paced"] = await attempt(
            "raw TLS, the same frames",
            lambda: tls_run("paced", DATA_FRAME, options.data_s, options, workdir),
        )

        def bulk(app_malloc: bool) -> Awaitable[dict[str, Any]]:
            return kizuna_data(
                a,
                b,
                "bulk",
                size=BULK_FRAME,
                seconds=options.bulk_s,
                options=options,
                workdir=workdir,
                app_malloc=app_malloc,
            )

        result["kizuna_bulk"] = await attempt(
            f"kizuna, {BULK_FRAME // MIB} MiB frames as fast as they go", lambda: bulk(False)
        )
        # Last: this process (the receiving app) keeps the setting once made.
        result["kizuna_bulk_tuned"] = await attempt(
            f"kizuna, {BULK_FRAME // MIB} MiB frames, both apps with {' '.join(APP_MALLOC)}",
            lambda: bulk(True),
        )
        result["tls_bulk"] = await attempt(
            "raw TLS, 1 MiB writes",
            lambda: tls_run("bulk", BULK_FRAME, options.bulk_s, options, workdir),
        )
    finally:
        for node in nodes:
            with contextlib.suppress(Exception):
                await node.api.close()
        await asyncio.gather(*(node.server.stop() for node in nodes), return_exceptions=True)
        for node in nodes:
            shutil.rmtree(node.home, ignore_errors=True)
    return result


# --- report -------------------------------------------------------------------------------------

RUN_LABELS: Final = {
    "floor_pyav": "floor: PyAV x11grab read back",
    "floor_ffmpeg": "floor: ffmpeg x11grab read back",
    "ffmpeg": "ffmpeg over UDP (baseline)",
    "kizuna_link": "kizuna over the link",
    "kizuna_webrtc": "kizuna over WebRTC",
    "kizuna_link_clicks": "kizuna over the link, clicks",
    "kizuna_webrtc_clicks": "kizuna over WebRTC, clicks",
}


def latency(run: Mapping[str, Any], key: str) -> float:
    value = run.get("latency_ms", {}).get(key, math.nan) if "error" not in run else math.nan
    return float(value) if value is not None else math.nan


def figure(run: Mapping[str, Any], key: str) -> float:
    value = run.get(key, math.nan)
    return float(value) if isinstance(value, int | float) else math.nan


def cpu_cell(run: Mapping[str, Any]) -> str:
    return " / ".join(f"{value:.0f}" for value in run.get("cpu_pct", {}).values()) or "-"


def print_media(title: str, runs: Mapping[str, Any], unit: str) -> None:
    rows = []
    for key, run in runs.items():
        if not isinstance(run, dict) or key not in RUN_LABELS:
            continue
        if "error" in run:
            rows.append([RUN_LABELS[key], "FAILED", *["-"] * 8])
            continue
        rows.append(
            [
                RUN_LABELS[key],
                run.get("transport", "-"),
                fmt(figure(run, "per_s"), 1),
                fmt(latency(run, "p50"), 1),
                fmt(latency(run, "p99"), 1),
                fmt(latency(run, "max"), 1),
                fmt(figure(run, "longest_gap_ms"), 0),
                str(run.get("unreadable", "-")),
                cpu_cell(run),
            ]
        )
    headers = [
        "run", "transport", f"{unit}/s", "p50 ms", "p99 ms", "max ms", "longest gap ms",
        "unreadable", "CPU % (sender / receiver [/ viewer])",
    ]  # fmt: skip
    print_table(title, headers, rows)
    for key, run in runs.items():
        if isinstance(run, dict) and "error" in run:
            print(f"  {RUN_LABELS.get(key, key)}: {run['error']}")


def print_stamper(runs: Mapping[str, Any]) -> None:
    stamper = runs.get("stamper", {})
    if stamper.get("seconds"):
        print(
            f"  stamper: {stamper['pictures']} pictures in {stamper['seconds']:.0f} s "
            f"({stamper['pictures'] / stamper['seconds']:.1f}/s, {STAMP_FPS} wanted), "
            f"{stamper['late']} times late by more than a picture"
        )


def print_data(result: Mapping[str, Any]) -> None:
    rows = []
    for key, label in (("kizuna_paced", "kizuna"), ("tls_paced", "raw TLS 1.3 (baseline)")):
        run = result.get(key, {})
        if "error" in run:
            rows.append([label, "FAILED", *["-"] * 6])
            continue
        rows.append(
            [
                label,
                f"{run.get('frames_received', 0)}/{run.get('frames_sent', 0)}",
                str(run.get("sequence_gaps", "-")),
                fmt(figure(run, "per_s"), 1),
                fmt(latency(run, "p50"), 2),
                fmt(latency(run, "p99"), 2),
                fmt(latency(run, "max"), 2),
                cpu_cell(run),
            ]
        )
    print_table(
        f"Data: {DATA_FPS} frames of {DATA_FRAME // KIB} KiB a second, reliable",
        ["run", "received/sent", "gaps", "frames/s", "p50 ms", "p99 ms", "max ms", "CPU %"],
        rows,
    )
    rows = []
    for key, label in (
        ("kizuna_bulk", "kizuna"),
        ("kizuna_bulk_tuned", "kizuna, apps with MALLOC_*"),
        ("tls_bulk", "raw TLS 1.3 (baseline)"),
    ):
        run = result.get(key, {})
        if "error" in run:
            rows.append([label, "FAILED", "-", "-"])
            continue
        rows.append(
            [label, fmt(figure(run, "mb_per_s"), 0), fmt(figure(run, "seconds"), 1), cpu_cell(run)]
        )
    print_table(
        f"Data: {BULK_FRAME // MIB} MiB frames as fast as they go",
        ["run", "MB/s", "seconds", "CPU %"],
        rows,
    )
    for key, run in result.items():
        if isinstance(run, dict) and "error" in run:
            print(f"  {key}: {run['error']}")


def target(what: str, value: float, limit: float, *, at_least: bool = False) -> dict[str, Any]:
    met = (value >= limit if at_least else value <= limit) if not math.isnan(value) else False
    sign = ">=" if at_least else "<="
    return {"what": what, "value": value, "target": f"{sign} {limit:g}", "met": met}


def targets_and_ratios(result: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, float]]:
    targets: list[dict[str, Any]] = []
    ratios: dict[str, float] = {}
    screen = result.get("screen", {})
    for scenario, runs in screen.items():
        baseline = runs.get("ffmpeg", {})
        for key in ("kizuna_link", "kizuna_webrtc"):
            run = runs.get(key, {})
            name = f"screen {scenario}, {RUN_LABELS[key].removeprefix('kizuna ')}"
            if scenario == "loopback":
                targets += [
                    target(f"{name}: p50 ms", latency(run, "p50"), TARGET_SCREEN_P50_MS),
                    target(f"{name}: p99 ms", latency(run, "p99"), TARGET_SCREEN_P99_MS),
                    target(
                        f"{name}: pictures/s",
                        figure(run, "per_s"),
                        TARGET_SCREEN_FPS,
                        at_least=True,
                    ),
                ]
            else:
                targets += [
                    target(f"{name}: p99 ms", latency(run, "p99"), TARGET_IMPAIRED_P99_MS),
                    target(
                        f"{name}: longest freeze ms",
                        figure(run, "longest_gap_ms"),
                        TARGET_IMPAIRED_FREEZE_MS,
                    ),
                ]
            for pct in ("p50", "p99"):
                ratios[f"screen {scenario} {key} / ffmpeg {pct}"] = ratio(
                    latency(run, pct), latency(baseline, pct)
                )
    audio = result.get("audio", {})
    for key in ("kizuna_link", "kizuna_link_clicks", "kizuna_webrtc", "kizuna_webrtc_clicks"):
        run = audio.get(key, {})
        if audio:
            method = "clicks" if key.endswith("clicks") else "capture time"
            transport = "WebRTC" if "webrtc" in key else "the link"
            targets.append(
                target(
                    f"audio over {transport} ({method}): one-way p50 ms",
                    latency(run, "p50"),
                    TARGET_AUDIO_P50_MS,
                )
            )
            for pct in ("p50", "p99"):
                ratios[f"audio {key} / ffmpeg {pct}"] = ratio(
                    latency(run, pct), latency(audio.get("ffmpeg", {}), pct)
                )
    data = result.get("data", {})
    if data:
        paced = data.get("kizuna_paced", {})
        targets.append(target("data: p99 ms", latency(paced, "p99"), TARGET_DATA_P99_MS))
        lost = figure(paced, "sequence_gaps") + max(figure(paced, "frames_missing"), 0.0)
        targets.append(target("data: frames lost", lost, 0))
        bulk = figure(data.get("kizuna_bulk", {}), "mb_per_s")
        targets.append(target("data: bulk MB/s", bulk, TARGET_BULK_MB_S, at_least=True))
        tuned = figure(data.get("kizuna_bulk_tuned", {}), "mb_per_s")
        targets.append(
            target("data: bulk MB/s, apps MALLOC_*", tuned, TARGET_BULK_MB_S, at_least=True)
        )
        for pct in ("p50", "p99"):
            ratios[f"data paced kizuna / raw TLS {pct}"] = ratio(
                latency(paced, pct), latency(data.get("tls_paced", {}), pct)
            )
        ratios["data bulk kizuna / raw TLS MB/s"] = ratio(
            bulk, figure(data.get("tls_bulk", {}), "mb_per_s")
        )
        ratios["data bulk kizuna, apps MALLOC_* / raw TLS MB/s"] = ratio(
            tuned, figure(data.get("tls_bulk", {}), "mb_per_s")
        )
    return targets, ratios


def print_targets(targets: Sequence[Mapping[str, Any]], ratios: Mapping[str, float]) -> None:
    print_table(
        "Targets (reported, not asserted)",
        ["what", "figure", "target", "met"],
        [
            [t["what"], fmt(t["value"], 1), t["target"], "met" if t["met"] else "NOT MET"]
            for t in targets
        ],
    )
    print_table(
        "Ratios against the baselines of this run (latency: lower is better; MB/s: higher)",
        ["ratio", "value"],
        [[name, fmt_ratio(value)] for name, value in ratios.items()],
    )


# --- the whole run ------------------------------------------------------------------------------


def missing_tools(parts: Sequence[str]) -> list[str]:
    needed = {"setpriv", "ip"}
    if "screen" in parts:
        needed |= {"Xvfb", "xdpyinfo", "ffplay", "ffmpeg", "ethtool"}
    if "audio" in parts:
        needed |= {"ffmpeg"}
    if "data" in parts:
        needed -= {"ip"}
    return sorted(tool for tool in needed if shutil.which(tool) is None)


async def run(options: Options, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if "screen" in options.parts:
        result["screen"] = {"loopback": await screen_scenario(options, False, workdir)}
        print_media(
            f"Screen {SCREEN_SIZE}, {VIDEO_FPS} fps captured, glass to glass, no impairment",
            result["screen"]["loopback"],
            "pictures",
        )
        print_stamper(result["screen"]["loopback"])
        if options.impaired:
            result["screen"]["impaired"] = await screen_scenario(options, True, workdir)
            print_media(
                f"Screen {SCREEN_SIZE}, {VIDEO_FPS} fps, {DELAY_MS:.0f} ms delay and "
                f"{LOSS:.0%} loss each way",
                result["screen"]["impaired"],
                "pictures",
            )
            print_stamper(result["screen"]["impaired"])
    if "audio" in options.parts:
        result["audio"] = await audio_scenario(options, workdir)
        print_media(
            "Audio, Opus 20 ms frames, one way (baseline: clicks every 500 ms)",
            result["audio"],
            "frames",
        )
    if "data" in options.parts:
        result["data"] = await data_part(options, workdir)
        print_data(result["data"])
    targets, ratios = targets_and_ratios(result)
    print_targets(targets, ratios)
    return {
        "parameters": asdict(options)
        | {
            "screen": {
                "size": SCREEN_SIZE,
                "stamper_fps": STAMP_FPS,
                "capture_fps": VIDEO_FPS,
                "quality": QUALITY,
                "impairment": {"delay_ms": DELAY_MS, "loss": LOSS, "seed": RELAY_SEED},
            },
            "audio": {"opus_bitrate": OPUS_BITRATE, "click_every_ms": CLICK_EVERY * 20},
            "data": {"frame_bytes": DATA_FRAME, "fps": DATA_FPS, "bulk_frame_bytes": BULK_FRAME},
        },
        **result,
        "targets": targets,
        "ratios": ratios,
        "environment": environment(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts: {', '.join(PARTS)}"
    )
    parser.add_argument(
        "--impaired",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the screen runs with delay and loss (default: on, off with --quick)",
    )
    # For the child processes this script starts for itself.
    parser.add_argument(
        "--role", choices=["main", "stamper", "data-sender"], default="main", help=argparse.SUPPRESS
    )
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--bytes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "stamper":
        stamper_role(STAMP_FPS)
        return
    if args.role == "data-sender":
        asyncio.run(data_sender_role(args))
        return
    parts = tuple(part.strip() for part in args.only.split(",") if part.strip())
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    if {"screen", "audio"} & set(parts) and os.geteuid() != 0:
        parser.exit(2, f"{parser.prog}: screen and audio need root (network namespaces)\n")
    if missing := missing_tools(parts):
        parser.exit(2, f"{parser.prog}: not installed: {', '.join(missing)}\n")
    quick = args.quick
    options = Options(
        quick=quick,
        parts=parts,
        impaired=not quick if args.impaired is None else args.impaired,
        warmup_s=0.5 if quick else 2.0,
        screen_s=2.0 if quick else 20.0,
        floor_s=1.5 if quick else 5.0,
        audio_s=2.0 if quick else 10.0,
        data_s=2.0 if quick else 20.0,
        bulk_s=2.0 if quick else 10.0,
    )
    workdir = short_temp_dir(TEMP_PREFIX)
    try:
        result = asyncio.run(run(options, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    path = write_result(NAME, finite(result))
    print(f"\nresult: {path}")


if __name__ == "__main__":
    main()
