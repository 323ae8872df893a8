"""Real daemons on a namespace LAN for multi-device tests, and the programs tests run beside them.

`PeerLan` builds hosts in network namespaces (tests/netns.py), optionally two subnets joined by
a router, and starts `kizuna daemon` processes on them; everything it made is removed at exit.
Run as `python -m tests.e2e.peerlan COMMAND JSON` inside a namespace, this module is also the
small hostile or fake peers the tests need: an mDNS announcer, a TCP listener that records who
connects, a stranger with a fresh identity, slow and oversized clients of the peer ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

import grpc
import grpc.aio
from cryptography.hazmat.primitives.serialization import Encoding
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from kizuna_client import (
    EventSubscription,
    Kizuna,
    KizunaError,
    KizunaEvent,
    PairingInfo,
    PeerInfo,
)
from kizuna_client.errors import PeerNotFoundError
from kizuna_server.calls.errors import error_info_from_trailers
from kizuna_server.core.pairing import (
    Answer,
    PairingSession,
    Request,
    introduce_proof_message,
    start_proof_message,
)
from kizuna_server.p2p.identity import Identity, load_or_create_identity, sign_proof
from kizuna_server.p2p.tls import (
    PeerCertificate,
    fetch_certificate,
    link_channel_credentials,
    link_channel_options,
    pairing_channel_credentials,
)
from kizuna_server.p2p.wire import (
    device_pb2,
    link_service_pb2,
    link_service_pb2_grpc,
    pairing_service_pb2,
    pairing_service_pb2_grpc,
)
from tests import netns

T = TypeVar("T")

REPO: Final = Path(__file__).resolve().parents[2]
#: How long a daemon may take to print its banner, and to stop after SIGTERM.
START_TIMEOUT: Final = 20.0
STOP_TIMEOUT: Final = 15.0
#: Default limit of a wait on state.
WAIT_TIMEOUT: Final = 20.0
#: grpc.aio.EOF (missing from the grpc type stubs): what read() returns at the end of a stream.
_EOF: Any = getattr(grpc.aio, "EOF")  # noqa: B009
#: Waits wake at every event, log line or program output; they also re-check this often, for
#: state that no event announces.
RECHECK_SECS: Final = 0.1
#: The ports a daemon uses by default (every namespace has its own).
LINK_PORT: Final = 47120
PAIRING_PORT: Final = LINK_PORT + 1
SERVICE_TYPE: Final = "_kizuna._tcp.local."
#: Replays every event the daemon retained: a run ID that is not the daemon's means "I saw an
#: earlier run", so the subscription starts from the oldest retained event (event_service.proto).
_REPLAY_RUN_ID: Final = "peerlan-replay-everything"


class Changes:
    """Wakes everything waiting on the LAN's state when any daemon or program reports something."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def current(self) -> asyncio.Event:
        """The event the next notify() sets; take it before checking state, then wait on it."""
        return self._event


async def _drain(stream: asyncio.StreamReader | None, into: list[str], changes: Changes) -> None:
    """Keeps a child's pipe empty (a full pipe would stall it) and records its lines."""
    if stream is None:
        return
    while line := await stream.readline():
        into.append(line.decode(errors="replace").rstrip("\n"))
        changes.notify()


def _in_namespace(host: netns.Host, *argv: str) -> list[str]:
    """argv run inside `host`, killed if the test process dies (pytest-timeout, ^C) so nothing
    outlives a run: util-linux setpriv sets the parent-death signal, which survives the execs of
    `ip netns exec` and python (neither is set-user-ID)."""
    guard = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
    return [*guard, *host.command(*argv)]


def _child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    # Unknown KIZUNA_* variables are configuration errors, and ours must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIZUNA_")}
    env.update(extra or {})
    return env


class Device:
    """One `kizuna daemon` on a LAN host, with a connected client and everything it reported.

    `events` holds every event of the current run (replayed from the daemon's start, so nothing
    published before the client attached is missed); `log` holds its stderr lines.
    """

    def __init__(self, lan: PeerLan, host: netns.Host, name: str, env: Mapping[str, str]) -> None:
        self.lan = lan
        self.host = host
        self.name = name
        self.env = dict(env)
        self.home = lan.temp_dir()  # short: the API socket lives in it (AF_UNIX path limit)
        self.device_id = ""
        self.fingerprint = ""
        self.events: list[KizunaEvent] = []
        self.log: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._api: Kizuna | None = None
        self._subscription: EventSubscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        return f"Device({self.name} on {self.host.namespace})"

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> Device:
        """Starts the daemon (again, with the same home, after a stop) and attaches to it."""
        assert self.process is None or self.process.returncode is not None, "already running"
        self.events = []
        argv = _in_namespace(
            self.host, sys.executable, "-m", "kizuna_server", "daemon", "--home", str(self.home)
        )
        self.process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_env(self.env),
        )
        stdout, stderr = self.process.stdout, self.process.stderr
        assert stdout is not None
        self._tasks = [asyncio.create_task(_drain(stderr, self.log, self.lan.changes))]
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while not (line := (await stdout.readline()).decode()).startswith("  Stop with"):
                    if not line:
                        await self.process.wait()
                        raise AssertionError(f"{self.name} exited before ready:\n{self.tail()}")
        except TimeoutError:
            raise AssertionError(f"{self.name} printed no banner:\n{self.tail()}") from None
        self._tasks.append(asyncio.create_task(_drain(stdout, [], self.lan.changes)))
        self._api = Kizuna(home=self.home, embedded=False)
        await self._api.connect()
        node = await self._api.node()
        self.device_id, self.fingerprint = node.device_id, node.certificate_fingerprint
        self._subscription = self._api.subscribe_events(run_id=_REPLAY_RUN_ID)
        await self._subscription.started()
        self._tasks.append(asyncio.create_task(self._record(self._subscription)))
        return self

    async def _record(self, subscription: EventSubscription) -> None:
        with contextlib.suppress(KizunaError):  # the daemon went away
            async for item in subscription:
                if isinstance(item, KizunaEvent):
                    self.events.append(item)
                self.lan.changes.notify()

    async def stop(self) -> int:
        """SIGTERM: a graceful stop (goodbye on mDNS, links closed); returns the exit status."""
        process = self._require_process()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                code = await process.wait()
        except TimeoutError:
            raise AssertionError(f"{self.name} did not stop on SIGTERM:\n{self.tail()}") from None
        await self._detach()
        return code

    async def kill(self) -> None:
        """SIGKILL: the daemon vanishes without a goodbye (its sockets are closed by the kernel)."""
        process = self._require_process()
        if process.returncode is None:
            process.kill()
        await process.wait()
        await self._detach()

    async def _detach(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None
        if self._api is not None:
            await self._api.close()
            self._api = None
        for task in self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await task
        self._tasks = []

    async def _cleanup(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await self._detach()

    def _require_process(self) -> asyncio.subprocess.Process:
        assert self.process is not None, f"{self.name} was never started"
        return self.process

    # --- what it knows ------------------------------------------------------------------------

    @property
    def api(self) -> Kizuna:
        """The client attached to this daemon (over its Unix socket)."""
        assert self._api is not None, f"{self.name} is not running"
        return self._api

    def client(self) -> Kizuna:
        """The connected client (the same as `api`)."""
        return self.api

    @property
    def link_address(self) -> str:
        return f"{self.host.ipv4}:{LINK_PORT}"

    def tail(self, lines: int = 40) -> str:
        """The end of the daemon's log, for failure messages."""
        return "\n".join(f"  [{self.name}] {line}" for line in self.log[-lines:])

    async def peer(self, device_id: str) -> PeerInfo | None:
        """The daemon's view of a peer, or None when it does not know it."""
        try:
            return await self.api.peer(device_id)
        except PeerNotFoundError:
            return None

    async def wait_peer(
        self,
        device: Device | str,
        check: Callable[[PeerInfo], bool],
        what: str,
        *,
        limit: float = WAIT_TIMEOUT,
    ) -> PeerInfo:
        """Waits until this daemon's view of a peer satisfies `check`; returns that view."""
        device_id = device if isinstance(device, str) else device.device_id

        async def seen() -> PeerInfo | None:
            peer = await self.peer(device_id)
            return peer if peer is not None and check(peer) else None

        return await self.lan.until(seen, f"{self.name}: {what}", limit=limit)

    def events_of(self, kind: str, *, since: int = 0) -> list[KizunaEvent]:
        """Recorded events of one type, from index `since` of `events` on."""
        return [e for e in self.events[since:] if e.type == kind]

    async def wait_event(
        self,
        kind: str,
        check: Callable[[KizunaEvent], bool] = lambda _: True,
        *,
        since: int = 0,
        limit: float = WAIT_TIMEOUT,
    ) -> KizunaEvent:
        """Waits for a recorded event of type `kind` (from index `since` on) matching `check`."""

        async def found() -> KizunaEvent | None:
            return next((e for e in self.events_of(kind, since=since) if check(e)), None)

        return await self.lan.until(found, f"{self.name}: a {kind} event", limit=limit)

    async def wait_log(self, text: str, *, limit: float = WAIT_TIMEOUT) -> str:
        """Waits for a log line containing `text`."""

        async def found() -> str | None:
            return next((line for line in self.log if text in line), None)

        return await self.lan.until(found, f"{self.name} logs {text!r}", limit=limit)

    async def pairing_with(self, device: Device) -> PairingInfo | None:
        """The open pairing with `device` whose code is shown here, if any."""
        pairings = await self.api.pairings()
        return next((p for p in pairings if p.peer_id == device.device_id and p.code), None)


class Program:
    """A helper program (this module's COMMAND) running inside a namespace."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, changes: Changes) -> None:
        self.name = name
        self.process = process
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._tasks = [
            asyncio.create_task(_drain(process.stdout, self.lines, changes)),
            asyncio.create_task(_drain(process.stderr, self.errors, changes)),
        ]

    async def result(self, *, limit: float = WAIT_TIMEOUT) -> Any:
        """Waits for the program to end; returns the JSON it printed last (raises if it failed)."""
        try:
            async with asyncio.timeout(limit):
                code = await self.process.wait()
                await asyncio.gather(*self._tasks)
        except TimeoutError:
            await self.stop()
            raise AssertionError(f"{self.name} did not finish:\n{self.describe()}") from None
        if code != 0 or not self.lines:
            raise AssertionError(f"{self.name} failed with status {code}:\n{self.describe()}")
        return json.loads(self.lines[-1])

    def describe(self) -> str:
        return "\n".join([*self.lines, *self.errors][-40:])

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        for task in self._tasks:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await task


class PeerLan:
    """Hosts in namespaces (one switch per subnet, optionally joined by a router) and daemons.

    `PeerLan(3)` is three hosts on 10.231.0.0/24; `PeerLan(1, 1, routed=True)` is one host on
    10.231.0.0/24 and one on 10.231.1.0/24, routed through a third namespace that forwards
    unicast only (so mDNS does not cross). Use as `async with`; everything is removed at exit.
    """

    def __init__(self, *hosts_per_subnet: int, routed: bool = False) -> None:
        self._counts = hosts_per_subnet or (2,)
        self._routed = routed
        self._lans: list[netns.Lan] = []
        self._router: str | None = None
        self._homes: list[Path] = []
        self.hosts: list[netns.Host] = []
        self.devices: list[Device] = []
        self.programs: list[Program] = []
        self.changes = Changes()

    async def __aenter__(self) -> PeerLan:
        try:
            await asyncio.to_thread(self._build)
        except BaseException:
            await asyncio.to_thread(self._destroy)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await asyncio.gather(
                *(program.stop() for program in self.programs),
                *(device._cleanup() for device in self.devices),
                return_exceptions=True,
            )
        finally:
            # Processes first: a namespace with a process still in it outlives `ip netns delete`.
            await asyncio.to_thread(self._destroy)

    def _build(self) -> None:
        netns.remove_leftovers()
        for subnet, count in enumerate(self._counts):
            lan = netns.create_lan(count, subnet=subnet)
            self._lans.append(lan)
            self.hosts.extend(lan.hosts)
        if self._routed:
            self._build_router()

    def _build_router(self) -> None:
        """A namespace with a leg on each switch at .254 that forwards IPv4 unicast between them."""
        router = f"{netns.PREFIX}{os.getpid()}-rt"
        netns.ip("netns", "add", router)
        self._router = router
        netns.ip("-n", router, "link", "set", "lo", "up")
        subprocess.run(
            ["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True
        )
        for subnet, lan in enumerate(self._lans):
            leg = f"lan{subnet}"
            netns.ip("-n", lan.switch, "link", "add", "router", "type", "veth", "peer", "name", leg)
            netns.ip("-n", lan.switch, "link", "set", leg, "netns", router)
            netns.ip("-n", lan.switch, "link", "set", "router", "master", "br0", "up")
            netns.ip("-n", router, "addr", "add", f"10.231.{subnet}.254/24", "dev", leg)
            netns.ip("-n", router, "link", "set", leg, "up")
            for host in lan.hosts:
                route = ("route", "add", "10.231.0.0/16", "via", f"10.231.{subnet}.254")
                netns.ip("-n", host.namespace, *route)

    def _destroy(self) -> None:
        if self._router is not None:
            with contextlib.suppress(RuntimeError):
                netns.ip("netns", "delete", self._router)
            self._router = None
        for lan in self._lans:
            lan.destroy()
        for home in self._homes:
            shutil.rmtree(home, ignore_errors=True)

    # --- daemons ------------------------------------------------------------------------------

    async def start(
        self,
        host: int,
        name: str,
        *,
        trust_mode: str = "manual",
        mdns: bool = True,
        static_peers: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> Device:
        """Starts `kizuna daemon` on hosts[host], discovering fast (interval 1 s, records 3 s)."""
        settings = {
            "KIZUNA_IDENTITY_DEVICE_NAME": name,
            "KIZUNA_DISCOVERY_INTERVAL_SECS": "1",
            "KIZUNA_DISCOVERY_TIMEOUT_SECS": "3",
            "KIZUNA_DISCOVERY_ENABLE_MDNS": "true" if mdns else "false",
            "KIZUNA_DISCOVERY_STATIC_PEERS": ",".join(static_peers),
            "KIZUNA_SECURITY_TRUST_MODE": trust_mode,
            **(env or {}),
        }
        device = Device(self, self.hosts[host], name, settings)
        self.devices.append(device)
        return await device.start()

    async def until(
        self, check: Callable[[], Awaitable[T | None]], what: str, *, limit: float = WAIT_TIMEOUT
    ) -> T:
        """Waits on state: re-checks at every report from the LAN (and every RECHECK_SECS)."""
        try:
            async with asyncio.timeout(limit):
                while True:
                    changed = self.changes.current()
                    result = await check()
                    if result is not None:
                        return result
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(RECHECK_SECS):
                            await changed.wait()
        except TimeoutError:
            logs = "\n".join(
                [*(device.tail() for device in self.devices)]
                + [f"  [{p.name}]\n{p.describe()}" for p in self.programs]
            )
            raise AssertionError(f"timed out after {limit:g}s waiting for {what}\n{logs}") from None

    def temp_dir(self) -> Path:
        """A directory removed with the LAN."""
        path = Path(tempfile.mkdtemp(prefix="kz-", dir="/tmp"))
        self._homes.append(path)
        return path

    # --- helper programs ----------------------------------------------------------------------

    async def spawn(self, host: int, command: str, spec: Mapping[str, Any]) -> Program:
        """Runs this module's `command` with `spec` inside hosts[host]; stopped with the LAN."""
        argv = _in_namespace(
            self.hosts[host], sys.executable, "-m", "tests.e2e.peerlan", command, json.dumps(spec)
        )
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_env(),
            cwd=REPO,
        )
        program = Program(f"{command} on {self.hosts[host].namespace}", process, self.changes)
        self.programs.append(program)
        return program

    async def impair(self, *, delay_ms: float, loss: float, seed: int = 1) -> Program:
        """Puts tests/e2e/relay.py between the two hosts of a one-switch LAN instead of the
        bridge: every frame waits `delay_ms` and a `loss` fraction (seeded) is dropped, in both
        directions. Offloads are turned off on every veth end so each frame fits the MTU."""
        switch = self._lans[0].switch
        assert len(self.hosts) == 2, "impair() joins exactly two hosts"
        offloads = ("tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off")
        for port in ("p0", "p1"):
            netns.ip("-n", switch, "link", "set", port, "nomaster")
            netns.run_in_namespace(switch, ["ethtool", "-K", port, *offloads])
        for host in self.hosts:
            netns.run_in_namespace(host.namespace, ["ethtool", "-K", host.interface, *offloads])
        argv = [
            "ip",
            "netns",
            "exec",
            switch,
            sys.executable,
            "-m",
            "tests.e2e.relay",
            "p0",
            "p1",
            "--delay-ms",
            str(delay_ms),
            "--loss",
            str(loss),
            "--seed",
            str(seed),
        ]
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_child_env(),
            cwd=REPO,
        )
        program = Program(f"relay on {switch}", process, self.changes)
        self.programs.append(program)
        await self.ready(program)
        return program

    async def run(
        self, host: int, command: str, spec: Mapping[str, Any], *, limit: float = WAIT_TIMEOUT
    ) -> Any:
        """Runs a helper program to its end; returns the JSON it printed."""
        return await (await self.spawn(host, command, spec)).result(limit=limit)

    async def ready(self, program: Program, *, limit: float = WAIT_TIMEOUT) -> None:
        """Waits until a long-running helper printed "ready"."""

        async def printed() -> bool | None:
            if program.process.returncode is not None:
                raise AssertionError(f"{program.name} exited:\n{program.describe()}")
            return True if "ready" in program.lines else None

        await self.until(printed, f"{program.name} to be ready", limit=limit)


async def pair(initiator: Device, responder: Device) -> str:
    """Pairs two daemons the way two people would; returns the code both showed.

    The initiator asks, the responder's person sees the same code and confirms by typing it, the
    initiator's person confirms; both then trust each other.
    """
    asked = await initiator.api.request_pairing(responder.device_id)

    async def shown() -> PairingInfo | None:
        return await responder.pairing_with(initiator)

    incoming = await initiator.lan.until(shown, f"{responder.name} to show the pairing")
    assert incoming.code == asked.code, f"codes differ: {asked.code} / {incoming.code}"
    assert incoming.direction == "incoming" and asked.direction == "outgoing"
    await initiator.api.confirm_pairing(asked.id)
    await responder.api.confirm_pairing(incoming.id, code=asked.code)
    await initiator.wait_peer(responder, lambda p: p.trusted, f"trusts {responder.name}")
    await responder.wait_peer(initiator, lambda p: p.trusted, f"trusts {initiator.name}")
    return asked.code


# --- helper programs, run inside namespaces -------------------------------------------------------
#
# Each takes one JSON argument and prints JSON on its last line (or "ready", then runs until
# killed). They are run by `PeerLan.spawn` and print nothing the tests do not read.


def _emit(value: Any) -> None:
    print(json.dumps(value) if not isinstance(value, str) else value, flush=True)


async def announce(spec: Mapping[str, Any]) -> None:
    """Announces fake `_kizuna._tcp` services: spec["services"] = [{id, name, port, pp,
    addresses}]. Prints "ready" once every one is registered, then keeps answering queries."""
    zeroconf = AsyncZeroconf(ip_version=IPVersion.V4Only)
    for service in spec["services"]:
        device_id = service["id"]
        info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{device_id[:16]}.{SERVICE_TYPE}",
            port=service["port"],
            properties={
                "id": device_id,
                "name": service["name"],
                "type": "desktop",
                "pv": "1",
                "pp": str(service["pp"]),
            },
            server=f"fake-{device_id[:16].lower()}.local.",
            addresses=[socket.inet_aton(address) for address in service["addresses"]],
            host_ttl=3,
            other_ttl=3,
        )
        await (await zeroconf.async_register_service(info, strict=False))
    _emit("ready")
    await asyncio.Event().wait()


async def listen(spec: Mapping[str, Any]) -> None:
    """Listens on spec["address"] at each of spec["ports"]; prints "accepted PORT" for every
    connection (and closes it). Prints "ready" once listening."""

    def on_connect(port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], None]:
        def accepted(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            _emit(f"accepted {port}")
            writer.close()

        return accepted

    servers = [
        await asyncio.start_server(on_connect(port), spec["address"], port)
        for port in spec["ports"]
    ]
    _emit("ready")
    try:
        await asyncio.Event().wait()
    finally:
        for server in servers:
            server.close()


async def _server_certificate(host: str, port: int) -> PeerCertificate:
    return PeerCertificate(await fetch_certificate(host, port))


async def _hello(target: str, credentials: grpc.ChannelCredentials, options: Any) -> str:
    """Calls LinkService/Hello; returns "OK" or the status code's name and details."""
    async with grpc.aio.secure_channel(target, credentials, options=options) as channel:
        try:
            await link_service_pb2_grpc.LinkServiceStub(channel).Hello(
                link_service_pb2.HelloRequest(device=device_pb2.DeviceInfo(name="stranger")),
                timeout=10,
            )
        except grpc.aio.AioRpcError as exc:
            return f"{exc.code().name}: {exc.details()}"
    return "OK"


async def stranger(spec: Mapping[str, Any]) -> None:
    """A device with its own identity (spec["identity"], a directory) calling a daemon's peer
    ports at spec["host"]. spec["phase"]: "untrusted" tries LinkService/Hello with its
    certificate, without one, and on the pairing port; "trusted" introduces itself and says
    Hello (for after the daemon trusted its ID)."""
    host = spec["host"]
    identity = await asyncio.to_thread(
        load_or_create_identity,
        Path(spec["identity"]),
        device_name="stranger",
        now=datetime.now(UTC),
    )
    server = await _server_certificate(host, PAIRING_PORT)
    link = f"{host}:{LINK_PORT}"
    pairing = f"{host}:{PAIRING_PORT}"
    pinned = (("grpc.ssl_target_name_override", server.device_id.lower()),)
    result: dict[str, Any] = {"device_id": identity.device_id, "fingerprint": identity.fingerprint}
    if spec["phase"] == "untrusted":
        result["link_with_certificate"] = await _hello(
            link,
            link_channel_credentials(identity, server.pem),
            link_channel_options(server.device_id),
        )
        result["link_without_certificate"] = await _hello(
            link, grpc.ssl_channel_credentials(root_certificates=server.pem.encode()), pinned
        )
        result["pairing_port_hello"] = await _hello(
            pairing, pairing_channel_credentials(server.pem), pinned
        )
    else:
        async with grpc.aio.secure_channel(
            pairing, pairing_channel_credentials(server.pem), options=pinned
        ) as channel:
            own = identity.certificate.public_bytes(Encoding.DER)
            reply = await pairing_service_pb2_grpc.PairingServiceStub(channel).Introduce(
                pairing_service_pb2.IntroduceRequest(
                    certificate=own,
                    device=device_pb2.DeviceInfo(name="stranger"),
                    proof=sign_proof(identity, introduce_proof_message(own, server.der)),
                ),
                timeout=10,
            )
        result["introduced_trusted"] = reply.trusted
        result["link_with_certificate"] = await _hello(
            link,
            link_channel_credentials(identity, server.pem),
            link_channel_options(server.device_id),
        )
    _emit(result)


async def oversize(spec: Mapping[str, Any]) -> None:
    """Calls Pair and Introduce on the pairing port at spec["host"] with a certificate field of
    each of spec["sizes"] random bytes; prints {"pair_SIZE": code, "introduce_SIZE": code}."""
    host = spec["host"]
    server = await _server_certificate(host, PAIRING_PORT)
    options = (("grpc.ssl_target_name_override", server.device_id.lower()),)
    result: dict[str, str] = {}
    async with grpc.aio.secure_channel(
        f"{host}:{PAIRING_PORT}", pairing_channel_credentials(server.pem), options=options
    ) as channel:
        stub: Any = pairing_service_pb2_grpc.PairingServiceStub(channel)
        for size in spec["sizes"]:
            call = stub.Pair(timeout=10)
            start = pairing_service_pb2.PairStart(
                pairing_id="0" * 32, certificate=os.urandom(size), commitment=bytes(32)
            )
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                await call.write(pairing_service_pb2.PairRequest(start=start))
            result[f"pair_{size}"] = (await call.code()).name
            try:
                await stub.Introduce(
                    pairing_service_pb2.IntroduceRequest(certificate=os.urandom(size)), timeout=10
                )
                result[f"introduce_{size}"] = "OK"
            except grpc.aio.AioRpcError as exc:
                result[f"introduce_{size}"] = exc.code().name
    _emit(result)


async def _status(call: Any) -> str:
    """A finished call's status as "CODE field" (the ErrorInfo `field`, when there is one)."""
    code = (await call.code()).name
    metadata = await call.trailing_metadata()
    return " ".join([code, *_error_fields(metadata)])


def _error_fields(metadata: Any) -> list[str]:
    reason, fields = error_info_from_trailers(metadata)
    return [reason, fields.get("field", ""), fields.get("limit", "")] if reason else []


async def _start_pairing(
    stub: Any, identity: Identity, server: PeerCertificate, certificate: bytes
) -> tuple[Any, PairingSession, Request]:
    """Opens a Pair call and sends PairStart with `certificate`, signed with `identity`'s key
    (a forged proof when `certificate` is someone else's)."""
    session, start = PairingSession.start(
        peer_id=server.device_id, own_cert=certificate, peer_cert=server.der, now=time.time()
    )
    call = stub.Pair(timeout=60)
    await call.write(
        pairing_service_pb2.PairRequest(
            start=pairing_service_pb2.PairStart(
                pairing_id=start.pairing_id,
                certificate=certificate,
                commitment=start.commitment,
                device=device_pb2.DeviceInfo(name="Bank Laptop (trusted)"),
                link_port=4444,
                proof=sign_proof(identity, start_proof_message(start, server.der)),
            )
        )
    )
    return call, session, start


async def claim(spec: Mapping[str, Any]) -> None:
    """A stranger holding only a real device's public certificate (read from its pairing port
    at spec["victim"]) calls the daemon at spec["host"]: spec["tries"] Pair calls claiming that
    certificate, each signed with the stranger's own key and followed by a wrong reveal, then an
    Introduce claiming it with the name "Bank Laptop (trusted)" and link port 4444. Prints the
    status of each call."""
    identity = await asyncio.to_thread(
        load_or_create_identity,
        Path(spec["identity"]),
        device_name="mallory",
        now=datetime.now(UTC),
    )
    victim = await _server_certificate(spec["victim"], PAIRING_PORT)
    server = await _server_certificate(spec["host"], PAIRING_PORT)
    options = (("grpc.ssl_target_name_override", server.device_id.lower()),)
    result: dict[str, Any] = {"pair": []}
    async with grpc.aio.secure_channel(
        f"{spec['host']}:{PAIRING_PORT}", pairing_channel_credentials(server.pem), options=options
    ) as channel:
        stub: Any = pairing_service_pb2_grpc.PairingServiceStub(channel)
        for _ in range(spec["tries"]):
            call, _, _ = await _start_pairing(stub, identity, server, victim.der)
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                answer = await call.read()
                if answer is not _EOF:
                    wrong = pairing_service_pb2.PairReveal(nonce=os.urandom(32))
                    await call.write(pairing_service_pb2.PairRequest(reveal=wrong))
            result["pair"].append(await _status(call))
        try:
            reply = await stub.Introduce(
                pairing_service_pb2.IntroduceRequest(
                    certificate=victim.der,
                    device=device_pb2.DeviceInfo(name="Bank Laptop (trusted)"),
                    link_port=4444,
                    proof=sign_proof(identity, introduce_proof_message(victim.der, server.der)),
                ),
                timeout=10,
            )
            result["introduce"] = f"OK trusted={reply.trusted}"
        except grpc.aio.AioRpcError as exc:
            result["introduce"] = " ".join(
                [exc.code().name, *_error_fields(exc.trailing_metadata())]
            )
    _emit(result)


async def stall(spec: Mapping[str, Any]) -> None:
    """A stranger that starts a pairing with the daemon at spec["host"] and lets it stall.

    With a fresh identity of its own (a valid proof) it starts and reveals; while that pairing
    is open it starts a second one, with another fresh identity, from the same address; then it
    hangs up without a decision. Prints {"first": "answered" or its status, "second": status,
    "device_id": the first identity's ID}."""
    identities = [
        await asyncio.to_thread(
            load_or_create_identity,
            Path(spec["identity"]) / str(n),
            device_name="staller",
            now=datetime.now(UTC),
        )
        for n in range(2)
    ]
    server = await _server_certificate(spec["host"], PAIRING_PORT)
    options = (("grpc.ssl_target_name_override", server.device_id.lower()),)
    own = [i.certificate.public_bytes(Encoding.DER) for i in identities]
    result: dict[str, str] = {"device_id": identities[0].device_id, "second": ""}
    async with grpc.aio.secure_channel(
        f"{spec['host']}:{PAIRING_PORT}", pairing_channel_credentials(server.pem), options=options
    ) as channel:
        stub: Any = pairing_service_pb2_grpc.PairingServiceStub(channel)
        call, session, _ = await _start_pairing(stub, identities[0], server, own[0])
        try:
            answer = await call.read()
        except grpc.aio.AioRpcError:
            answer = _EOF
        if answer is _EOF:
            result["first"] = await _status(call)
            _emit(result)
            return
        reveal = session.on_answer(Answer(session.id, answer.answer.nonce), now=time.time())
        await call.write(
            pairing_service_pb2.PairRequest(
                reveal=pairing_service_pb2.PairReveal(nonce=reveal.initiator_nonce)
            )
        )
        result["first"] = "answered"
        second, _, _ = await _start_pairing(stub, identities[1], server, own[1])
        with contextlib.suppress(grpc.aio.AioRpcError):
            await second.read()
        result["second"] = await _status(second)
        call.cancel()  # hang up: no confirm, no reject
    _emit(result)


async def _until_closed(reader: asyncio.StreamReader) -> int:
    """Reads until the other side closes; returns how many bytes it sent."""
    received = 0
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            received += len(chunk)
    return received


async def hold(spec: Mapping[str, Any]) -> None:
    """Opens connections to spec["host"] at each of spec["ports"] that never finish a TLS
    handshake: spec["idle"] that send nothing, one that sends a byte a second, one that sends
    spec["garbage"] bytes at once. Prints "ready" when all are open, "closed KIND PORT SECS"
    as the server closes each, then a JSON list of [kind, port, seconds, bytes_received]."""
    host, limit = spec["host"], spec["limit"]
    kinds = ["idle"] * spec["idle"] + ["trickle", "garbage"]
    opened = [
        (kind, port, time.monotonic(), await asyncio.open_connection(host, port))
        for port in spec["ports"]
        for kind in kinds
    ]
    _emit("ready")

    async def send(kind: str, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            if kind == "garbage":
                # A TLS record header claiming a 64 KiB handshake message, then random bytes.
                writer.write(b"\x16\x03\x01\xff\xff" + os.urandom(spec["garbage"]))
                await writer.drain()
            if kind == "trickle":
                # A well-formed record header for a 512-byte ClientHello, then its body at one
                # byte a second: only a deadline can end this one.
                writer.write(b"\x16\x03\x01\x02\x00")
            while kind == "trickle":
                writer.write(b"\x01")
                await writer.drain()
                await asyncio.sleep(1)

    async def watch(
        kind: str,
        port: int,
        since: float,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> list[Any]:
        sender = asyncio.create_task(send(kind, writer))
        seconds: float | None = None
        received = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(limit):
                received = await _until_closed(reader)
                seconds = round(time.monotonic() - since, 2)
        sender.cancel()
        writer.close()
        _emit(f"closed {kind} {port} {seconds}")
        return [kind, port, seconds, received]

    results = await asyncio.gather(
        *(watch(kind, port, since, *connection) for kind, port, since, connection in opened)
    )
    _emit(results)


_COMMANDS: Final[dict[str, Callable[[Mapping[str, Any]], Coroutine[Any, Any, None]]]] = {
    "announce": announce,
    "listen": listen,
    "stranger": stranger,
    "claim": claim,
    "stall": stall,
    "oversize": oversize,
    "hold": hold,
}


def main(argv: Sequence[str]) -> None:
    command, spec = argv[0], json.loads(argv[1])
    asyncio.run(_COMMANDS[command](spec))


if __name__ == "__main__":
    main(sys.argv[1:])
