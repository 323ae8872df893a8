"""What the `kizuna` commands share about IDs and errors: naming a transfer or stream by a
unique prefix of its ID, and adding what to do to a daemon error that does not say it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Final, TypeVar

from kizuna_client import KizunaError
from kizuna_client.errors import InvalidArgumentError

#: Characters of an ID the commands accept at the least (a full ID always works).
MIN_PREFIX: Final = 4
#: Characters of an ID shown in lists (and enough to name it in practice).
SHORT: Final = 8

T = TypeVar("T")


def choose_by_id(
    items: Sequence[T],
    text: str,
    *,
    id_of: Callable[[T], str],
    describe: Callable[[T], str],
    noun: str,
    lists: str,
    not_found: Callable[[str], KizunaError],
) -> T:
    """The item `text` names: its full ID or a unique prefix (>= MIN_PREFIX characters).

    `noun` ("transfer") and `lists` (the command that lists them) go into the messages;
    `not_found` builds the error for no match; `describe` tells apart several matches."""
    wanted = text.strip().lower()
    for item in items:
        if id_of(item) == wanted:
            return item
    if len(wanted) < MIN_PREFIX:
        raise InvalidArgumentError(
            f"{text!r} is too short: give at least {MIN_PREFIX} characters of the {noun} ID "
            f"('{lists}' lists them)",
            metadata={"field": "id"},
        )
    found = [item for item in items if id_of(item).startswith(wanted)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise not_found(wanted)
    shown = max(SHORT, _common_prefix([id_of(item) for item in found]) + 1)
    names = ", ".join(f"{id_of(item)[:shown]} ({describe(item)})" for item in found)
    raise InvalidArgumentError(
        f"{text!r} matches several {noun}s: {names}; give more of the ID",
        metadata={"field": "id"},
    )


def _common_prefix(ids: Sequence[str]) -> int:
    first, last = min(ids), max(ids)
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return length


@contextlib.contextmanager
def hinted(hints: Mapping[str, str]) -> Iterator[None]:
    """Adds what to do (`hints`, by reason) to a daemon error that does not say it."""
    try:
        yield
    except KizunaError as exc:
        hint = hints.get(exc.reason)
        if hint is None:
            raise
        raise type(exc)(f"{exc.message}; {hint}", code=exc.code, metadata=exc.metadata) from None
