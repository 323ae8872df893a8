"""Pairing: the commit-then-reveal exchange that yields the short code both people compare.

Pure computation and state (sessions, lockout, replay memory); the transport sends the messages.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

from kizuna_server.errors import InvalidArgument, KizunaError

__all__ = [
    "CODE_DIGITS",
    "DEFAULT_TIMEOUT",
    "MAX_CERTIFICATE_BYTES",
    "NONCE_BYTES",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Answer",
    "Confirm",
    "Fault",
    "PairingEvent",
    "PairingExpired",
    "PairingLockedOut",
    "PairingNotFound",
    "PairingProtocolError",
    "PairingRejected",
    "PairingSession",
    "PairingThrottle",
    "Request",
    "Reveal",
    "Role",
    "SeenNonces",
    "State",
    "commitment",
    "introduce_proof_message",
    "new_nonce",
    "next_state",
    "pairing_code",
    "start_proof_message",
]

CODE_DIGITS: Final = 6
NONCE_BYTES: Final = 32
MAX_CERTIFICATE_BYTES: Final = 16 * 1024
DEFAULT_TIMEOUT: Final = 120.0

_COMMIT_LABEL: Final = b"kizuna-pair-commit-v1"
_CODE_LABEL: Final = b"kizuna-pair-code-v1"
_START_PROOF_LABEL: Final = b"kizuna-pair-start-proof-v1"
_INTRODUCE_PROOF_LABEL: Final = b"kizuna-introduce-proof-v1"
_PAIRING_ID = re.compile(r"[0-9a-f]{32}")

#: Whose fault an error is: this process's caller, or the remote peer's messages.
Fault = Literal["local", "peer"]


# --- errors ---------------------------------------------------------------------------------


class PairingNotFound(KizunaError):
    """No pending pairing has that ID (metadata: `pairing_id`); raised by the session store."""

    reason = "PAIRING_NOT_FOUND"

    def __init__(self, pairing_id: str) -> None:
        super().__init__(f"no pending pairing with ID {pairing_id!r}", pairing_id=pairing_id)
        self.pairing_id = pairing_id


class PairingExpired(KizunaError):
    """The pairing was not confirmed on both sides before it expired (metadata: `pairing_id`)."""

    reason = "PAIRING_EXPIRED"

    def __init__(self, pairing_id: str) -> None:
        super().__init__(
            f"pairing {pairing_id} expired before both sides confirmed", pairing_id=pairing_id
        )
        self.pairing_id = pairing_id


class PairingRejected(KizunaError):
    """The pairing was rejected or cancelled, here or by the peer (metadata: `pairing_id`)."""

    reason = "PAIRING_REJECTED"

    def __init__(self, pairing_id: str, why: str) -> None:
        super().__init__(f"pairing {pairing_id} is over: {why}", pairing_id=pairing_id)
        self.pairing_id = pairing_id


class PairingLockedOut(KizunaError):
    """Too many failed attempts from this peer; retry after `retry_after_secs` (whole seconds)."""

    reason = "PAIRING_LOCKED_OUT"

    def __init__(self, retry_after_secs: int) -> None:
        super().__init__(
            f"too many failed pairing attempts; retry in {retry_after_secs} s",
            retry_after_secs=retry_after_secs,
        )
        self.retry_after_secs = retry_after_secs


class PairingProtocolError(InvalidArgument):
    """A pairing step was malformed or out of order (metadata: `field`).

    `fault` says whose it is, as h11 separates local from remote protocol errors: "peer" when
    a message from the other device was wrong (drop the link, count it against the peer),
    "local" when this process's caller misused the session (a bug or a stale UI action).
    """

    def __init__(self, message: str, *, field: str, fault: Fault) -> None:
        who = "the peer sent" if fault == "peer" else "local call:"
        super().__init__(f"{who} {message}", field=field)
        self.field = field
        self.fault: Fault = fault


# --- pure functions -------------------------------------------------------------------------


def new_nonce() -> bytes:
    """Returns a fresh 32-byte nonce from the OS's cryptographic random source."""
    return secrets.token_bytes(NONCE_BYTES)


def _length_prefixed(value: bytes) -> bytes:
    # A 4-byte big-endian length makes field boundaries unambiguous: no two different
    # (certificate, nonce) splits hash the same bytes.
    return len(value).to_bytes(4, "big") + value


def _check_nonce(nonce: bytes, *, field: str, fault: Fault) -> None:
    if len(nonce) != NONCE_BYTES:
        raise PairingProtocolError(
            f"a {field} of {len(nonce)} bytes; it must be exactly {NONCE_BYTES}",
            field=field,
            fault=fault,
        )


def _check_certificate(certificate: bytes, *, field: str, fault: Fault) -> None:
    if not 0 < len(certificate) <= MAX_CERTIFICATE_BYTES:
        raise PairingProtocolError(
            f"a {field} of {len(certificate)} bytes; it must be 1 to {MAX_CERTIFICATE_BYTES}",
            field=field,
            fault=fault,
        )


def commitment(certificate_der: bytes, nonce: bytes) -> bytes:
    """Returns the initiator's commitment: SHA-256 over a label, its certificate and its nonce."""
    _check_nonce(nonce, field="nonce", fault="local")
    return hashlib.sha256(_COMMIT_LABEL + _length_prefixed(certificate_der) + nonce).digest()


def pairing_code(
    initiator_cert: bytes, responder_cert: bytes, initiator_nonce: bytes, responder_nonce: bytes
) -> str:
    """Returns the code people compare: six decimal digits from a hash of both sides' inputs.

    The first 8 bytes of the hash modulo 10**6; the bias of 2**64 mod 10**6 is below 1e-13.

    >>> pairing_code(b"A", b"B", bytes(32), bytes(32))
    '130 183'
    """
    _check_nonce(initiator_nonce, field="initiator_nonce", fault="local")
    _check_nonce(responder_nonce, field="responder_nonce", fault="local")
    digest = hashlib.sha256(
        _CODE_LABEL
        + _length_prefixed(initiator_cert)
        + _length_prefixed(responder_cert)
        + initiator_nonce
        + responder_nonce
    ).digest()
    digits = f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"
    half = CODE_DIGITS // 2
    return f"{digits[:half]} {digits[half:]}"


def start_proof_message(request: Request, responder_cert: bytes) -> bytes:
    """What the initiator signs with its device key in PairStart (its proof of key).

    It names the responder's certificate, so only that responder can check it (and a responder
    cannot replay it to a third device), and the pairing's ID and commitment, which are fresh
    for each attempt. The responder verifies it before anything is stored or counted under the
    initiator's device ID: a stranger holding only another device's public certificate cannot
    pair, fail or be locked out in its name.
    """
    return (
        _START_PROOF_LABEL
        + _length_prefixed(responder_cert)
        + _length_prefixed(request.initiator_cert)
        + _length_prefixed(request.pairing_id.encode())
        + _length_prefixed(request.commitment)
    )


def introduce_proof_message(caller_cert: bytes, server_cert: bytes) -> bytes:
    """What a caller of Introduce signs with its device key: bound to the server it calls.

    Only that server ever sees it (the pairing port's TLS is pinned to the server's
    certificate), so it needs no nonce: replaying it anywhere else fails the check.
    """
    return _INTRODUCE_PROOF_LABEL + _length_prefixed(server_cert) + _length_prefixed(caller_cert)


# --- messages -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """Initiator -> responder: "pair with me", committing to a nonce it will reveal later."""

    pairing_id: str
    initiator_cert: bytes = field(repr=False)
    commitment: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """Responder -> initiator: the responder's nonce, in clear."""

    pairing_id: str
    responder_nonce: bytes


@dataclass(frozen=True, slots=True)
class Reveal:
    """Initiator -> responder: the nonce the request committed to."""

    pairing_id: str
    initiator_nonce: bytes


@dataclass(frozen=True, slots=True)
class Confirm:
    """Either side -> the other: this side's person confirmed the code."""

    pairing_id: str


# --- states and the transition table --------------------------------------------------------


class Role(StrEnum):
    """Which side of the exchange a session is: `kizuna.v1.Pairing.Direction` OUTGOING/INCOMING."""

    INITIATOR = "initiator"
    RESPONDER = "responder"


class State(StrEnum):
    """`kizuna.v1.Pairing.State`, value = proto name lower-cased without `STATE_`.

    Before the code exists (initiator awaiting the answer, responder awaiting the reveal) a
    session is AWAITING_CONFIRMATION with `code` None, and local confirmation is refused.
    """

    AWAITING_CONFIRMATION = "awaiting_confirmation"
    AWAITING_PEER = "awaiting_peer"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


class PairingEvent(StrEnum):
    """What can happen to a session; `peer_*` events are the other side's doing."""

    ANSWER = "answer"
    REVEAL = "reveal"
    CONFIRM = "confirm"
    PEER_CONFIRM = "peer_confirm"
    COMPLETE = "complete"
    REJECT = "reject"
    PEER_REJECT = "peer_reject"
    CANCEL = "cancel"
    PEER_CANCEL = "peer_cancel"
    FAIL = "fail"
    EXPIRE = "expire"


_I, _R = Role.INITIATOR, Role.RESPONDER
_AC, _AP = State.AWAITING_CONFIRMATION, State.AWAITING_PEER
_E = PairingEvent

#: Every legal transition: (role, state, event) -> next state. Anything absent is refused.
#: A session is AWAITING_CONFIRMATION from creation, with `code` None until the answer (for
#: the initiator) or the reveal (for the responder); the methods refuse confirming without it.
TRANSITIONS: Final[Mapping[tuple[Role, State, PairingEvent], State]] = MappingProxyType(
    {
        # The exchange that produces the code.
        (_I, _AC, _E.ANSWER): _AC,
        (_R, _AC, _E.REVEAL): _AC,
        # Confirmations, in either order; COMPLETE is applied once both are in.
        (_I, _AC, _E.CONFIRM): _AP,
        (_R, _AC, _E.CONFIRM): _AP,
        (_I, _AC, _E.PEER_CONFIRM): _AC,
        (_R, _AC, _E.PEER_CONFIRM): _AC,
        (_I, _AP, _E.PEER_CONFIRM): _AP,
        (_R, _AP, _E.PEER_CONFIRM): _AP,
        (_I, _AP, _E.COMPLETE): State.COMPLETED,
        (_R, _AP, _E.COMPLETE): State.COMPLETED,
        # Either person may reject until the pairing completes.
        (_I, _AC, _E.REJECT): State.REJECTED,
        (_I, _AP, _E.REJECT): State.REJECTED,
        (_R, _AC, _E.REJECT): State.REJECTED,
        (_R, _AP, _E.REJECT): State.REJECTED,
        (_I, _AC, _E.PEER_REJECT): State.REJECTED,
        (_I, _AP, _E.PEER_REJECT): State.REJECTED,
        (_R, _AC, _E.PEER_REJECT): State.REJECTED,
        (_R, _AP, _E.PEER_REJECT): State.REJECTED,
        # Only the side that asked may withdraw; the responder rejects instead.
        (_I, _AC, _E.CANCEL): State.CANCELLED,
        (_I, _AP, _E.CANCEL): State.CANCELLED,
        (_R, _AC, _E.PEER_CANCEL): State.CANCELLED,
        (_R, _AP, _E.PEER_CANCEL): State.CANCELLED,
        # A commitment mismatch or a wrongly typed code.
        (_I, _AC, _E.FAIL): State.FAILED,
        (_I, _AP, _E.FAIL): State.FAILED,
        (_R, _AC, _E.FAIL): State.FAILED,
        (_R, _AP, _E.FAIL): State.FAILED,
        # Not completed by `expires`.
        (_I, _AC, _E.EXPIRE): State.EXPIRED,
        (_I, _AP, _E.EXPIRE): State.EXPIRED,
        (_R, _AC, _E.EXPIRE): State.EXPIRED,
        (_R, _AP, _E.EXPIRE): State.EXPIRED,
    }
)

#: States a session never leaves.
TERMINAL_STATES: Final = frozenset(
    {State.COMPLETED, State.REJECTED, State.EXPIRED, State.CANCELLED, State.FAILED}
)


def next_state(role: Role, state: State, event: PairingEvent, *, fault: Fault = "local") -> State:
    """Returns the state `event` leads to, or raises PairingProtocolError if it is not allowed."""
    try:
        return TRANSITIONS[role, state, event]
    except KeyError:
        hint = " (only the side that asked may cancel)" if "cancel" in event else ""
        raise PairingProtocolError(
            f"{event} while the {role}'s pairing is {state}{hint}", field=str(event), fault=fault
        ) from None


# --- the session ----------------------------------------------------------------------------


@dataclass(eq=False)
class PairingSession:
    """One side of one pairing attempt.

    The protocol, initiator A and responder B (certificates are DER bytes; A knows B's from
    the TLS handshake, B knows A's from the request, which the transport checks against TLS):

    1. A draws nonce Na and sends Request(id, cert_A, Ca = commitment(cert_A, Na)).
    2. B draws nonce Nb and sends Answer(id, Nb) in clear.
    3. A sends Reveal(id, Na); B checks Ca == commitment(cert_A, Na) in constant time, and a
       mismatch fails the pairing.
    4. Both show pairing_code(cert_A, cert_B, Na, Nb).
    5. Each person compares the codes and confirms (Confirm(id) goes to the peer) or rejects;
       the pairing completes when both confirmed, and expires `timeout` seconds after creation.

    Why the commitment stops a man in the middle M: M must run one session with A (where M
    plays B, with its own certificate) and one with B (where M plays A), and the two codes
    cover different certificates, so they match only if M can steer one code onto the other.
    Each code has one honest random input drawn after M's choice for that session is fixed:
    towards B, M commits to its nonce before B draws Nb; towards A, M must answer with its
    nonce before A reveals Na. Whatever M learns from one session, the other code stays
    uniformly random to M, so the codes agree with probability 1e-6 per attempt, and
    PairingThrottle plus expiry bound the attempts. Without the commitment, M (playing A
    towards B) could pick its nonce after seeing Nb, knowing A's code already, and try about
    a million nonces until B's code equals A's: a second of hashing.

    Every step first expires a due session (raising PairingExpired), then checks the message's
    pairing ID, then consults TRANSITIONS, then refuses replays (a second answer, reveal or
    confirm). A refused peer message leaves the session as it was; a commitment mismatch or a
    wrongly typed code moves it to FAILED. `failed_attempt` says when the caller should
    record a failure in its PairingThrottle.
    """

    id: str
    role: Role
    peer_id: str
    own_cert: bytes = field(repr=False)
    peer_cert: bytes = field(repr=False)
    created: float
    expires: float
    state: State = State.AWAITING_CONFIRMATION
    code: str | None = None
    local_confirmed: bool = False
    peer_confirmed: bool = False
    #: Why the session ended, for FAILED, REJECTED, EXPIRED and CANCELLED; empty otherwise.
    failure: str = ""
    # Protocol secrets and peer inputs: never shown, never logged.
    own_nonce: bytes = field(default=b"", repr=False)
    peer_nonce: bytes | None = field(default=None, repr=False)
    peer_commitment: bytes | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        *,
        peer_id: str,
        own_cert: bytes,
        peer_cert: bytes,
        now: float,
        timeout: float = DEFAULT_TIMEOUT,
        nonce: bytes | None = None,
        pairing_id: str | None = None,
    ) -> tuple[PairingSession, Request]:
        """Starts a pairing as the initiator; returns the session and the Request to send."""
        _check_timeout(timeout)
        _check_certificate(own_cert, field="own_cert", fault="local")
        _check_certificate(peer_cert, field="peer_cert", fault="local")
        if pairing_id is None:
            pairing_id = secrets.token_hex(16)
        elif not _PAIRING_ID.fullmatch(pairing_id):
            raise PairingProtocolError(
                "a pairing_id that is not 32 lower-case hex digits",
                field="pairing_id",
                fault="local",
            )
        if nonce is None:
            nonce = new_nonce()
        _check_nonce(nonce, field="nonce", fault="local")
        session = cls(
            id=pairing_id,
            role=Role.INITIATOR,
            peer_id=peer_id,
            own_cert=own_cert,
            peer_cert=peer_cert,
            created=now,
            expires=now + timeout,
            own_nonce=nonce,
        )
        return session, Request(pairing_id, own_cert, commitment(own_cert, nonce))

    @classmethod
    def answer(
        cls,
        request: Request,
        *,
        peer_id: str,
        own_cert: bytes,
        now: float,
        timeout: float = DEFAULT_TIMEOUT,
        nonce: bytes | None = None,
    ) -> tuple[PairingSession, Answer]:
        """Takes a peer's Request as the responder; returns the session and the Answer to send.

        Checking the request against SeenNonces (its commitment) and PairingThrottle (the peer)
        is the caller's job, before calling this.
        """
        _check_timeout(timeout)
        _check_certificate(own_cert, field="own_cert", fault="local")
        if not _PAIRING_ID.fullmatch(request.pairing_id):
            raise PairingProtocolError(
                "a pairing_id that is not 32 lower-case hex digits",
                field="pairing_id",
                fault="peer",
            )
        _check_certificate(request.initiator_cert, field="initiator_cert", fault="peer")
        if request.initiator_cert == own_cert:
            raise PairingProtocolError(
                "this device's own certificate as the initiator's",
                field="initiator_cert",
                fault="peer",
            )
        _check_nonce(request.commitment, field="commitment", fault="peer")
        if nonce is None:
            nonce = new_nonce()
        _check_nonce(nonce, field="nonce", fault="local")
        session = cls(
            id=request.pairing_id,
            role=Role.RESPONDER,
            peer_id=peer_id,
            own_cert=own_cert,
            peer_cert=request.initiator_cert,
            created=now,
            expires=now + timeout,
            own_nonce=nonce,
            peer_commitment=request.commitment,
        )
        return session, Answer(request.pairing_id, nonce)

    # -- steps --

    def on_answer(self, answer: Answer, *, now: float) -> Reveal:
        """Initiator: takes the responder's nonce, computes the code, returns the Reveal."""
        target = self._begin(PairingEvent.ANSWER, answer.pairing_id, now=now, fault="peer")
        if self.code is not None:
            raise PairingProtocolError("a second answer", field="responder_nonce", fault="peer")
        _check_nonce(answer.responder_nonce, field="responder_nonce", fault="peer")
        self.peer_nonce = answer.responder_nonce
        self.code = pairing_code(
            self.own_cert, self.peer_cert, self.own_nonce, answer.responder_nonce
        )
        self.state = target
        return Reveal(self.id, self.own_nonce)

    def on_reveal(self, reveal: Reveal, *, now: float) -> None:
        """Responder: checks the revealed nonce against the commitment and computes the code.

        A nonce that does not match the commitment fails the session and raises
        PairingProtocolError (field `initiator_nonce`).
        """
        target = self._begin(PairingEvent.REVEAL, reveal.pairing_id, now=now, fault="peer")
        if self.code is not None:
            raise PairingProtocolError("a second reveal", field="initiator_nonce", fault="peer")
        _check_nonce(reveal.initiator_nonce, field="initiator_nonce", fault="peer")
        assert self.peer_commitment is not None  # set by answer() for every responder
        expected = commitment(self.peer_cert, reveal.initiator_nonce)
        if not hmac.compare_digest(expected, self.peer_commitment):
            self._end(PairingEvent.FAIL, "the peer's revealed nonce does not match its commitment")
            raise PairingProtocolError(
                "a nonce that does not match its commitment; the pairing failed",
                field="initiator_nonce",
                fault="peer",
            )
        self.peer_nonce = reveal.initiator_nonce
        self.code = pairing_code(
            self.peer_cert, self.own_cert, reveal.initiator_nonce, self.own_nonce
        )
        self.state = target

    def confirm(self, *, now: float, typed_code: str | None = None) -> Confirm:
        """This side's person confirmed the code; returns the Confirm to send to the peer.

        If the person typed the code (spaces optional) it must equal the code, or the session
        fails and PairingProtocolError (field `code`) is raised.
        """
        target = self._begin(PairingEvent.CONFIRM, self.id, now=now, fault="local")
        if self.code is None:
            raise PairingProtocolError(
                "confirm before the code exists", field="pairing_id", fault="local"
            )
        if typed_code is not None:
            typed = "".join(typed_code.split()).encode()
            if not hmac.compare_digest(typed, self.code.replace(" ", "").encode()):
                self._end(PairingEvent.FAIL, "the code typed here does not match the code shown")
                raise PairingProtocolError(
                    "a typed code that does not match the code shown; the pairing failed",
                    field="code",
                    fault="local",
                )
        self.local_confirmed = True
        self.state = target
        self._complete_if_both()
        return Confirm(self.id)

    def on_confirm(self, message: Confirm, *, now: float) -> None:
        """The peer's person confirmed the code."""
        target = self._begin(PairingEvent.PEER_CONFIRM, message.pairing_id, now=now, fault="peer")
        if self.code is None:
            raise PairingProtocolError(
                "a confirmation before the code exists", field="pairing_id", fault="peer"
            )
        if self.peer_confirmed:
            raise PairingProtocolError("a second confirmation", field="pairing_id", fault="peer")
        self.peer_confirmed = True
        self.state = target
        self._complete_if_both()

    def reject(self, *, now: float, by_peer: bool = False) -> None:
        """This side's person (or, with `by_peer`, the peer) rejected the pairing."""
        event = PairingEvent.PEER_REJECT if by_peer else PairingEvent.REJECT
        self._begin(event, self.id, now=now, fault="peer" if by_peer else "local")
        self._end(event, "rejected by the peer" if by_peer else "rejected on this device")

    def cancel(self, *, now: float, by_peer: bool = False) -> None:
        """The initiator withdraws: locally on its own session, `by_peer` on the responder's."""
        event = PairingEvent.PEER_CANCEL if by_peer else PairingEvent.CANCEL
        self._begin(event, self.id, now=now, fault="peer" if by_peer else "local")
        self._end(event, "cancelled by the peer" if by_peer else "cancelled on this device")

    def expire_if_due(self, now: float) -> bool:
        """Expires an unfinished session at or after `expires`; returns whether it did."""
        if self.finished or now < self.expires:
            return False
        self._end(PairingEvent.EXPIRE, f"not confirmed within {self.expires - self.created:g} s")
        return True

    @property
    def finished(self) -> bool:
        """Whether the session reached a state it never leaves."""
        return self.state in TERMINAL_STATES

    @property
    def failed_attempt(self) -> bool:
        """Whether this attempt counts against the peer in PairingThrottle.

        FAILED (bad reveal, wrong typed code, a call dropped or pushed out) and REJECTED:
        people reject when the codes differ, which is exactly what a man in the middle's
        attempts look like. On the responder also EXPIRED when the initiator never confirmed:
        a device that starts pairings and lets them stall pays for each, so holding pairing
        slots costs the staller its lockout.
        """
        if self.state in (State.FAILED, State.REJECTED):
            return True
        return (
            self.role is Role.RESPONDER and self.state is State.EXPIRED and not self.peer_confirmed
        )

    # -- internals --

    def _begin(self, event: PairingEvent, pairing_id: str, *, now: float, fault: Fault) -> State:
        """Expires a due session, checks the ID, and returns where `event` leads."""
        if self.expire_if_due(now):
            raise PairingExpired(self.id)
        if pairing_id != self.id:
            raise PairingProtocolError(
                f"pairing_id {pairing_id[:40]!r} for pairing {self.id}",
                field="pairing_id",
                fault=fault,
            )
        if self.state is State.EXPIRED:
            raise PairingExpired(self.id)
        if self.state in (State.REJECTED, State.CANCELLED):
            raise PairingRejected(self.id, self.failure)
        return next_state(self.role, self.state, event, fault=fault)

    def _end(self, event: PairingEvent, why: str) -> None:
        self.state = next_state(self.role, self.state, event)
        self.failure = why

    def _complete_if_both(self) -> None:
        if self.local_confirmed and self.peer_confirmed:
            self.state = next_state(self.role, self.state, PairingEvent.COMPLETE)


def _check_timeout(timeout: float) -> None:
    if not 0 < timeout < math.inf:
        raise PairingProtocolError(
            f"timeout {timeout!r}; it must be a positive number of seconds",
            field="timeout",
            fault="local",
        )


# --- lockout and replay memory --------------------------------------------------------------


@dataclass(slots=True)
class _Failures:
    times: deque[float] = field(default_factory=deque)
    locked_until: float = -math.inf


class PairingThrottle:
    """Lockout after repeated failures, per peer key (device ID or address).

    `max_failures` failures within `window` seconds lock the key for `lockout` seconds; the
    count starts afresh when the lock ends. Memory stays bounded: keys with no failure within
    `window` and no lock are forgotten, and at most MAX_KEYS are tracked (the least recently
    failing key is dropped first). Per-key limits slow a person-paced attacker; one that mints
    new keys is bounded by each attempt needing a person to start and compare a pairing.
    """

    MAX_KEYS: Final = 4096

    def __init__(
        self, *, max_failures: int = 3, window: float = 600.0, lockout: float = 300.0
    ) -> None:
        if max_failures < 1 or window <= 0 or lockout <= 0:
            raise InvalidArgument(
                "PairingThrottle needs max_failures >= 1 and positive window and lockout",
                field="max_failures"
                if max_failures < 1
                else "window"
                if window <= 0
                else "lockout",
            )
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        # Ordered by most recent failure, oldest first, so pruning looks only at the front.
        self._keys: OrderedDict[str, _Failures] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are tracked."""
        return len(self._keys)

    def check(self, key: str, now: float) -> None:
        """Raises PairingLockedOut while `key` is locked."""
        self._prune(now)
        entry = self._keys.get(key)
        if entry is not None and now < entry.locked_until:
            raise PairingLockedOut(max(1, math.ceil(entry.locked_until - now)))

    def record_failure(self, key: str, now: float) -> None:
        """Counts a failed attempt by `key`; the max_failures-th within the window locks it."""
        self._prune(now)
        entry = self._keys.pop(key, None) or _Failures()
        self._keys[key] = entry  # now the most recent
        while entry.times and entry.times[0] <= now - self.window:
            entry.times.popleft()
        entry.times.append(now)
        if len(entry.times) >= self.max_failures:
            entry.locked_until = now + self.lockout
            entry.times.clear()
        while len(self._keys) > self.MAX_KEYS:
            self._keys.popitem(last=False)

    def record_success(self, key: str) -> None:
        """Forgets `key`'s failures: it paired."""
        self._keys.pop(key, None)

    def _prune(self, now: float) -> None:
        while self._keys:
            entry = next(iter(self._keys.values()))
            last = entry.times[-1] if entry.times else -math.inf
            if last > now - self.window or now < entry.locked_until:
                return
            self._keys.popitem(last=False)


class SeenNonces:
    """Replay memory for commitments and nonces across sessions.

    Remembers each value for `ttl` seconds (longer than any pairing lives). At `capacity` the
    oldest value is forgotten early: memory stays bounded, and a replay of that value would
    still need to beat the fresh nonce the other side draws for every session.
    """

    def __init__(self, *, ttl: float = 600.0, capacity: int = 65536) -> None:
        if ttl <= 0 or capacity < 1:
            raise InvalidArgument(
                "SeenNonces needs a positive ttl and capacity",
                field="ttl" if ttl <= 0 else "capacity",
            )
        self.ttl = ttl
        self.capacity = capacity
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        """How many values are remembered."""
        return len(self._seen)

    def add(self, value: bytes, now: float, *, field: str = "nonce") -> None:
        """Remembers `value`; raises PairingProtocolError if it was seen within `ttl`."""
        while self._seen:
            oldest, seen_at = next(iter(self._seen.items()))
            if seen_at > now - self.ttl:
                break
            del self._seen[oldest]
        previous = self._seen.get(value)
        if previous is not None and previous > now - self.ttl:
            raise PairingProtocolError(f"a replayed {field}", field=field, fault="peer")
        self._seen.pop(value, None)
        self._seen[value] = now
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
