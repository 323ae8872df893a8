"""A command run as this device sees it (either direction), and the events about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, Final

from kizuna_server.commands.allowlist import Value
from kizuna_server.errors import KizunaError

COMMANDS: Final = "commands"


class RunState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    RUNNING = "running"
    EXITED = "exited"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    DENIED = "denied"

    @property
    def final(self) -> bool:
        return self not in (RunState.AWAITING_APPROVAL, RunState.RUNNING)


class Approval(StrEnum):
    NOT_NEEDED = "not_needed"
    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"
    EXPIRED = "expired"


class CommandDenied(KizunaError):
    """The owner denied the run or did not answer (metadata: `command`, `run_id`,
    `approval`)."""

    reason = "COMMAND_DENIED"


class CommandRunNotFound(KizunaError):
    """No run with that ID waits or runs here (metadata: `run_id`)."""

    reason = "COMMAND_RUN_NOT_FOUND"

    def __init__(self, run_id: str) -> None:
        super().__init__(f"no command run {run_id} waits or runs here", run_id=run_id)


class PluginFailed(KizunaError):
    """A plugin raised, took too long, or is not running (metadata: `plugin`)."""

    reason = "PLUGIN_FAILED"


class CommandTimedOut(KizunaError):
    """Carried in a timed-out run's `error` (metadata: `command`)."""

    reason = "COMMAND_TIMED_OUT"


@dataclass(slots=True)
class CommandRun:
    """One run. Incoming runs hold the arguments as checked; outgoing ones as given."""

    id: str
    peer_id: str
    peer_name: str
    command_id: str
    outgoing: bool
    arguments: dict[str, Value] = field(default_factory=dict)
    positional: tuple[str, ...] = ()
    state: RunState = RunState.RUNNING
    approval: Approval = Approval.NOT_NEEDED
    #: Unix time the owner must answer by (incoming, awaiting approval).
    approval_deadline: float = 0.0
    exit_code: int = 0
    #: Unix times; 0 until it happened.
    start_time: float = 0.0
    end_time: float = 0.0
    #: How long the program ran.
    seconds: float = 0.0
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    truncated: bool = False
    error: KizunaError | None = None


@dataclass(frozen=True, slots=True)
class CommandStarted:
    event_type: ClassVar[str] = "command_started"
    run: CommandRun


@dataclass(frozen=True, slots=True)
class CommandExecuted:
    event_type: ClassVar[str] = "command_executed"
    run: CommandRun


@dataclass(frozen=True, slots=True)
class CommandApprovalRequested:
    event_type: ClassVar[str] = "command_approval_requested"
    run: CommandRun
