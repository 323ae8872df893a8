"""`Kizuna`: the typed async client of a Kizuna daemon's local API.

How it reaches a daemon: given a config mapping (or `embedded=True`) it starts a daemon inside
this process; otherwise it attaches to the local daemon: `target` if given, else `$KIZUNA_TARGET`,
else the Unix socket of the home given by `home` / `$KIZUNA_HOME` / the XDG default.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import json
import logging
import os
import shlex
import time
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Generator,
    Mapping,
    Sequence,
)
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.duration_pb2 import Duration

from kizuna_client import memory
from kizuna_client._layout import resolve_layout
from kizuna_client.commands import RemoteCommand, argument_values
from kizuna_client.configuration import KizunaConfig, StreamKind
from kizuna_client.delivery import Delivery, Mailbox
from kizuna_client.errors import (
    ERRORS_BY_REASON,
    ClientClosedError,
    DaemonUnavailableError,
    InvalidArgumentError,
    KizunaError,
    PairingExpiredError,
    PairingRejectedError,
    PeerAlreadyExistsError,
    PluginFailedError,
    StreamClosedError,
    error_from_rpc,
)
from kizuna_client.framing import FrameCodec, Framed
from kizuna_client.settings import config_dict
from kizuna_client.types import (
    FINAL_TRANSFER_STATES,
    CommandResult,
    EventGap,
    KizunaEvent,
    NodeInfo,
    PairingInfo,
    PeerInfo,
    PeerPermissions,
    StreamFrame,
    TransferInfo,
    TransferProgress,
    enum_name,
)
from kizuna_client.v1 import (
    command_pb2,
    command_service_pb2,
    command_service_pb2_grpc,
    config_pb2,
    errors_pb2,
    event_pb2,
    event_service_pb2,
    event_service_pb2_grpc,
    node_service_pb2,
    node_service_pb2_grpc,
    peer_service_pb2,
    peer_service_pb2_grpc,
    plugin_service_pb2,
    plugin_service_pb2_grpc,
    stream_pb2,
    stream_service_pb2,
    stream_service_pb2_grpc,
    transfer_pb2,
    transfer_service_pb2,
    transfer_service_pb2_grpc,
)

if TYPE_CHECKING:
    from kizuna_server.app import Daemon

T = TypeVar("T")
#: Called with a pairing `connect_to_peer` started, once its code is known: True confirms it
#: here, False rejects it, None leaves the answer to the person (`kizuna pair`).
PairingCallback = Callable[[PairingInfo], "bool | Awaitable[bool | None] | None"]
log = logging.getLogger("kizuna_client")

#: What a streaming call's read() returns at the end (missing from the grpc type stubs).
_EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]

#: Deadline for unary calls, so a wedged daemon surfaces as an error instead of a hang.
DEFAULT_TIMEOUT = 30.0
_STREAM_KINDS = ("camera", "screen", "audio", "data")
_DELIVERIES = {
    stream_pb2.STREAM_DELIVERY_RELIABLE: Delivery.RELIABLE,
    stream_pb2.STREAM_DELIVERY_LATEST: Delivery.LATEST,
    stream_pb2.STREAM_DELIVERY_BUFFERED: Delivery.BUFFERED,
}
#: How long discover_peers waits for a first peer when none was seen yet: one mDNS browse round
#: (python-zeroconf's first queries go out over the first ~3 s).
BROWSE_ROUND = 3.0
_COMPRESSIONS = ("auto", "none")
#: Upload chunk size: 1 MiB messages are where gRPC's throughput levels off.
_UPLOAD_CHUNK = 1024 * 1024


class Kizuna:
    """A Kizuna node for this program: usable at once, no connect step.

    ```python
    kizuna = Kizuna()  # the device's daemon if one runs, else one in this process
    try:
        for peer in await kizuna.discover_peers():
            print(peer.name, peer.id)
    finally:
        await kizuna.shutdown()  # ends this instance; a shared daemon keeps running
    ```

    `Kizuna()` attaches to the daemon running for this user (`target`, `$KIZUNA_TARGET`, the
    home's daemon.json, its socket) and, when none answers, runs the device's daemon inside this
    process with the device's own home. `Kizuna(config)` runs a node in this process with that
    configuration (sections as in config.toml, see `KizunaConfig`); its home is `config["home"]`
    or, without one, a persistent folder named after `identity.device_name` (or the program), so
    identity, trust and received files outlive the process. It receives into the person's inbox
    (`transfers.inbox`, default ~/Downloads/Kizuna) and takes free ports when the default ones
    are taken and `networking.listen_port` was not given.

    `embedded`: True runs a node in this process even without `config`; False only attaches
    (never starts one: `DaemonUnavailableError` when none answers, as the CLI wants).

    `on_pairing` is called with each pairing `connect_to_peer` starts, once the code is known;
    returning True or False confirms or rejects it here (the code must match the other device's),
    returning None leaves the answer to the person (`kizuna pair` on this device). `async with`
    works too: it connects on entry and calls `shutdown()` on exit.
    """

    def __init__(
        self,
        config: KizunaConfig | Mapping[str, Any] | None = None,
        *,
        home: str | os.PathLike[str] | None = None,
        target: str | None = None,
        token: str | None = None,
        embedded: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_pairing: PairingCallback | None = None,
    ) -> None:
        self._settings = dict(config) if config is not None else None
        self._embedded = embedded if embedded is not None else config is not None
        # Attach only: never run a daemon in-process (the CLI; an app naming its target).
        self._explicit = (
            embedded is False or target is not None or bool(os.environ.get("KIZUNA_TARGET"))
        )
        self._home = home
        self._target = target
        self._token = token
        self._timeout = timeout
        self._on_pairing = on_pairing
        self._channel: grpc.aio.Channel | None = None
        self._live_channel: grpc.aio.Channel | None = None
        #: OpenStream and AttachStream, by whether the stream is live media.
        self._frame_calls: dict[bool, _FrameCalls] = {}
        self._daemon: Daemon | None = None
        self._metadata: tuple[tuple[str, str], ...] = ()
        self._tasks: set[asyncio.Task[None]] = set()
        self._connecting: asyncio.Lock | None = None
        self._shut = False

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> Kizuna:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.shutdown()

    @property
    def in_process(self) -> bool:
        """True when this instance runs its node inside this process (it stops with shutdown)."""
        return self._daemon is not None

    async def connect(self) -> None:
        """Reaches the node now instead of at the first call: attaches to the running daemon or
        starts the in-process one, and checks that it answers."""
        if self._channel is not None:
            return
        if self._shut:
            raise ClientClosedError("this Kizuna instance was shut down; create a new one")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._channel is None:
                await self._open()

    async def _open(self) -> None:
        try:
            if self._embedded:
                await self._open_channel(await self._start_embedded(self._settings or {}))
                return
            await self._open_channel(self._resolve_target())
            try:
                await self.node()
            except DaemonUnavailableError:
                if self._explicit:
                    raise
                # No daemon runs for this home: run the device's own in this process.
                await self._close_channel()
                await self._open_channel(await self._start_embedded({}, device_home=True))
        except BaseException:
            await self._release()
            raise

    async def _open_channel(self, target: str) -> None:
        self._channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", 8 * 1024 * 1024),
                # A channel of its own: a target that failed a moment ago (before the in-process
                # node started) must not be reported as still failing from a shared backoff.
                ("grpc.use_local_subchannel_pool", 1),
            ],
        )
        self.node_service = node_service_pb2_grpc.NodeServiceStub(self._channel)
        self.peer_service = peer_service_pb2_grpc.PeerServiceStub(self._channel)
        self.transfer_service = transfer_service_pb2_grpc.TransferServiceStub(self._channel)
        self.stream_service = stream_service_pb2_grpc.StreamServiceStub(self._channel)
        self._frame_calls = {False: _FrameCalls(self._channel)}
        # Live media is read on a connection of its own whose flow-control window stays at
        # 64 KiB (no BDP probing): a reader that falls behind then holds up the daemon's writes
        # within a few frames, and the daemon drops for it (latest wins) instead of grpc
        # buffering megabytes, seconds of video, on the way. Data streams keep the main one.
        self._live_channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", 8 * 1024 * 1024),
                ("grpc.use_local_subchannel_pool", 1),
                ("grpc.http2.bdp_probe", 0),
            ],
        )
        self.live_stream_service = stream_service_pb2_grpc.StreamServiceStub(self._live_channel)
        self._frame_calls[True] = _FrameCalls(self._live_channel)
        self.command_service = command_service_pb2_grpc.CommandServiceStub(self._channel)
        self.plugin_service = plugin_service_pb2_grpc.PluginServiceStub(self._channel)
        self.event_service = event_service_pb2_grpc.EventServiceStub(self._channel)
        if self._daemon is not None:
            await self.node()

    async def _ready(self) -> None:
        if self._channel is None:
            await self.connect()

    async def shutdown(self) -> None:
        """Ends this instance: an in-process node stops gracefully (its peers see it leave), an
        attached client disconnects. A shared daemon keeps running for its other apps: stopping
        it is `stop_daemon()`. Safe to call more than once."""
        self._shut = True
        await self._release()

    async def close(self) -> None:
        """The same as `shutdown()`."""
        await self.shutdown()

    async def _release(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_channel()
        if self._daemon is not None:
            daemon, self._daemon = self._daemon, None
            await daemon.stop(reason="the app's Kizuna instance was shut down")

    async def _close_channel(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close(grace=None)
        if self._live_channel is not None:
            live, self._live_channel = self._live_channel, None
            await live.close(grace=None)

    async def stop_daemon(self, *, grace: float | None = None, reason: str = "") -> None:
        """Stops the daemon itself, for every app using it (what `kizuna stop` does); waits for
        in-flight calls up to `grace` seconds (default: api.shutdown_grace_secs)."""
        await self._ready()
        if self._daemon is not None:
            await self._daemon.stop(grace=grace, reason=reason or "stop_daemon() called")
            return
        request = node_service_pb2.ShutdownRequest(reason=reason)
        if grace is not None:
            request.grace.FromNanoseconds(round(grace * 1e9))
        await self._call(self.node_service.Shutdown(request, **self._opts()))

    def _resolve_target(self) -> str:
        layout = resolve_layout(self._home)
        target = (
            self._target
            or os.environ.get("KIZUNA_TARGET")
            or _published_socket(layout.endpoint_file)
            or f"unix:{layout.socket_path}"
        )
        if not target.startswith("unix:"):
            token = self._token
            if token is None and not _is_loopback(target):
                raise InvalidArgumentError(
                    f"{target} is not a loopback address: the API token is read from its file "
                    "only for loopback targets; pass token= explicitly",
                    metadata={"field": "token"},
                )
            if token is None:
                token_file = (
                    os.environ.get("KIZUNA_TOKEN_FILE")
                    or _published_token_file(layout.endpoint_file)
                    or str(layout.token_file)
                )
                try:
                    token = Path(token_file).read_text(encoding="ascii").strip()
                except OSError as exc:
                    raise InvalidArgumentError(
                        f"TCP target {target} needs the API token; cannot read {token_file} "
                        f"({exc.strerror}); pass token= or set KIZUNA_TOKEN_FILE",
                        metadata={"field": "token"},
                    ) from exc
            self._metadata = (("authorization", f"Bearer {token}"),)
        return target

    async def _start_embedded(self, config: Mapping[str, Any], *, device_home: bool = False) -> str:
        try:
            from kizuna_server.embedded import start_embedded  # noqa: PLC0415 - optional part
        except ImportError as exc:
            raise KizunaError(
                "running a Kizuna node in this process needs the daemon: pip install kizuna "
                "(the kizuna-client distribution only attaches to a running daemon)"
            ) from exc
        from kizuna_server.errors import KizunaError as DaemonError  # noqa: PLC0415

        settings = dict(config)
        home = settings.pop("home", None) or self._home
        try:
            self._daemon = await start_embedded(
                settings,
                home=Path(home) if home is not None else None,
                device_home=device_home,
            )
        except DaemonError as exc:
            # Same exception types whether the daemon runs here or behind a socket.
            cls = ERRORS_BY_REASON.get(exc.reason, KizunaError)
            raise cls(exc.message, metadata=exc.metadata) from exc
        return self._daemon.api_endpoints[0].target

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None

    def _opts(self) -> dict[str, Any]:
        return {"timeout": self._timeout, "metadata": self._metadata}

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("a progress follower failed", exc_info=task.exception())

    # --- node ---------------------------------------------------------------------------------

    async def node(self) -> NodeInfo:
        """This device's daemon: identity, version, listeners, subsystem states."""
        await self._ready()
        response = await self._call(
            self.node_service.GetNode(node_service_pb2.GetNodeRequest(), **self._opts())
        )
        return NodeInfo.from_proto(response.node)

    async def config(self) -> dict[str, Any]:
        """The node's effective configuration as the seed spells it: sections of plain values
        ({"security": {"trust_mode": "manual", ...}, ...}), and "notes" naming preferences this
        version keeps without acting on them (networking.enable_quic, ...)."""
        await self._ready()
        return config_dict(await self.config_message())

    async def config_message(self) -> config_pb2.Config:
        """The effective configuration as the kizuna.v1.Config message."""
        await self._ready()
        response = await self._call(
            self.node_service.GetConfig(node_service_pb2.GetConfigRequest(), **self._opts())
        )
        return response.config

    # --- peers --------------------------------------------------------------------------------

    async def discover_peers(
        self,
        *,
        include_offline: bool = False,
        trusted_only: bool = False,
        wait: float = BROWSE_ROUND,
    ) -> list[PeerInfo]:
        """Peers seen on the network now, online ones first, then by name.

        Known peers that are offline (paired devices not seen in this run) come only with
        `include_offline`. When nothing was seen yet, waits up to `wait` seconds (one browse
        round) for a first peer to appear.
        """
        await self._ready()
        peers = await self._list_peers(trusted_only=trusted_only)
        if wait > 0 and not any(p.online for p in peers):
            seen = ["peer_discovered", "peer_updated", "peer_connected"]
            async with self.subscribe_events(types=seen) as events:
                await events.started()
                peers = await self._list_peers(trusted_only=trusted_only)
                if not any(p.online for p in peers):
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            async for _ in events:
                                peers = await self._list_peers(trusted_only=trusted_only)
                                if any(p.online for p in peers):
                                    break
        shown = [p for p in peers if include_offline or p.online]
        return sorted(shown, key=lambda p: (not p.online, p.name.casefold(), p.device_id))

    async def peers(
        self, *, trusted_only: bool = False, online_only: bool = False
    ) -> list[PeerInfo]:
        """Every peer the daemon knows, at once: discovered, added or trusted (online or not),
        ordered by device ID."""
        await self._ready()
        return await self._list_peers(trusted_only=trusted_only, online_only=online_only)

    async def _list_peers(self, *, trusted_only: bool, online_only: bool = False) -> list[PeerInfo]:
        peers: list[PeerInfo] = []
        token = ""
        while True:
            response = await self._call(
                self.peer_service.ListPeers(
                    peer_service_pb2.ListPeersRequest(
                        page_size=1000,
                        page_token=token,
                        trusted_only=trusted_only,
                        online_only=online_only,
                    ),
                    **self._opts(),
                )
            )
            peers.extend(PeerInfo.from_proto(p) for p in response.peers)
            token = response.next_page_token
            if not token:
                return peers

    async def connect_to_peer(
        self,
        peer_id: str,
        *,
        on_pairing: PairingCallback | None = None,
        pairing_timeout: float | None = None,
        pair: bool = True,
    ) -> PeerConnection:
        """Opens the authenticated link to a peer, by device ID or by "host:port" address.

        A peer that is not paired yet is paired first (security.trust_mode "manual"): both
        devices show a six-digit code and each person confirms it. The code reaches this side as
        a pairing_requested event and through `on_pairing` (or the instance's); the wait is
        bounded by `pairing_timeout`, default networking.connection_timeout_secs. Raises
        PairingRejectedError, PairingExpiredError (timed out; the pairing is cancelled) or
        PairingNotAllowedError when pairing does not end in trust. With `pair` False, or when
        this device's trust_mode is not "manual" (trust_all links without pairing,
        allowlist_only never pairs), an unpaired peer raises PeerNotTrustedError instead.
        """
        await self._ready()
        peer = peer_id
        if _looks_like_address(peer):
            try:
                added = await self._call(
                    self.peer_service.AddPeer(
                        peer_service_pb2.AddPeerRequest(address=peer, persist=True),
                        **self._opts(),
                    )
                )
                peer = added.peer.device_id
            except PeerAlreadyExistsError as known:  # added before: connect to it
                peer = known.metadata["peer_id"]
        info = await self.peer(peer)
        if pair and not info.trusted:
            config = await self.config()
            if config["security"]["trust_mode"] == "manual":
                limit = pairing_timeout
                if limit is None:
                    limit = float(config["networking"]["connection_timeout_secs"])
                await self._pair(info, on_pairing or self._on_pairing, limit)
        response = await self._call(
            self.peer_service.ConnectPeer(
                peer_service_pb2.ConnectPeerRequest(peer_id=info.device_id), **self._opts()
            )
        )
        return PeerConnection(self, PeerInfo.from_proto(response.peer))

    async def _pair(self, peer: PeerInfo, on_pairing: PairingCallback | None, limit: float) -> None:
        """Pairs with `peer` and returns once it is trusted; see connect_to_peer."""
        types = ["pairing_requested", "pairing_completed", "pairing_failed"]
        async with self.subscribe_events(types=types) as events:
            await events.started()
            pairing = await self.request_pairing(peer.device_id)
            try:
                async with asyncio.timeout(limit):
                    await self._answer(pairing, on_pairing)
                    async for event in events:
                        if isinstance(event, EventGap):
                            current = await self.peer(peer.device_id)
                            if current.trusted:
                                return
                            continue
                        if event.type == "pairing_completed":
                            if event.message.pairing_completed.pairing.id == pairing.id:
                                return
                        elif event.type == "pairing_failed":
                            ended = PairingInfo.from_proto(event.message.pairing_failed.pairing)
                            if ended.id != pairing.id:
                                continue
                            cls = ERRORS_BY_REASON.get(ended.error_reason, PairingRejectedError)
                            raise cls(
                                ended.error_message
                                or f"pairing with {peer.name or peer.device_id} did not complete"
                            )
                    raise ClientClosedError("the event stream ended while pairing")
            except TimeoutError:
                with contextlib.suppress(KizunaError):
                    await self.cancel_pairing(pairing.id)
                raise PairingExpiredError(
                    f"pairing with {peer.name or peer.device_id_display} was not confirmed on both "
                    f"devices within {limit:g} s (networking.connection_timeout_secs); it was "
                    "cancelled",
                    metadata={"peer_id": peer.device_id},
                ) from None

    async def _answer(self, pairing: PairingInfo, on_pairing: PairingCallback | None) -> None:
        """Shows the code and, when the callback decides, confirms or rejects here."""
        if on_pairing is None:
            log.warning(
                "pairing with %s: the code is %s. If the other device shows the same code, "
                "confirm on both (here: kizuna pair)",
                pairing.peer_name or pairing.peer_id,
                pairing.code,
            )
            return
        decision = on_pairing(pairing)
        if inspect.isawaitable(decision):
            decision = await decision
        if decision is True:
            await self.confirm_pairing(pairing.id)
        elif decision is False:
            await self.reject_pairing(pairing.id)

    async def peer(self, peer_id: str) -> PeerInfo:
        """One peer by device ID (canonical or grouped)."""
        await self._ready()
        response = await self._call(
            self.peer_service.GetPeer(
                peer_service_pb2.GetPeerRequest(peer_id=peer_id), **self._opts()
            )
        )
        return PeerInfo.from_proto(response.peer)

    async def add_peer(self, address: str, *, persist: bool = True) -> PeerInfo:
        """Adds a peer by "host:port" (other subnets, VPNs); the daemon learns its ID."""
        await self._ready()
        response = await self._call(
            self.peer_service.AddPeer(
                peer_service_pb2.AddPeerRequest(address=address, persist=persist), **self._opts()
            )
        )
        return PeerInfo.from_proto(response.peer)

    async def remove_peer(self, peer_id: str) -> None:
        """Removes a peer from the table and stops dialling its added addresses."""
        await self._ready()
        await self._call(
            self.peer_service.RemovePeer(
                peer_service_pb2.RemovePeerRequest(peer_id=peer_id), **self._opts()
            )
        )

    async def disconnect_peer(self, peer_id: str) -> None:
        """Closes the link to a peer and keeps it closed until the next connect_to_peer."""
        await self._ready()
        await self._call(
            self.peer_service.DisconnectPeer(
                peer_service_pb2.DisconnectPeerRequest(peer_id=peer_id), **self._opts()
            )
        )

    async def request_pairing(self, peer_id: str) -> PairingInfo:
        """Asks a peer to pair; returns once both devices show the code."""
        await self._ready()
        response = await self._call(
            self.peer_service.RequestPairing(
                peer_service_pb2.RequestPairingRequest(peer_id=peer_id), **self._opts()
            )
        )
        return PairingInfo.from_proto(response.pairing)

    async def pairings(self) -> list[PairingInfo]:
        """Pairings in progress, incoming ones included, oldest first."""
        await self._ready()
        response = await self._call(
            self.peer_service.ListPairings(peer_service_pb2.ListPairingsRequest(), **self._opts())
        )
        return [PairingInfo.from_proto(p) for p in response.pairings]

    async def confirm_pairing(self, pairing_id: str, *, code: str = "") -> PairingInfo:
        """Confirms that both devices show the same code (optionally as typed by the person)."""
        await self._ready()
        response = await self._call(
            self.peer_service.ConfirmPairing(
                peer_service_pb2.ConfirmPairingRequest(pairing_id=pairing_id, code=code),
                **self._opts(),
            )
        )
        return PairingInfo.from_proto(response.pairing)

    async def reject_pairing(self, pairing_id: str) -> None:
        """Rejects a pairing (the codes differ, or it is not wanted)."""
        await self._ready()
        await self._call(
            self.peer_service.RejectPairing(
                peer_service_pb2.RejectPairingRequest(pairing_id=pairing_id), **self._opts()
            )
        )

    async def cancel_pairing(self, pairing_id: str) -> None:
        """Withdraws a pairing this device asked for."""
        await self._ready()
        await self._call(
            self.peer_service.CancelPairing(
                peer_service_pb2.CancelPairingRequest(pairing_id=pairing_id), **self._opts()
            )
        )

    async def trust_peer(
        self, peer_id: str, permissions: PeerPermissions | None = None
    ) -> PeerInfo:
        """Trusts a device by its full ID, compared out of band; pinned at first contact."""
        await self._ready()
        request = peer_service_pb2.TrustPeerRequest(peer_id=peer_id)
        if permissions is not None:
            request.permissions.CopyFrom(permissions.to_proto())
        response = await self._call(self.peer_service.TrustPeer(request, **self._opts()))
        return PeerInfo.from_proto(response.peer)

    async def set_peer_permissions(self, peer_id: str, **changes: bool) -> PeerInfo:
        """Changes what a trusted peer may do: files, auto_accept_files, streams, commands."""
        await self._ready()
        request = peer_service_pb2.UpdatePeerPermissionsRequest(peer_id=peer_id)
        for name, value in changes.items():
            if name not in ("files", "auto_accept_files", "streams", "commands"):
                raise InvalidArgumentError(f"no permission named {name!r}")
            setattr(request.permissions, name, value)
            request.update_mask.paths.append(name)
        response = await self._call(
            self.peer_service.UpdatePeerPermissions(request, **self._opts())
        )
        return PeerInfo.from_proto(response.peer)

    async def forget_peer(self, peer_id: str) -> None:
        """Removes trust in a peer: its pin and permissions go, its link closes."""
        await self._ready()
        await self._call(
            self.peer_service.ForgetPeer(
                peer_service_pb2.ForgetPeerRequest(peer_id=peer_id), **self._opts()
            )
        )

    # --- transfers ----------------------------------------------------------------------------

    async def transfer_file(
        self,
        file_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        peer_id: str,
        *,
        on_progress: Callable[[TransferProgress], None] | None = None,
        compression: str = "auto",
        request_id: str = "",
    ) -> TransferHandle:
        """Offers a file or folder (or a list of them) to a peer; returns a handle at once.

        The peer's person (or app) accepts or rejects it. ``await handle`` waits for the end;
        ``async for p in handle`` follows progress; `on_progress` is called with each progress
        report until the end. A trusted peer that is not connected is dialled first.
        """
        await self._ready()
        paths = [file_path] if isinstance(file_path, str | os.PathLike) else list(file_path)
        peer = peer_id
        if not paths:
            raise InvalidArgumentError("give at least one path", metadata={"field": "paths"})
        if compression not in _COMPRESSIONS:
            raise InvalidArgumentError(
                f"compression must be one of {', '.join(_COMPRESSIONS)}, not {compression!r}",
                metadata={"field": "compression"},
            )
        request = transfer_service_pb2.CreateTransferRequest(
            peer_id=peer,
            paths=_absolute(paths),
            compression=transfer_pb2.Compression.Value(f"COMPRESSION_{compression.upper()}"),
            request_id=request_id,
        )
        response = await self._call(self.transfer_service.CreateTransfer(request, **self._opts()))
        handle = TransferHandle(self, TransferInfo.from_proto(response.transfer))
        if on_progress is not None:
            callback = on_progress

            async def follow() -> None:
                async for progress in handle:
                    callback(progress)

            self._spawn(follow())
        return handle

    async def upload_transfer(
        self,
        peer: str,
        files: Mapping[str, bytes | os.PathLike[str]],
        *,
        compression: str = "auto",
        request_id: str = "",
        chunk_size: int = _UPLOAD_CHUNK,
    ) -> TransferHandle:
        """Sends bytes this app holds (or files only it can read) through its daemon.

        `files` maps a path inside the transfer ("notes/a.txt") to bytes or to a local file
        this process reads and streams; the daemon need not see the file. The upload resumes
        where it stopped when called again with the same `request_id`.
        """
        await self._ready()
        if not files:
            raise InvalidArgumentError("give at least one file", metadata={"field": "files"})
        if compression not in _COMPRESSIONS:
            raise InvalidArgumentError(
                f"compression must be one of {', '.join(_COMPRESSIONS)}, not {compression!r}",
                metadata={"field": "compression"},
            )
        items = list(files.items())
        sizes = [
            len(v) if isinstance(v, bytes) else await asyncio.to_thread(os.path.getsize, v)
            for _, v in items
        ]
        header = transfer_service_pb2.UploadHeader(
            peer_id=peer,
            files=[
                transfer_service_pb2.UploadFile(path=path, size=size)
                for (path, _), size in zip(items, sizes, strict=True)
            ],
            compression=transfer_pb2.Compression.Value(f"COMPRESSION_{compression.upper()}"),
            request_id=request_id,
        )
        # Driven with write()/done_writing(), so no request iterator (the stubs want one).
        upload: Any = self.transfer_service.UploadTransfer
        call = upload(metadata=self._metadata)
        try:
            await call.write(transfer_service_pb2.UploadTransferRequest(header=header))
            offsets = _upload_offsets(await call.read(), len(items))
            for index, (_, value) in enumerate(items):
                async for offset, data in _upload_chunks(value, offsets[index], chunk_size):
                    chunk = transfer_service_pb2.UploadChunk(
                        file_index=index, offset=offset, data=data
                    )
                    await call.write(transfer_service_pb2.UploadTransferRequest(chunk=chunk))
            await call.done_writing()
            response = await call.read()
        except grpc.aio.AioRpcError as exc:
            raise await ended_with(call, exc) from None
        if response is _EOF or response.WhichOneof("part") != "finished":
            raise KizunaError("the daemon ended the upload without its final answer")
        return TransferHandle(self, TransferInfo.from_proto(response.finished))

    def transfer(self, transfer_id: str) -> TransferHandle:
        """A handle on an existing transfer (either direction), to follow or control it."""
        return TransferHandle(self, TransferInfo.placeholder(transfer_id))

    async def transfers(
        self, *, direction: str = "", states: Collection[str] = ()
    ) -> list[TransferInfo]:
        """Every transfer this daemon remembers, newest first; `direction` is "incoming" or
        "outgoing", `states` names states such as "pending"."""
        await self._ready()
        request = transfer_service_pb2.ListTransfersRequest(
            page_size=1000,
            states=[transfer_pb2.Transfer.State.Value(f"STATE_{s.upper()}") for s in states],
        )
        if direction:
            request.direction = transfer_pb2.Transfer.Direction.Value(
                f"DIRECTION_{direction.upper()}"
            )
        found: list[TransferInfo] = []
        while True:
            response = await self._call(
                self.transfer_service.ListTransfers(request, **self._opts())
            )
            found.extend(TransferInfo.from_proto(t) for t in response.transfers)
            if not response.next_page_token:
                return found
            request.page_token = response.next_page_token

    async def transfer_files(self, transfer_id: str) -> list[transfer_pb2.TransferFile]:
        """Every entry of a transfer, in sending order (TransferInfo.files holds at most the
        first 1,000; this pages through all of them)."""
        await self._ready()
        request = transfer_service_pb2.ListTransferFilesRequest(
            transfer_id=transfer_id, page_size=10_000
        )
        found: list[transfer_pb2.TransferFile] = []
        while True:
            response = await self._call(
                self.transfer_service.ListTransferFiles(request, **self._opts())
            )
            found.extend(response.files)
            if not response.next_page_token:
                return found
            request.page_token = response.next_page_token

    async def accept_transfer(self, transfer_id: str, *paths: str) -> TransferHandle:
        """Accepts an incoming offer: every entry, or those at or under `paths`."""
        await self._ready()
        response = await self._call(
            self.transfer_service.AcceptTransfer(
                transfer_service_pb2.AcceptTransferRequest(
                    transfer_id=transfer_id, paths=list(paths)
                ),
                **self._opts(),
            )
        )
        return TransferHandle(self, TransferInfo.from_proto(response.transfer))

    async def reject_transfer(self, transfer_id: str, reason: str = "") -> None:
        """Rejects an incoming offer; `reason` is shown to the sender."""
        await self._ready()
        await self._call(
            self.transfer_service.RejectTransfer(
                transfer_service_pb2.RejectTransferRequest(transfer_id=transfer_id, reason=reason),
                **self._opts(),
            )
        )

    # --- streams ------------------------------------------------------------------------------

    async def start_stream(
        self,
        stream_type: StreamKind,
        peer_id: str,
        quality: int = 80,
        *,
        channel: str = "",
        format: str = "",
        metadata: Mapping[str, str] | None = None,
        own_frames: bool = False,
        device: str = "",
        max_size: tuple[int, int] | None = None,
        fps: int = 30,
    ) -> StreamHandle:
        """Starts a live stream to a peer and returns once the receiving side accepted it.

        `stream_type` "camera", "screen" or "audio" streams this device's built-in capture
        source (the seed's form, ``start_stream("screen", peer_id, 80)``); with `own_frames`
        the app sends its own frames instead (`StreamHandle.send`), as it always does for
        "data". `quality` 0-100 maps to encoder settings (docs/streams.md). `channel` names the
        app on the peer that should receive it (empty: the person or any app accepting
        streams). `device` picks the source (":0", "/dev/video0", a PulseAudio source,
        "synthetic"; empty: the default), `max_size` (width, height) scales video down, `fps`
        sets the capture rate. Raises
        ValueError (InvalidArgumentError) for another type or a quality outside 0-100, and
        StreamRejectedError when the peer refuses.
        """
        await self._ready()
        if stream_type not in _STREAM_KINDS:
            raise InvalidArgumentError(
                f"stream_type must be one of {', '.join(_STREAM_KINDS)}, not {stream_type!r}",
                metadata={"field": "kind"},
            )
        if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
            raise InvalidArgumentError(
                f"quality must be an integer from 0 to 100, not {quality!r}",
                metadata={"field": "quality"},
            )
        header = stream_pb2.StreamHeader(
            peer_id=peer_id,
            channel=channel,
            kind=stream_pb2.StreamKind.Value(f"STREAM_KIND_{stream_type.upper()}"),
            format=format,
            quality=quality,
            metadata=dict(metadata or {}),
        )
        if stream_type != "data" and not own_frames:
            header.capture.SetInParent()  # the device's default source of that kind
            header.capture.device = device
            header.capture.max_width, header.capture.max_height = max_size or (0, 0)
            header.capture.fps = fps
        request = stream_service_pb2.OpenStreamRequest(header=header)
        calls = self._frame_calls[stream_type != "data"]
        return await self._open_call(calls.open_stream, request)

    async def _open_call(self, method: Any, first: Any) -> StreamHandle:
        call = method(metadata=self._metadata)
        handle = StreamHandle(call, self, first)
        try:
            await call.write(first)
            await handle._opened()
        except grpc.aio.AioRpcError as exc:
            raise await ended_with(call, exc) from None
        except asyncio.CancelledError:
            call.cancel()
            raise
        return handle

    async def attach_stream(self, stream_id: str) -> StreamHandle:
        """Attaches to an incoming stream (accepting it if it is still offered) and returns its
        handle: iterate it for the opener's frames, `send` frames back."""
        await self._ready()
        request = stream_service_pb2.AttachStreamRequest(
            header=stream_service_pb2.AttachHeader(stream_id=stream_id)
        )
        kind = (await self.get_stream(stream_id)).header.kind
        calls = self._frame_calls[kind != stream_pb2.STREAM_KIND_DATA]
        return await self._open_call(calls.attach_stream, request)

    async def accept_stream(self, stream_id: str) -> stream_pb2.Stream:
        """Accepts an incoming stream without attaching; apps attach to watch it."""
        await self._ready()
        response = await self._call(
            self.stream_service.AcceptStream(
                stream_service_pb2.AcceptStreamRequest(stream_id=stream_id), **self._opts()
            )
        )
        return response.stream

    async def reject_stream(self, stream_id: str, reason: str = "") -> None:
        """Rejects an incoming stream; the opener's call ends with StreamRejectedError."""
        await self._ready()
        await self._call(
            self.stream_service.RejectStream(
                stream_service_pb2.RejectStreamRequest(stream_id=stream_id, reason=reason),
                **self._opts(),
            )
        )

    async def close_stream(self, stream_id: str) -> None:
        """Closes a stream from outside its call (either end)."""
        await self._ready()
        await self._call(
            self.stream_service.CloseStream(
                stream_service_pb2.CloseStreamRequest(stream_id=stream_id), **self._opts()
            )
        )

    async def get_stream(self, stream_id: str) -> stream_pb2.Stream:
        """One stream, offered, open or recently ended, with its stats."""
        await self._ready()
        response = await self._call(
            self.stream_service.GetStream(
                stream_service_pb2.GetStreamRequest(stream_id=stream_id), **self._opts()
            )
        )
        return response.stream

    async def streams(self) -> list[stream_pb2.Stream]:
        """Offered and open streams, oldest first."""
        await self._ready()
        response = await self._call(
            self.stream_service.ListStreams(stream_service_pb2.ListStreamsRequest(), **self._opts())
        )
        return list(response.streams)

    # --- commands -----------------------------------------------------------------------------

    async def execute_command(
        self,
        command: str,
        peer_id: str,
        arguments: Mapping[str, str | int | bool] | None = None,
        *,
        stdin: bytes = b"",
        time_limit: float | None = None,
    ) -> CommandResult:
        """Runs a command the peer's owner allowed; returns its exit code and output.

        The seed's form, ``execute_command("name arg1 arg2", peer_id)``, is split like a shell
        would split it (quotes group words) but never run by a shell: the first word names the
        allowed command, the others are its arguments by position, each validated by the peer
        (``; rm -rf ~`` is one more argument, refused by its parameter's rules). Or name the
        command alone and pass `arguments` by parameter name. `time_limit` shortens the
        command's own limit on the peer (it cannot extend it).
        """
        await self._ready()
        command_id, positional = _command_parts(command, arguments)
        request = command_service_pb2.RunCommandRequest(
            peer_id=peer_id,
            command_id=command_id,
            positional_arguments=positional,
            stdin=stdin,
        )
        for name, value in argument_values(arguments).items():
            request.arguments[name].CopyFrom(value)
        if time_limit is not None:
            request.timeout.CopyFrom(_duration(time_limit))
        # The run may wait for the peer's owner, then run up to its limit: no client deadline.
        response = await self._call(
            self.command_service.RunCommand(request, metadata=self._metadata)
        )
        return CommandResult.from_run(
            response.run, response.stdout, response.stderr, response.output_truncated
        )

    async def run_command(
        self,
        command: str,
        peer_id: str,
        arguments: Mapping[str, str | int | bool] | None = None,
        *,
        time_limit: float | None = None,
    ) -> RemoteCommand:
        """Starts a command on the peer and returns once the peer took it (it may wait there
        for its owner's approval: see `RemoteCommand.run`). Iterate the handle for output as it
        is produced, `write` to standard input, `cancel`, `wait` for the end. The command is
        named as in `execute_command`."""
        await self._ready()
        command_id, positional = _command_parts(command, arguments)
        header = command_service_pb2.RunCommandStreamHeader(
            peer_id=peer_id,
            command_id=command_id,
            positional_arguments=positional,
            arguments=argument_values(arguments),
        )
        if time_limit is not None:
            header.timeout.CopyFrom(_duration(time_limit))
        call = self.command_service.RunCommandStream(metadata=self._metadata)  # type: ignore[call-arg]
        handle = RemoteCommand(call, ended_with)
        try:
            await call.write(command_service_pb2.RunCommandStreamRequest(header=header))
            await handle._opened()
        except grpc.aio.AioRpcError as exc:
            raise await ended_with(call, exc) from None
        except BaseException:
            call.cancel()
            raise
        return handle

    async def peer_commands(self, peer_id: str) -> list[command_pb2.Command]:
        """The commands the peer's owner allows this device to run."""
        await self._ready()
        response = await self._call(
            self.command_service.ListPeerCommands(
                command_service_pb2.ListPeerCommandsRequest(peer_id=peer_id), **self._opts()
            )
        )
        return list(response.commands)

    async def command_runs(self) -> list[command_pb2.CommandRun]:
        """Runs in progress on and from this device, those awaiting approval included."""
        await self._ready()
        response = await self._call(
            self.command_service.ListCommandRuns(
                command_service_pb2.ListCommandRunsRequest(), **self._opts()
            )
        )
        return list(response.runs)

    async def approve_command(self, run_id: str) -> command_pb2.CommandRun:
        """Lets a peer's run that waits for this device's owner start."""
        await self._ready()
        response = await self._call(
            self.command_service.ApproveCommandRun(
                command_service_pb2.ApproveCommandRunRequest(run_id=run_id), **self._opts()
            )
        )
        return response.run

    async def deny_command(self, run_id: str) -> command_pb2.CommandRun:
        """Refuses a peer's run that waits for this device's owner."""
        await self._ready()
        response = await self._call(
            self.command_service.DenyCommandRun(
                command_service_pb2.DenyCommandRunRequest(run_id=run_id), **self._opts()
            )
        )
        return response.run

    # --- plugins ------------------------------------------------------------------------------

    async def plugins(self) -> list[plugin_service_pb2.Plugin]:
        """The plugins the daemon knows: running, failed (with why) or disabled."""
        await self._ready()
        response = await self._call(
            self.plugin_service.ListPlugins(plugin_service_pb2.ListPluginsRequest(), **self._opts())
        )
        return list(response.plugins)

    async def call_plugin(
        self,
        plugin: str,
        command: str,
        arguments: Mapping[str, str | int | bool] | None = None,
        *,
        stdin: bytes = b"",
    ) -> plugin_service_pb2.CallPluginResponse:
        """Calls a plugin's local command on this device (PluginService.CallPlugin)."""
        await self._ready()
        request = plugin_service_pb2.CallPluginRequest(
            plugin=plugin, command=command, arguments=argument_values(arguments), stdin=stdin
        )
        return await self._call(self.plugin_service.CallPlugin(request, **self._opts()))

    async def send_text(self, peer_id: str, message: str) -> None:
        """Sends a short message or link to a peer (its text plugin): it arrives there as a
        `plugin_event` of type text_received and in `kizuna inbox`."""
        result = await self.execute_command("text.message", peer_id, {"message": message})
        _plugin_result(result, "text")

    async def text_inbox(self) -> list[dict[str, Any]]:
        """Messages peers sent to this device, oldest first: id, message, from, from_name,
        time, and link when the message is a URL."""
        reply = await self.call_plugin("text", "inbox")
        messages: list[dict[str, Any]] = json.loads(reply.stdout or b"[]")
        return messages

    async def clear_text_inbox(self) -> None:
        """Empties this device's text inbox."""
        await self.call_plugin("text", "clear")

    async def send_clipboard(self, peer_id: str) -> None:
        """Sends this device's clipboard text to a peer (both run the clipboard plugin)."""
        reply = await self.call_plugin("clipboard", "send", {"peer": peer_id})
        _plugin_reply(reply, "clipboard")

    async def clipboard(self) -> str:
        """This device's clipboard text, as the clipboard plugin reads it."""
        reply = await self.call_plugin("clipboard", "get")
        _plugin_reply(reply, "clipboard")
        return reply.stdout.decode(errors="replace")

    async def sync_clipboard(self, peer_id: str, on: bool = True) -> list[str]:
        """Keeps this device's clipboard in step with a peer's (or stops); returns the peers
        it is kept in step with."""
        reply = await self.call_plugin("clipboard", "sync", {"peer": peer_id, "on": on})
        _plugin_reply(reply, "clipboard")
        peers: list[str] = json.loads(reply.stdout)
        return peers

    # --- events -------------------------------------------------------------------------------

    def subscribe_events(
        self,
        *,
        types: Collection[str] = (),
        after_sequence: int = 0,
        run_id: str = "",
        from_start: bool = False,
    ) -> EventSubscription:
        """Events of this node, two ways:

        ```python
        events = await kizuna.subscribe_events()  # the seed's form: what happened so far
        for event in events:                      # in this run, as a list
            print(event.event_type, event.data)

        async with kizuna.subscribe_events(types=["transfer_completed"]) as events:
            async for event in events:            # live, as they happen
                print(event.type, event.sequence)
        ```

        `types`: payload names ("peer_discovered", "transfer_progress", ...); empty means all.
        Iterating starts with live events; `from_start` replays the current run from its first
        event, and `after_sequence` (with the `run_id` it came from) resumes after an event seen
        earlier. Missed events show up as an `EventGap` item.
        """
        numbers = []
        for name in types:
            try:
                numbers.append(event_pb2.EventType.Value(f"EVENT_TYPE_{name.upper()}"))
            except ValueError:
                raise InvalidArgumentError(
                    f"unknown event type {name!r}", metadata={"field": "types"}
                ) from None
        request = event_service_pb2.SubscribeEventsRequest(
            after_sequence=after_sequence, types=numbers, run_id=run_id, from_start=from_start
        )
        return EventSubscription(self, request)

    async def _open_events(self, request: event_service_pb2.SubscribeEventsRequest) -> Any:
        await self._ready()
        return self.event_service.SubscribeEvents(request, metadata=self._metadata)


class PeerConnection:
    """An authenticated link to one peer, with shortcuts for what can be done with it."""

    def __init__(self, client: Kizuna, peer: PeerInfo) -> None:
        self.client = client
        self.peer = peer

    @property
    def peer_id(self) -> str:
        """The peer's device ID (the seed's name)."""
        return self.peer.device_id

    def __repr__(self) -> str:
        return f"PeerConnection(peer_id={self.peer_id!r}, name={self.peer.name!r})"

    async def transfer_file(
        self, file_path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], **options: Any
    ) -> TransferHandle:
        """`Kizuna.transfer_file` to this peer."""
        return await self.client.transfer_file(file_path, self.peer_id, **options)

    async def start_stream(
        self, stream_type: StreamKind, quality: int = 80, **options: Any
    ) -> StreamHandle:
        """`Kizuna.start_stream` to this peer."""
        return await self.client.start_stream(stream_type, self.peer_id, quality, **options)

    async def execute_command(self, command: str, **options: Any) -> CommandResult:
        """`Kizuna.execute_command` on this peer."""
        return await self.client.execute_command(command, self.peer_id, **options)

    async def disconnect(self) -> None:
        """Closes the link (until the next connect_to_peer)."""
        await self.client.disconnect_peer(self.peer_id)


class TransferHandle:
    """A transfer in progress: await it, iterate its progress, or control it."""

    def __init__(self, client: Kizuna, info: TransferInfo) -> None:
        self.client = client
        self.info = info

    @property
    def id(self) -> str:
        """The transfer's ID."""
        return self.info.id

    @property
    def transfer_id(self) -> str:
        """The transfer's ID (the seed's name)."""
        return self.info.id

    def __repr__(self) -> str:
        return f"TransferHandle(transfer_id={self.id!r}, state={self.info.state!r})"

    def __await__(self) -> Generator[Any, None, TransferInfo]:
        return self.wait().__await__()

    async def wait(self) -> TransferInfo:
        """Waits for a final state. Returns the record when completed or cancelled; raises the
        matching KizunaError (for example TransferRejectedError) when it failed."""
        async for _ in self:
            pass
        info = await self.refresh()
        if info.state not in FINAL_TRANSFER_STATES:
            raise KizunaError(
                f"the progress stream of transfer {self.id} ended while it was {info.state}"
            )
        if info.state == "failed":
            error = info.message.error
            reason = enum_name(errors_pb2.ErrorReason, error.reason, "ERROR_REASON_").upper()
            cls = ERRORS_BY_REASON.get(reason, KizunaError)
            raise cls(info.error or "transfer failed", metadata=dict(error.metadata))
        return info

    async def refresh(self) -> TransferInfo:
        """Fetches the current record."""
        response = await self.client._call(
            self.client.transfer_service.GetTransfer(
                transfer_service_pb2.GetTransferRequest(transfer_id=self.id), **self.client._opts()
            )
        )
        self.info = TransferInfo.from_proto(response.transfer)
        return self.info

    async def __aiter__(self) -> AsyncIterator[TransferProgress]:
        call = self.client.transfer_service.WatchTransfer(
            transfer_service_pb2.WatchTransferRequest(transfer_id=self.id),
            metadata=self.client._metadata,
        )
        try:
            async for response in call:
                progress = TransferProgress.from_proto(response.progress)
                yield progress
                if progress.state in FINAL_TRANSFER_STATES:
                    return
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None

    async def cancel(self) -> TransferInfo:
        """Cancels the transfer (either side may); partial data is removed."""
        return await self._control("CancelTransfer", transfer_service_pb2.CancelTransferRequest)

    async def pause(self) -> TransferInfo:
        """Pauses the transfer."""
        return await self._control("PauseTransfer", transfer_service_pb2.PauseTransferRequest)

    async def resume(self) -> TransferInfo:
        """Resumes a paused transfer from the last verified offset."""
        return await self._control("ResumeTransfer", transfer_service_pb2.ResumeTransferRequest)

    async def _control(self, method: str, request_type: Any) -> TransferInfo:
        call = getattr(self.client.transfer_service, method)
        response = await self.client._call(
            call(request_type(transfer_id=self.id), **self.client._opts())
        )
        self.info = TransferInfo.from_proto(response.transfer)
        return self.info


class _FrameCalls:
    """OpenStream and AttachStream on `channel`, their frames written and read around
    protobuf (kizuna_client/framing.py: the payload is not copied on the way)."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        service = stream_service_pb2.DESCRIPTOR.services_by_name["StreamService"].full_name
        self.open_stream = channel.stream_stream(
            f"/{service}/OpenStream",
            request_serializer=FrameCodec(stream_service_pb2.OpenStreamRequest).encode,
            response_deserializer=FrameCodec(stream_service_pb2.OpenStreamResponse).decode,
        )
        self.attach_stream = channel.stream_stream(
            f"/{service}/AttachStream",
            request_serializer=FrameCodec(stream_service_pb2.AttachStreamRequest).encode,
            response_deserializer=FrameCodec(stream_service_pb2.AttachStreamResponse).decode,
        )


class StreamHandle:
    """An open stream, outgoing (`Kizuna.start_stream`) or incoming (`Kizuna.attach_stream`).

    Send frames with `send`, read the other side's frames with ``async for frame in handle``
    (or decoded pictures and sound with `decoded`, which needs the media extra), read
    measurements with `stats`, and end it with `close` or by leaving ``async with handle``.
    The iteration ends when the stream closes normally; it raises StreamClosedError when the
    link dropped or the other side failed.

    Live streams (camera, screen, audio) are read continuously in the background into a small
    mailbox with the stream's delivery policy: an app that reads slower than frames come gets
    the latest ones (video skips to the next keyframe, which the source is asked for; audio keeps
    100 ms), never a backlog; `frames_dropped` counts what it skipped. Data streams are read as
    the app iterates, so a slow reader slows the sender and nothing is lost.
    """

    def __init__(self, call: Any, client: Kizuna, request: Any) -> None:
        self._call = call
        self._client = client
        self._request = request  # OpenStreamRequest or AttachStreamRequest
        self._loop_start = asyncio.get_running_loop().time()
        self._closed = False
        self._writing = asyncio.Lock()  # a call takes one write at a time
        self._mailbox: Mailbox[StreamFrame] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self.info: stream_pb2.Stream | None = None
        #: Set when the receiver lost frames and needs a keyframe (live video the app
        #: encodes itself); clear it after sending one.
        self.keyframe_wanted = asyncio.Event()

    async def _opened(self) -> None:
        response = await self._call.read()
        if response is _EOF or isinstance(response, Framed) or not response.HasField("stream"):
            self._call.cancel()  # do not leave a half-open stream on the daemon
            raise KizunaError("the daemon did not open the stream (unexpected first message)")
        self.info = response.stream
        delivery = _DELIVERIES.get(self.info.header.delivery, Delivery.RELIABLE)
        if delivery is not Delivery.RELIABLE:
            self._mailbox = Mailbox(delivery, want_keyframe=self.request_keyframe)
            self._reader = asyncio.ensure_future(self._read_ahead(self._mailbox))
            return
        # A data stream may move megabyte frames as fast as they go: while any is open, this
        # process keeps such buffers for reuse instead of page-faulting each one in afresh
        # (memory.py; about a third of a Python app's CPU per MiB). Given back when the last ends.
        memory.BULK.started()
        self._call.add_done_callback(lambda _: memory.BULK.ended())

    @property
    def frames_dropped(self) -> int:
        """Frames this handle skipped because the app read slower than they came."""
        return self._mailbox.dropped if self._mailbox is not None else 0

    async def _responses(self) -> AsyncIterator[StreamFrame]:
        """The call's frames; stream updates and keyframe requests are taken in passing."""
        try:
            while True:
                response = await self._call.read()
                if response is _EOF:
                    return
                if isinstance(response, Framed):
                    yield StreamFrame.from_proto(response.frame, response.payload)
                    continue
                part = response.WhichOneof("part")
                if part == "stream":
                    self.info = response.stream
                elif part == "keyframe_request":
                    self.keyframe_wanted.set()
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None

    async def _read_ahead(self, mailbox: Mailbox[StreamFrame]) -> None:
        try:
            async for frame in self._responses():
                mailbox.offer(frame)
        except (KizunaError, asyncio.InvalidStateError) as exc:
            self._failure = exc
        finally:
            mailbox.close()

    def request_keyframe(self) -> None:
        """Asks the source for a keyframe: this app cannot decode until the next one (it
        dropped frames, or one did not decode). For attached viewers; the daemon passes at
        most four requests a second on."""
        if isinstance(self._request, stream_service_pb2.AttachStreamRequest):
            request = stream_service_pb2.AttachStreamRequest(
                keyframe_request=stream_pb2.KeyframeRequest()
            )
            self._client._spawn(self._write_quietly(request))

    async def _write_quietly(self, request: Any) -> None:
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            async with self._writing:
                await self._call.write(request)

    @property
    def id(self) -> str:
        """The stream's ID."""
        return self.info.id if self.info is not None else ""

    @property
    def stream_id(self) -> str:
        """The stream's ID (the seed's name)."""
        return self.id

    @property
    def format(self) -> str:
        """Codec or format of the frames ("h264", "opus", what the opener declared)."""
        return self.info.header.format if self.info is not None else ""

    @property
    def metadata(self) -> dict[str, str]:
        """Parameters of the frames (width, height, fps, sample_rate, channels, ...)."""
        return dict(self.info.header.metadata) if self.info is not None else {}

    def __repr__(self) -> str:
        return f"StreamHandle(stream_id={self.id!r})"

    async def __aenter__(self) -> StreamHandle:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send(
        self, data: bytes, *, keyframe: bool = False, capture_time: float | None = None
    ) -> None:
        """Sends one frame. Under reliable delivery (data streams) this waits while the
        receiver is behind. `capture_time` (seconds since the epoch, default now) lets the
        receiving daemon measure latency."""
        frame = stream_pb2.Frame(keyframe=keyframe)
        frame.timestamp.CopyFrom(_duration(asyncio.get_running_loop().time() - self._loop_start))
        frame.capture_time.FromNanoseconds(
            int((capture_time if capture_time is not None else time.time()) * 1e9)
        )
        try:
            async with self._writing:
                await self._call.write(Framed(frame, data))  # the payload is not copied
        except grpc.aio.AioRpcError as exc:
            raise await ended_with(self._call, exc) from None
        except asyncio.InvalidStateError:
            state = stream_pb2.Stream.State.Name(self.info.state) if self.info else "ended"
            raise StreamClosedError(
                f"stream {self.id} has ended ({state}); frames can no longer be sent",
                metadata={"stream_id": self.id},
            ) from None

    async def __aiter__(self) -> AsyncIterator[StreamFrame]:
        if self._mailbox is None:
            async for frame in self._responses():
                yield frame
            return
        while (latest := await self._mailbox.get()) is not None:
            yield latest
        if self._failure is not None:
            raise self._failure

    def decoded(self) -> AsyncIterator[Any]:
        """The frames decoded: PyAV VideoFrame or AudioFrame objects (``frame.to_ndarray()``
        gives a numpy array). Needs the media extra (``pip install 'kizuna[media]'``)."""
        from kizuna_client import media  # noqa: PLC0415 - optional dependency

        return media.decode(self)

    async def stats(self) -> stream_pb2.StreamStats:
        """Current measurements (bitrate, fps, latency, drops) from this device's daemon."""
        response = await self._client._call(
            self._client.stream_service.GetStream(
                stream_service_pb2.GetStreamRequest(stream_id=self.id), **self._client._opts()
            )
        )
        self.info = response.stream
        return response.stream.stats

    async def close(self) -> None:
        """Ends this side's part normally: an opener closes the stream, a viewer detaches (the
        stream closes when the last app that accepted it goes). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
            async with self._writing:
                await self._call.done_writing()
        try:
            async with asyncio.timeout(self._client._timeout or 10):
                async for _ in self:
                    pass  # the daemon ends the call once the stream has closed
        except TimeoutError:
            self._call.cancel()
        except KizunaError:
            pass  # it had failed already; close() only ends it


class EventSubscription:
    """An event stream: iterate it (``async for``), or await it for the events so far.

    Items are `KizunaEvent`s, and `EventGap`s when events were missed. `last_sequence` and
    `run_id` are what to pass to `subscribe_events` to resume later without loss; they are
    valid from `started()` on, even before any event arrived. Close it (or use ``async with``)
    to end the iteration cleanly.
    """

    def __init__(self, client: Kizuna, request: event_service_pb2.SubscribeEventsRequest) -> None:
        self._client = client
        self._request = request
        self._call: Any = None
        self._pending: deque[KizunaEvent | EventGap] = deque()
        self._closed = False
        self._live = request.after_sequence == 0 and not request.from_start
        self._start_seen = False
        self._start_last = 0
        self.last_sequence = request.after_sequence
        self.run_id = request.run_id

    def __aiter__(self) -> EventSubscription:
        return self

    def __await__(self) -> Generator[Any, None, list[KizunaEvent | EventGap]]:
        return self._so_far().__await__()

    async def _so_far(self) -> list[KizunaEvent | EventGap]:
        """The events of the current run up to now (those the daemon still holds), oldest first;
        a leading EventGap covers older ones it no longer holds."""
        if self._call is not None:
            raise InvalidArgumentError("await a subscription before iterating it, not after")
        wanted = {enum_name(event_pb2.EventType, t, "EVENT_TYPE_") for t in self._request.types}
        request = event_service_pb2.SubscribeEventsRequest()
        request.CopyFrom(self._request)
        if not request.after_sequence:
            request.from_start = True
        del request.types[:]  # filtered here: the last event up to now must arrive to end the list
        self._request = request
        self._live = False
        found: list[KizunaEvent | EventGap] = []
        try:
            await self.started()
            end = self._start_last
            while self.last_sequence < end:
                item = await self.__anext__()
                if isinstance(item, EventGap):
                    found.append(item)
                    self.last_sequence = max(self.last_sequence, item.last_sequence)
                elif not wanted or item.type in wanted:
                    found.append(item)
        except StopAsyncIteration:
            pass
        finally:
            await self.close()
        return found

    async def started(self) -> None:
        """Waits until the daemon has registered the subscription: every event published from
        now on will reach it."""
        while not self._start_seen and await self._receive():
            pass

    async def __anext__(self) -> KizunaEvent | EventGap:
        while not self._pending:
            if not await self._receive():
                raise StopAsyncIteration
        item = self._pending.popleft()
        if isinstance(item, KizunaEvent):
            self.last_sequence = item.sequence
            self.run_id = item.run_id
        return item

    async def _receive(self) -> bool:
        """Reads one message into the pending items; False once the stream has ended."""
        if self._closed:
            return False
        try:
            if self._call is None:
                self._call = await self._client._open_events(self._request)
                if self._closed:
                    self._call.cancel()
                    return False
            response = await self._call.read()
        except grpc.aio.AioRpcError as exc:
            if self._closed:
                return False
            raise error_from_rpc(exc) from None
        except asyncio.CancelledError:
            if self._closed:
                return False
            raise
        if response is _EOF:
            self._closed = True
            return False
        if response.HasField("start"):
            self._begin(response.start)
        if response.HasField("gap"):
            self._pending.append(EventGap.from_proto(response.gap))
        self._pending.extend(KizunaEvent.from_proto(event) for event in response.events)
        return True

    def _begin(self, start: event_service_pb2.SubscriptionStart) -> None:
        self._start_seen = True
        self._start_last = start.last_sequence
        if self._live:
            self.last_sequence = start.last_sequence
        elif self.run_id and start.run_id != self.run_id:
            self.last_sequence = 0  # the daemon restarted: its numbering starts again
        self.run_id = start.run_id

    async def close(self) -> None:
        """Ends the subscription; a pending or later `__anext__` stops the iteration."""
        self._closed = True
        self._pending.clear()
        if self._call is not None:
            self._call.cancel()

    aclose = close

    async def __aenter__(self) -> EventSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def ended_with(call: Any, failure: grpc.aio.AioRpcError) -> KizunaError:
    """The error a streaming call ended with. When the daemon ends a call while this side is
    still writing (it refused the header at once, say), the write fails with gRPC core's bare
    UNKNOWN "Internal error from Core"; the call's own status says why."""
    if failure.code() != grpc.StatusCode.UNKNOWN:
        return error_from_rpc(failure)
    try:
        code = await call.code()
        if code is None or code in (grpc.StatusCode.OK, grpc.StatusCode.UNKNOWN):
            return error_from_rpc(failure)
        final = grpc.aio.AioRpcError(
            code,
            await call.initial_metadata(),
            await call.trailing_metadata(),
            await call.details(),
            failure.debug_error_string(),
        )
    except grpc.aio.AioRpcError:
        return error_from_rpc(failure)
    return error_from_rpc(final)


def _upload_offsets(first: Any, count: int) -> list[int]:
    """Per file, the bytes the daemon already holds (a continued upload skips them), from the
    daemon's first answer (`started`)."""
    if first is _EOF or first.WhichOneof("part") != "started":
        raise KizunaError("the daemon did not start the upload (no `started` answer)")
    offsets = [int(n) for n in first.started.offsets]
    if len(offsets) != count:
        raise KizunaError(f"the daemon gave {len(offsets)} offsets for {count} files")
    return offsets


async def _upload_chunks(
    value: bytes | os.PathLike[str], start: int, size: int
) -> AsyncIterator[tuple[int, bytes]]:
    if isinstance(value, bytes):
        for offset in range(start, len(value), size):
            yield offset, value[offset : offset + size]
        return
    fd = await asyncio.to_thread(os.open, value, os.O_RDONLY | os.O_CLOEXEC)
    try:
        offset = start
        while data := await asyncio.to_thread(os.pread, fd, size, offset):
            yield offset, data
            offset += len(data)
    finally:
        os.close(fd)


def _plugin_result(result: CommandResult, plugin: str) -> None:
    if not result.ok:
        raise PluginFailedError(
            result.stderr.strip() or f"the peer's {plugin} plugin refused ({result.state})",
            metadata={"plugin": plugin},
        )


def _plugin_reply(reply: plugin_service_pb2.CallPluginResponse, plugin: str) -> None:
    if reply.exit_code != 0:
        raise PluginFailedError(
            reply.stderr.decode(errors="replace").strip() or f"the {plugin} plugin failed",
            metadata={"plugin": plugin},
        )


def _command_parts(
    command: str, arguments: Mapping[str, str | int | bool] | None
) -> tuple[str, list[str]]:
    command_id, positional = split_command(command)
    if positional and arguments:
        raise InvalidArgumentError(
            "give arguments either in the command string or in `arguments`, not both",
            metadata={"field": "arguments"},
        )
    return command_id, positional


def split_command(command: str) -> tuple[str, list[str]]:
    """The seed's command string as (command ID, positional arguments), split like a POSIX shell
    splits words (quotes group, backslashes escape) without running one: ``$(id)``, backticks,
    ``;`` and ``|`` stay literal characters inside arguments.

    >>> split_command("copy 'my file.txt' /tmp")
    ('copy', ['my file.txt', '/tmp'])
    """
    try:
        words = shlex.split(command, comments=False, posix=True)
    except ValueError as exc:  # an unclosed quote
        raise InvalidArgumentError(
            f"cannot split the command {command!r}: {exc}", metadata={"field": "command"}
        ) from None
    if not words:
        raise InvalidArgumentError("name a command", metadata={"field": "command"})
    return words[0], words[1:]


def _absolute(paths: Collection[str | os.PathLike[str]]) -> list[str]:
    """The daemon resolves paths itself, so relative ones are made absolute here."""
    return [os.path.abspath(p) for p in paths]


def _published_socket(endpoint_file: Path) -> str | None:
    """The Unix socket a running daemon published in its daemon.json, if any."""
    try:
        info = json.loads(endpoint_file.read_text())
        return next(f"unix:{e['address']}" for e in info["endpoints"] if e["transport"] == "unix")
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None


def _published_token_file(endpoint_file: Path) -> str | None:
    """Where the running daemon keeps its API token (daemon.json's TCP endpoint), if any."""
    try:
        info = json.loads(endpoint_file.read_text())
        return next(str(e["token_file"]) for e in info["endpoints"] if e.get("token_file"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration):
        return None


def _is_loopback(target: str) -> bool:
    host = target.rsplit(":", 1)[0].removeprefix("ipv4:").removeprefix("ipv6:")
    host = host.removeprefix("dns:").removeprefix("//").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _looks_like_address(peer: str) -> bool:
    return ":" in peer or "." in peer


def _duration(seconds: float) -> Duration:
    duration = Duration()
    duration.FromNanoseconds(round(seconds * 1e9))
    return duration
