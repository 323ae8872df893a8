"""Built-in capture sources and their encoders (the `media` extra: PyAV, numpy).

Sources (docs/streams.md says what each needs):
- screen: X11 through FFmpeg's x11grab (any X server, XWayland included). A Wayland session
  without XWayland needs the ScreenCast portal through PipeWire, which this version does not use.
- camera: V4L2 (/dev/videoN) through Debian's ffmpeg (PyAV's own FFmpeg has no v4l2 input).
- audio: PulseAudio or PipeWire (pipewire-pulse) through `parec`; "alsa:hw:0" through ALSA.
- "synthetic" as the device of any kind: moving colour bars with the capture time drawn in
  (video), or a 440 Hz tone (audio), through the same encoders and pipeline.

Video is H.264 (libx264, zero-latency tuning, no B-frames, parameter sets before every
keyframe); audio is Opus in 20 ms frames at 48 kHz. `video_settings` and `audio_bitrate` are the
quality table.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import numpy as np

from kizuna_client.media import stamp_time
from kizuna_server.streams.model import Capture, CaptureUnavailable, Frame, Kind

SYNTHETIC: Final = "synthetic"
SAMPLE_RATE: Final = 48_000
#: Samples in one 20 ms Opus frame at 48 kHz.
AUDIO_FRAME: Final = 960
#: Default picture size of sources that cannot report theirs (camera, synthetic).
DEFAULT_SIZE: Final = (1280, 720)
_MICROSECOND: Final = Fraction(1, 1_000_000)


# --- the quality table ------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoSettings:
    crf: int
    preset: str
    #: Peak bitrate (bits/s) the encoder's buffer allows, for the size and rate given.
    max_bitrate: int
    keyframe_interval_secs: float


def video_settings(quality: int, width: int, height: int, fps: int) -> VideoSettings:
    """quality 0-100 → libx264 settings. CRF falls linearly from 40 (q 0) to 18 (q 100); the
    peak rate is 0.02 to 0.2 bits per pixel per frame; a keyframe every 2 s bounds the wait of
    a viewer that joins or lost frames."""
    q = min(100, max(0, quality))
    crf = round(40 - 0.22 * q)
    bits_per_pixel = 0.02 + 0.0018 * q
    return VideoSettings(
        crf=crf,
        preset="ultrafast" if width * height * fps > 1280 * 720 * 30 else "superfast",
        max_bitrate=int(bits_per_pixel * width * height * fps),
        keyframe_interval_secs=2.0,
    )


def audio_bitrate(quality: int) -> int:
    """quality 0-100 → Opus bitrate: 12 kb/s (q 0, speech) to 128 kb/s (q 100, music)."""
    q = min(100, max(0, quality))
    return 12_000 + 1160 * q


# --- encoders ---------------------------------------------------------------------------------


class VideoEncoder:
    def __init__(self, width: int, height: int, fps: int, quality: int) -> None:
        self.width, self.height = width - width % 2, height - height % 2
        settings = video_settings(quality, self.width, self.height, fps)
        codec: Any = av.CodecContext.create("libx264", "w")
        codec.width, codec.height = self.width, self.height
        codec.pix_fmt = "yuv420p"
        codec.time_base = _MICROSECOND
        codec.framerate = Fraction(fps, 1)
        codec.gop_size = max(1, round(settings.keyframe_interval_secs * fps))
        codec.options = {
            "preset": settings.preset,
            "tune": "zerolatency",
            "crf": str(settings.crf),
            "maxrate": str(settings.max_bitrate),
            "bufsize": str(settings.max_bitrate // 2),
            "bf": "0",
            "threads": "2",
        }
        self._codec = codec
        self.settings = settings

    def encode(self, frame: Any, pts_us: int, keyframe: bool) -> list[tuple[bytes, bool, int]]:
        if (
            frame.width != self.width
            or frame.height != self.height
            or frame.format.name != "yuv420p"
        ):
            frame = frame.reformat(self.width, self.height, "yuv420p")
        frame.pts = pts_us
        frame.time_base = _MICROSECOND
        frame.pict_type = (
            av.video.frame.PictureType.I if keyframe else av.video.frame.PictureType.NONE
        )
        return [(bytes(p), bool(p.is_keyframe), int(p.pts or 0)) for p in self._codec.encode(frame)]


class AudioEncoder:
    def __init__(self, channels: int, quality: int) -> None:
        codec: Any = av.CodecContext.create("libopus", "w")
        codec.sample_rate = SAMPLE_RATE
        codec.layout = "stereo" if channels == 2 else "mono"
        codec.format = "s16"
        codec.bit_rate = audio_bitrate(quality)
        codec.time_base = Fraction(1, SAMPLE_RATE)
        codec.options = {"application": "lowdelay", "frame_duration": "20"}
        self._codec = codec
        self.channels = channels

    def encode(self, frame: Any, pts_us: int, keyframe: bool) -> list[tuple[bytes, bool, int]]:
        frame.pts = pts_us * SAMPLE_RATE // 1_000_000
        frame.time_base = Fraction(1, SAMPLE_RATE)
        return [
            (bytes(p), True, int((p.pts or 0) * 1_000_000 // SAMPLE_RATE))
            for p in self._codec.encode(frame)
        ]


# --- sources ----------------------------------------------------------------------------------

#: A blocking call returning the next captured frame and its capture time (µs since the epoch),
#: or None when the source has ended. Paced by the source itself.
Grab = Callable[[], tuple[Any, int] | None]


class Pipeline:
    """A source and its encoder, run on a thread of their own: capture and encoding block, and
    must never hold up the daemon's event loop."""

    def __init__(
        self,
        *,
        device: str,
        format: str,
        metadata: dict[str, str],
        grab: Grab,
        encoder: VideoEncoder | AudioEncoder,
        close: Callable[[], None] = lambda: None,
        stop: threading.Event | None = None,
    ) -> None:
        self.device = device
        self.format = format
        self.metadata = metadata
        self._grab = grab
        self._encoder = encoder
        self._close = close
        self._keyframe = threading.Event()
        self._stop = stop or threading.Event()

    def request_keyframe(self) -> None:
        self._keyframe.set()

    async def run(
        self, send: Callable[[Frame], Awaitable[bool]], sequence: Callable[[], int]
    ) -> None:
        loop = asyncio.get_running_loop()

        async def emit(data: bytes, keyframe: bool, pts_us: int, capture_us: int) -> bool:
            return await send(Frame(sequence(), pts_us, keyframe, data, capture_us))

        def work() -> None:
            start_us: int | None = None
            while not self._stop.is_set():
                grabbed = self._grab()
                if grabbed is None:
                    return
                picture, capture_us = grabbed
                if start_us is None:
                    start_us = capture_us
                keyframe = self._keyframe.is_set()
                self._keyframe.clear()
                for data, key, pts in self._encoder.encode(
                    picture, capture_us - start_us, keyframe
                ):
                    future = asyncio.run_coroutine_threadsafe(
                        emit(data, key, pts, capture_us), loop
                    )
                    if not future.result(timeout=60):
                        return

        worker = loop.run_in_executor(None, work)
        try:
            await asyncio.shield(worker)
        finally:
            self._stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(worker), 10)
            self._close()


def _unavailable(kind: Kind, device: str, message: str, install: str = "") -> CaptureUnavailable:
    metadata = {"source": kind.value, "device": device}
    if install:
        metadata["install"] = install
    return CaptureUnavailable(message, **metadata)


def _now_us() -> int:
    return time.time_ns() // 1000


class _Pacer:
    """Sleeps until each next frame time (a source with no clock of its own)."""

    def __init__(self, interval: float, stop: threading.Event) -> None:
        self._interval = interval
        self._next = time.monotonic()
        self._stop = stop

    def wait(self) -> bool:
        self._next += self._interval
        delay = self._next - time.monotonic()
        if delay < -self._interval:  # fell behind: start afresh rather than burst
            self._next = time.monotonic()
        elif delay > 0 and self._stop.wait(delay):
            return False
        return not self._stop.is_set()


def synthetic_video(capture: Capture, quality: int) -> Pipeline:
    width, height = _fit(DEFAULT_SIZE, capture)
    fps = capture.fps
    stop = threading.Event()
    pacer = _Pacer(1 / fps, stop)
    bars = np.array(
        [
            [255, 255, 255],
            [255, 255, 0],
            [0, 255, 255],
            [0, 255, 0],
            [255, 0, 255],
            [255, 0, 0],
            [0, 0, 255],
            [16, 16, 16],
        ],
        dtype=np.uint8,
    )
    columns = np.repeat(bars, -(-width // len(bars)), axis=0)[:width]
    base = np.broadcast_to(columns, (height, width, 3))
    count = 0

    def grab() -> tuple[Any, int] | None:
        nonlocal count
        if not pacer.wait():
            return None
        now = time.time()
        picture = np.roll(base, count * 4, axis=1).copy()
        stamp_time(picture, now)
        count += 1
        return av.VideoFrame.from_ndarray(picture, format="rgb24"), int(now * 1_000_000)

    return Pipeline(
        device=SYNTHETIC,
        format="h264",
        metadata=_video_metadata(width, height, fps),
        grab=grab,
        encoder=VideoEncoder(width, height, fps, quality),
        stop=stop,  # the pacer's wait ends with the pipeline
    )


def synthetic_audio(capture: Capture, quality: int, frequency: float = 440.0) -> Pipeline:
    stop = threading.Event()
    pacer = _Pacer(AUDIO_FRAME / SAMPLE_RATE, stop)
    position = 0

    def grab() -> tuple[Any, int] | None:
        nonlocal position
        if not pacer.wait():
            return None
        t = (np.arange(AUDIO_FRAME) + position) / SAMPLE_RATE
        position += AUDIO_FRAME
        samples = (np.sin(2 * math.pi * frequency * t) * 0.5 * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        return frame, _now_us()

    return Pipeline(
        device=SYNTHETIC,
        format="opus",
        metadata={"sample_rate": str(SAMPLE_RATE), "channels": "1", "frame_ms": "20"},
        grab=grab,
        encoder=AudioEncoder(1, quality),
        stop=stop,
    )


def screen(capture: Capture, quality: int) -> Pipeline:
    display = capture.device or os.environ.get("DISPLAY", "") or ":0"
    options = {"framerate": str(capture.fps), "draw_mouse": "1"}
    try:
        container: Any = av.open(display, format="x11grab", options=options)
    except (av.FFmpegError, OSError) as exc:
        raise _unavailable(
            Kind.SCREEN,
            display,
            f"cannot capture X display {display}: {exc}. Screen capture needs an X server "
            "(XWayland counts); set DISPLAY or give the display as the device",
        ) from None
    source = container.streams.video[0]
    width, height = _fit((source.codec_context.width, source.codec_context.height), capture)
    frames = container.decode(source)

    def grab() -> tuple[Any, int] | None:
        try:
            frame = next(frames)
        except (StopIteration, av.FFmpegError):
            return None
        return frame, _now_us()

    return Pipeline(
        device=display,
        format="h264",
        metadata=_video_metadata(width, height, capture.fps),
        grab=grab,
        encoder=VideoEncoder(width, height, capture.fps, quality),
        close=container.close,
    )


def camera(capture: Capture, quality: int) -> Pipeline:
    device = capture.device or "/dev/video0"
    if not Path(device).exists():
        raise _unavailable(
            Kind.CAMERA, device, f"no camera at {device}: no V4L2 device with that name exists"
        )
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise _unavailable(
            Kind.CAMERA,
            device,
            "camera capture reads V4L2 through ffmpeg, which is not installed: "
            "apt-get install ffmpeg",
            install="ffmpeg",
        )
    width, height = _fit(DEFAULT_SIZE, capture) if capture.max_width else (640, 480)
    process = subprocess.Popen(  # noqa: S603 - a fixed argv, no shell
        [
            ffmpeg,
            "-loglevel",
            "error",
            "-f",
            "v4l2",
            "-framerate",
            str(capture.fps),
            "-video_size",
            f"{width}x{height}",
            "-i",
            device,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "pipe:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    stdout = process.stdout
    size = width * height * 3 // 2

    def grab() -> tuple[Any, int] | None:
        data = stdout.read(size)
        if len(data) < size:
            return None
        frame = av.VideoFrame(width, height, "yuv420p")
        luma = width * height
        for plane, chunk in zip(
            frame.planes,
            (data[:luma], data[luma : luma + luma // 4], data[luma + luma // 4 :]),
            strict=True,
        ):
            plane.update(chunk)
        return frame, _now_us()

    return Pipeline(
        device=device,
        format="h264",
        metadata=_video_metadata(width, height, capture.fps),
        grab=grab,
        encoder=VideoEncoder(width, height, capture.fps, quality),
        close=lambda: _end(process),
    )


def microphone(capture: Capture, quality: int) -> Pipeline:
    if capture.device.startswith("alsa:"):
        return _alsa(capture, quality)
    parec = shutil.which("parec")
    pactl = shutil.which("pactl")
    device = capture.device or "default"
    if parec is None or pactl is None:
        raise _unavailable(
            Kind.AUDIO,
            device,
            "audio capture from PulseAudio or PipeWire needs parec and pactl: "
            "apt-get install pulseaudio-utils (or give an ALSA device as alsa:hw:0)",
            install="pulseaudio-utils",
        )
    probe = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [pactl, "info"], capture_output=True, timeout=5, check=False, text=True
    )
    if probe.returncode != 0:
        raise _unavailable(
            Kind.AUDIO,
            device,
            "no PulseAudio or PipeWire server answers for this user "
            f"({probe.stderr.strip()[:200] or 'pactl info failed'})",
        )
    argv = [
        parec,
        "--raw",
        "--format=s16le",
        f"--rate={SAMPLE_RATE}",
        "--channels=1",
        "--latency-msec=10",
    ]
    if capture.device:
        argv.append(f"--device={capture.device}")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # noqa: S603
    assert process.stdout is not None
    stdout = process.stdout
    size = AUDIO_FRAME * 2

    def grab() -> tuple[Any, int] | None:
        data = stdout.read(size)
        if len(data) < size:
            return None
        samples = np.frombuffer(data, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        return frame, _now_us() - 20_000  # the chunk's first sample was heard 20 ms ago

    return Pipeline(
        device=device,
        format="opus",
        metadata={"sample_rate": str(SAMPLE_RATE), "channels": "1", "frame_ms": "20"},
        grab=grab,
        encoder=AudioEncoder(1, quality),
        close=lambda: _end(process),
    )


def _alsa(capture: Capture, quality: int) -> Pipeline:
    name = capture.device.removeprefix("alsa:") or "default"
    try:
        container: Any = av.open(
            name, format="alsa", options={"sample_rate": str(SAMPLE_RATE), "channels": "1"}
        )
    except (av.FFmpegError, OSError) as exc:
        raise _unavailable(
            Kind.AUDIO, capture.device, f"cannot open ALSA device {name}: {exc}"
        ) from None
    resampler = av.AudioResampler(
        format="s16", layout="mono", rate=SAMPLE_RATE, frame_size=AUDIO_FRAME
    )
    frames = container.decode(audio=0)
    pending: list[Any] = []

    def grab() -> tuple[Any, int] | None:
        while not pending:
            try:
                pending.extend(resampler.resample(next(frames)))
            except (StopIteration, av.FFmpegError):
                return None
        return pending.pop(0), _now_us()

    return Pipeline(
        device=capture.device,
        format="opus",
        metadata={"sample_rate": str(SAMPLE_RATE), "channels": "1", "frame_ms": "20"},
        grab=grab,
        encoder=AudioEncoder(1, quality),
        close=container.close,
    )


def open_source(kind: Kind, capture: Capture, quality: int) -> Pipeline:
    """Opens the built-in source for `kind` (blocking: call it on a thread)."""
    if capture.device == SYNTHETIC:
        return (
            synthetic_audio(capture, quality)
            if kind is Kind.AUDIO
            else synthetic_video(capture, quality)
        )
    if kind is Kind.SCREEN:
        return screen(capture, quality)
    if kind is Kind.CAMERA:
        return camera(capture, quality)
    return microphone(capture, quality)


def _end(process: subprocess.Popen[bytes]) -> None:
    """Stops a capture subprocess (ffmpeg, parec) and closes its pipe."""
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)
    if process.stdout is not None:
        process.stdout.close()


def _fit(size: tuple[int, int], capture: Capture) -> tuple[int, int]:
    """`size` scaled down to fit the capture's max_width by max_height, keeping its aspect;
    even dimensions (4:2:0 needs them)."""
    width, height = size
    scale = 1.0
    if capture.max_width and width > capture.max_width:
        scale = min(scale, capture.max_width / width)
    if capture.max_height and height > capture.max_height:
        scale = min(scale, capture.max_height / height)
    width, height = max(2, int(width * scale)), max(2, int(height * scale))
    return width - width % 2, height - height % 2


def _video_metadata(width: int, height: int, fps: int) -> dict[str, str]:
    return {"width": str(width), "height": str(height), "fps": str(fps)}
