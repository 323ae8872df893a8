"""The audit log: one JSON line per run a peer asked for, appended to
`<data dir>/commands/audit.jsonl` whatever the outcome (docs/commands.md)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from kizuna_server.commands.model import CommandRun


def audit_line(run: CommandRun) -> str:
    """The run as one line of JSON (keys in a fixed order, no line breaks inside)."""
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.end_time or time.time())),
        "run_id": run.id,
        "peer_id": run.peer_id,
        "peer_name": run.peer_name,
        "command": run.command_id,
        "arguments": run.arguments,
        "approval": run.approval.value,
        "outcome": run.state.value,
        "exit_code": run.exit_code if run.start_time else None,
        "duration_secs": round(run.seconds, 6),
        "stdout_bytes": run.stdout_bytes,
        "stderr_bytes": run.stderr_bytes,
        "output_truncated": run.truncated,
    }
    if run.error is not None:
        entry["error"] = {"reason": run.error.reason, "message": run.error.message}
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"


class AuditLog:
    """Appends lines in the order runs end; the file is created 0600 with its folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()

    async def append(self, run: CommandRun) -> None:
        line = audit_line(run).encode()
        async with self._lock:
            await asyncio.to_thread(self._write, line)

    def _write(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line)  # one write with O_APPEND: a line is never interleaved
        finally:
            os.close(fd)
