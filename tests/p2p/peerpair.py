"""Real in-process daemons that talk to each other over TLS on 127.0.0.1, driven by kizuna_client.

A `Node` is one daemon with its client and an event recorder started before anything happens, so
tests wait for events instead of sleeping; `Nodes` starts, restarts and stops them for a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kizuna_client import Kizuna, KizunaEvent, PairingInfo
from kizuna_server.app import Daemon
from kizuna_server.config import Config
from tests.conftest import make_config

T = TypeVar("T")

#: Overall limit for anything a test waits for (a link, an event, a state).
WAIT = 15.0
#: discovery.interval_secs for test daemons: a link re-checks trust with a Hello this often,
#: and reconnect backoff never grows beyond it.
INTERVAL_SECS = 1

#: What a daemon with the default plugins.enabled offers peers, in its Hello's order.
OFFERED = ("transfers", "streams", "commands", "text", "clipboard")


class EventRecorder:
    """Every event a daemon publishes from `start()` on, kept in order for `wait_for`."""

    def __init__(self, client: Kizuna) -> None:
        self._client = client
        self.events: list[KizunaEvent] = []
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        subscription = self._client.subscribe_events()
        async with asyncio.timeout(WAIT):
            await subscription.started()
        self._task = asyncio.get_running_loop().create_task(self._pump(subscription))

    async def _pump(self, subscription: Any) -> None:
        async with subscription:
            async for item in subscription:
                if isinstance(item, KizunaEvent):
                    self.events.append(item)
                    async with self._changed:
                        self._changed.notify_all()

    def mark(self) -> int:
        """A position: `wait_for(..., after=mark)` only looks at events published after it."""
        return len(self.events)

    def of_type(self, kind: str, *, after: int = 0) -> list[KizunaEvent]:
        return [e for e in self.events[after:] if e.type == kind]

    async def wait_for(
        self,
        kind: str,
        match: Callable[[Any], bool] = lambda payload: True,
        *,
        after: int = 0,
        within: float = WAIT,
    ) -> KizunaEvent:
        """The first event of type `kind` after `after` whose payload satisfies `match`."""

        def found() -> KizunaEvent | None:
            return next((e for e in self.of_type(kind, after=after) if match(e.payload)), None)

        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(lambda: found() is not None)
        except TimeoutError:
            seen = [e.type for e in self.events[after:]]
            raise AssertionError(f"no matching {kind} event within {within}s; saw {seen}") from None
        event = found()
        assert event is not None
        return event

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


@dataclass
class Node:
    """One running daemon, its client and its events."""

    name: str
    home: Path
    settings: dict[str, Any]
    daemon: Daemon
    client: Kizuna
    events: EventRecorder

    @property
    def id(self) -> str:
        """The canonical device ID."""
        assert self.daemon.identity is not None
        return self.daemon.identity.device_id

    @property
    def fingerprint(self) -> str:
        assert self.daemon.identity is not None
        return self.daemon.identity.fingerprint

    @property
    def link_port(self) -> int:
        assert self.daemon.peers is not None
        return self.daemon.peers.link_port

    @property
    def address(self) -> str:
        """Where other daemons reach this one: its link port on loopback."""
        return f"127.0.0.1:{self.link_port}"

    @property
    def data_dir(self) -> Path:
        return self.daemon.config.paths.data_dir


def settings_for(name: str, extra: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Test settings: loopback, no mDNS (make_config), a name, short link re-checks."""
    merged: dict[str, dict[str, Any]] = {
        "identity": {"device_name": name},
        "discovery": {"interval_secs": INTERVAL_SECS, "timeout_secs": 2 * INTERVAL_SECS},
    }
    for section, values in (extra or {}).items():
        merged.setdefault(section, {}).update(values)
    return merged


@dataclass
class Nodes:
    """Starts daemons for one test and stops them (and removes their homes) at its end."""

    running: list[Node] = field(default_factory=list)
    homes: list[Path] = field(default_factory=list)

    def new_home(self) -> Path:
        home = Path(tempfile.mkdtemp(prefix="kz-", dir="/tmp"))
        self.homes.append(home)
        return home

    def config(self, home: Path, settings: Mapping[str, Any]) -> Config:
        return make_config(home, settings)

    async def start(
        self,
        name: str,
        extra: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        home: Path | None = None,
        adjust: Callable[[Config], Config] | None = None,
    ) -> Node:
        """Starts a daemon named `name` with `extra` settings (in a new home unless given).

        `adjust` may change the validated Config before the daemon sees it (for values below
        the configuration's minimum, such as a short pairing timeout).
        """
        home = home or self.new_home()
        settings = settings_for(name, extra)
        config = make_config(home, settings)
        if adjust is not None:
            config = adjust(config)
        daemon = Daemon(config)
        await daemon.start()
        client = Kizuna(home=home, embedded=False)
        try:
            await client.connect()
            events = EventRecorder(client)
            await events.start()
        except BaseException:
            await client.close()
            await daemon.stop(grace=0)
            raise
        node = Node(name, home, settings, daemon, client, events)
        self.running.append(node)
        return node

    async def stop(self, node: Node) -> None:
        """Stops a node; its home stays for a restart."""
        if node in self.running:
            self.running.remove(node)
        await node.events.close()
        await node.client.close()
        await node.daemon.stop(grace=0)

    async def restart(
        self, node: Node, extra: Mapping[str, Mapping[str, Any]] | None = None
    ) -> Node:
        """Stops `node` and starts a daemon with the same home and settings, plus `extra`."""
        await self.stop(node)
        settings = {section: dict(values) for section, values in node.settings.items()}
        for section, values in (extra or {}).items():
            settings.setdefault(section, {}).update(values)
        return await self.start(node.name, settings, home=node.home)

    async def close(self) -> None:
        for node in list(reversed(self.running)):
            with contextlib.suppress(Exception):
                await self.stop(node)
        for home in self.homes:
            shutil.rmtree(home, ignore_errors=True)


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float = WAIT, what: str = "condition"
) -> T:
    """Calls `probe` until it returns something other than None, within `within` seconds.

    For state that has no event of its own; the short pause only spaces out the probes.
    """
    try:
        async with asyncio.timeout(within):
            while True:
                result = await probe()
                if result is not None:
                    return result
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"{what} not reached within {within}s") from None


async def request_and_show(a: Node, b: Node) -> tuple[PairingInfo, PairingInfo]:
    """A asks B to pair (B must be in A's table); returns both sides' pairing once B shows it."""
    mark = b.events.mark()
    outgoing = await a.client.request_pairing(b.id)
    shown = await b.events.wait_for(
        "pairing_requested", lambda p: p.pairing.peer_id == a.id, after=mark
    )
    pairing_id = shown.message.pairing_requested.pairing.id
    incoming = next(p for p in await b.client.pairings() if p.id == pairing_id)
    return outgoing, incoming


async def pair(a: Node, b: Node, *, connect: bool = True) -> None:
    """Pairs A and B (A adds B by address and asks), both confirm; then A connects to B."""
    known = {p.device_id for p in await a.client.peers()}
    if b.id not in known:
        await a.client.add_peer(b.address, persist=False)
    mark_a, mark_b = a.events.mark(), b.events.mark()
    outgoing, incoming = await request_and_show(a, b)
    await a.client.confirm_pairing(outgoing.id)
    await b.client.confirm_pairing(incoming.id)
    await a.events.wait_for("pairing_completed", lambda p: p.peer.device_id == b.id, after=mark_a)
    await b.events.wait_for("pairing_completed", lambda p: p.peer.device_id == a.id, after=mark_b)
    if connect:
        await a.client.connect_to_peer(b.id)
        await wait_connected(b, a)
        # Events reach the recorder after the call returns: wait for A's, so that a mark taken
        # next does not see it as news.
        await a.events.wait_for("peer_connected", lambda p: p.peer.device_id == b.id, after=mark_a)


async def paired(nodes: Nodes, **receiver: Any) -> tuple[Node, Node]:
    """alpha and beta (with `receiver` settings), paired, alpha linked to beta."""
    a = await nodes.start("alpha")
    b = await nodes.start("beta", receiver or None)
    await pair(a, b)
    return a, b


async def wait_connected(node: Node, peer: Node) -> None:
    """Until `node` shows a connected link to `peer`."""

    async def probe() -> bool | None:
        return True if (await node.client.peer(peer.id)).connected else None

    await eventually(probe, what=f"{node.name} connected to {peer.name}")
