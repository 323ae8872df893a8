"""`Kizuna`: the typed async client of a Kizuna daemon's local API.

How it reaches a daemon: given a config mapping (or `embedded=True`) it starts a daemon inside
this process; otherwise it attaches to the local daemon: `target` if given, else `$KIZUNA_TARGET`,
else the Unix socket of the home given by `home` / `$KIZUNA_HOME` / the XDG default.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import shutil
import tempfile
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Generator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.duration_pb2 import Duration

from kizuna_client._layout import resolve_layout
from kizuna_client.errors import (
    ERRORS_BY_REASON,
    InvalidArgumentError,
    KizunaError,
    PeerAlreadyExistsError,
    error_from_rpc,
)
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
log = logging.getLogger("kizuna_client")

#: What a streaming call's read() returns at the end (missing from the grpc type stubs).
_EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]

#: Deadline for unary calls, so a wedged daemon surfaces as an error instead of a hang.
DEFAULT_TIMEOUT = 30.0
_STREAM_KINDS = ("camera", "screen", "audio", "data")
_COMPRESSIONS = ("auto", "none")
#: Upload chunk size: 1 MiB messages are where gRPC's throughput levels off.
_UPLOAD_CHUNK = 1024 * 1024
#: Initial metadata of UploadTransfer: the transfer's ID and how much of each file arrived.
_UPLOAD_ID_KEY = "kizuna-transfer-id"
_UPLOAD_OFFSETS_KEY = "kizuna-upload-offsets"


class Kizuna:
    """A connection to a Kizuna daemon.

    Attach to the daemon already running for this user::

        async with Kizuna() as k:
            for peer in await k.discover_peers():
                print(peer.name, peer.device_id_display)

    Or run one inside this process, with its own home and settings::

        async with Kizuna({"home": "/tmp/demo", "identity": {"device_name": "demo"}}) as k:
            print((await k.node()).device_id_display)

    `config`: settings for an embedded daemon, by section (as in config.toml) plus an optional
    "home"; passing it (or `embedded=True`) starts the daemon in-process and `close()` stops it.
    `home`: the daemon's home (`--home`). `target`: a gRPC target ("unix:/path/kizuna.sock" or
    "127.0.0.1:PORT"). `token`: the bearer token for a TCP target (default: read from the home's
    api-token file, or `$KIZUNA_TOKEN_FILE`).
    """

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        home: str | os.PathLike[str] | None = None,
        target: str | None = None,
        token: str | None = None,
        embedded: bool | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._settings = dict(config) if config is not None else None
        self._embedded = embedded if embedded is not None else config is not None
        self._home = home
        self._target = target
        self._token = token
        self._timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._daemon: Daemon | None = None
        self._temp_home: str | None = None
        self._metadata: tuple[tuple[str, str], ...] = ()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- connection ---------------------------------------------------------------------------

    async def __aenter__(self) -> Kizuna:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Starts the embedded daemon if asked, opens the channel and checks the daemon answers."""
        if self._channel is not None:
            return
        try:
            target = await self._start_embedded() if self._embedded else self._resolve_target()
        except BaseException:
            await self.close()  # a temporary home of a failed embedded start goes too
            raise
        self._channel = grpc.aio.insecure_channel(
            target, options=[("grpc.max_receive_message_length", 8 * 1024 * 1024)]
        )
        self.node_service = node_service_pb2_grpc.NodeServiceStub(self._channel)
        self.peer_service = peer_service_pb2_grpc.PeerServiceStub(self._channel)
        self.transfer_service = transfer_service_pb2_grpc.TransferServiceStub(self._channel)
        self.stream_service = stream_service_pb2_grpc.StreamServiceStub(self._channel)
        self.command_service = command_service_pb2_grpc.CommandServiceStub(self._channel)
        self.event_service = event_service_pb2_grpc.EventServiceStub(self._channel)
        try:
            await self.node()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Closes the channel; stops the embedded daemon if this client started one."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._channel is not None:
            await self._channel.close(grace=None)
            self._channel = None
        if self._daemon is not None:
            await self._daemon.stop(reason="embedding client closed")
            self._daemon = None
        if self._temp_home is not None:
            shutil.rmtree(self._temp_home, ignore_errors=True)
            self._temp_home = None

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
                token_file = os.environ.get("KIZUNA_TOKEN_FILE") or str(layout.token_file)
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

    async def _start_embedded(self) -> str:
        try:
            from kizuna_server.embedded import start_embedded  # noqa: PLC0415 - optional dependency
        except ImportError as exc:
            raise KizunaError(
                "an embedded daemon needs the daemon package: pip install 'kizuna-client[embedded]'"
            ) from exc
        settings = dict(self._settings or {})
        home = settings.pop("home", None) or self._home
        if home is None:
            self._temp_home = tempfile.mkdtemp(prefix="kizuna-")
            home = self._temp_home
        from kizuna_server.errors import KizunaError as DaemonError  # noqa: PLC0415

        try:
            self._daemon = await start_embedded(settings, home=Path(home))
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
        response = await self._call(
            self.node_service.GetNode(node_service_pb2.GetNodeRequest(), **self._opts())
        )
        return NodeInfo.from_proto(response.node)

    async def config(self) -> config_pb2.Config:
        """The daemon's effective configuration (secrets appear only as file paths)."""
        response = await self._call(
            self.node_service.GetConfig(node_service_pb2.GetConfigRequest(), **self._opts())
        )
        return response.config

    async def shutdown(self, *, grace: float | None = None, reason: str = "") -> None:
        """Asks the daemon to stop gracefully (for an embedded daemon: stops it and waits)."""
        if self._daemon is not None:
            await self._daemon.stop(grace=grace, reason=reason or "shutdown() called")
            return
        request = node_service_pb2.ShutdownRequest(reason=reason)
        if grace is not None:
            request.grace.FromNanoseconds(round(grace * 1e9))
        await self._call(self.node_service.Shutdown(request, **self._opts()))

    # --- peers --------------------------------------------------------------------------------

    async def discover_peers(
        self, *, trusted_only: bool = False, online_only: bool = False
    ) -> list[PeerInfo]:
        """Every peer the daemon knows: discovered on the network, added, or trusted."""
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

    async def connect_to_peer(self, peer: str) -> PeerConnection:
        """Opens the authenticated link to a peer, by device ID or by "host:port" address."""
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
        response = await self._call(
            self.peer_service.ConnectPeer(
                peer_service_pb2.ConnectPeerRequest(peer_id=peer), **self._opts()
            )
        )
        return PeerConnection(self, PeerInfo.from_proto(response.peer))

    async def peer(self, peer_id: str) -> PeerInfo:
        """One peer by device ID (canonical or grouped)."""
        response = await self._call(
            self.peer_service.GetPeer(
                peer_service_pb2.GetPeerRequest(peer_id=peer_id), **self._opts()
            )
        )
        return PeerInfo.from_proto(response.peer)

    async def add_peer(self, address: str, *, persist: bool = True) -> PeerInfo:
        """Adds a peer by "host:port" (other subnets, VPNs); the daemon learns its ID."""
        response = await self._call(
            self.peer_service.AddPeer(
                peer_service_pb2.AddPeerRequest(address=address, persist=persist), **self._opts()
            )
        )
        return PeerInfo.from_proto(response.peer)

    async def remove_peer(self, peer_id: str) -> None:
        """Removes a peer from the table and stops dialling its added addresses."""
        await self._call(
            self.peer_service.RemovePeer(
                peer_service_pb2.RemovePeerRequest(peer_id=peer_id), **self._opts()
            )
        )

    async def disconnect_peer(self, peer_id: str) -> None:
        """Closes the link to a peer and keeps it closed until the next connect_to_peer."""
        await self._call(
            self.peer_service.DisconnectPeer(
                peer_service_pb2.DisconnectPeerRequest(peer_id=peer_id), **self._opts()
            )
        )

    async def request_pairing(self, peer_id: str) -> PairingInfo:
        """Asks a peer to pair; returns once both devices show the code."""
        response = await self._call(
            self.peer_service.RequestPairing(
                peer_service_pb2.RequestPairingRequest(peer_id=peer_id), **self._opts()
            )
        )
        return PairingInfo.from_proto(response.pairing)

    async def pairings(self) -> list[PairingInfo]:
        """Pairings in progress, incoming ones included, oldest first."""
        response = await self._call(
            self.peer_service.ListPairings(peer_service_pb2.ListPairingsRequest(), **self._opts())
        )
        return [PairingInfo.from_proto(p) for p in response.pairings]

    async def confirm_pairing(self, pairing_id: str, *, code: str = "") -> PairingInfo:
        """Confirms that both devices show the same code (optionally as typed by the person)."""
        response = await self._call(
            self.peer_service.ConfirmPairing(
                peer_service_pb2.ConfirmPairingRequest(pairing_id=pairing_id, code=code),
                **self._opts(),
            )
        )
        return PairingInfo.from_proto(response.pairing)

    async def reject_pairing(self, pairing_id: str) -> None:
        """Rejects a pairing (the codes differ, or it is not wanted)."""
        await self._call(
            self.peer_service.RejectPairing(
                peer_service_pb2.RejectPairingRequest(pairing_id=pairing_id), **self._opts()
            )
        )

    async def cancel_pairing(self, pairing_id: str) -> None:
        """Withdraws a pairing this device asked for."""
        await self._call(
            self.peer_service.CancelPairing(
                peer_service_pb2.CancelPairingRequest(pairing_id=pairing_id), **self._opts()
            )
        )

    async def trust_peer(
        self, peer_id: str, permissions: PeerPermissions | None = None
    ) -> PeerInfo:
        """Trusts a device by its full ID, compared out of band; pinned at first contact."""
        request = peer_service_pb2.TrustPeerRequest(peer_id=peer_id)
        if permissions is not None:
            request.permissions.CopyFrom(permissions.to_proto())
        response = await self._call(self.peer_service.TrustPeer(request, **self._opts()))
        return PeerInfo.from_proto(response.peer)

    async def set_peer_permissions(self, peer_id: str, **changes: bool) -> PeerInfo:
        """Changes what a trusted peer may do: files, auto_accept_files, streams, commands."""
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
        await self._call(
            self.peer_service.ForgetPeer(
                peer_service_pb2.ForgetPeerRequest(peer_id=peer_id), **self._opts()
            )
        )

    # --- transfers ----------------------------------------------------------------------------

    async def transfer_file(
        self,
        peer: str,
        *paths: str | os.PathLike[str],
        on_progress: Callable[[TransferProgress], None] | None = None,
        compression: str = "auto",
        request_id: str = "",
    ) -> TransferHandle:
        """Offers files and folders to a peer; returns a handle to follow or control it.

        ``await handle`` waits for the end; ``async for p in handle`` follows progress;
        `on_progress` is called with each progress report until the end.
        """
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
            offsets = _upload_offsets(await call.initial_metadata(), len(items))
            for index, (_, value) in enumerate(items):
                async for offset, data in _upload_chunks(value, offsets[index], chunk_size):
                    chunk = transfer_service_pb2.UploadChunk(
                        file_index=index, offset=offset, data=data
                    )
                    await call.write(transfer_service_pb2.UploadTransferRequest(chunk=chunk))
            await call.done_writing()
            response = await call
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None
        return TransferHandle(self, TransferInfo.from_proto(response.transfer))

    def transfer(self, transfer_id: str) -> TransferHandle:
        """A handle on an existing transfer (either direction), to follow or control it."""
        return TransferHandle(self, TransferInfo.placeholder(transfer_id))

    async def transfers(
        self, *, direction: str = "", states: Collection[str] = ()
    ) -> list[TransferInfo]:
        """Every transfer this daemon remembers, newest first; `direction` is "incoming" or
        "outgoing", `states` names states such as "pending"."""
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
        await self._call(
            self.transfer_service.RejectTransfer(
                transfer_service_pb2.RejectTransferRequest(transfer_id=transfer_id, reason=reason),
                **self._opts(),
            )
        )

    # --- streams ------------------------------------------------------------------------------

    async def start_stream(
        self,
        peer: str,
        *,
        channel: str,
        kind: str = "data",
        format: str = "",
        quality: int = 80,
        metadata: Mapping[str, str] | None = None,
    ) -> StreamHandle:
        """Opens a live stream to the app listening on `channel` on a peer.

        Returns once the peer app attached; raises StreamRejectedError if it refused.
        """
        if kind not in _STREAM_KINDS:
            raise InvalidArgumentError(
                f"kind must be one of {', '.join(_STREAM_KINDS)}, not {kind!r}",
                metadata={"field": "kind"},
            )
        if not 0 <= quality <= 100:
            raise InvalidArgumentError(
                f"quality must be 0-100, not {quality}", metadata={"field": "quality"}
            )
        header = stream_pb2.StreamHeader(
            peer_id=peer,
            channel=channel,
            kind=stream_pb2.StreamKind.Value(f"STREAM_KIND_{kind.upper()}"),
            format=format,
            quality=quality,
            metadata=dict(metadata or {}),
        )
        call = self.stream_service.OpenStream(metadata=self._metadata)  # type: ignore[call-arg]
        handle = StreamHandle(call)
        try:
            await call.write(stream_service_pb2.OpenStreamRequest(header=header))
            await handle._opened()
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None
        return handle

    # --- commands -----------------------------------------------------------------------------

    async def execute_command(
        self,
        peer: str,
        command: str,
        arguments: Mapping[str, str | int | bool] | None = None,
        *,
        stdin: bytes = b"",
        time_limit: float | None = None,
    ) -> CommandResult:
        """Runs an allow-listed command on a peer; returns its exit code and output.

        `time_limit` shortens the command's own limit on the peer (it cannot extend it).
        """
        request = command_service_pb2.RunCommandRequest(
            peer_id=peer, command_id=command, stdin=stdin
        )
        for name, value in (arguments or {}).items():
            request.arguments[name].CopyFrom(_argument(value))
        options = self._opts()
        if time_limit is not None:
            request.timeout.CopyFrom(_duration(time_limit))
            options["timeout"] = max(self._timeout, time_limit + 5)
        response = await self._call(self.command_service.RunCommand(request, **options))
        return CommandResult.from_run(
            response.run, response.stdout, response.stderr, response.output_truncated
        )

    # --- events -------------------------------------------------------------------------------

    def subscribe_events(
        self,
        *,
        types: Collection[str] = (),
        after_sequence: int = 0,
        run_id: str = "",
    ) -> EventSubscription:
        """Streams events as they happen; an async iterator that ends when closed.

        `types`: payload names to receive ("peer_discovered", "transfer_progress", ...); empty
        means all. `after_sequence` (with the `run_id` it came from) resumes after an event seen
        earlier. Missed events show up as an `EventGap` item::

            async with k.subscribe_events(types=["transfer_completed"]) as events:
                async for event in events:
                    print(event.type, event.sequence)
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
            after_sequence=after_sequence, types=numbers, run_id=run_id
        )
        call = self.event_service.SubscribeEvents(request, metadata=self._metadata)
        return EventSubscription(call, after_sequence=after_sequence, run_id=run_id)


class PeerConnection:
    """An authenticated link to one peer, with shortcuts for what can be done with it."""

    def __init__(self, client: Kizuna, peer: PeerInfo) -> None:
        self.client = client
        self.peer = peer

    async def transfer_file(self, *paths: str | os.PathLike[str], **options: Any) -> TransferHandle:
        """`Kizuna.transfer_file` to this peer."""
        return await self.client.transfer_file(self.peer.device_id, *paths, **options)

    async def start_stream(self, **options: Any) -> StreamHandle:
        """`Kizuna.start_stream` to this peer."""
        return await self.client.start_stream(self.peer.device_id, **options)

    async def execute_command(self, command: str, *args: Any, **options: Any) -> CommandResult:
        """`Kizuna.execute_command` on this peer."""
        return await self.client.execute_command(self.peer.device_id, command, *args, **options)

    async def disconnect(self) -> None:
        """Closes the link (until the next connect_to_peer)."""
        await self.client.disconnect_peer(self.peer.device_id)


class TransferHandle:
    """A transfer in progress: await it, iterate its progress, or control it."""

    def __init__(self, client: Kizuna, info: TransferInfo) -> None:
        self.client = client
        self.info = info

    @property
    def id(self) -> str:
        """The transfer's ID."""
        return self.info.id

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


class StreamHandle:
    """An open stream: send frames, iterate frames from the peer app, close."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._sequence = 0
        self._loop_start = asyncio.get_running_loop().time()
        self.info: stream_pb2.Stream | None = None

    async def _opened(self) -> None:
        response = await self._call.read()
        if response is _EOF or not response.HasField("stream"):
            self._call.cancel()  # do not leave a half-open stream on the daemon
            raise KizunaError("the daemon did not open the stream (unexpected first message)")
        self.info = response.stream

    @property
    def id(self) -> str:
        """The stream's ID."""
        return self.info.id if self.info is not None else ""

    async def send(self, data: bytes, *, keyframe: bool = False) -> None:
        """Sends one frame."""
        frame = stream_pb2.Frame(sequence=self._sequence, keyframe=keyframe, data=data)
        frame.timestamp.CopyFrom(_duration(asyncio.get_running_loop().time() - self._loop_start))
        self._sequence += 1
        try:
            await self._call.write(stream_service_pb2.OpenStreamRequest(frame=frame))
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None

    async def __aiter__(self) -> AsyncIterator[StreamFrame]:
        try:
            while True:
                response = await self._call.read()
                if response is _EOF:
                    return
                if response.HasField("stream"):
                    self.info = response.stream
                    continue
                frame = response.frame
                yield StreamFrame(
                    frame.sequence,
                    frame.timestamp.ToNanoseconds() / 1e9,
                    frame.keyframe,
                    frame.data,
                )
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None

    async def close(self) -> None:
        """Ends the stream normally (half-close)."""
        try:
            await self._call.done_writing()
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc) from None


class EventSubscription:
    """An event stream: iterate it, and close it to end the iteration cleanly.

    Items are `KizunaEvent`s, and `EventGap`s when events were missed. `last_sequence` and
    `run_id` are what to pass to `subscribe_events` to resume later without loss; they are
    valid from `started()` on, even before any event arrived.
    """

    def __init__(self, call: Any, *, after_sequence: int, run_id: str) -> None:
        self._call = call
        self._pending: deque[KizunaEvent | EventGap] = deque()
        self._closed = False
        self._live = after_sequence == 0
        self._start_seen = False
        self.last_sequence = after_sequence
        self.run_id = run_id

    def __aiter__(self) -> EventSubscription:
        return self

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
        if self._live:
            self.last_sequence = start.last_sequence
        elif self.run_id and start.run_id != self.run_id:
            self.last_sequence = 0  # the daemon restarted: its numbering starts again
        self.run_id = start.run_id

    async def close(self) -> None:
        """Ends the subscription; a pending or later `__anext__` stops the iteration."""
        self._closed = True
        self._pending.clear()
        self._call.cancel()

    aclose = close

    async def __aenter__(self) -> EventSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _upload_offsets(metadata: Any, count: int) -> list[int]:
    """Per file, the bytes the daemon already holds (a continued upload skips them)."""
    for key, value in metadata or ():
        if key == _UPLOAD_OFFSETS_KEY and value:
            offsets = [int(part) for part in str(value).split(",")]
            if len(offsets) == count:
                return offsets
    return [0] * count


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


def _argument(value: str | int | bool) -> command_pb2.ArgumentValue:
    if isinstance(value, bool):
        return command_pb2.ArgumentValue(bool_value=value)
    if isinstance(value, int):
        return command_pb2.ArgumentValue(int_value=value)
    return command_pb2.ArgumentValue(string_value=value)
