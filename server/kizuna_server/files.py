"""Crash-safe file writes and private directories for the daemon's own state.

A file is written to a temporary name in its directory, fsynced, renamed over the final name and
the directory fsynced, so after a crash the final name holds the old content or the new, never
half of either.
"""

import contextlib
import os
import socket
import stat
import tempfile
from pathlib import Path

from kizuna_server.errors import KizunaError


class UnsafePath(KizunaError):
    """A directory the daemon keeps private state in is owned by someone else or is a link."""

    reason = "INTERNAL"


def write_file_atomically(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replaces `path` with `data`; the file has `mode` (mkstemp's 0600 or tighter until then)
    from its first byte on."""
    # A fresh random name: a temp file left by a crash never blocks a later write.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)  # before any byte is written
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


def check_private_directory(path: Path, *, key: str) -> None:
    """Checks, without changing anything, that only this user can add or replace files in `path`.

    For directories the configuration points at (for example api.socket_path's), which the
    daemon must not create or chmod: they may be someone's home or /tmp.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise UnsafePath(f"{key}: directory {path} does not exist") from None
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafePath(f"{key}: {path} is not a directory (a symbolic link?)")
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise UnsafePath(
            f"{key}: {path} must belong to this user and be writable by nobody else "
            f"(owner uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):o}); "
            "choose a private directory"
        )


def remove_stale_socket(path: Path) -> None:
    """Removes a Unix socket left by a daemon that died; refuses anything else at `path`.

    A socket someone still listens on (another daemon configured with the same path) and any
    file that is not a socket are left alone, with an error saying so.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise UnsafePath(
            f"{path} exists and is not a socket; remove it or choose another api.socket_path"
        )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(os.fspath(path))
        except (ConnectionRefusedError, FileNotFoundError):
            pass  # nobody listens: stale
        else:
            raise UnsafePath(
                f"another process is listening on {path}; stop it or choose another api.socket_path"
            )
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
