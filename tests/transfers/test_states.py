"""A transfer's state machine on its own (kizuna_server/transfers/states.py): what each change
saves, wakes and publishes, and in which order; which changes do nothing; what an ended record
keeps; what each request may ask of each state. No daemon, no files, no peer."""

from __future__ import annotations

import ast
import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kizuna_server.core.events import Payload
from kizuna_server.errors import KizunaError
from kizuna_server.transfers import states
from kizuna_server.transfers.model import (
    Entry,
    Failure,
    FileState,
    IntegrityCheckFailed,
    Pause,
    State,
    Transfer,
    TransferExpired,
    TransferInvalidState,
)
from kizuna_server.transfers.states import (
    KEPT_UNANSWERED_ENTRIES,
    STATE_EVENTS,
    StateMachine,
    mark_accepted,
    require_acceptable,
    require_active,
    require_pausable,
    require_paused,
    require_pending,
    require_servable,
    waits_for_link,
)

FINAL = [State.COMPLETED, State.FAILED, State.CANCELLED]
RUNNING = [State.NEGOTIATING, State.QUEUED, State.TRANSFERRING, State.PAUSED]


@dataclass
class Effects:
    """What the engine would do for each change, recorded in order."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    full_disk: bool = False

    async def save(self, transfer: Transfer) -> None:
        self.calls.append(("save", f"{transfer.state.value}/{transfer.pause.value}"))
        if self.full_disk:
            raise OSError(errno.ENOSPC, "No space left on device")

    def unsaved(self, transfer: Transfer) -> None:
        self.calls.append(("unsaved", transfer.id))

    def changed(self, transfer: Transfer) -> None:
        self.calls.append(("changed", transfer.state.value))

    def publish(self, payload: Payload) -> None:
        self.calls.append(("publish", payload.event_type))

    async def ended(self, transfer: Transfer) -> None:
        self.calls.append(("ended", transfer.state.value))

    def machine(self) -> StateMachine:
        return StateMachine(
            save=self.save,
            unsaved=self.unsaved,
            changed=self.changed,
            publish=self.publish,
            ended=self.ended,
        )


def _file(path: str, state: FileState = FileState.PENDING) -> Entry:
    return Entry(path=path, directory=False, size=10, mode=0o644, mtime_ns=0, state=state)


def _transfer(
    state: State = State.PENDING,
    *,
    outgoing: bool = False,
    pause: Pause = Pause.NONE,
    entries: list[Entry] | None = None,
) -> Transfer:
    return Transfer(
        id="ab" * 16,
        peer_id="peer",
        peer_name="peer",
        outgoing=outgoing,
        entries=entries if entries is not None else [_file("a")],
        state=state,
        pause=pause,
    )


async def test_a_change_is_saved_then_woken_then_announced() -> None:
    effects = Effects()
    transfer = _transfer(State.NEGOTIATING)
    await effects.machine().set_state(transfer, State.TRANSFERRING)
    assert transfer.state is State.TRANSFERRING
    assert effects.calls == [
        ("save", "transferring/"),
        ("changed", "transferring"),
        ("publish", "transfer_started"),
    ]


async def test_negotiating_is_saved_and_woken_but_has_no_event_of_its_own() -> None:
    effects = Effects()
    await effects.machine().set_state(_transfer(), State.NEGOTIATING)
    assert effects.calls == [("save", "negotiating/"), ("changed", "negotiating")]
    assert State.PENDING not in STATE_EVENTS and State.NEGOTIATING not in STATE_EVENTS


@pytest.mark.parametrize("state", list(State))
async def test_a_change_to_the_current_state_does_nothing(state: State) -> None:
    effects = Effects()
    transfer = _transfer(state, pause=Pause.LOCAL if state is State.PAUSED else Pause.NONE)
    await effects.machine().set_state(transfer, state)
    assert effects.calls == []
    assert transfer.state is state


@pytest.mark.parametrize("final", FINAL)
@pytest.mark.parametrize("target", list(State))
async def test_a_final_state_is_never_left(final: State, target: State) -> None:
    effects = Effects()
    transfer = _transfer(final)
    await effects.machine().set_state(transfer, target, error=KizunaError("late"))
    await effects.machine().pause(transfer, Pause.PEER)
    assert transfer.state is final and transfer.error is None
    assert transfer.pause is Pause.NONE
    assert effects.calls == []


async def test_any_state_but_paused_clears_why_it_was_paused() -> None:
    effects = Effects()
    transfer = _transfer(State.PAUSED, pause=Pause.LINK)
    await effects.machine().set_state(transfer, State.TRANSFERRING)
    assert transfer.pause is Pause.NONE


async def test_failing_keeps_the_error_and_fails_the_files_not_finished() -> None:
    effects = Effects()
    states = [FileState.PENDING, FileState.TRANSFERRING, FileState.COMPLETED, FileState.SKIPPED]
    transfer = _transfer(
        State.TRANSFERRING, entries=[_file(str(i), s) for i, s in enumerate(states)]
    )
    error = IntegrityCheckFailed("it kept failing", path="1")
    await effects.machine().set_state(transfer, State.FAILED, error=error)
    assert [e.state for e in transfer.entries] == [
        FileState.FAILED,
        FileState.FAILED,
        FileState.COMPLETED,
        FileState.SKIPPED,
    ]
    assert transfer.error is not None
    assert (transfer.error.reason, transfer.error.metadata) == (
        "INTEGRITY_CHECK_FAILED",
        {"path": "1"},
    )
    assert transfer.ended > 0
    # What the transfer held is let go last, once everyone has been told.
    assert effects.calls == [
        ("save", "failed/"),
        ("changed", "failed"),
        ("publish", "transfer_failed"),
        ("ended", "failed"),
    ]


async def test_completing_keeps_each_files_state() -> None:
    effects = Effects()
    transfer = _transfer(State.TRANSFERRING, entries=[_file("a", FileState.TRANSFERRING)])
    await effects.machine().set_state(transfer, State.COMPLETED)
    assert transfer.entries[0].state is FileState.TRANSFERRING
    assert effects.calls[-2:] == [("publish", "transfer_completed"), ("ended", "completed")]


@pytest.mark.parametrize("end", [State.FAILED, State.CANCELLED])
async def test_an_incoming_offer_ended_unanswered_keeps_a_short_record(end: State) -> None:
    many = KEPT_UNANSWERED_ENTRIES + 50
    incoming = _transfer(entries=[_file(str(i)) for i in range(many)])
    outgoing = _transfer(outgoing=True, entries=[_file(str(i)) for i in range(many)])
    for transfer in (incoming, outgoing):
        await Effects().machine().set_state(transfer, end)
    assert len(incoming.entries) == KEPT_UNANSWERED_ENTRIES
    assert (incoming.entry_count, incoming.total_files, incoming.total_bytes) == (
        many,
        many,
        many * 10,
    )
    assert len(outgoing.entries) == many  # the sender's own list is its to keep


async def test_a_change_whose_record_cannot_be_written_is_still_announced() -> None:
    effects = Effects(full_disk=True)
    transfer = _transfer(State.TRANSFERRING)
    await effects.machine().set_state(transfer, State.CANCELLED)
    assert transfer.state is State.CANCELLED
    assert effects.calls == [
        ("save", "cancelled/"),
        ("unsaved", transfer.id),
        ("changed", "cancelled"),
        ("publish", "transfer_cancelled"),
        ("ended", "cancelled"),
    ]


async def test_pausing_records_why_and_repausing_only_saves_the_new_reason() -> None:
    effects = Effects()
    machine = effects.machine()
    transfer = _transfer(State.TRANSFERRING)
    await machine.pause(transfer, Pause.LINK)
    assert (transfer.state, transfer.pause) == (State.PAUSED, Pause.LINK)
    assert effects.calls == [
        ("save", "paused/link"),
        ("changed", "paused"),
        ("publish", "transfer_paused"),
        ("save", "paused/link"),
    ]
    effects.calls.clear()
    await machine.pause(transfer, Pause.LOCAL)
    assert (transfer.state, transfer.pause) == (State.PAUSED, Pause.LOCAL)
    assert effects.calls == [("save", "paused/local")]  # no second transfer_paused


async def test_resuming_waits_paused_for_the_link_until_data_moves() -> None:
    effects = Effects()
    transfer = _transfer(State.PAUSED, pause=Pause.PEER)
    await effects.machine().resumed(transfer)
    assert waits_for_link(transfer)
    assert effects.calls == [("save", "paused/link")]


@pytest.mark.parametrize(
    ("before", "after"),
    [(Pause.NONE, Pause.LINK), (Pause.LINK, Pause.LINK), (Pause.LOCAL, Pause.LOCAL)],
)
async def test_after_a_restart_a_running_transfer_waits_paused(before: Pause, after: Pause) -> None:
    effects = Effects()
    transfer = _transfer(State.TRANSFERRING, pause=before)
    await effects.machine().restarted(transfer)
    assert (transfer.state, transfer.pause) == (State.PAUSED, after)
    assert effects.calls == [("save", f"paused/{after.value}")]  # no event: nobody watches yet


def test_accepting_marks_the_chosen_entries_and_skips_the_rest() -> None:
    transfer = _transfer(entries=[_file("a"), _file("b"), _file("c")])
    mark_accepted(transfer, {0, 2})
    assert [e.state for e in transfer.entries] == [
        FileState.PENDING,
        FileState.SKIPPED,
        FileState.PENDING,
    ]


@pytest.mark.parametrize("state", list(State))
def test_what_each_request_may_ask_of_each_state(state: State) -> None:
    transfer = _transfer(state)

    def allowed(check: Callable[[Transfer], None]) -> bool:
        try:
            check(transfer)
        except TransferInvalidState as exc:
            refused = exc
        else:
            return True
        assert refused.metadata["state"] == state.value  # the API shows it to the caller
        return False

    assert allowed(require_pending) is (state is State.PENDING)
    assert allowed(require_acceptable) is (state is State.PENDING)
    assert allowed(require_active) is (not state.final)
    assert allowed(require_pausable) is (state in RUNNING)
    assert allowed(require_paused) is (state is State.PAUSED)
    assert allowed(require_servable) is (not state.final)


def test_an_expired_offer_says_so_when_accepted() -> None:
    rejected = _transfer(State.FAILED)
    with pytest.raises(TransferInvalidState):
        require_acceptable(rejected)
    expired = _transfer(State.FAILED)
    expired.error = Failure.of(TransferExpired("not answered in time", transfer_id=expired.id))
    with pytest.raises(TransferExpired):
        require_acceptable(expired)
    with pytest.raises(TransferInvalidState):
        require_pending(expired)  # rejecting it is refused like any other ended offer


@pytest.mark.parametrize("why", list(Pause))
def test_a_fetch_is_served_unless_a_person_or_the_peer_paused_it(why: Pause) -> None:
    transfer = _transfer(State.PAUSED, pause=why)
    if why in (Pause.LOCAL, Pause.PEER):
        with pytest.raises(TransferInvalidState):
            require_servable(transfer)
    else:
        require_servable(transfer)
    assert waits_for_link(transfer) is (why is Pause.LINK)


def test_the_state_machine_does_no_io() -> None:
    """The seam itself: states.py reads and tests without a peer, a thread or a file."""
    tree = ast.parse(Path(states.__file__).read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    io = ("grpc", "asyncio", "os", "shutil", "socket", "kizuna_server.p2p")
    assert not {n for n in imported for m in io if n == m or n.startswith(f"{m}.")}
