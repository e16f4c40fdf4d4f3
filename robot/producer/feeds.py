"""The camera's video as each viewer gets it: a track for its sender, and what its feedback
(robot/producer/feedback.py) asks of the video.

Two kinds: frames a source draws or decodes, which aiortc encodes per viewer
(:class:`FrameFeed`), and a camera's own encoded stream (robot/producer/encoded.py).
"""

from __future__ import annotations

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
        return self._relay.subscribe(self.camera, buffered=False), _Bounded(self.bitrates)

    def stop(self) -> None:
        self.camera.stop()


class _Bounded:
    """A viewer of aiortc-encoded frames: aiortc itself acts on its feedback."""

    def __init__(self, bitrates: Bitrates) -> None:
        self.bitrates = bitrates

    def picture_lost(self) -> None:
        pass  # aiortc's sender makes its next frame a key frame

    def estimate(self, bps: int) -> int:
        return self.bitrates.clamp(bps)


def feed(camera: MediaStreamTrack | EncodedFeed, bitrates: Bitrates) -> VideoFeed:
    """The feed of what a camera source made (robot/producer/cameras.py)."""
    return camera if isinstance(camera, EncodedFeed) else FrameFeed(camera, bitrates)
