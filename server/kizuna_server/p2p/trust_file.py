"""The trust store on disk: `DATA/trust.json`, private to this user and written atomically.

A file that cannot be used is reported and left exactly as it is; it is never repaired or removed.
"""

import json
import os
import stat
from pathlib import Path

from kizuna_server.core.trust import TrustStore, TrustStoreInvalid
from kizuna_server.errors import KizunaError
from kizuna_server.files import write_file_atomically

TRUST_FILE = "trust.json"
_REMEDY = (
    "restore it from a backup, or move it away to start with no trusted peers "
    "(they must then pair again)"
)


class TrustStoreFileError(KizunaError):
    """The trust file cannot be read or used; the message names the file and the remedy."""

    reason = "INTERNAL"

    def __init__(self, path: Path, problem: str, remedy: str = _REMEDY) -> None:
        super().__init__(f"trust store {path}: {problem}; {remedy}")
        self.path = path


def load_trust_store(path: Path) -> TrustStore:
    """Reads the trust store at `path`; a missing file is an empty store. Blocking I/O."""
    try:
        with path.open("rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise TrustStoreFileError(path, "not a regular file")
            if info.st_mode & 0o077:
                raise TrustStoreFileError(
                    path,
                    f"other users may access it (mode {stat.S_IMODE(info.st_mode):o}) and it "
                    "lists the devices this one trusts",
                    f"if its contents are yours, run `chmod 600 {path}`; otherwise {_REMEDY}",
                )
            data = file.read()
    except FileNotFoundError:
        return TrustStore()
    except OSError as error:
        raise TrustStoreFileError(path, f"cannot be read ({error.strerror or error})") from error

    try:
        document = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except UnicodeDecodeError as error:
        raise TrustStoreFileError(path, f"not UTF-8 text ({error.reason})") from error
    except ValueError as error:  # json.JSONDecodeError and the hooks' errors
        raise TrustStoreFileError(path, f"not valid JSON ({error})") from error
    try:
        return TrustStore.from_document(document)
    except TrustStoreInvalid as error:
        raise TrustStoreFileError(path, f"invalid content at {error.message}") from error


def save_trust_store(path: Path, store: TrustStore) -> None:
    """Replaces the file at `path` with `store`, mode 0600, atomically. Blocking I/O."""
    text = json.dumps(store.to_document(), indent=2, sort_keys=True) + "\n"
    write_file_atomically(path, text.encode("utf-8"), mode=0o600)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")
