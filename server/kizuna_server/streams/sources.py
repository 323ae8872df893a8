"""Built-in capture sources as the engine sees them: something that produces encoded frames
until cancelled. The media code (PyAV, aiortc) is optional: without the `media` extra, asking
for a source fails with CAPTURE_UNAVAILABLE naming what to install, and nothing else changes.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kizuna_server.streams.model import Capture, CaptureUnavailable, Frame, Kind

#: What `pip install` gives the daemon its built-in sources.
MEDIA_EXTRA = "kizuna[media]"


class Producer(Protocol):
    """An opened source: its codec and parameters are known before the peer hears of it."""

    @property
    def device(self) -> str:
        """What it captures, as shown in `kizuna status` (":0", "/dev/video0", "synthetic")."""

    @property
    def format(self) -> str:
        """Codec label of its frames ("h264", "opus")."""

    @property
    def metadata(self) -> dict[str, str]:
        """Parameters a decoder needs (width, height, fps, sample_rate, channels)."""

    async def run(
        self, send: Callable[[Frame], Awaitable[bool]], sequence: Callable[[], int]
    ) -> None:
        """Captures, encodes and sends until cancelled, `send` returns False, or the source
        ends; raises CaptureUnavailable when the source fails."""

    def request_keyframe(self) -> None:
        """The next frame should be a keyframe (a receiver lost frames)."""


class SourceFactory:
    """Opens built-in sources, importing the media code only when one is asked for."""

    def media(self, kind: Kind, capture: Capture) -> Any:
        """The media module, or CAPTURE_UNAVAILABLE naming the extra to install."""
        try:
            return importlib.import_module("kizuna_server.streams.media")
        except ImportError as exc:
            raise CaptureUnavailable(
                f"built-in {kind.value} capture needs the media extra, which is not installed "
                f"here ({exc.name or exc}): pip install '{MEDIA_EXTRA}'",
                source=kind.value,
                device=capture.device,
                install=MEDIA_EXTRA,
            ) from None

    async def open(self, kind: Kind, capture: Capture, quality: int) -> Producer:
        media = self.media(kind, capture)
        producer: Producer = await asyncio.to_thread(media.open_source, kind, capture, quality)
        return producer
