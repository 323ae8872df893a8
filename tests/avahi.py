"""Debian's avahi (avahi-daemon, avahi-utils) inside one host of a namespace LAN.

`avahi_in(host)` starts a private dbus-daemon and an avahi-daemon in the host's network namespace
and returns an `Avahi` whose `browse` and `publish` run avahi-browse and avahi-publish against
that daemon. The API is synchronous (subprocesses and reader threads): async tests call it
through `asyncio.to_thread`, entering and closing the context managers with a
`contextlib.ExitStack` (`await asyncio.to_thread(stack.enter_context, avahi_in(host))`, and
`await asyncio.to_thread(stack.close)` in a `finally`). Readiness is always a line the program
prints, waited for with a timeout. The daemon runs in a mount namespace of its own with a tmpfs
on /run, so its pid file and socket never touch the machine's /run and several daemons can run
at once.
"""

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from tests import netns

AVAHI_DAEMON = "/usr/sbin/avahi-daemon"
PROGRAMS = (AVAHI_DAEMON, "/usr/bin/avahi-browse", "/usr/bin/avahi-publish", "/usr/bin/dbus-daemon")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

#: The avahi-daemon log line that says the host name is established and clients may connect.
STARTUP_COMPLETE = "Server startup complete. Host name is "

DBUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONFIG = """[server]
host-name={host_name}
use-ipv4=yes
use-ipv6=yes
allow-interfaces={interface}
enable-dbus=yes

[wide-area]
enable-wide-area=no

[publish]
publish-addresses=yes
publish-hinfo=no
publish-workstation=no

[reflector]
enable-reflector=no
"""

#: Work directories are named after the creating process, so that daemons and files left by a
#: killed run can be told apart from a live run's and removed.
WORKDIR = re.compile(r"/tmp/kz-avahi-(\d+)-[^/\x00]+")

#: Run by `sh -c` inside the host: a private /run for the daemon, then the daemon itself.
PRIVATE_RUN = 'mount -t tmpfs -o mode=0755 kz-avahi /run && mkdir /run/avahi-daemon && exec "$@"'


def available() -> str | None:
    """Why avahi cannot be run here, or None when it can."""
    reason = netns.available()
    if reason is not None:
        return reason
    missing = [program for program in PROGRAMS if not os.access(program, os.X_OK)]
    if missing:
        return f"missing {', '.join(missing)}: run scripts/dev-env --tools as root"
    return None


def require() -> None:
    """Skips the calling test when avahi cannot run (fails in CI, which must run it)."""
    reason = available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the avahi tests: {reason}")
        pytest.skip(reason)


def remove_leftovers() -> None:
    """Kills daemons and removes work directories of test runs whose process no longer exists."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        match = WORKDIR.search(cmdline)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
    for path in Path("/tmp").glob("kz-avahi-*"):
        match = WORKDIR.fullmatch(str(path))
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            shutil.rmtree(path, ignore_errors=True)


class Lines:
    """The lines of one output stream, read by a thread so callers can wait with a timeout."""

    def __init__(self, stream: IO[str], label: str) -> None:
        self.label = label
        self.lines: list[str] = []
        self.closed = False
        self._cursor = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(
            target=self._read, args=(stream,), name=f"lines-{label}", daemon=True
        )
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                with self._changed:
                    self.lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def next(self, timeout: float) -> str | None:
        """The next unread line, or None at the end of the stream; TimeoutError after timeout."""
        with self._changed:
            if not self._changed.wait_for(
                lambda: self.closed or self._cursor < len(self.lines), timeout=max(timeout, 0)
            ):
                raise TimeoutError(f"{self.label}: no line within {timeout:.1f} s:\n{self.text()}")
            if self._cursor < len(self.lines):
                self._cursor += 1
                return self.lines[self._cursor - 1]
            return None

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str:
        """The next line matching predicate; raises if the stream ends or time runs out first."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(deadline - time.monotonic())
            if line is None:
                raise RuntimeError(f"{self.label} ended before the expected line:\n{self.text()}")
            if predicate(line):
                return line

    def text(self) -> str:
        """Everything read so far."""
        return "\n".join(self.lines)

    def join(self, timeout: float = STOP_TIMEOUT) -> None:
        """Waits for the reader thread (the stream closes when its process ends)."""
        self._thread.join(timeout)


def stop(process: "subprocess.Popen[str]") -> None:
    """Terminates a process (killing it if it lingers) and reaps it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running(
    argv: Sequence[str],
    *,
    label: str,
    env: Mapping[str, str] | None = None,
    merge_stderr: bool = False,
) -> Iterator[tuple["subprocess.Popen[str]", Lines, Lines | None]]:
    """A process with its stdout (and stderr unless merged) read by threads; reaped on exit."""
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=None if env is None else dict(env),
    )
    out: Lines | None = None
    err: Lines | None = None
    try:
        assert process.stdout is not None
        out = Lines(process.stdout, f"{label} stdout")
        if process.stderr is not None:
            err = Lines(process.stderr, f"{label} stderr")
        yield process, out, err
    finally:
        stop(process)
        # Reader threads end at EOF; a grandchild still holding a pipe would keep them alive,
        # but they are daemon threads, so the join is bounded and never hangs the test run.
        for lines in (out, err):
            if lines is not None:
                lines.join()


_ESCAPE = re.compile(rb"\\([0-9]{3}|.)", re.DOTALL)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)


def unescape(text: str) -> str:
    """Undoes avahi's escaping: `\\DDD` is one byte in decimal, `\\X` is X."""

    def byte(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        return bytes([int(escaped) & 0xFF]) if escaped.isdigit() else escaped

    return _ESCAPE.sub(byte, text.encode()).decode("utf-8", errors="replace")


def parse_txt(text: str) -> dict[str, str]:
    """avahi-browse's TXT field (`"k=v" "flag"`, escaped inside the quotes) as a dict."""
    txt: dict[str, str] = {}
    for quoted in _QUOTED.findall(text):
        item = unescape(quoted)
        if item:
            key, _, value = item.partition("=")
            txt.setdefault(key, value)
    return txt


@dataclass(frozen=True)
class Record:
    """One service as avahi-browse resolved it (a parsable `=` line).

    `protocol` ("IPv4" or "IPv6") is how avahi saw the service; `address` is the host's address
    avahi resolved, which can be of the other family. `name` is unescaped; `hostname` is as
    avahi prints it ("host.local", no final dot). TXT entries without "=" map to "".
    """

    interface: str
    protocol: str
    name: str
    type: str
    domain: str
    hostname: str
    address: str
    port: int
    txt: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What avahi-browse identifies a service by: interface, protocol, name, type, domain."""
        return (self.interface, self.protocol, self.name, self.type, self.domain)


def parse_line(line: str) -> Record | None:
    """The record on a resolved (`=`) line of `avahi-browse -p -r`, or None for other lines."""
    parts = line.split(";", 9)
    if len(parts) != 10 or parts[0] != "=":
        return None
    _, interface, protocol, name, type_, domain, hostname, address, port, txt = parts
    return Record(
        interface=interface,
        protocol=protocol,
        name=unescape(name),
        type=type_,
        domain=domain,
        hostname=hostname,
        address=address,
        port=int(port),
        txt=parse_txt(txt),
    )


def _removed_key(line: str) -> tuple[str, str, str, str, str] | None:
    parts = line.split(";")
    if len(parts) != 6 or parts[0] != "-":
        return None
    return (parts[1], parts[2], unescape(parts[3]), parts[4], parts[5])


@dataclass(frozen=True)
class Published:
    """A service avahi-publish has established; `name` is avahi's (renamed on a conflict)."""

    name: str
    service_type: str
    port: int


@dataclass
class Avahi:
    """A running avahi-daemon in `host`, reachable over its private bus at `env`.

    `host_name` is the name the daemon established, e.g. "kz-avahi-123-abcdef.local"; `log` is
    its output (stdout and stderr), for diagnostics.
    """

    host: netns.Host
    host_name: str
    env: dict[str, str]
    log: Lines

    def _argv(self, program: str, *args: str) -> list[str]:
        return self.host.command(program, *args)

    def browse(
        self,
        service_type: str,
        *,
        timeout: float = 10.0,
        until: Callable[[list[Record]], bool] | None = None,
    ) -> list[Record]:
        """Resolved services of a type (e.g. `_http._tcp`), one record per interface and protocol.

        Without `until`: one `avahi-browse -t` pass, which ends once what avahi already knows
        is listed and resolved (a service that has not answered yet is missed). With it: browses
        until `until(records)` holds for the services currently seen (checked after every
        addition and removal) and returns them. TimeoutError after `timeout` either way.
        """
        args = ["-r", "-p", "-k"] + (["-t"] if until is None else []) + [service_type]
        records: dict[tuple[str, str, str, str, str], Record] = {}
        deadline = time.monotonic() + timeout
        argv = self._argv("avahi-browse", *args)
        with running(argv, label="avahi-browse", env=self.env) as (process, out, err):
            while True:
                try:
                    line = out.next(deadline - time.monotonic())
                except TimeoutError:
                    seen = list(records.values())
                    raise TimeoutError(
                        f"avahi-browse {service_type}: no match within {timeout} s; seen {seen}"
                    ) from None
                if line is None:
                    process.wait(STOP_TIMEOUT)
                    assert err is not None
                    err.join()
                    if process.returncode != 0 or until is not None:
                        raise RuntimeError(
                            f"avahi-browse exited with {process.returncode}:\n{err.text()}"
                        )
                    return list(records.values())
                record = parse_line(line)
                removed = _removed_key(line)
                if record is not None:
                    records[record.key] = record
                elif removed is not None:
                    records.pop(removed, None)
                else:
                    continue
                if until is not None and until(list(records.values())):
                    return list(records.values())

    @contextlib.contextmanager
    def publish(
        self,
        name: str,
        service_type: str,
        port: int,
        txt: Mapping[str, str] | None = None,
        *,
        timeout: float = START_TIMEOUT,
    ) -> Iterator[Published]:
        """Publishes a service with `avahi-publish -s` while the block runs.

        Yields once avahi reports it established (after probing); withdrawn on exit.
        """
        items = [f"{key}={value}" for key, value in (txt or {}).items()]
        argv = self._argv("avahi-publish", "-s", name, service_type, str(port), *items)
        prefix = "Established under name '"
        with running(argv, label="avahi-publish", env=self.env, merge_stderr=True) as (_, out, _):
            line = out.wait_for(lambda line: line.startswith(prefix), timeout)
            yield Published(line.removeprefix(prefix).removesuffix("'"), service_type, port)


@contextlib.contextmanager
def avahi_in(host: netns.Host, *, timeout: float = START_TIMEOUT) -> Iterator[Avahi]:
    """Runs dbus-daemon and avahi-daemon in `host` until the block ends, then removes both."""
    remove_leftovers()
    workdir = Path(tempfile.mkdtemp(prefix=f"kz-avahi-{os.getpid()}-", dir="/tmp"))
    try:
        socket = workdir / "bus"
        host_name = f"kz-avahi-{os.getpid()}-{secrets.token_hex(3)}"
        (workdir / "dbus.conf").write_text(DBUS_CONFIG.format(socket=socket))
        (workdir / "avahi-daemon.conf").write_text(
            AVAHI_CONFIG.format(host_name=host_name, interface=host.interface)
        )
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={socket}"}
        dbus = host.command(
            "dbus-daemon",
            f"--config-file={workdir / 'dbus.conf'}",
            "--nofork",
            "--nopidfile",
            "--print-address=1",
        )
        with running(dbus, label="dbus-daemon", env=env) as (_, bus_out, _):
            bus_out.wait_for(lambda line: line.startswith("unix:"), timeout)
            daemon = host.command(
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                PRIVATE_RUN,
                "sh",
                AVAHI_DAEMON,
                "--no-chroot",
                "--no-drop-root",
                "--no-rlimits",
                "--no-proc-title",
                f"--file={workdir / 'avahi-daemon.conf'}",
            )
            with running(daemon, label="avahi-daemon", env=env, merge_stderr=True) as (_, log, _):
                line = log.wait_for(lambda line: line.startswith(STARTUP_COMPLETE), timeout)
                established = line.removeprefix(STARTUP_COMPLETE).split(" ")[0].rstrip(".")
                yield Avahi(host=host, host_name=established, env=env, log=log)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
