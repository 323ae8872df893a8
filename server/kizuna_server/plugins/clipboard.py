"""The clipboard plugin: send this device's clipboard to a peer, and optionally keep the two
in step, as KDE Connect's clipboard plugin (docs/plugins.md).

- X11's CLIPBOARD selection, read and set with xclip (Debian's `xclip`); on Wayland through
  XWayland. Text only (UTF-8), at most `config.max_bytes` (1 MiB).
- Peers run `clipboard.set` with the text as standard input: any trusted peer may, unless
  `config.accept = false`. It arrives as a `plugin_event` of type `clipboard_received`.
- Local commands: `send` (a peer's device ID: this clipboard to it), `get` (this clipboard),
  `sync` (a peer and on/off: keep the clipboards in step both ways while both run; kept in
  `<data dir>/plugins/clipboard/sync.json`), `status`.
- Keeping in step: the clipboard is looked at every `config.poll_ms` (500) and a new text is
  sent to the peers it is kept in step with; a text that came from a peer is not sent back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import ClassVar, Final

from kizuna_server.files import write_file_atomically
from kizuna_server.plugins.api import (
    Invocation,
    Plugin,
    PluginContext,
    Reply,
    command,
    local_command,
)

_PEER: Final = {
    "name": "peer",
    "type": "string",
    "required": True,
    "pattern": "[A-Za-z2-7-]{52,70}",
}
_XCLIP_SECS: Final = 5.0


class ClipboardUnavailable(RuntimeError):
    pass


class ClipboardPlugin(Plugin):
    name: ClassVar[str] = "clipboard"
    description: ClassVar[str] = "this device's clipboard to a peer, or kept in step with it"
    capabilities: ClassVar[tuple[str, ...]] = ("clipboard",)

    def __init__(self) -> None:
        self._context: PluginContext | None = None
        self._max_bytes = 1 << 20
        self._poll_secs = 0.5
        self._accept = True
        self._synced: set[str] = set()
        self._last = b""
        self._watching: asyncio.Task[None] | None = None

    async def start(self, context: PluginContext) -> None:
        self._context = context
        config = context.config
        self._max_bytes = _number(config, "max_bytes", 1 << 20, 1, 16 << 20)
        self._poll_secs = _number(config, "poll_ms", 500, 100, 60_000) / 1000
        self._accept = bool(config.get("accept", True))
        if self._sync_file.exists():
            self._synced = set(json.loads(self._sync_file.read_text()))
        self._synced |= set(config.get("sync_peers", ()))
        self._watching = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching

    @property
    def _sync_file(self) -> Path:
        assert self._context is not None
        return self._context.data_dir / "sync.json"

    # --- peers -------------------------------------------------------------------------------

    @command(
        "clipboard.set",
        description="Put text (standard input) on this device's clipboard",
        output_cap_bytes=4096,
    )
    async def put(self, call: Invocation) -> Reply:
        assert self._context is not None
        if not self._accept:
            return Reply(
                stderr=b"this device does not take clipboards (accept = false)\n", exit_code=1
            )
        if len(call.stdin) > self._max_bytes:
            return Reply(stderr=f"at most {self._max_bytes} bytes\n".encode(), exit_code=1)
        try:
            text = call.stdin.decode()
        except UnicodeDecodeError:
            return _refused("the clipboard takes UTF-8 text")
        try:
            await _xclip_in(call.stdin)
        except ClipboardUnavailable as exc:
            return _refused(str(exc))
        self._last = call.stdin
        self._context.publish(
            "clipboard_received",
            {
                "from": call.peer_id,
                "from_name": call.peer_name,
                "bytes": len(call.stdin),
                "text": text[:200],
            },
            call.peer_id,
        )
        return Reply()

    # --- this device ---------------------------------------------------------------------------

    @local_command("get", description="This device's clipboard text")
    async def get(self, call: Invocation) -> Reply:
        try:
            return Reply(stdout=await _xclip_out())
        except ClipboardUnavailable as exc:
            return _refused(str(exc))

    @local_command("send", description="This device's clipboard to a peer", parameters=[_PEER])
    async def send(self, call: Invocation) -> Reply:
        try:
            content = await _xclip_out()
        except ClipboardUnavailable as exc:
            return _refused(str(exc))
        return await self._send_to(str(call.arguments["peer"]), content)

    @local_command(
        "sync",
        description="Keep the clipboard in step with a peer (on) or stop (off)",
        parameters=[_PEER, {"name": "on", "type": "boolean", "required": True}],
    )
    async def sync(self, call: Invocation) -> Reply:
        peer = str(call.arguments["peer"]).replace("-", "").upper()
        if call.arguments["on"]:
            self._synced.add(peer)
        else:
            self._synced.discard(peer)
        data = json.dumps(sorted(self._synced)).encode()
        await asyncio.to_thread(write_file_atomically, self._sync_file, data)
        return Reply(stdout=data + b"\n")

    @local_command("status", description="The peers the clipboard is kept in step with (JSON)")
    async def status(self, call: Invocation) -> Reply:
        return Reply(stdout=json.dumps({"sync_peers": sorted(self._synced)}).encode())

    async def _send_to(self, peer: str, content: bytes) -> Reply:
        assert self._context is not None
        if len(content) > self._max_bytes:
            return Reply(
                stderr=f"the clipboard holds more than {self._max_bytes} bytes\n".encode(),
                exit_code=1,
            )
        return await self._context.run_on_peer(peer, "clipboard.set", stdin=content)

    async def _watch(self) -> None:
        """Sends a new clipboard text to the peers kept in step with, as long as it runs."""
        assert self._context is not None
        while True:
            await asyncio.sleep(self._poll_secs)  # polling X: there is no change notice here
            if not self._synced:
                continue
            try:
                content = await _xclip_out()
            except ClipboardUnavailable:
                continue
            if not content or content == self._last:
                continue
            self._last = content
            online = set(self._context.peers_with("clipboard"))
            for peer in sorted(self._synced & online):
                try:
                    reply = await self._send_to(peer, content)
                except Exception as exc:  # a peer that went away; the next change tries again
                    self._context.log.info("clipboard to %s not sent: %s", peer, exc)
                    continue
                if reply.exit_code != 0:
                    self._context.log.info("clipboard to %s refused: %s", peer, reply.stderr)


def _refused(why: str) -> Reply:
    return Reply(stderr=f"{why}\n".encode(), exit_code=1)


def _number(config: object, key: str, default: int, low: int, high: int) -> int:
    value = getattr(config, "get", lambda *_: default)(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"config {key!r} must be a whole number from {low} to {high}")
    return value


def _xclip() -> str:
    if not os.environ.get("DISPLAY"):
        raise ClipboardUnavailable("no X display: DISPLAY is not set (Wayland needs XWayland)")
    found = shutil.which("xclip")
    if found is None:
        raise ClipboardUnavailable("xclip is not installed: apt install xclip")
    return found


async def _xclip_out() -> bytes:
    process = await asyncio.create_subprocess_exec(
        _xclip(), "-selection", "clipboard", "-out",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), _XCLIP_SECS)
    if process.returncode != 0:
        if b"not available" in err:  # nothing on the clipboard yet
            return b""
        raise ClipboardUnavailable(f"xclip: {err.decode(errors='replace').strip()}")
    return out


async def _xclip_in(content: bytes) -> None:
    """Takes the CLIPBOARD selection: xclip forks a child that serves it until another
    program takes it, and the parent returns."""
    process = await asyncio.create_subprocess_exec(
        _xclip(), "-selection", "clipboard", "-in",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.wait_for(process.communicate(content), _XCLIP_SECS)
    if process.returncode != 0:
        raise ClipboardUnavailable(f"xclip could not set the clipboard (exit {process.returncode})")
