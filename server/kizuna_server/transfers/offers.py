"""An incoming offer: its entries checked before anything is written, what a person accepts of
it, and the top-level names the accepted entries are saved under.

Checks of what a peer sent, run off the event loop (100,000 names take most of a second);
the only I/O is asking the inbox which names are taken.
"""

from __future__ import annotations

from typing import Any

from kizuna_server.errors import InvalidArgument, LimitExceeded
from kizuna_server.transfers.inbox import Landing
from kizuna_server.transfers.model import Entry, ProtocolViolation
from kizuna_server.transfers.names import split_transfer_path, unique_name
from kizuna_server.transfers.store import valid_id


def check_offer(request: Any, max_files: int) -> list[Entry]:
    """The entries of a peer's offer, or the reason it is refused before anything is written."""
    if not valid_id(request.transfer_id):
        raise InvalidArgument("transfer_id: expected 32 hex characters", field="transfer_id")
    count = len(request.files)
    if count == 0:
        raise InvalidArgument("files: an offer needs at least one entry", field="files")
    if count > max_files:
        raise LimitExceeded(
            f"the offer has {count} entries; this device accepts at most {max_files} "
            "(transfers.max_files)",
            limit="transfers.max_files",
        )
    entries: list[Entry] = []
    seen: dict[str, bool] = {}  # path -> is a folder
    split: list[tuple[str, ...]] = []
    for item in request.files:
        split.append(split_transfer_path(item.path))
        if item.path in seen:
            raise InvalidArgument(f"files: {item.path!r} is offered twice", field="files")
        if item.directory and item.size:
            raise InvalidArgument(f"files: folder {item.path!r} has a size", field="files")
        seen[item.path] = item.directory
        entries.append(
            Entry(
                path=item.path,
                directory=item.directory,
                size=item.size,
                mode=item.mode & 0o777,
                mtime_ns=item.mtime_ns,
            )
        )
    if request.total_bytes != sum(e.size for e in entries):
        raise ProtocolViolation("total_bytes does not match the sum of the file sizes")
    # Once every path is known, whatever the order: nothing may sit inside a file. Each entry
    # looks up its own ancestors (linear in the offer; 100,000 entries take milliseconds).
    for entry, parts in zip(entries, split, strict=True):
        for depth in range(1, len(parts)):
            above = "/".join(parts[:depth])
            if seen.get(above) is False:
                raise InvalidArgument(
                    f"files: {entry.path!r} is inside {above!r}, a file", field="files"
                )
    return entries


def choose(entries: list[Entry], paths: list[str]) -> set[int]:
    """Indexes accepted by `paths` (each an offered path; a folder takes what is under it)."""
    if not paths:
        return set(range(len(entries)))
    offered = {e.path for e in entries}
    for path in paths:
        if path not in offered:
            raise InvalidArgument(f"paths: {path!r} is not in the offer", field="paths")
    chosen = set()
    for index, entry in enumerate(entries):
        for path in paths:
            if entry.path == path or entry.path.startswith(path + "/"):
                chosen.add(index)
    # Folders holding an accepted entry come along, so it has somewhere to go.
    for index, entry in enumerate(entries):
        if entry.directory and any(entries[i].path.startswith(entry.path + "/") for i in chosen):
            chosen.add(index)
    return chosen


def free_names(landing: Landing, tops: list[str]) -> dict[str, str]:
    """Top-level names the transfer is saved under: the offered one, or a free variant."""
    renamed: dict[str, str] = {}
    taken: set[str] = set()
    for top in tops:
        chosen = unique_name(top, lambda n: landing.taken(n) or n in taken)
        taken.add(chosen)
        if chosen != top:
            renamed[top] = chosen
    return renamed
