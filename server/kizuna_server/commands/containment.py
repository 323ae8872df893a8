"""Holding a run's whole process tree, so that cancel and timeout stop all of it.

Two ways, the first that works here is used (`kizuna status` and docs/commands.md say which):

- **cgroup v2.** Each run gets a cgroup of its own below the daemon's
  (`<daemon's cgroup>/kizuna-run-<id>`). The forked child moves itself in before it executes
  the program (one write to `cgroup.procs`), so everything the program starts stays in,
  double-forked or `setsid` or not. Stopping signals every member; killing writes
  `cgroup.kill`, which the kernel applies to every member at once (no race with forks).
- **Subreaper.** Where no cgroup v2 hierarchy is writable, the daemon becomes a child subreaper
  (PR_SET_CHILD_SUBREAPER): orphaned descendants are re-parented to it instead of init. Each
  run's processes carry `KIZUNA_RUN_ID` in their environment and start in a session of their
  own; stopping signals every process with that mark or in that session and reaps the orphans.
  A descendant that clears its environment and leaves the session escapes this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

_PR_SET_CHILD_SUBREAPER: Final = 36
#: How often membership is looked at while waiting for a group to empty.
_POLL_SECS: Final = 0.01


class Group(ABC):
    """One run's processes."""

    #: Run in the forked child before the program starts (None: nothing to do).
    preexec: Callable[[], None] | None = None
    #: Whether the program starts in a session of its own.
    new_session: bool = True

    @abstractmethod
    def started(self, pid: int) -> None:
        """The program started as `pid`."""

    @abstractmethod
    def members(self) -> set[int]:
        """PIDs of the run's processes now."""

    def signal(self, sig: int) -> None:
        for pid in self.members():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    @abstractmethod
    def kill(self) -> None:
        """SIGKILL to every member."""

    async def emptied(self, within: float) -> bool:
        """Waits until no member is left (True), at most `within` seconds (False)."""
        deadline = time.monotonic() + within
        while self.members():
            self.reap()
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(_POLL_SECS)  # the kernel offers no wakeup for this here
        return True

    @abstractmethod
    def reap(self) -> None:
        """Collects members that ended and were re-parented to the daemon."""

    @abstractmethod
    def close(self) -> None:
        """Releases what the group holds (call once it is empty)."""


class Containment(ABC):
    name: str

    @abstractmethod
    def group(self, run_id: str) -> Group: ...


# --- cgroup v2 ----------------------------------------------------------------------------------


class CgroupContainment(Containment):
    name = "cgroup"

    def __init__(self, base: Path) -> None:
        self.base = base

    @classmethod
    def here(cls) -> CgroupContainment | None:
        """The daemon's own cgroup v2, if it can make cgroups below it and kill them."""
        base = _own_cgroup()
        if base is None or not (base / "cgroup.procs").exists():
            return None
        probe = base / f"kizuna-probe-{os.getpid()}"
        try:
            probe.mkdir()
        except OSError:
            return None
        try:
            killable = (probe / "cgroup.kill").exists()
        finally:
            with contextlib.suppress(OSError):
                probe.rmdir()
        return cls(base) if killable else None

    def group(self, run_id: str) -> Group:
        return _Cgroup(self.base / f"kizuna-run-{run_id}")


class _Cgroup(Group):
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()
        self._procs = os.open(path / "cgroup.procs", os.O_WRONLY | os.O_CLOEXEC)
        procs = self._procs

        def join() -> None:  # in the forked child: no allocation, no locks
            os.write(procs, b"0")

        self.preexec = join

    def started(self, pid: int) -> None:
        """Nothing to note: the child joined the cgroup itself."""

    def reap(self) -> None:
        """Nothing to collect: orphans go to init (or the nearest subreaper), not here."""

    def members(self) -> set[int]:
        try:
            return {int(line) for line in (self.path / "cgroup.procs").read_text().split()}
        except FileNotFoundError:
            return set()

    def kill(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.path / "cgroup.kill").write_text("1")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._procs)
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cgroup %s not removed: %s", self.path, exc)


def _own_cgroup() -> Path | None:
    """<cgroup2 mount>/<this process's cgroup path>, or None without a cgroup v2 hierarchy."""
    try:
        own = next(
            line[3:].strip()
            for line in Path("/proc/self/cgroup").read_text().splitlines()
            if line.startswith("0::")
        )
        mount = next(
            fields[4]
            for fields in (
                line.split() for line in Path("/proc/self/mountinfo").read_text().splitlines()
            )
            if fields[fields.index("-") + 1] == "cgroup2"
        )
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    return Path(mount) / own.lstrip("/")


# --- subreaper ----------------------------------------------------------------------------------


class SubreaperContainment(Containment):
    name = "subreaper"

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")

    def group(self, run_id: str) -> Group:
        return _Marked(run_id)


class _Marked(Group):
    def __init__(self, run_id: str) -> None:
        self._mark = f"KIZUNA_RUN_ID={run_id}".encode() + b"\0"
        self._seen: set[int] = set()
        self._session = 0  # the program's PID, once started: it leads its own session

    def started(self, pid: int) -> None:
        self._session = pid

    def members(self) -> set[int]:
        found = set()
        me = os.getpid()
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            pid = int(entry.name)
            try:
                marked = self._mark in Path(f"/proc/{pid}/environ").read_bytes()
                in_session = self._session and _session_of(pid) == self._session
            except OSError:
                continue
            if marked or in_session:
                found.add(pid)
        self._seen |= found
        return found

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def close(self) -> None:
        """Nothing held but the PIDs seen, which `reap` collected."""

    def reap(self) -> None:
        for pid in list(self._seen):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours to reap (or the asyncio watcher's child)
                self._seen.discard(pid)
                continue
            if done:
                self._seen.discard(pid)


def _session_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat[stat.rindex(")") + 2 :].split()[3])  # state ppid pgrp session


def best() -> Containment:
    """cgroup v2 where the daemon may make cgroups, else the subreaper."""
    return CgroupContainment.here() or SubreaperContainment()
