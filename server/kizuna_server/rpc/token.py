"""The bearer token that guards the optional loopback TCP control API.

256 random bits, hex encoded, kept in a 0600 file that clients on this machine read. Created on
the first start that enables TCP; a file others can read or that was tampered with is refused.
"""

import os
import re
import secrets
import stat
from pathlib import Path

from kizuna_server.errors import KizunaError
from kizuna_server.files import ensure_private_directory, write_file_atomically

_TOKEN = re.compile(r"[0-9a-f]{64}")


class ApiTokenFileError(KizunaError):
    """The token file is unreadable, malformed or readable by others."""

    reason = "INTERNAL"


def load_or_create_token(path: Path) -> str:
    """Returns the token in `path`, creating the file (0600) with a new token if missing."""
    if not path.exists():
        ensure_private_directory(path.parent)
        token = secrets.token_hex(32)
        write_file_atomically(path, token.encode() + b"\n", mode=0o600)
        return token
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ApiTokenFileError(
            f"cannot open {path} ({exc.strerror}); it must be a regular file, not a link"
        ) from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            raise ApiTokenFileError(
                f"{path} must be a regular file owned by this user (uid {os.getuid()}); "
                "delete it to create a new token"
            )
        if info.st_mode & 0o077:
            raise ApiTokenFileError(
                f"{path} is readable by other users (mode {info.st_mode & 0o777:o}); "
                f"run 'chmod 600 {path}' or delete it to create a new token"
            )
        token = file.read(1024).decode("ascii", errors="replace").strip()
    if not _TOKEN.fullmatch(token):
        raise ApiTokenFileError(
            f"{path} does not hold a 64-character hex token; delete it to create a new one"
        )
    return token
