"""Crash-safe file writes and private directories for the daemon's own state.

A file is written to a temporary name in its directory, fsynced, renamed over the final name and
the directory fsynced, so after a crash the final name holds the old content or the new, never
half of either.
"""

import contextlib
import os
import stat
from pathlib import Path

from kizuna_server.errors import KizunaError


class UnsafePath(KizunaError):
    """A directory the daemon keeps private state in is owned by someone else or is a link."""

    reason = "INTERNAL"


def write_file_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replaces `path` with `data`; the file has `mode` from its first byte on."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_directory(path.parent)


def fsync_directory(path: Path) -> None:
    """Makes a rename or create in `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_directory(path: Path) -> None:
    """Creates `path` (mode 0700) or checks that an existing one is ours and not a link.

    An existing directory with group/other permissions is tightened to 0700.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafePath(f"{path} is not a directory (a symbolic link?); remove it and retry")
    if info.st_uid != os.getuid():
        raise UnsafePath(
            f"{path} belongs to uid {info.st_uid}, not to this user ({os.getuid()}); "
            "use a home of your own with --home or KIZUNA_HOME"
        )
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
