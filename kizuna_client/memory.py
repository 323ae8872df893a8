"""glibc malloc tuning for processes that pass megabyte buffers around: the daemon (transfers,
streams) and Python apps while they move a data stream.

glibc gives each thread that allocates its own arena and keeps freed megabyte buffers in it,
so without care RSS grows by an arena per thread and stays at its peak after a transfer.
Left to its defaults, though, glibc maps every megabyte buffer fresh and hands freed heap back
at once, so each 1 MiB message built or parsed page-faults its memory in again (700 faults and
0.7 ms of CPU per MiB serialized on the development VM, against 0.2 ms without the faults).
The calls are best effort: without glibc they do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from typing import Final

#: mallopt's parameter numbers (glibc malloc.h).
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
_M_ARENA_MAX: Final = -8

_MIB: Final = 1 << 20


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


def reuse_large_buffers(*, mapped_from: int = 32 * _MIB, kept: int = 64 * _MIB) -> None:
    """Buffers under `mapped_from` bytes come from the heap, and up to `kept` bytes of freed
    heap stay for the next ones instead of being returned and faulted in again. Setting either
    turns off glibc's adaptive thresholds, which settle at 1 MiB mapped, 2 MiB kept: too little
    for a few megabyte messages in flight. `give_back` returns what is kept once a transfer or
    stream ends."""
    with contextlib.suppress(AttributeError):
        if _LIBC is not None:
            _LIBC.mallopt(_M_MMAP_THRESHOLD, mapped_from)
            _LIBC.mallopt(_M_TRIM_THRESHOLD, kept)


def give_back() -> None:
    """Returns freed heap memory to the system (after a transfer: its buffers are gone)."""
    with contextlib.suppress(AttributeError):
        if _LIBC is not None:
            _LIBC.malloc_trim(0)


class BulkUse:
    """Counts what in this process moves bulk data (an app's open data streams): the first to
    start turns on `reuse_large_buffers`, the last to end gives the kept memory back. The
    thresholds stay set afterwards; only the memory is returned."""

    def __init__(self) -> None:
        self.active = 0

    def started(self) -> None:
        if self.active == 0:
            reuse_large_buffers()
        self.active += 1

    def ended(self) -> None:
        self.active -= 1
        if self.active == 0:
            give_back()


#: The client's count for this process (kizuna_client.StreamHandle).
BULK: Final = BulkUse()
