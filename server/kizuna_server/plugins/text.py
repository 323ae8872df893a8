"""The text plugin: a short message or a link from a trusted peer, as KDE Connect's and
LocalSend's "send text" (docs/plugins.md).

- Peers run `text.message` (parameter `message`, up to 4096 characters, line breaks allowed).
  Any trusted peer may; no approval is asked (a message is shown, never executed).
- A message arrives as a `plugin_event` of type `text_received` (data: id, message, from,
  time, link when the message is one URL) and is kept in this device's inbox: the newest
  `config.keep` (200) in `<data dir>/plugins/text/inbox.jsonl`.
- Local commands: `inbox` (the messages as JSON, oldest first) and `clear`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any, ClassVar, Final

from kizuna_server.files import write_file_atomically
from kizuna_server.plugins.api import (
    Invocation,
    Plugin,
    PluginContext,
    Reply,
    command,
    local_command,
)

MAX_MESSAGE_CHARS: Final = 4096
_URL: Final = re.compile(r"(https?|ftp)://\S+")


class TextPlugin(Plugin):
    name: ClassVar[str] = "text"
    description: ClassVar[str] = "short messages and links from trusted devices"
    capabilities: ClassVar[tuple[str, ...]] = ("text",)

    def __init__(self) -> None:
        self._context: PluginContext | None = None
        self._messages: list[dict[str, Any]] = []
        self._keep = 200
        self._lock = asyncio.Lock()

    @property
    def _file(self) -> Path:
        assert self._context is not None
        return self._context.data_dir / "inbox.jsonl"

    async def start(self, context: PluginContext) -> None:
        self._context = context
        keep = context.config.get("keep", 200)
        if not isinstance(keep, int) or isinstance(keep, bool) or not 1 <= keep <= 10_000:
            raise ValueError("config 'keep' must be a number of messages from 1 to 10000")
        self._keep = keep
        if self._file.exists():
            lines = (await asyncio.to_thread(self._file.read_text)).splitlines()
            self._messages = [json.loads(line) for line in lines if line.strip()][-keep:]

    @command(
        "text.message",
        description="Show a short message or link on this device",
        parameters=[
            {
                "name": "message",
                "type": "string",
                "required": True,
                "pattern": f"(?s).{{1,{MAX_MESSAGE_CHARS}}}",
                "description": "the text (line breaks allowed)",
            }
        ],
    )
    async def message(self, call: Invocation) -> Reply:
        assert self._context is not None
        text = str(call.arguments["message"])
        entry: dict[str, Any] = {
            "id": secrets.token_hex(8),
            "message": text,
            "from": call.peer_id,
            "from_name": call.peer_name,
            "time": time.time(),
        }
        if _URL.fullmatch(text.strip()):
            entry["link"] = text.strip()
        async with self._lock:
            self._messages = [*self._messages, entry][-self._keep :]
            await self._save()
        self._context.publish("text_received", entry, call.peer_id)
        return Reply(stdout=b"delivered\n")

    @local_command("inbox", description="The messages received, oldest first, as JSON")
    async def inbox(self, call: Invocation) -> Reply:
        return Reply(stdout=json.dumps(self._messages, ensure_ascii=False).encode())

    @local_command("clear", description="Empties the inbox")
    async def clear(self, call: Invocation) -> Reply:
        async with self._lock:
            self._messages = []
            await self._save()
        return Reply()

    async def _save(self) -> None:
        data = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in self._messages).encode()
        await asyncio.to_thread(write_file_atomically, self._file, data)
