"""What an outgoing offer lists: the local paths a person named, walked into entries.

Folders are walked without following links; links and special files inside them are left out
and listed in `Skipped` (the receiver never sees them). Runs off the event loop.
"""

from __future__ import annotations

import logging
import os
import stat

from kizuna_server.errors import InvalidArgument, LimitExceeded
from kizuna_server.transfers.model import Entry, Skipped, SkipReason, SourceNotReadable
from kizuna_server.transfers.names import split_transfer_path
from kizuna_server.transfers.source import identity_of

log = logging.getLogger(__name__)


def scan_sources(paths: list[str], max_files: int, skipped: Skipped) -> list[Entry]:
    """The entries for local paths: files, and folders walked without following links (what is
    not sent from inside them goes to `skipped`)."""
    entries: list[Entry] = []
    names: set[str] = set()
    for text in paths:
        if not os.path.isabs(text):
            raise InvalidArgument(f"paths: {text!r} is not an absolute path", field="paths")
        path = os.path.realpath(text)  # a link named by the user is what they mean
        try:
            info = os.stat(path)
        except OSError as exc:
            raise SourceNotReadable(f"{text}: {exc.strerror}", path=text) from None
        top = os.path.basename(path.rstrip("/")) or "root"
        if top in names:
            raise InvalidArgument(f"paths: two entries are named {top!r}", field="paths")
        names.add(top)
        if stat.S_ISDIR(info.st_mode):
            _walk(path, top, info, entries, max_files, skipped=skipped)
        elif stat.S_ISREG(info.st_mode):
            if not os.access(path, os.R_OK):
                raise SourceNotReadable(f"{text}: not readable", path=text)
            entries.append(_entry(path, top, info))
        else:
            raise SourceNotReadable(f"{text}: not a regular file or folder", path=text)
        if len(entries) > max_files:
            raise LimitExceeded(
                f"more than {max_files} entries (transfers.max_files)", limit="transfers.max_files"
            )
    for entry in entries:
        split_transfer_path(entry.path)  # names the receiver would refuse fail here, early
    return entries


def _entry(path: str, name: str, info: os.stat_result) -> Entry:
    directory = stat.S_ISDIR(info.st_mode)
    return Entry(
        path=name,
        directory=directory,
        size=0 if directory else info.st_size,
        mode=stat.S_IMODE(info.st_mode),
        mtime_ns=info.st_mtime_ns,
        source="" if directory else path,
        identity=(0, 0, 0, 0) if directory else identity_of(info),
    )


def _walk(
    root: str, top: str, info: os.stat_result, entries: list[Entry], limit: int, *, skipped: Skipped
) -> None:
    entries.append(_entry(root, top, info))
    stack = [(root, top)]
    while stack:
        folder, name = stack.pop()
        try:
            children = sorted(os.scandir(folder), key=lambda d: d.name)
        except OSError as exc:
            raise SourceNotReadable(f"{folder}: {exc.strerror}", path=folder) from None
        for child in children:
            relative = f"{name}/{child.name}"
            if child.is_symlink():
                log.info("not sending %s: symbolic links are never sent", child.path)
                skipped.add(relative, SkipReason.SYMLINK)
                continue
            child_info = child.stat(follow_symlinks=False)
            if stat.S_ISDIR(child_info.st_mode):
                entries.append(_entry(child.path, relative, child_info))
                stack.append((child.path, relative))
            elif stat.S_ISREG(child_info.st_mode):
                entries.append(_entry(child.path, relative, child_info))
            else:
                log.info("not sending %s: not a regular file", child.path)
                skipped.add(relative, SkipReason.SPECIAL_FILE)
            if len(entries) > limit:
                return
