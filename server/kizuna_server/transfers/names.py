"""The names received files get, and the folder they land in.

A peer offers relative paths such as "photos/2026/a.jpg". Before anything is written,
`split_transfer_path` refuses every path that could leave the inbox (`..`, absolute paths, drive
letters, backslashes), that means something else on another system (Windows device names,
trailing dots and spaces, NTFS streams), or that would mislead whoever reads it (control and
bidi characters). `unique_name` picks a free name so nothing is overwritten silently, and
`check_inbox` refuses inbox settings where a received file could be loaded as configuration or
code (home, ~/.ssh, ~/.config, /etc, ...).
"""

import os
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Final

from kizuna_server.errors import ConfigError, KizunaError

MAX_COMPONENT_BYTES: Final = 255
"""Longest file or folder name (UTF-8 bytes): the limit of ext4, btrfs, APFS and NTFS alike."""

MAX_PATH_BYTES: Final = 4096
"""Longest offered path (UTF-8 bytes), Linux's PATH_MAX."""

MAX_DEPTH: Final = 64
"""Most components an offered path may have."""

# Illegal in Windows names; ':' also separates NTFS alternate data streams ("a:stream").
# The file may be copied on to such a system, so they are refused everywhere.
_WINDOWS_ILLEGAL: Final = frozenset('\\:<>"|?*')

# Control (Cc: C0, DEL, C1), format (Cf: bidi overrides and isolates, zero-width characters,
# BOM), line and paragraph separators.
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Except the joiners: emoji sequences (👨‍👩‍👧) and Persian or Indic names need them, and they
# neither reorder text nor hide a separator.
_JOINERS: Final = frozenset("\u200c\u200d")

_WINDOWS_DEVICES: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789\u00b9\u00b2\u00b3"}
)

_MAX_SHOWN: Final = 200
_MAX_NUMBERED: Final = 10_000


class UnsafeFileName(KizunaError):
    """A path offered by a peer could escape the inbox or mean something else on some system.

    Metadata: `name`, the offered path escaped for display.
    """

    reason = "UNSAFE_FILE_NAME"


def split_transfer_path(path: str) -> tuple[str, ...]:
    """The components of `path`, a relative '/'-separated path offered by a peer.

    Raises `UnsafeFileName` saying what is wrong unless every component is a plain name that
    means the same on Linux, macOS and Windows. NFC and NFD are both accepted and kept as sent.
    """
    components = path.split("/")
    problem = _path_problem(path) or _components_problem(components)
    if problem is not None:
        raise UnsafeFileName(f"unsafe file name {_shown(path)}: {problem}", name=_shown(path))
    return tuple(components)


def _path_problem(path: str) -> str | None:
    """What is wrong with the path as a whole, before it is split."""
    if not path:
        return "it is empty"
    # len() first: a huge string is refused without encoding it.
    if len(path) > MAX_PATH_BYTES or _utf8_length(path) > MAX_PATH_BYTES:
        return f"it is longer than {MAX_PATH_BYTES} bytes"
    if path.startswith("/"):
        return "it is absolute; only paths relative to the inbox are accepted"
    for char in path:
        problem = _character_problem(char)
        if problem is not None:
            return problem
    return None


def _character_problem(char: str) -> str | None:
    if char == "\\":
        return "it contains a backslash, a path separator on Windows"
    if char == ":":
        return "it contains ':', a drive or NTFS stream separator on Windows"
    if char in _WINDOWS_ILLEGAL:
        return f"it contains {char!r}, which Windows does not allow in names"
    category = unicodedata.category(char)
    if category == "Cs":
        return f"it contains U+{ord(char):04X}, a lone surrogate that is not a character"
    if category in _INVISIBLE_CATEGORIES and char not in _JOINERS:
        return f"it contains the invisible or control character U+{ord(char):04X}"
    return None


def _components_problem(components: list[str]) -> str | None:
    if len(components) > MAX_DEPTH:
        return f"it has more than {MAX_DEPTH} components"
    for component in components:
        problem = _component_problem(component)
        if problem is not None:
            return problem
    return None


def _component_problem(component: str) -> str | None:
    """What is wrong with one component of a path whose characters are already checked."""
    if not component:
        return "it has an empty component ('//' or a trailing '/')"
    if component in (".", ".."):
        return f"it has a {component!r} component; only plain names are accepted"
    if component.endswith((".", " ")):
        # Windows drops them: "a." and "a " would both become "a".
        return f"component {component!r} ends with a dot or a space"
    if _utf8_length(component) > MAX_COMPONENT_BYTES:
        return f"a component is longer than {MAX_COMPONENT_BYTES} bytes"
    # Windows opens the device for "nul", "NUL.txt" and "nul .tar.gz" alike.
    if component.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        return f"component {component!r} is a Windows device name"
    return None


def _utf8_length(text: str) -> int:
    """Bytes of `text` in UTF-8; lone surrogates (which have no encoding) count as 3 bytes."""
    return len(text.encode("utf-8", "surrogatepass"))


def _shown(path: str) -> str:
    """`path` quoted with control and invisible characters escaped, and shortened."""
    text = repr(path[:_MAX_SHOWN])
    return text if len(path) <= _MAX_SHOWN else f"{text}... ({len(path)} characters)"


def unique_name(name: str, taken: Callable[[str], bool]) -> str:
    """`name` if it is not `taken`, else the first free "stem (1).ext", "stem (2).ext", ...

    `name` is one component accepted by `split_transfer_path`. The stem is shortened, never
    inside a character, so that a numbered name stays within `MAX_COMPONENT_BYTES`. Raises
    `FileExistsError` when 10,000 numbered names are all taken.
    """
    if not taken(name):
        return name
    stem, extension = _split_extension(name)
    for number in range(1, _MAX_NUMBERED + 1):
        candidate = _numbered(stem, extension, number)
        if not taken(candidate):
            return candidate
    raise FileExistsError(f"{_shown(name)} and {_MAX_NUMBERED} numbered variants are all taken")


def _split_extension(name: str) -> tuple[str, str]:
    """("archive", ".tar.gz"), ("notes", ""), (".bashrc", ""): a leading dot is not an extension."""
    stem, extension = os.path.splitext(name)
    base, tar = os.path.splitext(stem)
    if tar.lower() == ".tar":
        return base, tar + extension
    return stem, extension


def _numbered(stem: str, extension: str, number: int) -> str:
    marker = f" ({number})"
    room = MAX_COMPONENT_BYTES - _utf8_length(marker) - _utf8_length(extension)
    if room < 1:  # an extension this long is kept as part of the stem instead
        stem, extension = stem + extension, ""
        room = MAX_COMPONENT_BYTES - _utf8_length(marker)
    # Cutting the bytes may split the last character; "ignore" drops its remainder.
    shortened = stem.encode()[:room].decode("utf-8", "ignore")
    return f"{shortened}{marker}{extension}"


# Refused as the inbox and anywhere inside: the system's own files and programs.
_SYSTEM_TREES: Final = tuple(
    Path(p)
    for p in (
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/opt",
        "/proc",
        "/run",
        "/sbin",
        "/snap",
        "/sys",
        "/usr",
        "/var/lib",
        "/var/log",
        "/var/spool",
    )
)

# Removable drives are mounted here (udisks); an inbox on one is fine.
_ALLOWED_SYSTEM_SUBTREES: Final = (Path("/run/media"),)

# Shared folders: fine to hold an inbox folder, not to be one.
_SHARED_FOLDERS: Final = tuple(
    Path(p)
    for p in ("/home", "/tmp", "/var", "/var/tmp")  # noqa: S108 (names refused, not files used)
)

# Folders directly in a home that hold programs on the PATH (hidden ones are refused anyway).
_HOME_PROGRAM_FOLDERS: Final = frozenset({"bin"})

# root's home is guarded too: a daemon run by another user must not write there either.
_ROOT_HOME: Final = Path("/root")


def check_inbox(path: Path, *, home: Path) -> None:
    """Raises `ConfigError` when received files in `path` could be loaded as code or settings.

    Refused: the root, `home` and its ancestors, hidden folders in `home` (~/.ssh, ~/.config,
    ...) and ~/bin, system folders (/etc, /usr, ...) and everything inside them. Paths are
    compared component by component after resolving symbolic links.
    """
    try:
        resolved = path.resolve()
        resolved_home = home.resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop before Python 3.13
        raise ConfigError(
            f"transfers.inbox: cannot resolve {path}: {error}", key="transfers.inbox"
        ) from None
    problem = (
        _home_problem(resolved, resolved_home)
        or _home_problem(resolved, _ROOT_HOME)
        or _system_problem(resolved)
    )
    if problem is not None:
        shown = str(path) if resolved == path else f"{path} (which resolves to {resolved})"
        raise ConfigError(
            f"transfers.inbox: {shown} {problem}. Received files must land in a folder of their "
            "own, such as ~/Downloads/Kizuna",
            key="transfers.inbox",
        )


def _home_problem(inbox: Path, home: Path) -> str | None:
    if inbox == home:
        return "is a home directory"
    if home.is_relative_to(inbox):
        return f"contains the home directory {home}"
    if not inbox.is_relative_to(home):
        return None
    top = home / inbox.relative_to(home).parts[0]
    if top.name.startswith("."):
        return f"{_is_or_inside(inbox, top)} the hidden folder {top}, where programs keep settings"
    if top.name in _HOME_PROGRAM_FOLDERS:
        return f"{_is_or_inside(inbox, top)} the program folder {top}"
    return None


def _system_problem(inbox: Path) -> str | None:
    if any(_is_at_or_in(inbox, tree) for tree in _ALLOWED_SYSTEM_SUBTREES):
        return None
    for tree in _SYSTEM_TREES:
        if _is_at_or_in(inbox, tree):
            return f"{_is_or_inside(inbox, tree)} the system folder {tree}"
    for folder in _SHARED_FOLDERS:
        if inbox in (folder, folder.resolve()):
            return f"is the shared folder {folder} itself"
    return None


def _is_at_or_in(inbox: Path, folder: Path) -> bool:
    """By components, and for `folder` also as resolved (/bin -> /usr/bin, /tmp -> /private/tmp)."""
    return inbox.is_relative_to(folder) or inbox.is_relative_to(folder.resolve())


def _is_or_inside(inbox: Path, folder: Path) -> str:
    return "is" if inbox in (folder, folder.resolve()) else "is inside"
