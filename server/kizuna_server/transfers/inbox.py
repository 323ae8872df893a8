"""Writing inside the inbox without ever leaving it.

Every path is walked one component at a time from an open directory descriptor, with
O_NOFOLLOW on every open and mkdir/rename relative to the directory descriptor they belong to:
a symbolic link planted anywhere (THREATS #3, #4) makes the open fail instead of being
followed, and swapping a directory for a link after the check (#5) does not redirect a write
that already holds the real directory. Data goes to a hidden part file first; only a verified,
fsynced file is renamed to its final name, and a rename never replaces an existing name (#7).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from kizuna_server.transfers.names import UnsafeFileName, unique_name

_O_DIR: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_O_PART: Final = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
_RENAME_NOREPLACE: Final = 1
_AT_FDCWD: Final = -100

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)
_syncfs = getattr(_libc, "syncfs", None)


def file_mode(mode: int) -> int:
    """Permission bits a received file gets: the sender's, never set-id, sticky or writable by
    group or others, always readable and writable by its owner."""
    return (mode & 0o777 & ~0o022) | 0o600


def directory_mode(mode: int) -> int:
    """As file_mode, for directories (the owner can always enter and write)."""
    return (mode & 0o777 & ~0o022) | 0o700


def part_name(transfer_id: str, index: int) -> str:
    """The hidden name a file is written under until it is verified (found again on resume)."""
    return f".kizuna-{transfer_id[:16]}-{index}.part"


def sync_filesystem(fd: int) -> None:
    """Flushes every file of the filesystem holding `fd` (one call for a batch of small files);
    falls back to fsync of `fd` where syncfs is missing."""
    if _syncfs is not None and _syncfs(fd) == 0:
        return
    os.fsync(fd)


def rename_no_replace(directory: int, old: str, new: str) -> None:
    """Renames `old` to `new` inside `directory`; FileExistsError if `new` exists."""
    if _renameat2 is not None:
        if _renameat2(directory, os.fsencode(old), directory, os.fsencode(new), _RENAME_NOREPLACE):
            code = ctypes.get_errno()
            if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
                raise OSError(code, os.strerror(code), new)
        else:
            return
    # Filesystems without RENAME_NOREPLACE: a hard link never replaces either.
    os.link(old, new, src_dir_fd=directory, dst_dir_fd=directory, follow_symlinks=False)
    os.unlink(old, dir_fd=directory)


def _exists(directory: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


class Landing:
    """One incoming transfer's view of the inbox: the directories it opened, by path."""

    def __init__(self, inbox: Path) -> None:
        inbox.mkdir(parents=True, exist_ok=True)
        # The inbox itself may be reached through a link the owner made (for example
        # ~/Downloads on another disk); everything below it is walked without following any.
        self.root = os.open(os.path.realpath(inbox), _O_DIR)
        self._dirs: dict[tuple[str, ...], int] = {(): self.root}

    def close(self) -> None:
        for fd in self._dirs.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._dirs.clear()

    def free_bytes(self) -> int:
        info = os.fstatvfs(self.root)
        return info.f_bavail * info.f_frsize

    def taken(self, name: str) -> bool:
        """Whether the inbox already has an entry (of any kind) with this name."""
        return _exists(self.root, name)

    def directory(self, components: Iterable[str], *, mode: int = 0o755) -> int:
        """The descriptor of a directory inside the inbox, created as needed, links refused."""
        path = tuple(components)
        fd = self._dirs.get(path)
        if fd is not None:
            return fd
        parent = self.directory(path[:-1])
        name = path[-1]
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, directory_mode(mode), dir_fd=parent)
        try:
            fd = os.open(name, _O_DIR, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UnsafeFileName(
                    f"{'/'.join(path)!r} is a link or a file in the inbox, not a folder; "
                    "nothing was written through it",
                    name="/".join(path),
                ) from None
            raise
        self._dirs[path] = fd
        return fd

    def open_part(self, directory: int, name: str, offset: int) -> tuple[int, int]:
        """Opens (or creates) a part file; returns its descriptor and the offset writing
        continues from: `offset` when the file holds at least that much, else its size."""
        try:
            fd = os.open(name, _O_PART, 0o600, dir_fd=directory)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            os.unlink(name, dir_fd=directory)  # a link planted with our part's name
            fd = os.open(name, _O_PART | os.O_EXCL, 0o600, dir_fd=directory)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise UnsafeFileName(f"{name!r} in the inbox is not a plain file", name=name)
        start = min(offset, info.st_size)
        if info.st_size != start:
            os.ftruncate(fd, start)
        return fd, start

    def remove_part(self, directory: int, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=directory)

    def part_exists(self, directory: int, name: str) -> bool:
        return _exists(directory, name)

    def commit(self, directory: int, part: str, name: str) -> str:
        """Gives a part file its final name, or the next free variant; returns the name used."""
        chosen = unique_name(name, lambda n: _exists(directory, n))
        while True:
            try:
                rename_no_replace(directory, part, chosen)
            except FileExistsError:  # taken between the check and the rename
                chosen = unique_name(name, lambda n: _exists(directory, n))
                continue
            return chosen

    def sync_directories(self) -> None:
        for fd in self._dirs.values():
            os.fsync(fd)
