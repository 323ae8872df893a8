"""HTTP/2 abuse of the peer ports (#13, #15, #28): real daemons on 127.0.0.1 stay responsive.

Each test starts three daemons in this process: beta (attacked), alpha (paired with beta and
linked to it) and mallory (paired with beta, then stopped: only its key and certificate are
used, by the attacking process). The attack runs in a child process that speaks HTTP/2 with h2
over TLS (ALPN "h2"): as a stranger on the pairing port, as mallory on the link port. So beta's
resident memory (this process's VmRSS/VmHWM) counts no attacker state, and the attacker's
Python never competes with beta's event loop for the GIL.

While an attack runs (at a checkpoint the attacker waits on) and after it, beta must answer its
local API and alpha's Hello within RESPONSIVE_SECS, alpha's link must stay up, and beta's peak
resident memory must stay within the bound documented for that attack. What each attack gets:

- rapid reset (CVE-2023-44487), 10,000 complete requests each reset at once: grpc cancels them
  in its core, no handler runs, and the connection stays open and answers PING;
- streams beyond max_concurrent_streams (4 pairing, 256 link): RST_STREAM(REFUSED_STREAM) for
  every stream past the limit, the connection stays open;
- PING flood: GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings"), then the connection is closed (the
  link port tolerated any number of pings until max_ping_strikes went from 0 to 2);
- SETTINGS flood: every SETTINGS is acknowledged, as HTTP/2 requires; memory stays flat;
- hostile gRPC length prefixes (2^31, 2^32-1, 1 GiB, cap + 1): RESOURCE_EXHAUSTED before the
  body arrives; the compressed flag without an encoding: INTERNAL; a gzip bomb:
  RESOURCE_EXHAUSTED at the pairing port's 16 KiB cap, UNIMPLEMENTED on the link port, which
  now accepts no compression (256 bombs at once inflated to some 170 MiB before);
- 1,000 sockets per port that idle (TCP or after TLS) or send garbage: garbage is closed at
  once, idle sockets at the 5 s handshake deadline.

Run as `python -m tests.p2p.test_h2_abuse` this file is the attacker (JSON lines on stdin and
stdout); the tests start it that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import resource
import selectors
import socket
import ssl
import struct
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

from kizuna_server.p2p.identity import CERTIFICATE_FILE, KEY_FILE
from kizuna_server.p2p.services import MAX_PAIRING_MESSAGE_BYTES
from kizuna_server.p2p.tls import (
    HANDSHAKE_TIMEOUT_SECS,
    MAX_LINK_MESSAGE_BYTES,
    link_channel_credentials,
    link_channel_options,
)
from kizuna_server.p2p.wire import device_pb2, link_service_pb2, link_service_pb2_grpc
from tests.p2p.peerpair import Node, Nodes, pair

HOST = "127.0.0.1"
MiB = 1024 * 1024

#: The victim must answer its local API and a paired peer's Hello within this, during and after
#: every attack (healthy: a few milliseconds; the margin is for a busy 2-core machine).
RESPONSIVE_SECS = 5.0
#: Peak resident memory of this process (the daemons) may grow by at most this during one
#: connection's attack. Measured here: at most 8 MiB (15 MiB in a fresh process, where grpc's
#: arenas grow for the first thousands of streams; 30,000 more resets then add under 5 MiB).
ATTACK_RSS_BOUND = 64 * MiB
#: ... and by at most this while 2 x 1,000 sockets are held: the ports accept 1,024 connections
#: each (MAX_*_CONNECTIONS), about 32 KiB apiece in grpc and BoringSSL. Measured: 66 MiB.
SOCKET_FLOOD_RSS_BOUND = 160 * MiB
#: Anything the attacker waits for from the daemon (a frame, a close) before giving up.
ATTACKER_WAIT = 10.0
#: One attack command, from sending it to its result.
ATTACK_LIMIT = 60.0

REPO = Path(__file__).resolve().parents[2]

# ================================================================================================
# The attacker: runs in its own process (see _attacker_main) and talks HTTP/2 through h2.
# ================================================================================================

#: Bytes that no TLS server can take for a record header (content type 0).
GARBAGE = bytes(range(256)) * 2
#: After TLS: not the HTTP/2 connection preface.
H2_GARBAGE = b"GET / HTTP/1.1\r\nHost: kizuna\r\n\r\n" + bytes(range(256))


def _tls_socket(port: int, identity: list[str] | None) -> ssl.SSLSocket:
    """A TLS connection to a peer port; with `identity` (certificate, key) as that client."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the attacker does not care who answers
    context.set_alpn_protocols(["h2"])
    if identity is not None:
        context.load_cert_chain(identity[0], identity[1])
    raw = socket.create_connection((HOST, port), timeout=ATTACKER_WAIT)
    try:
        return context.wrap_socket(raw)
    except BaseException:
        raw.close()
        raise


def _grpc_headers(path: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":scheme", "https"),
        (":path", path),
        (":authority", "kizuna"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        *extra,
    ]


class H2Session:
    """One HTTP/2 connection spoken with h2, recording how the server treats it."""

    def __init__(self, port: int, identity: list[str] | None) -> None:
        self.sock = _tls_socket(port, identity)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.goaway: dict[str, Any] | None = None
        self.closed: str | None = None  # why the socket is unusable, once it is
        self.refused: dict[int, int] = {}  # stream -> the server's RST_STREAM error code
        self.status: dict[int, str] = {}  # stream -> grpc-status
        self.message: dict[int, str] = {}  # stream -> grpc-message
        self.pings_acked = 0
        self.settings_acked = 0
        self.server_settings: dict[int, int] | None = None
        self.conn.initiate_connection()
        self.flush()
        self.until(lambda: self.server_settings is not None)

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if not data or self.closed is not None:
            return
        self.sock.settimeout(ATTACKER_WAIT)
        try:
            self.sock.sendall(data)
        except TimeoutError:
            self.closed = "the server stopped reading"
        except (OSError, ssl.SSLError) as exc:
            self.closed = f"send failed: {exc}"

    def receive(self, wait: float) -> bool:
        """Reads once (waiting at most `wait` seconds) and handles what came; False if nothing."""
        if self.closed is not None:
            return False
        self.sock.settimeout(max(wait, 0.001))
        try:
            data = self.sock.recv(1 << 16)
        except TimeoutError:
            return False
        except (OSError, ssl.SSLError) as exc:
            self.closed = f"receive failed: {exc}"
            return False
        if not data:
            self.closed = "closed by the server"
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            self.closed = f"protocol error: {exc}"
            return False
        for event in events:
            self._record(event)
        self.flush()  # h2 queues the ACKs of PING and SETTINGS itself
        return True

    def _record(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = {
                "code": int(event.error_code or 0),
                "debug": (event.additional_data or b"").decode(errors="replace"),
            }
        elif isinstance(event, h2.events.StreamReset) and event.remote_reset:
            self.refused[event.stream_id] = int(event.error_code)
        elif isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
            for name, value in event.headers:
                if name == b"grpc-status":
                    self.status[event.stream_id] = value.decode()
                elif name == b"grpc-message":
                    self.message[event.stream_id] = value.decode()
        elif isinstance(event, h2.events.DataReceived):
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.PingAckReceived):
            self.pings_acked += 1
        elif isinstance(event, h2.events.SettingsAcknowledged):
            self.settings_acked += 1
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            changed = {int(k): v.new_value for k, v in event.changed_settings.items()}
            self.server_settings = {**(self.server_settings or {}), **changed}

    def until(self, done: Callable[[], bool], limit: float = ATTACKER_WAIT) -> bool:
        deadline = time.monotonic() + limit
        while not done():
            left = deadline - time.monotonic()
            if left <= 0 or self.closed is not None:
                return done()
            self.receive(min(left, 0.5))
        return True

    def drain(self) -> None:
        """Handles whatever the server sent so far, without waiting."""
        while self.receive(0):
            pass

    def ended(self) -> bool:
        return self.goaway is not None or self.closed is not None

    def answers_ping(self) -> bool:
        """Whether the server still answers a PING here (a connection it has not given up)."""
        if self.ended():
            return False
        before = self.pings_acked
        try:
            self.conn.ping(b"areyouok")
        except h2.exceptions.ProtocolError:
            return False
        self.flush()
        self.until(lambda: self.pings_acked > before or self.ended())
        return self.pings_acked > before and self.goaway is None

    def open_stream(self, path: str, *extra: tuple[str, str]) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, _grpc_headers(path, *extra))
        return stream_id

    def ignore_stream_limit(self) -> None:
        """Behaves like a client that never read the server's MAX_CONCURRENT_STREAMS."""
        self.conn.remote_settings[SettingCodes.MAX_CONCURRENT_STREAMS] = 1 << 30
        self.conn.remote_settings.acknowledge()

    def report(self, **facts: Any) -> dict[str, Any]:
        refused: dict[str, int] = {}
        for code in self.refused.values():
            refused[ErrorCodes(code).name] = refused.get(ErrorCodes(code).name, 0) + 1
        return {
            "goaway": self.goaway,
            "closed": self.closed,
            "refused": refused,
            "pings_acked": self.pings_acked,
            "settings_acked": self.settings_acked,
            "max_concurrent_streams": (self.server_settings or {}).get(
                SettingCodes.MAX_CONCURRENT_STREAMS
            ),
            **facts,
        }

    def close(self) -> None:
        self.sock.close()


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _checkpoint(what: str, **facts: Any) -> None:
    """Tells the test the attack is under way and waits until it has checked the daemon."""
    _say({"checkpoint": what, **facts})
    _await_go()


def _await_go() -> None:
    if sys.stdin.readline() != "go\n":
        raise SystemExit("the test went away")


def rapid_reset(port: int, identity: list[str] | None, path: str, count: int) -> dict[str, Any]:
    """Opens `count` streams, each a complete request reset at once (CANCEL), 100 per write."""
    session = H2Session(port, identity)
    sent = 0
    try:
        while sent < count and not session.ended():
            for _ in range(100):
                stream_id = session.open_stream(path)
                session.conn.send_data(stream_id, b"\x00\x00\x00\x00\x00", end_stream=True)
                session.conn.reset_stream(stream_id, ErrorCodes.CANCEL)
                sent += 1
            session.flush()
            session.drain()
            if sent == count // 2:
                _checkpoint("half the resets sent", sent=sent)
    except h2.exceptions.ProtocolError as exc:
        session.closed = session.closed or f"h2 refused to send: {exc}"
    answers = session.answers_ping()
    session.close()
    return session.report(sent=sent, answers_ping=answers)


def stream_flood(port: int, identity: list[str] | None, path: str, count: int) -> dict[str, Any]:
    """Opens `count` streams and keeps them open, ignoring the server's limit."""
    session = H2Session(port, identity)
    limit = (session.server_settings or {}).get(SettingCodes.MAX_CONCURRENT_STREAMS, 0)
    session.ignore_stream_limit()
    sent = 0
    try:
        while sent < count and not session.ended():
            session.open_stream(path)
            sent += 1
            if sent % 50 == 0:
                session.flush()
                session.drain()
        session.flush()
    except h2.exceptions.ProtocolError as exc:
        session.closed = session.closed or f"h2 refused to send: {exc}"
    session.until(lambda: len(session.refused) >= sent - limit or session.ended())
    _checkpoint("streams held open", sent=sent)
    answers = session.answers_ping()
    session.close()
    return session.report(sent=sent, answers_ping=answers)


def ping_flood(port: int, identity: list[str] | None, count: int) -> dict[str, Any]:
    """Sends `count` PINGs, 500 per write, reading the answers between writes."""
    session = H2Session(port, identity)
    sent = 0
    try:
        while sent < count and not session.ended():
            for _ in range(500):
                session.conn.ping(struct.pack(">Q", sent))
                sent += 1
            session.flush()
            session.drain()
    except h2.exceptions.ProtocolError as exc:
        session.closed = session.closed or f"h2 refused to send: {exc}"
    session.until(lambda: session.pings_acked >= sent or session.ended())
    # A GOAWAY is followed by the close; wait for it so the report says both.
    session.until(lambda: session.closed is not None if session.goaway else True)
    _checkpoint("pings sent", sent=sent)
    answers = session.answers_ping()
    session.close()
    return session.report(sent=sent, answers_ping=answers)


def settings_flood(port: int, identity: list[str] | None, count: int) -> dict[str, Any]:
    """Sends `count` SETTINGS frames (each must be acknowledged), 500 per write."""
    session = H2Session(port, identity)
    sent = 0
    try:
        while sent < count and not session.ended():
            for _ in range(500):
                window = 65_535 + sent % 2  # a change every time, so none is a no-op
                session.conn.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: window})
                sent += 1
            session.flush()
            session.drain()
    except h2.exceptions.ProtocolError as exc:
        session.closed = session.closed or f"h2 refused to send: {exc}"
    session.until(lambda: session.settings_acked > sent or session.ended())
    _checkpoint("settings sent", sent=sent)
    answers = session.answers_ping()
    session.close()
    return session.report(sent=sent, answers_ping=answers)


def prefixes(
    port: int, identity: list[str] | None, path: str, cases: dict[str, list[Any]]
) -> dict[str, Any]:
    """One stream per case on one connection: [flag, declared length, body] as gRPC's prefix.

    `body` is a number of zero bytes sent after the prefix (fewer than declared: the server must
    answer from the prefix alone), or ["gzip", n]: n zero bytes gzipped, declared exactly.
    """
    session = H2Session(port, identity)
    outcome: dict[str, Any] = {}
    for name, (flag, declared, body, *extra) in cases.items():
        if isinstance(body, list):
            payload = gzip.compress(b"\x00" * body[1])
            frame = struct.pack(">BI", flag, len(payload)) + payload
        else:
            frame = struct.pack(">BI", flag, declared) + b"\x00" * body
        stream_id = session.open_stream(path, *(tuple(header) for header in extra))
        session.conn.send_data(stream_id, frame, end_stream=isinstance(body, list))
        session.flush()

        def answered(sent: int = stream_id) -> bool:
            return sent in session.status or session.ended()

        session.until(answered)
        outcome[name] = {
            "status": session.status.get(stream_id),
            "message": session.message.get(stream_id, ""),
        }
    _checkpoint("every prefix sent")
    answers = session.answers_ping()
    session.close()
    return session.report(cases=outcome, answers_ping=answers)


def gzip_bombs(
    port: int, identity: list[str] | None, path: str, streams: int, inflated: int
) -> dict[str, Any]:
    """`streams` requests at once, each `inflated` zero bytes gzipped (about 1,000 to 1)."""
    session = H2Session(port, identity)
    payload = gzip.compress(b"\x00" * inflated, compresslevel=9)
    frame = struct.pack(">BI", 1, len(payload)) + payload
    opened = []
    for _ in range(streams):
        stream_id = session.open_stream(path, ("grpc-encoding", "gzip"))
        session.conn.send_data(stream_id, frame, end_stream=True)
        opened.append(stream_id)
    session.flush()
    session.until(lambda: all(s in session.status for s in opened) or session.ended())
    _checkpoint("bombs sent")
    statuses: dict[str, int] = {}
    for stream_id in opened:
        status = session.status.get(stream_id, "none")
        statuses[status] = statuses.get(status, 0) + 1
    answers = session.answers_ping()
    session.close()
    return session.report(
        sent=len(opened),
        wire_bytes=len(frame),
        statuses=statuses,
        messages=sorted(set(session.message.values())),
        answers_ping=answers,
    )


def sockets(
    targets: list[list[Any]], idle: int, garbage: int, tls_idle: int, tls_garbage: int
) -> dict[str, Any]:
    """Per [port, identity]: sockets that idle, idle after TLS, send HTTP/1.1 after TLS, or
    send bytes that are not TLS, opened in that order and held; each one's close is timed
    from its opening. The test checks the daemon while they are held."""
    held: list[tuple[str, int, socket.socket, float]] = []
    closed_after: dict[int, float] = {}
    selector = selectors.DefaultSelector()

    def hold(kind: str, port: int, sock: socket.socket) -> None:
        held.append((kind, port, sock, time.monotonic()))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, len(held) - 1)

    def note_closes(wait: float) -> None:
        for key, _ in selector.select(timeout=wait):
            index = key.data
            sock = held[index][2]
            try:
                data = sock.recv(1 << 16)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue  # part of a TLS record, or a session ticket
            except OSError:
                data = b""
            if not data:
                selector.unregister(sock)
                closed_after[index] = time.monotonic() - held[index][3]

    try:
        for port, identity in targets:
            for _ in range(idle):
                hold("idle", port, socket.create_connection((HOST, port), timeout=ATTACKER_WAIT))
                note_closes(0)
            for kind, count in (("tls_idle", tls_idle), ("tls_garbage", tls_garbage)):
                for _ in range(count):
                    wrapped = _tls_socket(port, identity)
                    if kind == "tls_garbage":
                        wrapped.sendall(H2_GARBAGE)
                    hold(kind, port, wrapped)
                    note_closes(0)
            for _ in range(garbage):
                plain = socket.create_connection((HOST, port), timeout=ATTACKER_WAIT)
                plain.sendall(GARBAGE)
                hold("garbage", port, plain)
                note_closes(0)
        # The test checks the daemon now, while this goes on timing the closes.
        _say({"checkpoint": "sockets held", "held": len(held), "open": len(selector.get_map())})
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT_SECS + ATTACKER_WAIT
        while selector.get_map() and time.monotonic() < deadline:
            note_closes(0.2)
        _await_go()
        outcome: dict[str, dict[str, Any]] = {}
        for index, (kind, port, _, _) in enumerate(held):
            entry = outcome.setdefault(f"{port} {kind}", {"held": 0, "closed": 0, "slowest": 0.0})
            entry["held"] += 1
            if index in closed_after:
                entry["closed"] += 1
                entry["slowest"] = round(max(entry["slowest"], closed_after[index]), 2)
        return outcome
    finally:
        selector.close()
        for _, _, sock, _ in held:
            sock.close()


ATTACKS: dict[str, Callable[..., dict[str, Any]]] = {
    "rapid_reset": rapid_reset,
    "stream_flood": stream_flood,
    "ping_flood": ping_flood,
    "settings_flood": settings_flood,
    "prefixes": prefixes,
    "gzip_bombs": gzip_bombs,
    "sockets": sockets,
}


def _attacker_main() -> None:
    """Runs each attack command read from stdin; answers are JSON lines on stdout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    for line in sys.stdin:
        command = json.loads(line)
        _say({"result": ATTACKS[command.pop("attack")](**command)})


# ================================================================================================
# The tests' side: daemons, the attacking process, and what must hold during and after.
# ================================================================================================


@dataclass(frozen=True)
class Side:
    """One peer port as an attacker reaches it."""

    name: str
    #: A method to send requests to (the link side's is not the one the probes call).
    path: str
    #: The handler that method reaches, on the victim: (object, attribute), for counting calls.
    handler: tuple[str, str]
    max_streams: int
    message_cap: int
    #: The status of a gzip-compressed request (the link port accepts no compression).
    gzip_status: grpc.StatusCode


PAIRING = Side(
    "pairing",
    "/kizuna.peer.v1.PairingService/Introduce",
    ("peers", "introduce"),
    max_streams=4,
    message_cap=MAX_PAIRING_MESSAGE_BYTES,
    gzip_status=grpc.StatusCode.RESOURCE_EXHAUSTED,  # inflated past the cap
)
LINK = Side(
    "link",
    "/kizuna.peer.v1.TransferService/Notify",
    ("transfers", "notified"),
    max_streams=256,
    message_cap=MAX_LINK_MESSAGE_BYTES,
    gzip_status=grpc.StatusCode.UNIMPLEMENTED,  # refused before inflating
)
SIDES = pytest.mark.parametrize("side", [PAIRING, LINK], ids=lambda side: side.name)


@dataclass
class Target:
    """beta under attack; alpha, its paired and linked peer; mallory's identity files."""

    peer: Node
    victim: Node
    paired_identity: list[str]

    def port(self, side: Side) -> int:
        return self.victim.link_port + (1 if side is PAIRING else 0)

    def identity(self, side: Side) -> list[str] | None:
        """Who the attacker is: a stranger on the pairing port, mallory on the link port."""
        return self.paired_identity if side is LINK else None


@pytest.fixture
async def target(nodes: Nodes) -> Target:
    peer = await nodes.start("alpha")
    victim = await nodes.start("beta")
    attacker = await nodes.start("mallory")
    await pair(peer, victim)
    await pair(attacker, victim, connect=False)
    await nodes.stop(attacker)  # the attacking process uses its key; its daemon is not needed
    identity = attacker.data_dir / "identity"
    return Target(peer, victim, [str(identity / CERTIFICATE_FILE), str(identity / KEY_FILE)])


class Attacker:
    """The attacking process (this file run with -m): one command at a time, JSON lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls) -> Attacker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.p2p.test_h2_abuse",
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def run(
        self,
        attack: str,
        during: Callable[[dict[str, Any]], Awaitable[None]],
        **spec: Any,
    ) -> dict[str, Any]:
        """Runs one attack; `during` is awaited at its checkpoint, while the attack holds."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write((json.dumps({"attack": attack, **spec}) + "\n").encode())
        await stdin.drain()
        async with asyncio.timeout(ATTACK_LIMIT):
            while line := await stdout.readline():
                message = json.loads(line)
                if "result" in message:
                    result: dict[str, Any] = message["result"]
                    return result
                await during(message)
                stdin.write(b"go\n")
                await stdin.drain()
        assert self.process.stderr is not None
        raise AssertionError(f"the attacker died: {(await self.process.stderr.read()).decode()}")

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            async with asyncio.timeout(ATTACKER_WAIT):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def attacker() -> AsyncIterator[Attacker]:
    running = await Attacker.start()
    try:
        yield running
    finally:
        await running.close()


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


class PeakMemory:
    """This process's peak resident memory since `start()` (VmHWM, reset through clear_refs)."""

    def __init__(self) -> None:
        self.baseline = _status_kib("VmRSS") * 1024
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")  # resets VmHWM to the current VmRSS
            self._peak_field = "VmHWM"
        except OSError:
            self._peak_field = "VmRSS"  # no reset here: the current figure is the best we have

    def growth(self) -> int:
        """Bytes the peak grew by since the start."""
        return _status_kib(self._peak_field) * 1024 - self.baseline

    def within(self, bound: int, what: str) -> str:
        growth = self.growth()
        assert growth <= bound, f"{what}: memory grew {growth / MiB:.1f} MiB > {bound / MiB:.0f}"
        return f"{growth / MiB:.1f} MiB"


async def hello(caller: Node, target: Node) -> link_service_pb2.HelloResponse:
    """LinkService.Hello on `target`'s link port as `caller`, over a new mutual-TLS channel."""
    assert caller.daemon.identity is not None and target.daemon.identity is not None
    channel = grpc.aio.secure_channel(
        target.address,
        link_channel_credentials(
            caller.daemon.identity, target.daemon.identity.certificate_pem.decode()
        ),
        options=link_channel_options(target.id),
    )
    try:
        stub = link_service_pb2_grpc.LinkServiceStub(channel)
        response: link_service_pb2.HelloResponse = await stub.Hello(
            link_service_pb2.HelloRequest(
                device=device_pb2.DeviceInfo(name=caller.name, protocol_version=1)
            ),
            timeout=RESPONSIVE_SECS,
        )
        return response
    finally:
        await channel.close(None)


async def assert_serving(target: Target) -> None:
    """beta answers its local API and alpha's Hello in time, and alpha's link to it is up."""
    try:
        async with asyncio.timeout(RESPONSIVE_SECS):
            node = await target.victim.client.node()
        async with asyncio.timeout(RESPONSIVE_SECS):
            response = await hello(target.peer, target.victim)
    except TimeoutError:
        raise AssertionError(f"beta did not answer within {RESPONSIVE_SECS}s") from None
    assert node.state == "ready"
    assert response.device.name == "beta"
    assert (await target.peer.client.peer(target.victim.id)).connected


class CallCounter:
    """Counts calls that reach one of the victim's handlers (the servicer looks it up per call)."""

    def __init__(self, victim: Node, side: Side, monkeypatch: pytest.MonkeyPatch) -> None:
        owner = getattr(victim.daemon, side.handler[0])
        handler = getattr(owner, side.handler[1])
        self.calls = 0

        async def counted(*args: Any) -> Any:
            self.calls += 1
            return await handler(*args)

        monkeypatch.setattr(owner, side.handler[1], counted)


# --- (1) rapid reset ----------------------------------------------------------------------------


@SIDES
async def test_rapid_reset_costs_no_handler_and_no_memory(
    side: Side, target: Target, attacker: Attacker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CVE-2023-44487: 10,000 complete requests, each reset at once, on one connection.

    grpc cancels the streams in its core: not one in 100 reaches the handler, memory stays
    within the bound, the connection still answers PING (grpc does not close it for resetting
    its own streams; the work it causes is what is bounded), and the daemon answers throughout.
    """
    counter = CallCounter(target.victim, side, monkeypatch)
    memory = PeakMemory()

    async def during(_: dict[str, Any]) -> None:
        await assert_serving(target)

    result = await attacker.run(
        "rapid_reset",
        during,
        port=target.port(side),
        identity=target.identity(side),
        path=side.path,
        count=10_000,
    )

    assert result["sent"] == 10_000, result
    assert result["answers_ping"] or result["goaway"] is not None, result
    assert counter.calls <= 100, f"{counter.calls} of 10,000 reset calls reached the handler"
    memory.within(ATTACK_RSS_BOUND, f"rapid reset on the {side.name} port")
    await assert_serving(target)


# --- (2) more streams than max_concurrent_streams -------------------------------------------------


@SIDES
async def test_streams_beyond_the_limit_are_refused(
    side: Side, target: Target, attacker: Attacker
) -> None:
    """Four times the advertised MAX_CONCURRENT_STREAMS (at least 200), all kept open.

    The server refuses every stream past its limit with RST_STREAM(REFUSED_STREAM) and keeps
    the connection; the streams it accepted wait for a request while the daemon serves others.
    """
    memory = PeakMemory()
    count = max(200, 4 * side.max_streams)

    async def during(_: dict[str, Any]) -> None:
        await assert_serving(target)

    result = await attacker.run(
        "stream_flood",
        during,
        port=target.port(side),
        identity=target.identity(side),
        path=side.path,
        count=count,
    )

    assert result["max_concurrent_streams"] == side.max_streams
    assert result["sent"] == count, result
    assert result["refused"] == {"REFUSED_STREAM": count - side.max_streams}, result
    assert result["answers_ping"], result
    memory.within(ATTACK_RSS_BOUND, f"stream flood on the {side.name} port")
    await assert_serving(target)


# --- (3) PING and SETTINGS floods -----------------------------------------------------------------


@SIDES
async def test_ping_floods_end_with_goaway(side: Side, target: Target, attacker: Attacker) -> None:
    """10,000 PINGs, 500 per write: pings closer than 500 ms are strikes, and the third is one
    too many (max_ping_strikes 2; the link port had 0, "never", and acknowledged all 10,000).

    grpc acknowledges the pings it has already read, then answers GOAWAY(ENHANCE_YOUR_CALM,
    "too_many_pings") and closes the connection.
    """
    memory = PeakMemory()

    async def during(_: dict[str, Any]) -> None:
        await assert_serving(target)

    result = await attacker.run(
        "ping_flood", during, port=target.port(side), identity=target.identity(side), count=10_000
    )

    assert result["goaway"] == {
        "code": ErrorCodes.ENHANCE_YOUR_CALM,
        "debug": "too_many_pings",
    }, result
    assert result["closed"] is not None and not result["answers_ping"], result
    assert result["pings_acked"] < 10_000, result
    memory.within(ATTACK_RSS_BOUND, f"ping flood on the {side.name} port")
    await assert_serving(target)


@SIDES
async def test_settings_floods_are_acknowledged_in_bounded_memory(
    side: Side, target: Target, attacker: Attacker
) -> None:
    """10,000 SETTINGS frames: HTTP/2 requires an ACK for each, and the server sends them all.

    grpc pauses reading a connection whose ACKs pile up unwritten, so an attacker that does
    not read gains nothing; here it reads, and memory stays flat while the daemon serves.
    """
    memory = PeakMemory()

    async def during(_: dict[str, Any]) -> None:
        await assert_serving(target)

    result = await attacker.run(
        "settings_flood",
        during,
        port=target.port(side),
        identity=target.identity(side),
        count=10_000,
    )

    assert result["sent"] == 10_000, result
    assert result["settings_acked"] == 10_000 + 1, result  # and the connection's first SETTINGS
    assert result["answers_ping"], result
    memory.within(ATTACK_RSS_BOUND, f"settings flood on the {side.name} port")
    await assert_serving(target)


# --- (4) hostile gRPC length prefixes -------------------------------------------------------------


def status(code: grpc.StatusCode) -> str:
    """The grpc-status trailer's text for `code`."""
    number: int = code.value[0]
    return str(number)


RESOURCE_EXHAUSTED = status(grpc.StatusCode.RESOURCE_EXHAUSTED)
INTERNAL = status(grpc.StatusCode.INTERNAL)


@SIDES
async def test_hostile_length_prefixes_are_refused_without_allocating(
    side: Side, target: Target, attacker: Attacker
) -> None:
    """gRPC's 5-byte prefix (compressed flag, 32-bit length), each case on its own stream.

    Lengths that read as negative in 32 bits (2^31, 2^32-1), 1 GiB, and one byte over the
    port's cap get RESOURCE_EXHAUSTED from the prefix alone (only 16 bytes of body follow), so
    nothing of that size is allocated; a gzip bomb (10 MiB of zeros in about 10 KiB) is
    RESOURCE_EXHAUSTED on the pairing port when it inflates past the cap and UNIMPLEMENTED on
    the link port, which accepts no compression; the compressed flag without an encoding (or
    with "identity") is INTERNAL. Each is a stream error: the connection goes on.
    """
    memory = PeakMemory()
    cases = {
        "2^31 (negative as int32)": [0, 1 << 31, 16],
        "2^32-1 (0xFFFFFFFF, -1 as int32)": [0, (1 << 32) - 1, 16],
        "1 GiB": [0, 1 << 30, 16],
        "cap + 1": [0, side.message_cap + 1, 16],
        "gzip bomb": [1, 0, ["gzip", 10 * MiB], ["grpc-encoding", "gzip"]],
        "compressed flag, no grpc-encoding": [1, 5, 5],
        "compressed flag, grpc-encoding identity": [1, 5, 5, ["grpc-encoding", "identity"]],
    }

    async def during(_: dict[str, Any]) -> None:
        await assert_serving(target)

    result = await attacker.run(
        "prefixes",
        during,
        port=target.port(side),
        identity=target.identity(side),
        path=side.path,
        cases=cases,
    )

    statuses = {name: outcome["status"] for name, outcome in result["cases"].items()}
    assert statuses == {
        "2^31 (negative as int32)": RESOURCE_EXHAUSTED,
        "2^32-1 (0xFFFFFFFF, -1 as int32)": RESOURCE_EXHAUSTED,
        "1 GiB": RESOURCE_EXHAUSTED,
        "cap + 1": RESOURCE_EXHAUSTED,
        "gzip bomb": status(side.gzip_status),
        "compressed flag, no grpc-encoding": INTERNAL,
        "compressed flag, grpc-encoding identity": INTERNAL,
    }, result
    cap = result["cases"]["cap + 1"]["message"]
    assert f"{side.message_cap + 1} vs. {side.message_cap}" in cap, cap
    assert result["answers_ping"] and result["goaway"] is None, result
    memory.within(ATTACK_RSS_BOUND, f"length prefixes on the {side.name} port")
    await assert_serving(target)


async def test_gzip_bombs_are_refused_before_inflating_on_the_link_port(
    target: Target, attacker: Attacker
) -> None:
    """256 streams at once (the limit), each 8 KiB on the wire that would inflate to just under
    the 8 MiB cap: 2 GiB for 2 MiB sent, from a paired peer.

    The link port accepts no compression (grpc.compression_enabled_algorithms_bitset), so each
    is UNIMPLEMENTED before inflating and memory stays flat. (With gzip enabled every one was
    inflated and handed to Python: the peak grew by some 170 MiB and the API took 0.6 s.)
    """
    memory = PeakMemory()

    async def during(_: dict[str, Any]) -> None:
        await assert_serving(target)

    result = await attacker.run(
        "gzip_bombs",
        during,
        port=target.port(LINK),
        identity=target.identity(LINK),
        path=LINK.path,
        streams=LINK.max_streams,
        inflated=LINK.message_cap - 64,
    )

    assert result["wire_bytes"] < 16 * 1024, result
    assert result["statuses"] == {status(grpc.StatusCode.UNIMPLEMENTED): LINK.max_streams}, result
    assert result["messages"] == ["Compression algorithm 'gzip' is disabled."], result
    assert result["answers_ping"], result
    memory.within(ATTACK_RSS_BOUND, "gzip bombs on the link port")
    await assert_serving(target)


# --- (5) a thousand sockets per port --------------------------------------------------------------


@pytest.fixture
def enough_descriptors() -> Iterator[None]:
    """The daemons hold a descriptor per attacking socket (2,000) besides their own."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4096:
        pytest.skip(f"needs 4,096 open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 4096), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_a_thousand_sockets_per_port_idle_or_garbage_are_closed(
    target: Target, attacker: Attacker, enough_descriptors: None
) -> None:
    """#15: 1,000 sockets at once to each peer port (2,000 held): 500 idle TCP, 250 sending
    bytes that are not TLS, 125 idle after a TLS handshake, 125 sending HTTP/1.1 after it (as a
    stranger on the pairing port, as mallory on the link port).

    While all are held, beta answers its API and a Hello, and alpha re-dials it from scratch
    (certificate read on the pairing port, Introduce, mutual-TLS Hello on the link port).
    Garbage is closed before the handshake deadline, idle sockets at it (TLS done but no
    HTTP/2 preface counts as idle); memory stays within SOCKET_FLOOD_RSS_BOUND.
    """
    memory = PeakMemory()

    async def during(checkpoint: dict[str, Any]) -> None:
        assert checkpoint["held"] == 2_000
        assert checkpoint["open"] >= 2 * (500 + 125), checkpoint  # the idle ones, at least
        await assert_serving(target)
        await target.peer.client.disconnect_peer(target.victim.id)
        async with asyncio.timeout(RESPONSIVE_SECS):
            connection = await target.peer.client.connect_to_peer(target.victim.id)
        assert connection.peer.connected
        memory.within(SOCKET_FLOOD_RSS_BOUND, "2,000 sockets held")

    result = await attacker.run(
        "sockets",
        during,
        targets=[
            [target.port(PAIRING), target.identity(PAIRING)],
            [target.port(LINK), target.identity(LINK)],
        ],
        idle=500,
        garbage=250,
        tls_idle=125,
        tls_garbage=125,
    )

    for side in (PAIRING, LINK):
        port = target.port(side)
        for kind, held, limit in (
            ("idle", 500, HANDSHAKE_TIMEOUT_SECS + 3),
            ("garbage", 250, HANDSHAKE_TIMEOUT_SECS),
            ("tls_idle", 125, HANDSHAKE_TIMEOUT_SECS + 3),
            ("tls_garbage", 125, HANDSHAKE_TIMEOUT_SECS),
        ):
            outcome = result[f"{port} {kind}"]
            assert outcome["held"] == outcome["closed"] == held, (side.name, kind, outcome)
            assert outcome["slowest"] < limit, (side.name, kind, outcome)
    memory.within(SOCKET_FLOOD_RSS_BOUND, "after the socket flood")
    await assert_serving(target)


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        _attacker_main()
