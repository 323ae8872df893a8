"""Tests for pairing: the code, the session state machine, MITM resistance, lockout and replays."""

import doctest
import hashlib
import itertools
import random
from collections.abc import Callable

import pytest

from kizuna_client.v1 import peer_pb2
from kizuna_server.core import pairing
from kizuna_server.core.pairing import (
    CODE_DIGITS,
    MAX_CERTIFICATE_BYTES,
    TERMINAL_STATES,
    TRANSITIONS,
    Answer,
    Confirm,
    PairingEvent,
    PairingExpired,
    PairingLockedOut,
    PairingProtocolError,
    PairingRejected,
    PairingSession,
    PairingThrottle,
    Request,
    Reveal,
    Role,
    SeenNonces,
    State,
    commitment,
    new_nonce,
    next_state,
    pairing_code,
)
from kizuna_server.errors import InvalidArgument, KizunaError

# Certificates are opaque DER bytes to the pairing core; these stand in for real ones.
CERT_A = b"\x30\x82" + b"A" * 400
CERT_B = b"\x30\x82" + b"B" * 400
CERT_M = b"\x30\x82" + b"M" * 400
NA = bytes(range(32))
NB = bytes(range(32, 64))
TIMEOUT = 120.0


def start(
    *, now: float = 0.0, nonce: bytes | None = NA, timeout: float = TIMEOUT
) -> tuple[PairingSession, Request]:
    return PairingSession.start(
        peer_id="B", own_cert=CERT_A, peer_cert=CERT_B, now=now, timeout=timeout, nonce=nonce
    )


def answer(
    request: Request, *, now: float = 0.0, nonce: bytes | None = NB
) -> tuple[PairingSession, Answer]:
    return PairingSession.answer(
        request, peer_id="A", own_cert=CERT_B, now=now, timeout=TIMEOUT, nonce=nonce
    )


def state_of(session: PairingSession) -> State:
    """Reads the state without mypy narrowing it across the steps that change it."""
    return session.state


def exchanged(now: float = 0.0) -> tuple[PairingSession, PairingSession]:
    """An initiator and a responder that both show the code, awaiting confirmation."""
    a, request = start(now=now)
    b, reply = answer(request, now=now)
    b.on_reveal(a.on_answer(reply, now=now), now=now)
    return a, b


def reference_code(cert_a: bytes, cert_b: bytes, na: bytes, nb: bytes) -> str:
    """The code as the protocol specifies it, written independently of the module."""
    h = hashlib.sha256(
        b"kizuna-pair-code-v1"
        + len(cert_a).to_bytes(4, "big")
        + cert_a
        + len(cert_b).to_bytes(4, "big")
        + cert_b
        + na
        + nb
    ).digest()
    digits = f"{int.from_bytes(h[:8], 'big') % 10**6:06d}"
    return f"{digits[:3]} {digits[3:]}"


# --- the code and the commitment ------------------------------------------------------------


def test_docstring_examples() -> None:
    result = doctest.testmod(pairing)
    assert result.attempted > 0
    assert result.failed == 0


def test_code_follows_the_specified_formula() -> None:
    assert pairing_code(CERT_A, CERT_B, NA, NB) == reference_code(CERT_A, CERT_B, NA, NB)


def test_commitment_follows_the_specified_formula() -> None:
    expected = hashlib.sha256(
        b"kizuna-pair-commit-v1" + len(CERT_A).to_bytes(4, "big") + CERT_A + NA
    ).digest()

    assert commitment(CERT_A, NA) == expected


def test_code_is_two_groups_of_three_digits_keeping_leading_zeros() -> None:
    codes = [pairing_code(CERT_A, CERT_B, NA, i.to_bytes(32, "big")) for i in range(200)]

    for code in codes:
        assert len(code) == CODE_DIGITS + 1
        assert code[3] == " " and (code[:3] + code[4:]).isdigit()
    assert any(code.startswith("0") for code in codes)


def test_code_is_deterministic_for_fixed_inputs() -> None:
    assert pairing_code(CERT_A, CERT_B, NA, NB) == pairing_code(CERT_A, CERT_B, NA, NB)
    assert commitment(CERT_A, NA) == commitment(CERT_A, NA)


@pytest.mark.parametrize("position", range(4))
def test_code_changes_when_any_input_changes(position: int) -> None:
    inputs = [CERT_A, CERT_B, NA, NB]
    changed = list(inputs)
    changed[position] = bytes([inputs[position][0] ^ 1]) + inputs[position][1:]

    assert pairing_code(*changed) != pairing_code(*inputs)


def test_code_depends_on_which_side_asked() -> None:
    assert pairing_code(CERT_A, CERT_B, NA, NB) != pairing_code(CERT_B, CERT_A, NA, NB)
    assert pairing_code(CERT_A, CERT_B, NA, NB) != pairing_code(CERT_A, CERT_B, NB, NA)


def test_length_prefix_keeps_certificate_boundaries_apart() -> None:
    # Without the prefix, moving a byte from one certificate to the other would hash the same.
    assert pairing_code(b"AB", b"C", NA, NB) != pairing_code(b"A", b"BC", NA, NB)


def test_commitment_binds_certificate_and_nonce() -> None:
    assert commitment(CERT_A, NA) != commitment(CERT_M, NA)
    assert commitment(CERT_A, NA) != commitment(CERT_A, NB)


def test_new_nonces_are_32_fresh_bytes() -> None:
    nonces = {new_nonce() for _ in range(100)}

    assert len(nonces) == 100
    assert {len(n) for n in nonces} == {32}


# --- the honest exchange --------------------------------------------------------------------


def test_both_sides_compute_the_same_code() -> None:
    a, request = start()
    assert a.code is None and a.state is State.AWAITING_CONFIRMATION
    assert request == Request(a.id, CERT_A, commitment(CERT_A, NA))

    b, reply = answer(request)
    assert b.id == a.id and b.code is None and b.peer_cert == CERT_A
    assert reply == Answer(a.id, NB)

    reveal = a.on_answer(reply, now=1.0)
    assert reveal == Reveal(a.id, NA)
    b.on_reveal(reveal, now=1.0)

    assert a.code == b.code == pairing_code(CERT_A, CERT_B, NA, NB)
    assert a.role is Role.INITIATOR and b.role is Role.RESPONDER
    assert a.state is b.state is State.AWAITING_CONFIRMATION


def test_fresh_ids_and_nonces_give_fresh_codes() -> None:
    first, request_1 = start(nonce=None)
    second, request_2 = start(nonce=None)

    assert first.id != second.id and len(first.id) == 32
    assert request_1.commitment != request_2.commitment


def test_initiator_confirming_first_completes_both() -> None:
    a, b = exchanged()

    to_b = a.confirm(now=2.0)
    assert state_of(a) is State.AWAITING_PEER
    b.on_confirm(to_b, now=2.0)
    assert state_of(b) is State.AWAITING_CONFIRMATION and b.peer_confirmed
    to_a = b.confirm(now=3.0)
    assert b.state is State.COMPLETED
    a.on_confirm(to_a, now=3.0)

    assert a.state is State.COMPLETED and a.finished and b.finished
    assert a.failure == b.failure == "" and not a.failed_attempt


def test_responder_confirming_first_completes_both() -> None:
    a, b = exchanged()

    to_a = b.confirm(now=2.0)
    assert state_of(b) is State.AWAITING_PEER
    a.on_confirm(to_a, now=2.0)
    assert state_of(a) is State.AWAITING_CONFIRMATION
    b.on_confirm(a.confirm(now=3.0), now=3.0)

    assert a.state is b.state is State.COMPLETED


def test_confirmations_crossing_on_the_wire_complete_both() -> None:
    a, b = exchanged()

    to_b, to_a = a.confirm(now=2.0), b.confirm(now=2.0)
    a.on_confirm(to_a, now=2.1)
    b.on_confirm(to_b, now=2.1)

    assert a.state is b.state is State.COMPLETED


def test_typed_code_that_matches_confirms() -> None:
    a, b = exchanged()
    assert a.code is not None

    a.confirm(now=1.0, typed_code=a.code.replace(" ", ""))
    b.confirm(now=1.0, typed_code=f" {b.code} ")

    assert a.state is b.state is State.AWAITING_PEER


@pytest.mark.parametrize("typo", ["000 000", "12345", "", "١٢٣٤٥٦", "code"])
def test_typed_code_that_differs_fails_the_pairing(typo: str) -> None:
    a, _ = exchanged()
    assert a.code is not None and typo.replace(" ", "") != a.code.replace(" ", "")

    with pytest.raises(PairingProtocolError) as caught:
        a.confirm(now=1.0, typed_code=typo)

    assert caught.value.metadata == {"field": "code"}
    assert a.state is State.FAILED and a.failed_attempt and "typed" in a.failure
    assert not a.local_confirmed


def test_confirming_before_the_code_exists_is_refused() -> None:
    a, request = start()
    b, _ = answer(request)

    for session in (a, b):
        with pytest.raises(PairingProtocolError) as caught:
            session.confirm(now=1.0)
        assert caught.value.fault == "local"
        with pytest.raises(PairingProtocolError) as caught:
            session.on_confirm(Confirm(session.id), now=1.0)
        assert caught.value.fault == "peer"
        assert session.state is State.AWAITING_CONFIRMATION
        assert not session.local_confirmed and not session.peer_confirmed


def test_repr_hides_nonces_and_certificates() -> None:
    a, _ = exchanged()

    shown = repr(a)
    assert "own_nonce" not in shown and repr(NA) not in shown and "AAAA" not in shown
    assert a.id in shown and "awaiting_confirmation" in shown


# --- man in the middle ----------------------------------------------------------------------


def random_nonce(rng: random.Random) -> bytes:
    return rng.randbytes(32)


def relay_a_first(rng: random.Random) -> tuple[str, str]:
    """M completes its session with A first, learning A's code, then runs one with B."""
    a, request_a = PairingSession.start(
        peer_id="B", own_cert=CERT_A, peer_cert=CERT_M, now=0.0, nonce=random_nonce(rng)
    )
    m_toward_a, reply_to_a = PairingSession.answer(
        request_a, peer_id="A", own_cert=CERT_M, now=0.0, nonce=random_nonce(rng)
    )
    m_toward_a.on_reveal(a.on_answer(reply_to_a, now=0.0), now=0.0)
    target = m_toward_a.code
    assert target is not None and target == a.code
    # M knows A's code before committing towards B, so it picks its nonce with that knowledge;
    # B's code still hangs on Nb, which B draws only after the commitment arrived.
    chosen = hashlib.sha256(target.encode() + random_nonce(rng)).digest()
    m_toward_b, request_b = PairingSession.start(
        peer_id="B", own_cert=CERT_M, peer_cert=CERT_B, now=0.0, nonce=chosen
    )
    b, reply_to_m = PairingSession.answer(
        request_b, peer_id="M", own_cert=CERT_B, now=0.0, nonce=random_nonce(rng)
    )
    b.on_reveal(m_toward_b.on_answer(reply_to_m, now=0.0), now=0.0)
    assert a.code is not None and b.code is not None
    return a.code, b.code


def relay_b_first(rng: random.Random) -> tuple[str, str]:
    """M commits towards B and learns B's code first, then answers A."""
    m_toward_b, request_b = PairingSession.start(
        peer_id="B", own_cert=CERT_M, peer_cert=CERT_B, now=0.0, nonce=random_nonce(rng)
    )
    b, reply_to_m = PairingSession.answer(
        request_b, peer_id="M", own_cert=CERT_B, now=0.0, nonce=random_nonce(rng)
    )
    reveal_to_b = m_toward_b.on_answer(reply_to_m, now=0.0)
    target = m_toward_b.code
    assert target is not None
    a, request_a = PairingSession.start(
        peer_id="B", own_cert=CERT_A, peer_cert=CERT_M, now=0.0, nonce=random_nonce(rng)
    )
    # M's answer to A may depend on everything M has seen (B's code, A's commitment), but A's
    # code also hangs on Na, which stays hidden until M has answered.
    chosen = hashlib.sha256(target.encode() + request_a.commitment).digest()
    m_toward_a, reply_to_a = PairingSession.answer(
        request_a, peer_id="A", own_cert=CERT_M, now=0.0, nonce=chosen
    )
    m_toward_a.on_reveal(a.on_answer(reply_to_a, now=0.0), now=0.0)
    b.on_reveal(reveal_to_b, now=0.0)
    assert a.code is not None and b.code is not None
    return a.code, b.code


@pytest.mark.parametrize("relay", [relay_a_first, relay_b_first])
def test_man_in_the_middle_codes_match_only_by_chance(
    relay: Callable[[random.Random], tuple[str, str]],
) -> None:
    rng = random.Random(21)
    tries = 2000

    matches = 0
    for _ in range(tries):
        code_at_a, code_at_b = relay(rng)
        matches += code_at_a == code_at_b

    # At 1e-6 per try, 2000 tries match with probability 0.2 %; with these seeds, never.
    assert matches == 0


def test_man_in_the_middle_changing_its_reveal_fails_the_pairing() -> None:
    rng = random.Random(22)
    # M commits towards B and gets Nb, then completes its session with A and learns A's code,
    # then wants to reveal to B a nonce that makes B's code equal A's. Grinding for the first
    # three digits takes about a thousand hashes (all six, about a million): the attack is
    # cheap exactly where the commitment forbids it.
    m_toward_b, request_b = PairingSession.start(
        peer_id="B", own_cert=CERT_M, peer_cert=CERT_B, now=0.0, nonce=random_nonce(rng)
    )
    b, reply_to_m = PairingSession.answer(request_b, peer_id="M", own_cert=CERT_B, now=0.0)
    m_toward_b.on_answer(reply_to_m, now=0.0)
    a, request_a = PairingSession.start(peer_id="B", own_cert=CERT_A, peer_cert=CERT_M, now=0.0)
    m_toward_a, reply_to_a = PairingSession.answer(request_a, peer_id="A", own_cert=CERT_M, now=0.0)
    m_toward_a.on_reveal(a.on_answer(reply_to_a, now=0.0), now=0.0)
    assert a.code is not None and m_toward_a.code == a.code
    ground = next(
        candidate
        for candidate in (i.to_bytes(32, "big") for i in itertools.count())
        if pairing_code(CERT_M, CERT_B, candidate, reply_to_m.responder_nonce)[:3] == a.code[:3]
    )

    with pytest.raises(PairingProtocolError) as caught:
        b.on_reveal(Reveal(b.id, ground), now=1.0)

    assert caught.value.fault == "peer" and caught.value.metadata == {"field": "initiator_nonce"}
    assert b.state is State.FAILED and b.code is None and b.failed_attempt
    assert "commitment" in b.failure
    with pytest.raises(PairingProtocolError):
        b.on_reveal(Reveal(b.id, ground), now=1.0)


# --- expiry ---------------------------------------------------------------------------------


def step_answer() -> tuple[PairingSession, Callable[[float], object]]:
    a, request = start()
    _, reply = answer(request)
    return a, lambda now: a.on_answer(reply, now=now)


def step_reveal() -> tuple[PairingSession, Callable[[float], object]]:
    a, request = start()
    b, reply = answer(request)
    reveal = a.on_answer(reply, now=0.0)
    return b, lambda now: b.on_reveal(reveal, now=now)


def step_confirm() -> tuple[PairingSession, Callable[[float], object]]:
    a, _ = exchanged()
    return a, lambda now: a.confirm(now=now)


def step_peer_confirm() -> tuple[PairingSession, Callable[[float], object]]:
    _, b = exchanged()
    return b, lambda now: b.on_confirm(Confirm(b.id), now=now)


def step_second_confirm() -> tuple[PairingSession, Callable[[float], object]]:
    a, _ = exchanged()
    a.confirm(now=0.0)
    return a, lambda now: a.on_confirm(Confirm(a.id), now=now)


def step_reject() -> tuple[PairingSession, Callable[[float], object]]:
    a, _ = exchanged()
    return a, lambda now: a.reject(now=now)


def step_peer_reject() -> tuple[PairingSession, Callable[[float], object]]:
    _, b = exchanged()
    return b, lambda now: b.reject(now=now, by_peer=True)


def step_cancel() -> tuple[PairingSession, Callable[[float], object]]:
    a, _ = exchanged()
    return a, lambda now: a.cancel(now=now)


def step_peer_cancel() -> tuple[PairingSession, Callable[[float], object]]:
    _, b = exchanged()
    return b, lambda now: b.cancel(now=now, by_peer=True)


STEPS = [
    step_answer,
    step_reveal,
    step_confirm,
    step_peer_confirm,
    step_second_confirm,
    step_reject,
    step_peer_reject,
    step_cancel,
    step_peer_cancel,
]


@pytest.mark.parametrize("make_step", STEPS, ids=lambda f: f.__name__)
def test_every_step_works_just_before_expiry(
    make_step: Callable[[], tuple[PairingSession, Callable[[float], object]]],
) -> None:
    session, step = make_step()

    step(TIMEOUT - 0.001)

    assert session.state is not State.EXPIRED


@pytest.mark.parametrize("make_step", STEPS, ids=lambda f: f.__name__)
def test_every_step_at_or_after_expiry_expires_the_session(
    make_step: Callable[[], tuple[PairingSession, Callable[[float], object]]],
) -> None:
    session, step = make_step()
    assert session.expires == TIMEOUT
    before = (session.code, session.local_confirmed, session.peer_confirmed)

    with pytest.raises(PairingExpired) as caught:
        step(session.expires)

    assert caught.value.metadata == {"pairing_id": session.id}
    assert caught.value.reason == "PAIRING_EXPIRED"
    assert session.state is State.EXPIRED and "120 s" in session.failure
    assert (session.code, session.local_confirmed, session.peer_confirmed) == before
    with pytest.raises(PairingExpired):
        step(session.expires + 1000)


def test_expire_if_due_fires_once_at_the_boundary() -> None:
    a, _ = start(now=10.0)

    assert a.expires == 130.0
    assert not a.expire_if_due(129.999) and state_of(a) is State.AWAITING_CONFIRMATION
    assert a.expire_if_due(130.0) and a.state is State.EXPIRED and a.finished
    assert not a.expire_if_due(131.0)
    assert not a.failed_attempt


def test_expired_session_refuses_steps_even_with_an_earlier_clock() -> None:
    a, b = exchanged()
    a.expire_if_due(TIMEOUT)

    for step in (
        lambda: a.confirm(now=1.0),
        lambda: a.on_confirm(Confirm(a.id), now=1.0),
        lambda: a.reject(now=1.0),
        lambda: a.cancel(now=1.0),
    ):
        with pytest.raises(PairingExpired):
            step()
    assert b.state is State.AWAITING_CONFIRMATION


def test_completed_session_never_expires() -> None:
    a, b = exchanged()
    b.on_confirm(a.confirm(now=1.0), now=1.0)
    a.on_confirm(b.confirm(now=1.0), now=1.0)

    assert not a.expire_if_due(10_000.0) and a.state is State.COMPLETED


def test_custom_timeout_and_invalid_timeouts() -> None:
    a, _ = start(now=5.0, timeout=30.0)
    assert a.expires == 35.0

    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(PairingProtocolError) as caught:
            start(timeout=bad)
        assert caught.value.metadata == {"field": "timeout"}


# --- reject and cancel ----------------------------------------------------------------------


@pytest.mark.parametrize("rejecter", ["initiator", "responder"])
def test_either_side_may_reject_and_the_other_learns_it(rejecter: str) -> None:
    a, b = exchanged()
    here, there = (a, b) if rejecter == "initiator" else (b, a)

    here.reject(now=1.0)
    there.reject(now=1.0, by_peer=True)

    assert here.state is there.state is State.REJECTED
    assert here.failure == "rejected on this device" and there.failure == "rejected by the peer"
    assert here.failed_attempt and there.failed_attempt
    with pytest.raises(PairingRejected) as caught:
        there.confirm(now=2.0)
    assert caught.value.reason == "PAIRING_REJECTED"
    assert caught.value.metadata == {"pairing_id": a.id}


def test_reject_after_confirming_here_is_allowed() -> None:
    a, b = exchanged()
    b.on_confirm(a.confirm(now=1.0), now=1.0)

    b.reject(now=2.0)
    a.reject(now=2.0, by_peer=True)

    assert a.state is b.state is State.REJECTED


def test_reject_before_the_code_exists_is_allowed() -> None:
    a, request = start()
    b, _ = answer(request)

    b.reject(now=1.0)
    a.reject(now=1.0, by_peer=True)

    assert a.state is b.state is State.REJECTED


def test_initiator_may_cancel_and_the_responder_learns_it() -> None:
    a, b = exchanged()
    a.confirm(now=1.0)

    a.cancel(now=2.0)
    b.cancel(now=2.0, by_peer=True)

    assert a.state is b.state is State.CANCELLED
    assert a.failure == "cancelled on this device" and b.failure == "cancelled by the peer"
    assert not a.failed_attempt
    with pytest.raises(PairingRejected):
        b.on_confirm(Confirm(b.id), now=3.0)


def test_responder_may_not_cancel() -> None:
    a, b = exchanged()

    with pytest.raises(PairingProtocolError) as caught:
        b.cancel(now=1.0)
    assert caught.value.fault == "local" and "only the side that asked" in str(caught.value)
    with pytest.raises(PairingProtocolError) as caught:
        a.cancel(now=1.0, by_peer=True)
    assert caught.value.fault == "peer"

    assert a.state is b.state is State.AWAITING_CONFIRMATION


def test_completed_pairing_cannot_be_rejected_or_cancelled() -> None:
    a, b = exchanged()
    b.on_confirm(a.confirm(now=1.0), now=1.0)
    a.on_confirm(b.confirm(now=1.0), now=1.0)

    steps: list[Callable[[], None]] = [
        lambda: a.reject(now=2.0),
        lambda: a.reject(now=2.0, by_peer=True),
        lambda: a.cancel(now=2.0),
    ]
    for step in steps:
        with pytest.raises(PairingProtocolError):
            step()
    assert a.state is State.COMPLETED


# --- replays and malformed messages ---------------------------------------------------------


def test_second_answer_is_refused() -> None:
    a, request = start()
    _, reply = answer(request)
    a.on_answer(reply, now=1.0)
    code = a.code

    for again in (reply, Answer(a.id, bytes(32))):
        with pytest.raises(PairingProtocolError) as caught:
            a.on_answer(again, now=1.0)
        assert caught.value.fault == "peer"

    assert a.code == code and a.peer_nonce == NB


def test_second_reveal_is_refused() -> None:
    a, request = start()
    b, reply = answer(request)
    reveal = a.on_answer(reply, now=1.0)
    b.on_reveal(reveal, now=1.0)

    with pytest.raises(PairingProtocolError):
        b.on_reveal(reveal, now=1.0)

    assert b.state is State.AWAITING_CONFIRMATION and b.code == a.code


def test_second_peer_confirmation_is_refused() -> None:
    a, b = exchanged()
    to_b = a.confirm(now=1.0)
    b.on_confirm(to_b, now=1.0)

    with pytest.raises(PairingProtocolError) as caught:
        b.on_confirm(to_b, now=1.0)
    assert caught.value.fault == "peer"
    assert state_of(b) is State.AWAITING_CONFIRMATION

    b.confirm(now=2.0)
    assert b.state is State.COMPLETED
    with pytest.raises(PairingProtocolError):
        b.on_confirm(to_b, now=2.0)


def test_second_local_confirmation_is_refused() -> None:
    a, _ = exchanged()
    a.confirm(now=1.0)

    with pytest.raises(PairingProtocolError) as caught:
        a.confirm(now=1.0)

    assert caught.value.fault == "local" and a.state is State.AWAITING_PEER


def test_messages_for_another_pairing_are_refused() -> None:
    a, request = start()
    b, reply = answer(request)
    other = "f" * 32

    for step in (
        lambda: a.on_answer(Answer(other, NB), now=1.0),
        lambda: b.on_reveal(Reveal(other, NA), now=1.0),
        lambda: a.on_confirm(Confirm(other), now=1.0),
    ):
        with pytest.raises(PairingProtocolError) as caught:
            step()
        assert caught.value.metadata == {"field": "pairing_id"}
        assert caught.value.fault == "peer"

    assert a.code is None and b.code is None
    b.on_reveal(a.on_answer(reply, now=1.0), now=1.0)
    assert a.code == b.code is not None


@pytest.mark.parametrize("length", [0, 31, 33])
def test_nonces_of_the_wrong_length_are_refused(length: int) -> None:
    a, request = start()
    b, _ = answer(request)

    with pytest.raises(PairingProtocolError) as caught:
        a.on_answer(Answer(a.id, bytes(length)), now=1.0)
    assert caught.value.metadata == {"field": "responder_nonce"} and caught.value.fault == "peer"
    with pytest.raises(PairingProtocolError) as caught:
        b.on_reveal(Reveal(b.id, bytes(length)), now=1.0)
    assert caught.value.metadata == {"field": "initiator_nonce"}
    assert b.state is State.AWAITING_CONFIRMATION and a.code is None

    with pytest.raises(PairingProtocolError) as caught:
        answer(Request(a.id, CERT_A, bytes(length)))
    assert caught.value.metadata == {"field": "commitment"}
    for local in (
        lambda: start(nonce=bytes(length)),
        lambda: answer(request, nonce=bytes(length)),
        lambda: commitment(CERT_A, bytes(length)),
        lambda: pairing_code(CERT_A, CERT_B, NA, bytes(length)),
    ):
        with pytest.raises(PairingProtocolError) as caught:
            local()
        assert caught.value.fault == "local"


@pytest.mark.parametrize("size", [0, MAX_CERTIFICATE_BYTES + 1])
def test_certificates_must_be_non_empty_and_at_most_16_kib(size: int) -> None:
    bad = b"x" * size
    _, request = start()

    with pytest.raises(PairingProtocolError) as caught:
        answer(Request(request.pairing_id, bad, request.commitment))
    assert caught.value.metadata == {"field": "initiator_cert"} and caught.value.fault == "peer"
    with pytest.raises(PairingProtocolError):
        PairingSession.start(peer_id="B", own_cert=bad, peer_cert=CERT_B, now=0.0)
    with pytest.raises(PairingProtocolError):
        PairingSession.start(peer_id="B", own_cert=CERT_A, peer_cert=bad, now=0.0)
    with pytest.raises(PairingProtocolError):
        PairingSession.answer(request, peer_id="A", own_cert=bad, now=0.0)


def test_certificate_of_exactly_16_kib_is_accepted() -> None:
    big = b"x" * MAX_CERTIFICATE_BYTES

    a, request = PairingSession.start(peer_id="B", own_cert=big, peer_cert=CERT_B, now=0.0)
    b, reply = answer(request)
    b.on_reveal(a.on_answer(reply, now=0.0), now=0.0)

    assert a.code == b.code is not None


def test_request_carrying_the_responders_own_certificate_is_refused() -> None:
    _, request = start()

    with pytest.raises(PairingProtocolError) as caught:
        answer(Request(request.pairing_id, CERT_B, request.commitment))

    assert caught.value.metadata == {"field": "initiator_cert"}


@pytest.mark.parametrize("pairing_id", ["", "ABCDEF" * 6, "0" * 31, "0" * 33, "g" * 32])
def test_malformed_pairing_ids_are_refused(pairing_id: str) -> None:
    with pytest.raises(PairingProtocolError) as caught:
        answer(Request(pairing_id, CERT_A, commitment(CERT_A, NA)))
    assert caught.value.fault == "peer"
    with pytest.raises(PairingProtocolError) as caught:
        PairingSession.start(
            peer_id="B", own_cert=CERT_A, peer_cert=CERT_B, now=0.0, pairing_id=pairing_id
        )
    assert caught.value.fault == "local"


def test_protocol_errors_are_invalid_arguments_naming_whose_fault() -> None:
    a, _ = start()

    with pytest.raises(InvalidArgument) as caught:
        a.on_answer(Answer(a.id, b""), now=0.0)

    assert isinstance(caught.value, PairingProtocolError)
    assert caught.value.reason == "INVALID_ARGUMENT"
    assert str(caught.value).startswith("the peer sent ")


def test_seen_nonces_catch_a_repeat_within_ttl_and_allow_it_after() -> None:
    seen = SeenNonces(ttl=600.0)
    seen.add(NA, 0.0)
    seen.add(NB, 1.0)

    with pytest.raises(PairingProtocolError) as caught:
        seen.add(NA, 599.9, field="commitment")
    assert caught.value.metadata == {"field": "commitment"} and caught.value.fault == "peer"

    seen.add(NA, 600.0)
    with pytest.raises(PairingProtocolError):
        seen.add(NA, 1199.9)
    assert len(seen) == 1  # NB aged out on the way


def test_seen_nonces_stay_within_capacity() -> None:
    seen = SeenNonces(ttl=600.0, capacity=3)
    for i in range(4):
        seen.add(bytes([i]) * 32, float(i))

    assert len(seen) == 3
    seen.add(bytes([0]) * 32, 5.0)  # the oldest was forgotten to make room
    with pytest.raises(PairingProtocolError):
        seen.add(bytes([3]) * 32, 5.0)


def test_seen_nonces_memory_is_bounded_by_default() -> None:
    seen = SeenNonces()
    for i in range(70_000):
        seen.add(i.to_bytes(32, "big"), 0.0)

    assert len(seen) == 65536


def test_seen_nonces_stop_a_replayed_request() -> None:
    seen = SeenNonces()
    _, request = start()
    seen.add(request.commitment, 0.0, field="commitment")
    answer(request)

    with pytest.raises(PairingProtocolError):
        seen.add(request.commitment, 30.0, field="commitment")


# --- lockout --------------------------------------------------------------------------------


def test_three_failures_in_the_window_lock_the_key() -> None:
    throttle = PairingThrottle()
    throttle.record_failure("peer", 0.0)
    throttle.record_failure("peer", 10.0)
    throttle.check("peer", 11.0)
    throttle.record_failure("peer", 20.0)

    with pytest.raises(PairingLockedOut) as caught:
        throttle.check("peer", 20.0)
    assert caught.value.retry_after_secs == 300
    assert caught.value.reason == "PAIRING_LOCKED_OUT"
    assert caught.value.metadata == {"retry_after_secs": "300"}

    with pytest.raises(PairingLockedOut) as caught:
        throttle.check("peer", 119.5)
    assert caught.value.retry_after_secs == 201  # rounded up: never invites an early retry
    throttle.check("other", 20.0)


def test_lock_ends_after_the_lockout_and_counting_starts_afresh() -> None:
    throttle = PairingThrottle()
    for t in (0.0, 1.0, 2.0):
        throttle.record_failure("peer", t)

    with pytest.raises(PairingLockedOut) as caught:
        throttle.check("peer", 301.9)
    assert caught.value.retry_after_secs == 1
    throttle.check("peer", 302.0)

    throttle.record_failure("peer", 303.0)
    throttle.check("peer", 304.0)


def test_success_clears_the_key() -> None:
    throttle = PairingThrottle()
    throttle.record_failure("peer", 0.0)
    throttle.record_failure("peer", 1.0)

    throttle.record_success("peer")
    throttle.record_failure("peer", 2.0)

    throttle.check("peer", 3.0)
    throttle.record_success("never-seen")


def test_failures_older_than_the_window_do_not_count() -> None:
    throttle = PairingThrottle(window=600.0)
    throttle.record_failure("peer", 0.0)
    throttle.record_failure("peer", 10.0)

    throttle.record_failure("peer", 610.0)  # 0 and 10 are out of the window: one counts
    throttle.record_failure("peer", 611.0)
    throttle.check("peer", 611.0)
    throttle.record_failure("peer", 612.0)
    with pytest.raises(PairingLockedOut):
        throttle.check("peer", 612.0)

    throttle.record_failure("within", 0.0)
    throttle.record_failure("within", 10.0)
    throttle.record_failure("within", 599.0)
    with pytest.raises(PairingLockedOut):
        throttle.check("within", 599.0)


def test_quiet_keys_are_forgotten_but_locked_keys_are_kept() -> None:
    throttle = PairingThrottle(window=10.0, lockout=100.0)
    throttle.record_failure("quiet", 0.0)
    for t in (0.0, 1.0, 2.0):
        throttle.record_failure("locked", t)
    assert len(throttle) == 2

    with pytest.raises(PairingLockedOut):
        throttle.check("locked", 50.0)
    assert len(throttle) == 1

    throttle.check("locked", 102.0)
    assert len(throttle) == 0


def test_tracked_keys_are_capped() -> None:
    throttle = PairingThrottle()
    for i in range(PairingThrottle.MAX_KEYS + 100):
        throttle.record_failure(f"peer-{i}", 0.0)

    assert len(throttle) == PairingThrottle.MAX_KEYS == 4096
    throttle.record_failure("peer-0", 1.0)  # forgotten: starts again from one failure
    throttle.record_failure("peer-0", 1.0)
    throttle.check("peer-0", 1.0)
    throttle.record_failure(f"peer-{PairingThrottle.MAX_KEYS + 99}", 1.0)
    throttle.record_failure(f"peer-{PairingThrottle.MAX_KEYS + 99}", 1.0)
    with pytest.raises(PairingLockedOut):
        throttle.check(f"peer-{PairingThrottle.MAX_KEYS + 99}", 1.0)


def test_throttle_rejects_nonsense_settings() -> None:
    with pytest.raises(InvalidArgument):
        PairingThrottle(max_failures=0)
    with pytest.raises(InvalidArgument):
        PairingThrottle(window=0.0)
    with pytest.raises(InvalidArgument):
        PairingThrottle(lockout=-1.0)
    with pytest.raises(InvalidArgument):
        SeenNonces(capacity=0)


# --- the transition table -------------------------------------------------------------------


def test_states_map_one_to_one_to_the_proto() -> None:
    proto_names = set(peer_pb2.Pairing.State.keys()) - {"STATE_UNSPECIFIED"}

    assert {f"STATE_{state.value.upper()}" for state in State} == proto_names


def test_terminal_states_are_exactly_those_without_transitions_out() -> None:
    with_exits = {state for (_, state, _) in TRANSITIONS}

    assert set(State) - with_exits == TERMINAL_STATES
    assert set(TRANSITIONS.values()) == set(State)


COMPLEMENT = [
    (role, state, event)
    for role, state, event in itertools.product(Role, State, PairingEvent)
    if (role, state, event) not in TRANSITIONS
]


@pytest.mark.parametrize(("role", "state", "event"), COMPLEMENT)
def test_every_transition_not_in_the_table_is_refused(
    role: Role, state: State, event: PairingEvent
) -> None:
    with pytest.raises(PairingProtocolError) as caught:
        next_state(role, state, event)

    assert caught.value.metadata == {"field": str(event)}


def forced(role: Role, state: State) -> PairingSession:
    """A session of `role` put straight into `state`, code shown, nothing confirmed."""
    a, request = start()
    session = a if role is Role.INITIATOR else answer(request)[0]
    session.state = state
    session.code = "123 456"
    return session


def perform(session: PairingSession, event: PairingEvent) -> None:
    now = 1.0
    match event:
        case PairingEvent.ANSWER:
            session.on_answer(Answer(session.id, NB), now=now)
        case PairingEvent.REVEAL:
            session.on_reveal(Reveal(session.id, NA), now=now)
        case PairingEvent.CONFIRM:
            session.confirm(now=now)
        case PairingEvent.PEER_CONFIRM:
            session.on_confirm(Confirm(session.id), now=now)
        case PairingEvent.REJECT | PairingEvent.PEER_REJECT:
            session.reject(now=now, by_peer=event is PairingEvent.PEER_REJECT)
        case PairingEvent.CANCEL | PairingEvent.PEER_CANCEL:
            session.cancel(now=now, by_peer=event is PairingEvent.PEER_CANCEL)
        case _:
            raise AssertionError(f"{event} has no public method")


PUBLIC_EVENTS = set(PairingEvent) - {
    PairingEvent.COMPLETE,
    PairingEvent.FAIL,
    PairingEvent.EXPIRE,
}


@pytest.mark.parametrize(
    ("role", "state", "event"), [c for c in COMPLEMENT if c[2] in PUBLIC_EVENTS]
)
def test_methods_refuse_every_transition_not_in_the_table(
    role: Role, state: State, event: PairingEvent
) -> None:
    session = forced(role, state)
    over: dict[State, type[KizunaError]] = {
        State.EXPIRED: PairingExpired,
        State.REJECTED: PairingRejected,
        State.CANCELLED: PairingRejected,
    }
    expected = over.get(state, PairingProtocolError)

    with pytest.raises(expected):
        perform(session, event)

    assert session.state is state
    assert not session.local_confirmed and not session.peer_confirmed


def test_a_stall_counts_against_the_initiator_but_a_slow_person_here_does_not() -> None:
    """Row #35: on the responder, a pairing that expires without the initiator's confirmation
    is a stall and counts in PairingThrottle; one the initiator confirmed (this side's person
    was slow) does not, and neither does an expiry on the initiator's side."""
    a, b = exchanged()
    assert b.expire_if_due(b.expires) and b.failed_attempt
    assert a.expire_if_due(a.expires) and not a.failed_attempt

    a, b = exchanged()
    b.on_confirm(a.confirm(now=2.0), now=2.0)
    assert b.expire_if_due(b.expires) and not b.failed_attempt
