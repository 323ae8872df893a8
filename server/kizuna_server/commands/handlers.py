"""Commands backed by Python handlers (what plugins add), beside the owner's allow-list.

A handler command is described like an allow-listed one (ID, parameters, time limit, risk,
approval) and checked the same way; instead of a program, an async function runs with the
checked arguments and the caller's standard input, and returns an exit code and output.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from kizuna_server.commands.allowlist import AllowedCommand, Value

#: Standard input a handler gets at most (the rest of a larger input is refused).
MAX_HANDLER_STDIN: Final = 16 << 20

#: Who may run a handler command: any trusted peer, or only peers with the `commands`
#: permission (as allow-listed programs).
Gate = Literal["trusted", "commands"]


@dataclass(frozen=True, slots=True)
class Invocation:
    """One call of a handler: who asked, with what."""

    peer_id: str
    peer_name: str
    arguments: Mapping[str, Value]
    stdin: bytes = b""


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler returns: exit code 0 for success, and output."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


Handler = Callable[[Invocation], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class HandlerCommand:
    """A command run by `handler`; `command` carries its description and parameters (its argv
    is never executed). `owner` names the plugin, for errors and `kizuna status`."""

    command: AllowedCommand
    handler: Handler
    owner: str
    gate: Gate = "trusted"
