"""Measurements of one direction of a stream: rate, frame rate, latency, freezes. No I/O."""

from __future__ import annotations

from collections import deque
from typing import Final

#: Rates are over this many seconds.
WINDOW_SECS: Final = 2.0
#: Latency percentiles are over this many frames.
LATENCY_FRAMES: Final = 256


class Meter:
    """Counts frames as they pass one point; `now` is a monotonic time in seconds."""

    def __init__(self) -> None:
        self._recent: deque[tuple[float, int]] = deque()
        self._latencies: deque[float] = deque(maxlen=LATENCY_FRAMES)
        self._last: float | None = None
        self.max_gap_ms = 0.0

    def add(self, size: int, now: float, latency_ms: float | None = None) -> None:
        if self._last is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self._last) * 1000)
        self._last = now
        self._recent.append((now, size))
        if latency_ms is not None:
            self._latencies.append(max(0.0, latency_ms))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0][0] > WINDOW_SECS:
            self._recent.popleft()

    def bitrate_bps(self, now: float) -> int:
        self._trim(now)
        return int(sum(size for _, size in self._recent) * 8 / WINDOW_SECS)

    def fps(self, now: float) -> float:
        self._trim(now)
        return len(self._recent) / WINDOW_SECS

    def latency_ms(self, quantile: float) -> float:
        """The `quantile` (0-1) of the recent latencies (nearest rank); 0 when none is known."""
        if not self._latencies:
            return 0.0
        ordered = sorted(self._latencies)
        rank = min(len(ordered) - 1, max(0, round(quantile * len(ordered) + 0.5) - 1))
        return ordered[rank]


class ClockOffset:
    """The other device's clock minus this one's, from one exchange (answer → sync)."""

    def __init__(self) -> None:
        self.offset_us: int | None = None
        self.rtt_ms = 0.0

    def update(self, answer_sent_us: int, peer_sent_us: int, received_us: int) -> None:
        """Our answer left at `answer_sent_us` (our clock); the peer's reply left at
        `peer_sent_us` (its clock) and arrived at `received_us` (ours)."""
        rtt = max(0, received_us - answer_sent_us)
        self.rtt_ms = rtt / 1000
        self.offset_us = peer_sent_us - (answer_sent_us + rtt // 2)

    def latency_ms(self, capture_us: int, received_us: int) -> float | None:
        """How long ago, on our clock, a frame captured at `capture_us` (peer clock) was taken."""
        if not capture_us or self.offset_us is None:
            return None
        return (received_us - (capture_us - self.offset_us)) / 1000
