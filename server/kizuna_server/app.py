"""The daemon: the one place that wires identity, events and the control API, and owns start/stop.

`Daemon.start()` brings everything up and `Daemon.stop()` takes it down gracefully; `run()` adds
signal handling for the foreground `kizuna daemon` command. Embedded use calls start/stop.
"""

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from kizuna_client.v1 import (
    event_service_pb2,
    node_pb2,
    node_service_pb2,
    node_service_pb2_grpc,
    peer_service_pb2,
    peer_service_pb2_grpc,
)
from kizuna_server import __version__
from kizuna_server.calls.guard import CallPolicy, GuardedServer, InFlightCalls
from kizuna_server.capability import Capability, Host
from kizuna_server.commands.capability import CommandsCapability
from kizuna_server.config import Config, parse_host_port, unavailable_preferences
from kizuna_server.core.events import EventLog, NodeStateChanged, Payload
from kizuna_server.core.node import ApiEndpoint, NodeState, Subsystem, SubsystemState
from kizuna_server.errors import KizunaError, ShuttingDown
from kizuna_server.files import (
    check_private_directory,
    ensure_private_directory,
    remove_stale_socket,
    write_file_atomically,
)
from kizuna_server.p2p.identity import Identity, load_or_create_identity
from kizuna_server.p2p.network import PeerNetwork, PeerPortsUnavailable
from kizuna_server.p2p.services import build_servers
from kizuna_server.plugins.capability import PluginsCapability
from kizuna_server.rpc.convert import node_to_proto, node_with_status
from kizuna_server.rpc.events import EventServicer, encode_for_subscribers
from kizuna_server.rpc.node import NodeServicer
from kizuna_server.rpc.peers import PeerServicer
from kizuna_server.rpc.reflection import enable_reflection
from kizuna_server.rpc.token import load_or_create_token
from kizuna_server.streams.capability import StreamsCapability
from kizuna_server.transfers.capability import TransfersCapability
from kizuna_server.transfers.engine import Transfers

log = logging.getLogger(__name__)

#: Largest control-API message (uploads and frames are at most 4 MiB of payload).
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Concurrent calls on one client connection (event subscriptions and streams included).
MAX_STREAMS_PER_CONNECTION = 1024
#: Request headers, including the bearer token.
MAX_METADATA_BYTES = 16 * 1024
#: After in-flight calls ended, how long their final statuses get to reach clients.
_CLOSE_GRACE_SECS = 0.5


class StartupError(KizunaError):
    """The daemon cannot start; the message says why and what to do."""

    reason = "INTERNAL"


@dataclass(frozen=True)
class _Listener:
    server: grpc.aio.Server
    endpoint: ApiEndpoint


class Daemon:
    """One Kizuna daemon. Not reusable: start once, stop once."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.run_id = uuid.uuid4().hex
        self.state = NodeState.STARTING
        self.start_time = time.time()
        self.identity: Identity | None = None
        self.events: EventLog[bytes] = EventLog(
            encode=encode_for_subscribers(self.run_id),
            replay_size=config.api.event_replay_size,
            queue_size=config.api.event_queue_size,
        )
        self._health = HealthServicer()
        self._calls = InFlightCalls()
        self._listeners: list[_Listener] = []
        self._lock_fd: int | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._started = False
        self._hurried: set[asyncio.Task[None]] = set()
        self._deferred_stop: tuple[float | None, str] | None = None
        self._node: node_pb2.Node | None = None
        self.peers: PeerNetwork | None = None
        self.capabilities: list[Capability] = []
        self._transfers: TransfersCapability | None = None
        self._peer_calls = InFlightCalls()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Brings the daemon up; returns once the API serves and health reports SERVING."""
        if self._started:
            raise RuntimeError("a Daemon starts once")
        self._started = True
        paths = self.config.paths
        try:
            ensure_private_directory(paths.runtime_dir)
            ensure_private_directory(paths.data_dir)
            ensure_private_directory(self.config.security.key_storage_path)
            for key, instead in unavailable_preferences(self.config).items():
                log.warning("%s = true is kept as a preference: %s", key, instead)
            self._lock_fd = _lock(paths.runtime_dir / "daemon.lock", paths.runtime_dir)
            self.publish(NodeStateChanged(state=NodeState.STARTING.value))
            self.identity = await asyncio.to_thread(
                load_or_create_identity,
                self.config.identity.identity_path,
                device_name=self.config.identity.device_name,
                now=datetime.now(UTC),
            )
            self.peers = PeerNetwork(self.config, self.identity, self.publish, self._peer_calls)
            host = Host(self.config, self.peers, self.publish, self.events)
            self._transfers = TransfersCapability(host)
            commands = CommandsCapability(host)
            self.capabilities = [
                self._transfers,
                StreamsCapability(host),
                commands,
                PluginsCapability(host, commands.engine),  # after commands: it adds to them
            ]
            for capability in self.capabilities:
                await capability.start()  # before the peer ports open: peers find it ready
            capabilities = tuple(self.capabilities)
            try:
                await self.peers.start(
                    lambda network: build_servers(
                        network,
                        CallPolicy(token=None, refusal=self._refusal, calls=self._peer_calls),
                        self.config.security.pairing_timeout_secs,
                        capabilities,
                    )
                )
            except PeerPortsUnavailable as exc:
                raise PeerPortsUnavailable(_explain_bind_failure(exc.message)) from exc
            await self._serve()
            await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
            for name in self._service_names():
                await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
            await asyncio.to_thread(self._write_endpoint_file)  # it fsyncs: keep it off the loop
        except BaseException:
            # A failed start leaves nothing listening, no lock held, and stop() returning at once.
            await self._release()
            self._stopped.set()
            raise
        # READY only now: a stop requested before this point waits for the start to finish, so
        # it can never race the steps above (for example re-creating daemon.json after it).
        self.state = NodeState.READY
        self.publish(NodeStateChanged(state=NodeState.READY.value))
        log.info("ready: %s", ", ".join(e.endpoint.target for e in self._listeners))
        if self._deferred_stop is not None:
            grace, reason = self._deferred_stop
            self.request_stop(grace=grace, reason=reason)

    def request_stop(self, *, grace: float | None = None, reason: str = "") -> None:
        """Starts a graceful stop in the background (idempotent); see `stop`.

        Asked while the daemon is still starting, the stop begins as soon as the start ends.
        """
        if self._stopped.is_set():
            return
        if self.state is NodeState.STARTING:
            self._deferred_stop = (grace, reason)
            return
        if self._stop_task is None:
            self._stop_task = asyncio.get_running_loop().create_task(
                self._stop(grace=grace, reason=reason)
            )

    async def stop(self, *, grace: float | None = None, reason: str = "") -> None:
        """Stops gracefully and returns when everything is down.

        New calls get SHUTTING_DOWN, subscribers receive a final `stopping` event and their
        streams end with OK, in-flight calls get `grace` seconds (default api.shutdown_grace_secs)
        to finish, then the listeners close and the runtime files are removed.
        """
        if not self._started:
            self._stopped.set()  # never started: nothing to stop
            return
        self.request_stop(grace=grace, reason=reason)
        await self.wait_stopped()

    async def wait_stopped(self) -> None:
        """Returns once the daemon has fully stopped."""
        await self._stopped.wait()

    async def run(self, on_ready: Callable[[], None] = lambda: None) -> None:
        """Starts, calls `on_ready`, and serves until SIGINT/SIGTERM or Shutdown.

        Signal handlers are installed before the start, so a signal at any moment stops the
        daemon gracefully; a second signal stops it without waiting for in-flight calls, or
        abandons a start that has not finished.
        """
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None

        def on_signal(signum: int) -> None:
            name = signal.Signals(signum).name
            if self.state is NodeState.STARTING and self._deferred_stop is not None:
                log.warning("second %s while starting: abandoning the start", name)
                main.cancel()
            elif self._stop_task is None:
                self.request_stop(reason=f"received {name}")
            else:
                log.warning("second signal: stopping without waiting for in-flight calls")
                for listener in self._listeners:
                    task = loop.create_task(listener.server.stop(0))
                    self._hurried.add(task)
                    task.add_done_callback(self._hurried.discard)

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await self.start()
            if self._stop_task is None:
                on_ready()
            await self.wait_stopped()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    async def _stop(self, *, grace: float | None, reason: str) -> None:
        try:
            grace = self.config.api.shutdown_grace_secs if grace is None else grace
            log.info("stopping (%s), grace %.1fs", reason or "no reason given", grace)
            self.state = NodeState.STOPPING
            self.publish(NodeStateChanged(state=NodeState.STOPPING.value, reason=reason))
            await self._health.enter_graceful_shutdown()
            self.events.close()  # subscriptions drain and end with OK
            ended = await self._calls.drain(grace)
            if ended:
                log.warning("%d calls were still running after %.1fs and were ended", ended, grace)
            for capability in reversed(self.capabilities):
                await capability.stop()
            if self.peers is not None:
                await self.peers.stop()  # goodbye on mDNS, links and peer ports closed
            await self._peer_calls.drain(0)
            # New calls are refused by the gate already; this closes the connections, after
            # a moment for the statuses just sent to leave.
            await asyncio.gather(
                *(listener.server.stop(_CLOSE_GRACE_SECS) for listener in self._listeners)
            )
        finally:
            await self._release()
            self._stopped.set()

    async def _release(self) -> None:
        paths = self.config.paths
        if self.state is NodeState.STARTING:
            for capability in reversed(self.capabilities):
                await capability.stop()
        if self.peers is not None and self.state is NodeState.STARTING:
            await self.peers.stop()
        for listener in self._listeners:
            await listener.server.stop(0)
            if listener.endpoint.transport == "unix":
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(listener.endpoint.address)
        if self._lock_fd is not None:
            with contextlib.suppress(FileNotFoundError):
                (paths.runtime_dir / "daemon.json").unlink()
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- the control API ----------------------------------------------------------------------

    async def _serve(self) -> None:
        api = self.config.api
        socket_path = api.socket_path  # its length was checked with the configuration
        if socket_path.parent != self.config.paths.runtime_dir:
            check_private_directory(socket_path.parent, key="api.socket_path")
        await asyncio.to_thread(remove_stale_socket, socket_path)
        unix = self._new_server(token=None)
        # Created 0600 at bind time (then chmod-ed as well, in case grpc ever binds later). The
        # umask is process-wide, but only for this instant on this thread, and only tightens.
        old_umask = os.umask(0o077)
        try:
            if not unix.add_insecure_port(f"unix:{socket_path}"):
                raise StartupError(f"cannot listen on unix:{socket_path}")
        finally:
            os.umask(old_umask)
        self._listeners.append(_Listener(unix, ApiEndpoint("unix", str(socket_path), False)))
        if api.tcp_address:
            host, port = parse_host_port(api.tcp_address)
            host = "127.0.0.1" if host == "localhost" else host
            bind_host = f"[{host}]" if ":" in host else host
            token = await asyncio.to_thread(load_or_create_token, api.token_file)
            tcp = self._new_server(token=token)
            try:
                bound = tcp.add_insecure_port(f"{bind_host}:{port}")
            except RuntimeError as exc:
                raise StartupError(
                    f"cannot listen on {api.tcp_address}: {_explain_bind_failure(str(exc))}"
                ) from exc
            self._listeners.append(_Listener(tcp, ApiEndpoint("tcp", f"{bind_host}:{bound}", True)))
        for listener in self._listeners:
            await listener.server.start()
        os.chmod(socket_path, 0o600)

    def _new_server(self, *, token: str | None) -> grpc.aio.Server:
        raw = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                # Bounds on what one client can make the daemon hold (THREATS #28).
                ("grpc.max_concurrent_streams", MAX_STREAMS_PER_CONNECTION),
                ("grpc.max_metadata_size", MAX_METADATA_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        server = GuardedServer(
            raw, CallPolicy(token=token, refusal=self._refusal, calls=self._calls)
        )
        node_service_pb2_grpc.add_NodeServiceServicer_to_server(NodeServicer(self), server)
        EventServicer(
            self.events, self.run_id, batch_window=self.config.api.event_batch_ms / 1000
        ).register(server)
        assert self.peers is not None
        peer_service_pb2_grpc.add_PeerServiceServicer_to_server(PeerServicer(self.peers), server)
        for capability in self.capabilities:
            capability.add_api_services(server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        enable_reflection(
            [*self._service_names(), health_pb2.DESCRIPTOR.services_by_name["Health"].full_name],
            server,
        )
        return server

    def _service_names(self) -> list[str]:
        return [*_SERVICE_NAMES, *(n for c in self.capabilities for n in c.api_services)]

    def _refusal(self) -> KizunaError | None:
        if self.state is NodeState.STOPPING:
            return ShuttingDown("the daemon is shutting down and takes no new calls")
        return None

    def _write_endpoint_file(self) -> None:
        assert self.identity is not None
        info: dict[str, Any] = {
            "pid": os.getpid(),
            "version": __version__,
            "run_id": self.run_id,
            "device_id": self.identity.device_id,
            "endpoints": [
                {
                    "transport": e.endpoint.transport,
                    "address": e.endpoint.address,
                    "requires_token": e.endpoint.requires_token,
                    # Where the token is (not the token): clients of this user read it there.
                    **(
                        {"token_file": str(self.config.api.token_file)}
                        if e.endpoint.requires_token
                        else {}
                    ),
                }
                for e in self._listeners
            ],
        }
        path = self.config.paths.runtime_dir / "daemon.json"
        write_file_atomically(path, json.dumps(info, indent=2).encode(), mode=0o600)

    # --- what servicers use -------------------------------------------------------------------

    @property
    def transfers(self) -> Transfers | None:
        """The transfer engine, once started."""
        return self._transfers.engine if self._transfers is not None else None

    def publish(self, payload: Payload) -> None:
        """Publishes an event; must be called on the daemon's event loop."""
        if self.events.closed:
            log.debug("event after close dropped: %s", payload)
            return
        self.events.publish(payload, now=time.time())

    @property
    def api_endpoints(self) -> list[ApiEndpoint]:
        """Where the control API listens."""
        return [listener.endpoint for listener in self._listeners]

    def describe(self) -> node_pb2.Node:
        """This device as a kizuna.v1.Node."""
        if self._node is None:  # built once: identity and listeners are fixed after start
            assert self.identity is not None
            self._node = node_to_proto(
                identity=self.identity,
                config=self.config,
                start_time=self.start_time,
                api_endpoints=self.api_endpoints,
                peer_endpoints=self.peers.endpoints() if self.peers is not None else (),
            )
        return node_with_status(self._node, self.state, self.subsystems())

    def subsystems(self) -> list[Subsystem]:
        """State of each subsystem, in a stable order."""
        running = (
            SubsystemState.STOPPED if self.state is NodeState.STOPPING else SubsystemState.RUNNING
        )
        identity = self.identity
        peers = self.peers.subsystems() if self.peers is not None else []
        key_dir = self.config.identity.identity_path
        return [
            Subsystem(
                "identity",
                SubsystemState.RUNNING if identity else SubsystemState.STARTING,
                f"device {identity.device_id_display}, key in {key_dir}" if identity else "loading",
            ),
            Subsystem(
                "local_api",
                running,
                ", ".join(
                    e.target + (" (token required)" if e.requires_token else "")
                    for e in self.api_endpoints
                ),
            ),
            Subsystem(
                "events",
                running,
                f"{self.events.subscriber_count} subscribers, last sequence "
                f"{self.events.last_sequence}, replay buffer {self.config.api.event_replay_size}",
            ),
            *peers,
            *(s for capability in self.capabilities for s in capability.subsystems()),
        ]


_SERVICE_NAMES = (
    node_service_pb2.DESCRIPTOR.services_by_name["NodeService"].full_name,
    peer_service_pb2.DESCRIPTOR.services_by_name["PeerService"].full_name,
    event_service_pb2.DESCRIPTOR.services_by_name["EventService"].full_name,
)


def _lock(lock_path: Path, runtime_dir: Path) -> int:
    """Takes the per-home daemon lock, so two daemons never share a home."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        holder = ""
        with contextlib.suppress(OSError, ValueError):
            info = json.loads((runtime_dir / "daemon.json").read_text())
            holder = f" (pid {info['pid']})"
        raise StartupError(
            f"another kizuna daemon is already running with this home{holder}; stop it with "
            "'kizuna stop', or give this one its own --home"
        ) from None
    return fd


#: How grpc reports an address it could not bind, with advice that fits its developers, not the
#: daemon's users (whose message says what to do).
_GRPC_BIND_FAILURE = re.compile(
    r"Failed to bind to address (?P<address>\S+?); set GRPC_VERBOSITY=debug environment "
    r"variable to see detailed error message\.?"
)


def _explain_bind_failure(text: str) -> str:
    """`text` with grpc's bind failure replaced by why the address cannot be bound."""
    return _GRPC_BIND_FAILURE.sub(lambda found: _why_unbindable(found["address"]), text)


def _why_unbindable(address: str) -> str:
    """Why `address` cannot be bound, as the system says it ("Address already in use"): asked
    with a plain socket, since grpc keeps the reason to its own log."""
    try:
        host, port = parse_host_port(address)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as grpc binds
            probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    except ValueError:
        pass
    return "the address cannot be bound"
