"""The quality table (docs/streams.md) and the encoders behind the built-in sources, without a
daemon: documented settings, keyframes on request, and decodable output."""

from __future__ import annotations

import itertools

import av
import numpy as np
import pytest

from kizuna_client import media
from kizuna_client.types import StreamFrame
from kizuna_server.streams.media import (
    AudioEncoder,
    VideoEncoder,
    audio_bitrate,
    video_settings,
)


@pytest.mark.parametrize(
    ("quality", "crf", "peak_mbps", "opus_kbps"),
    [
        (0, 40, 0.55, 12),
        (25, 34, 1.80, 41),
        (50, 29, 3.04, 70),
        (80, 22, 4.53, 105),
        (100, 18, 5.53, 128),
    ],
)
def test_the_quality_table_is_the_documented_one(
    quality: int, crf: int, peak_mbps: float, opus_kbps: int
) -> None:
    settings = video_settings(quality, 1280, 720, 30)
    assert settings.crf == crf
    assert settings.max_bitrate / 1e6 == pytest.approx(peak_mbps, abs=0.01)
    assert settings.keyframe_interval_secs == 2.0
    assert audio_bitrate(quality) / 1000 == pytest.approx(opus_kbps, abs=0.5)


def test_quality_outside_the_range_is_clamped() -> None:
    assert video_settings(150, 640, 360, 30) == video_settings(100, 640, 360, 30)
    assert audio_bitrate(-5) == audio_bitrate(0)


def _picture(shade: int) -> av.VideoFrame:
    rgb = np.full((180, 320, 3), shade, dtype=np.uint8)
    return av.VideoFrame.from_ndarray(rgb, format="rgb24")


def test_the_video_encoder_makes_a_keyframe_when_asked_and_its_output_decodes() -> None:
    encoder = VideoEncoder(320, 180, 30, 80)
    packets = []
    for index in range(10):
        wanted = index == 6
        packets += [
            (data, key)
            for data, key, _ in encoder.encode(_picture(index * 20), index * 33_333, wanted)
        ]
    keys = [key for _, key in packets]
    assert keys[0] and keys[6] and not any(keys[1:6])  # the first, and the one asked for
    assert media.parameter_sets(packets[6][0]).startswith(b"\x00\x00\x00\x01")  # SPS/PPS in-band
    decoder = media.decoder_for("h264", {})
    pictures = []
    for index, (data, key) in enumerate(packets[6:]):  # a viewer joining at the keyframe
        decoded = media.decode_one(decoder, StreamFrame(index, index / 30, key, data))
        assert decoded, f"frame {index} gave no picture"
        pictures += decoded
    assert pictures[0].to_ndarray(format="rgb24").mean() == pytest.approx(120, abs=6)


def test_the_audio_encoder_makes_20_ms_opus_frames() -> None:
    encoder = AudioEncoder(1, 80)
    tone = (np.sin(np.arange(960 * 10) / 48_000 * 2 * np.pi * 440) * 12_000).astype(np.int16)
    out = []
    for index in range(10):
        frame = av.AudioFrame.from_ndarray(
            tone[index * 960 : (index + 1) * 960].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 48_000
        out += encoder.encode(frame, index * 20_000, False)
    assert len(out) >= 8  # the encoder's lookahead holds back at most a frame or two
    timestamps = [pts for _, _, pts in out]
    assert all(later - earlier == 20_000 for earlier, later in itertools.pairwise(timestamps))
    assert all(key for _, key, _ in out)
