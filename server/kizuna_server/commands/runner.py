"""One run of an allowed command: argv without a shell, output passed on as it comes.

The program gets a small fixed environment (PATH, HOME, USER, LANG and the like from the
daemon's, the command's own `env`, and KIZUNA_RUN_ID / KIZUNA_PEER_ID / KIZUNA_PEER_NAME), its
working folder, standard input from the caller, and its process tree held by a `Group`
(containment.py). Output is read as it comes and handed to `on_output`, which may take its
time (the program then waits on a full pipe: memory stays bounded); beyond the command's output
cap it is counted and dropped. The run ends when the program exits, at its time limit or when
cancelled; whatever it left running is stopped then (SIGTERM, then SIGKILL after a grace).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from kizuna_server.commands.containment import Group
from kizuna_server.errors import KizunaError

#: Between SIGTERM and SIGKILL when a run is stopped.
STOP_GRACE_SECS: Final = 2.0
#: Largest read from the program's output at a time.
READ_BYTES: Final = 1 << 20
#: Environment variables passed on from the daemon's own.
INHERITED: Final = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "DISPLAY",
                    "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS")  # fmt: skip
_DEFAULT_PATH: Final = "/usr/local/bin:/usr/bin:/bin"
_REAP_POLL_SECS: Final = 0.002

log = logging.getLogger(__name__)


class Ending(StrEnum):
    EXITED = "exited"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


class CommandFailed(KizunaError):
    """The program could not start (metadata: `command`)."""

    reason = "COMMAND_FAILED_TO_START"


@dataclass(frozen=True, slots=True)
class Outcome:
    ending: Ending
    #: The program's exit status; negative: the signal that ended it.
    exit_code: int
    seconds: float
    stdout_bytes: int
    stderr_bytes: int
    truncated: bool


OnOutput = Callable[[str, bytes], Awaitable[None]]


def environment(
    own: Mapping[str, str], extra: Mapping[str, str], base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The program's environment: the inherited basics, then `extra` (the run's marks), then
    the command's own `env` from the allow-list."""
    base = os.environ if base is None else base
    env = {name: base[name] for name in INHERITED if name in base}
    env.setdefault("PATH", _DEFAULT_PATH)
    env.update(extra)
    env.update(own)
    return env


class Run:
    """Start it, feed it, wait for it; `cancel` from anywhere on the loop."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        command: str,
        cwd: Path,
        env: Mapping[str, str],
        timeout: float,
        output_cap: int,
        on_output: OnOutput,
        group: Group,
    ) -> None:
        self._argv = list(argv)
        self._command = command
        self._cwd = cwd
        self._env = dict(env)
        self._timeout = timeout
        self._room = output_cap
        self._on_output = on_output
        self._group = group
        self._cancelled = asyncio.Event()
        self._process: asyncio.subprocess.Process | None = None
        self._counts = {"stdout": 0, "stderr": 0}
        self._truncated = False
        self._started = 0.0
        self._pidfd = -1

    @property
    def pid(self) -> int:
        return self._process.pid if self._process is not None else 0

    async def start(self) -> None:
        """Starts the program; CommandFailed when it cannot (no such program, no folder)."""
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self._argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self._cwd,
                env=self._env,
                start_new_session=self._group.new_session,
                preexec_fn=self._group.preexec,  # one write, no locks (containment.py)
                limit=READ_BYTES,
            )
        except (OSError, ValueError) as exc:
            self._group.close()
            raise CommandFailed(
                f"{self._command}: {self._argv[0]} could not start: "
                f"{getattr(exc, 'strerror', None) or exc}",
                command=self._command,
            ) from None
        self._started = time.monotonic()
        self._group.started(self._process.pid)
        _widen_pipes(self._process)
        try:
            self._pidfd = os.pidfd_open(self._process.pid)
        except ProcessLookupError:  # it exited (and was reaped) already
            self._pidfd = -1

    async def write_stdin(self, data: bytes) -> None:
        """Passes `data` to the program (waits while its pipe is full); a program that closed
        its input or ended takes nothing more."""
        stdin = self._stdin()
        if stdin is None:
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.write(data)
            await stdin.drain()

    async def close_stdin(self) -> None:
        stdin = self._stdin()
        if stdin is not None:
            stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await stdin.wait_closed()

    def _stdin(self) -> asyncio.StreamWriter | None:
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return None
        return process.stdin

    def cancel(self) -> None:
        self._cancelled.set()

    async def wait(self) -> Outcome:
        """Runs to the end (exit, time limit or cancel) and returns how it ended. Everything
        the program started is stopped by then."""
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        readers = [
            asyncio.ensure_future(self._pump("stdout", process.stdout)),
            asyncio.ensure_future(self._pump("stderr", process.stderr)),
        ]
        exited = asyncio.ensure_future(self._exit_status(process))
        cancelled = asyncio.ensure_future(self._cancelled.wait())
        ending = Ending.EXITED
        try:
            done, _ = await asyncio.wait(
                {exited, cancelled}, timeout=self._timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if exited not in done:
                ending = Ending.CANCELLED if cancelled in done else Ending.TIMED_OUT
            await self._stop_group(gently=exited not in done)
            code = await exited
            await asyncio.gather(*readers)
        finally:
            cancelled.cancel()
            for task in (*readers, exited):
                task.cancel()
            await asyncio.gather(*readers, exited, cancelled, return_exceptions=True)
            self._group.close()
        return Outcome(
            ending,
            code,
            time.monotonic() - self._started,
            self._counts["stdout"],
            self._counts["stderr"],
            self._truncated,
        )

    async def _exit_status(self, process: asyncio.subprocess.Process) -> int:
        """The program's exit status once it exits. (`Process.wait` also waits until its output
        pipes close, which a process it left running may hold open for hours.)"""
        loop = asyncio.get_running_loop()
        if self._pidfd >= 0:
            gone: asyncio.Future[None] = loop.create_future()

            def readable() -> None:
                if not gone.done():
                    gone.set_result(None)

            loop.add_reader(self._pidfd, readable)
            try:
                await gone
            finally:
                loop.remove_reader(self._pidfd)
                os.close(self._pidfd)
                self._pidfd = -1
        # asyncio's child watcher collects it a moment later and offers nothing to wait on.
        while process.returncode is None:  # noqa: ASYNC110
            await asyncio.sleep(_REAP_POLL_SECS)
        return process.returncode

    async def _stop_group(self, *, gently: bool) -> None:
        """Stops what is left of the run: SIGTERM first when the program is still running
        (cancel, time limit), SIGKILL to what remains after the grace or at once for leftovers
        of a program that exited."""
        if gently:
            self._group.signal(signal.SIGTERM)
            if await self._group.emptied(STOP_GRACE_SECS):
                return
        self._group.kill()
        if not await self._group.emptied(STOP_GRACE_SECS):
            log.warning(
                "%s: processes of the run outlived SIGKILL by %.0f s",
                self._command,
                STOP_GRACE_SECS,
            )

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(READ_BYTES):
            self._counts[name] += len(chunk)
            if self._room <= 0:
                self._truncated = True
                continue
            if len(chunk) > self._room:
                chunk, self._truncated = chunk[: self._room], True
            self._room -= len(chunk)
            await self._on_output(name, chunk)


def _widen_pipes(process: asyncio.subprocess.Process) -> None:
    """Output pipes of READ_BYTES (the kernel's default is 64 KiB): a program writing fast
    fills one read with a megabyte instead of sixteen wakeups and messages of 64 KiB. Where
    fs.pipe-max-size is lower the default stays."""
    transport: Any = getattr(process, "_transport", None)
    for fd in (1, 2):
        pipe = transport.get_pipe_transport(fd) if transport is not None else None
        if pipe is None:
            continue
        with contextlib.suppress(OSError, ValueError):  # ValueError: closed (the program ended)
            fcntl.fcntl(pipe.get_extra_info("pipe").fileno(), fcntl.F_SETPIPE_SZ, READ_BYTES)
