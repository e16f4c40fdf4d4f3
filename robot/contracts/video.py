"""What each camera source can send and the bitrates its encoder allows, checked in one place.

The daemon's config check refuses what the producer could not do (a ``VIDEO_CODEC`` the
``VIDEO_SOURCE`` cannot produce, bitrate bounds outside the encoder's range); the producer
takes its bounds from here. Standard library only: the daemon imports this.

A source that encodes by itself (picamera2: the Pi's H.264 block, or picamera2's own
software encoder on a Pi 5) sends one codec; every other source hands frames to aiortc,
whose encoders hold the bitrate within their own ranges (aiortc's ``MIN_BITRATE`` and
``MAX_BITRATE`` in ``aiortc/codecs/h264.py`` and ``vpx.py``; tests/media checks them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CODECS = ("h264", "vp8")
# Sources that send their own encoder's stream, and the codecs it can make.
ENCODING_SOURCES: dict[str, tuple[str, ...]] = {"picamera2": ("h264",)}
# The bitrates, in bits per second, each encoder can be set to: the Pi's V4L2 H.264 encoder,
# then aiortc's software encoders by codec.
HARDWARE_RANGE = (100_000, 25_000_000)
SOFTWARE_RANGES = {"h264": (500_000, 3_000_000), "vp8": (250_000, 1_500_000)}
# Bounds when VIDEO_OPTIONS names none: on the Pi's encoder, enough for 640x480 at 30 fps.
HARDWARE_DEFAULTS = (300_000, 3_000_000)
START_BITRATE = 1_500_000  # the Pi's encoder's, until the first viewer's estimate


@dataclass(frozen=True)
class Bitrates:
    """The bounds the sending bitrate follows the receivers' estimates within."""

    low: int
    high: int
    start: int

    def clamp(self, bps: int) -> int:
        return max(self.low, min(bps, self.high))


def codecs(source: str) -> tuple[str, ...]:
    """The codecs ``source`` can send."""
    return ENCODING_SOURCES.get(source, CODECS)


def encodes_itself(source: str) -> bool:
    return source in ENCODING_SOURCES


def allowed_range(source: str, codec: str) -> tuple[int, int]:
    return HARDWARE_RANGE if encodes_itself(source) else SOFTWARE_RANGES[codec]


def bitrates(source: str, codec: str, options: Mapping[str, Any]) -> Bitrates:
    """The bounds from ``options`` (``min_bitrate``, ``max_bitrate``, ``bitrate``: the start),
    the encoder's defaults for those it does not name. Assumes :func:`problems` found none."""
    low, high = HARDWARE_DEFAULTS if encodes_itself(source) else allowed_range(source, codec)
    low, high = options.get("min_bitrate", low), options.get("max_bitrate", high)
    return Bitrates(low, high, max(low, min(options.get("bitrate", START_BITRATE), high)))


def problems(source: str, codec: str, options: Mapping[str, Any]) -> list[str]:
    """Each reason the producer could not send ``codec`` from ``source`` with ``options``,
    naming the key, the value and the fix."""
    if codec not in codecs(source):
        return [
            f"VIDEO_CODEC = {codec!r}: VIDEO_SOURCE {source!r} sends "
            f"{' or '.join(codecs(source))} only; set VIDEO_CODEC to {codecs(source)[0]!r}"
        ]
    found = []
    low, high = allowed_range(source, codec)
    encoder = "the Pi's encoder" if encodes_itself(source) else f"aiortc's {codec} encoder"
    for name in ("min_bitrate", "max_bitrate", "bitrate"):
        if name not in options:
            continue
        value = options[name]
        if name == "bitrate" and not encodes_itself(source):
            found.append(
                f"VIDEO_OPTIONS bitrate = {value!r}: {encoder} starts at its own bitrate and "
                "follows the viewer's estimate; delete it, or bound it with min_bitrate and "
                "max_bitrate"
            )
        elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            found.append(
                f"VIDEO_OPTIONS {name} = {value!r}: {encoder} takes a whole number of bits "
                f"per second from {low} to {high}; set one in that range"
            )
    if not found:
        chosen = bitrates(source, codec, options)
        if chosen.low > chosen.high:
            found.append(
                f"VIDEO_OPTIONS min_bitrate = {chosen.low}: above max_bitrate ({chosen.high}); "
                "make min_bitrate the smaller"
            )
    return found
