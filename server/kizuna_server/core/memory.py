"""glibc malloc tuning for the daemon: bulk transfers pass 1 MiB buffers between threads.

glibc gives each thread that allocates its own arena and keeps freed megabyte buffers in it,
so without care RSS grows by an arena per thread and stays at its peak after a transfer.
Both calls are best effort: without glibc they do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from typing import Final

#: mallopt's parameter number for the arena cap (glibc malloc.h).
_M_ARENA_MAX: Final = -8


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC: Final = _libc()


def cap_arenas(arenas: int = 2) -> None:
    """At most `arenas` malloc arenas (the same as MALLOC_ARENA_MAX); call before threads start."""
    with contextlib.suppress(AttributeError):
        if _LIBC is not None:
            _LIBC.mallopt(_M_ARENA_MAX, arenas)


def give_back() -> None:
    """Returns freed heap memory to the system (after a transfer: its buffers are gone)."""
    with contextlib.suppress(AttributeError):
        if _LIBC is not None:
            _LIBC.malloc_trim(0)
