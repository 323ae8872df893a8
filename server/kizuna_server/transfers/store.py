"""Where transfers live on disk: DATA/transfers/<id>.json and, while receiving, <id>.journal.

The record (written atomically) holds everything that changes rarely: the entries, the
decision, the state. The journal is append-only and holds what changes per file: a verified
offset of the file being written ("at"), the intent to give a fsynced part file its final name
("commit", with the file's SHA-256), and that it got it ("done"). After a crash (kill -9
included) the record plus its journal say exactly what is verified on disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from kizuna_server.files import ensure_private_directory, write_file_atomically
from kizuna_server.transfers.model import Transfer

log = logging.getLogger(__name__)

TRANSFERS_DIR: Final = "transfers"
SPOOL_DIR: Final = "spool"
_ID_CHARS: Final = frozenset("0123456789abcdef")


def valid_id(text: str) -> bool:
    """Transfer IDs are 32 lower-case hex characters (they name files)."""
    return len(text) == 32 and set(text) <= _ID_CHARS


@dataclass(slots=True)
class Replay:
    """What a journal says: per file, the last verified offset, commits and completions."""

    offsets: dict[int, int] = field(default_factory=dict)
    commits: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # sha, dir, name
    done: dict[int, tuple[str, str]] = field(default_factory=dict)  # sha, saved path


class Journal:
    """Append-only lines of one incoming transfer. Used from the receiving worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)

    def write(self, *lines: dict[str, Any], sync: bool = False) -> None:
        data = b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)
        # Whole lines or nothing: a short write (a full disk) would leave a torn line, and
        # replay stops at the first bad line, losing every line after it.
        end = os.lseek(self._fd, 0, os.SEEK_END)
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, end)
            raise
        if sync:
            os.fdatasync(self._fd)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)

    @staticmethod
    def replay(path: Path) -> Replay:
        result = Replay()
        try:
            text = path.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return result
        for line in text.splitlines():
            try:
                item = json.loads(line)
                if "at" in item:
                    result.offsets[int(item["at"])] = int(item["offset"])
                elif "commit" in item:
                    result.commits[int(item["commit"])] = (
                        str(item["hash"]),
                        str(item["dir"]),
                        str(item["name"]),
                    )
                elif "done" in item:
                    result.done[int(item["done"])] = (str(item["hash"]), str(item["saved"]))
            except (ValueError, KeyError, TypeError):
                break  # a torn last line after a crash: everything before it stands
        return result


class TransferStore:
    """Reads and writes transfer records; blocking (call through asyncio.to_thread)."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = data_dir / TRANSFERS_DIR
        self.spool = data_dir / SPOOL_DIR

    def prepare(self) -> None:
        ensure_private_directory(self.directory)
        ensure_private_directory(self.spool)

    def save(self, transfer: Transfer) -> None:
        data = json.dumps(transfer.to_json(), separators=(",", ":")).encode()
        write_file_atomically(self.directory / f"{transfer.id}.json", data, mode=0o600)

    def journal_path(self, transfer_id: str) -> Path:
        return self.directory / f"{transfer_id}.journal"

    def spool_dir(self, transfer_id: str) -> Path:
        return self.spool / transfer_id

    def delete(self, transfer_id: str) -> None:
        for path in (self.directory / f"{transfer_id}.json", self.journal_path(transfer_id)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def load_all(self) -> list[Transfer]:
        transfers = []
        for path in sorted(self.directory.glob("*.json")):
            if not valid_id(path.stem):
                continue
            try:
                transfers.append(Transfer.from_json(json.loads(path.read_bytes())))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("transfer record %s cannot be read (%s); it is ignored", path, exc)
        return transfers
