"""Real desktop parts for the stream tests, from Debian: an X server (Xvfb) showing a known
colour, and a PulseAudio server playing a known tone. Each is private to one test and removed
after it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from tests import netns

#: How long a server gets to answer its first request.
READY_SECS = 20.0


def require(*programs: str) -> None:
    import pytest

    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (scripts/dev-env installs them)")


def _free_display() -> str:
    for number in range(60, 200):
        if (
            not Path(f"/tmp/.X{number}-lock").exists()
            and not Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            return f":{number}"
    raise RuntimeError("no free X display number between :60 and :199")


async def _until_ok(argv: list[str], env: dict[str, str], what: str) -> None:
    """Runs `argv` until it succeeds (a server answering), for at most READY_SECS."""
    try:
        async with asyncio.timeout(READY_SECS):
            while True:
                probe = await asyncio.create_subprocess_exec(
                    *argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                if await probe.wait() == 0:
                    return
                await asyncio.sleep(0.05)  # spacing the probes, not waiting for an event
    except TimeoutError:
        raise AssertionError(f"{what} did not answer within {READY_SECS:g}s") from None


@contextlib.asynccontextmanager
async def xvfb(host: netns.Host, size: str = "640x480") -> AsyncIterator[str]:
    """An X server inside `host`'s namespace (its abstract socket is per namespace); yields its
    display name."""
    require("Xvfb", "xdpyinfo", "ffplay")
    display = _free_display()
    process = await asyncio.create_subprocess_exec(
        *host.command("Xvfb", display, "-screen", "0", f"{size}x24", "-nolisten", "tcp"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _until_ok(host.command("xdpyinfo", "-display", display), dict(os.environ), "Xvfb")
        yield display
    finally:
        process.terminate()
        await process.wait()


@contextlib.asynccontextmanager
async def showing(host: netns.Host, display: str, colour: str, size: str) -> AsyncIterator[None]:
    """A window filled with `colour` ("0xff8000") over the whole screen (`size`, "640x480"),
    drawn by ffplay (Debian's ffmpeg), for as long as the context lasts; the newest is on top."""
    process = await asyncio.create_subprocess_exec(
        *host.command(
            "ffplay",
            "-loglevel",
            "error",
            "-an",
            "-noborder",
            "-left",
            "0",
            "-top",
            "0",
            "-f",
            "lavfi",
            "-i",
            f"color=c={colour}:s={size}:r=30",
        ),
        env={**os.environ, "DISPLAY": display, "SDL_AUDIODRIVER": "dummy"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        await process.wait()


@contextlib.asynccontextmanager
async def pulse_with_tone(frequency: int = 440) -> AsyncIterator[str]:
    """A private PulseAudio server with a null sink `kz` playing a sine of `frequency` Hz;
    yields its PULSE_SERVER address. Capture the tone from the source `kz.monitor`."""
    require("pulseaudio", "pactl", "parec")
    runtime = Path(tempfile.mkdtemp(prefix="kz-pulse-", dir="/tmp"))
    socket = runtime / "native"
    env = {
        **os.environ,
        "HOME": str(runtime),
        "XDG_RUNTIME_DIR": str(runtime),
        "PULSE_RUNTIME_PATH": str(runtime),
        "PULSE_SERVER": f"unix:{socket}",
    }
    process = await asyncio.create_subprocess_exec(
        "pulseaudio",
        "--daemonize=no",
        "--exit-idle-time=-1",
        "--disallow-exit",
        "-n",
        f"--load=module-native-protocol-unix auth-anonymous=1 socket={socket}",
        "--load=module-null-sink sink_name=kz rate=48000 channels=1",
        f"--load=module-sine sink=kz frequency={frequency}",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await _until_ok(["pactl", "info"], env, "PulseAudio")
        yield f"unix:{socket}"
    finally:
        process.terminate()
        await process.wait()
        shutil.rmtree(runtime, ignore_errors=True)
