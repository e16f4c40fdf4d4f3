"""The camera's video as each viewer gets it: a track for its sender, and what its feedback
(robot/producer/feedback.py) asks of the video.

Two kinds: frames a source draws or decodes, which aiortc encodes per viewer
(:class:`FrameFeed`), and a camera's own encoded stream (robot/producer/encoded.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay

from robot.contracts.video import Bitrates
from robot.producer.encoded import EncodedFeed
from robot.producer.feedback import ViewerVideo


class VideoFeed(Protocol):
    def subscribe(self) -> tuple[MediaStreamTrack, ViewerVideo]: ...

    def stop(self) -> None: ...


class FrameFeed:
    """Frames to every viewer through aiortc's ``MediaRelay``, which drops frames rather than
    queueing them when a viewer falls behind (each frame is whole: nothing depends on it).
    Each viewer's sender encodes for itself: aiortc makes its next frame a key frame on a
    picture-loss request, and follows its estimate, here held within ``bitrates``."""

    def __init__(self, camera: MediaStreamTrack, bitrates: Bitrates) -> None:
        self.camera = camera
        self.bitrates = bitrates
        self._relay = MediaRelay()

    def subscribe(self) -> tuple[MediaStreamTrack, ViewerVideo]:
        return self._relay.subscribe(self.camera, buffered=False), SteadyBitrate(self.bitrates)

    def stop(self) -> None:
        self.camera.stop()


class SteadyBitrate:
    """A viewer of aiortc-encoded frames: aiortc itself acts on its feedback, but is told a
    steadier bitrate than the estimate. aiortc rebuilds its encoder for every bitrate more
    than 10 % from the last, and the rebuilt encoder starts with a key frame: on a capped
    link each key frame overflows the router's buffer, is lost, and the viewer's picture-loss
    request brings another. So the bitrate sent is a margin below the estimate, goes down at
    once when the estimate falls well below it, and up only when it has risen well above it
    and the last change is ``UP_AFTER_S`` old."""

    MARGIN = 0.85  # of the estimate: room for key frames and the estimate's own lag
    STEP = 0.2  # the least change worth a new encoder (and its key frame)
    UP_AFTER_S = 2.0

    def __init__(self, bitrates: Bitrates, clock: Callable[[], float] = time.monotonic) -> None:
        self.bitrates = bitrates
        self.clock = clock
        self.sending: int | None = None
        self.changed_at = 0.0

    def picture_lost(self) -> None:
        pass  # aiortc's sender makes its next frame a key frame

    def estimate(self, bps: int) -> int:
        wanted = self.bitrates.clamp(int(bps * self.MARGIN))
        now = self.clock()
        if (
            self.sending is None
            or wanted < self.sending * (1 - self.STEP)
            or (
                wanted > self.sending * (1 + self.STEP) and now - self.changed_at >= self.UP_AFTER_S
            )
        ):
            self.sending, self.changed_at = wanted, now
        return self.sending


def feed(camera: MediaStreamTrack | EncodedFeed, bitrates: Bitrates) -> VideoFeed:
    """The feed of what a camera source made (robot/producer/cameras.py)."""
    return camera if isinstance(camera, EncodedFeed) else FrameFeed(camera, bitrates)
