"""A camera's own H.264 stream, fanned out to a queue per viewer, sent as it is.

The packets come from the encoder's thread (picamera2's ``H264Encoder`` on a Pi) and go to
aiortc with no decode or re-encode. Each viewer has its own queue: one that falls behind
(a full queue, or one that has not connected yet) drops to the newest key frame waiting, or
waits for the next one, so its decoder never gets a frame whose reference was dropped; the
other viewers lose nothing. Viewers share the one encoder: a viewer's picture-loss request
asks it for a key frame (at most one every ``KEY_FRAME_SPACING_S``), and its bitrate follows
the lowest of the viewers' estimates, within the configured bounds.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque
from typing import Protocol

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from robot.contracts.video import Bitrates

MICROSECONDS = fractions.Fraction(1, 1_000_000)
MAX_QUEUED = 15  # half a second at 30 fps: a viewer further behind starts again at a key frame
KEY_FRAME_SPACING_S = 0.2  # so that viewers asking again and again cannot make every frame one


class Encoder(Protocol):
    """What the feed asks of the camera's encoder."""

    def force_key_frame(self) -> None: ...

    def set_bitrate(self, bps: int) -> None: ...

    def close(self) -> None: ...


class EncodedFeed:
    """The packets of one encoder, for any number of viewers."""

    def __init__(self, bitrates: Bitrates, max_queued: int = MAX_QUEUED) -> None:
        self.bitrates = bitrates
        self.bitrate = bitrates.start
        self.max_queued = max_queued
        self.encoder: Encoder | None = None  # set once the camera records
        self.viewers: set[ViewerQueue] = set()
        self.key_frames_forced = 0
        self._loop = asyncio.get_running_loop()
        self._asked = False  # a key frame asked for, and not come yet
        self._last_key_frame = -KEY_FRAME_SPACING_S
        self._ask_later: asyncio.TimerHandle | None = None

    def put(self, data: bytes, keyframe: bool, timestamp_us: int) -> None:
        """One encoded frame; called on the encoder's thread."""
        self._loop.call_soon_threadsafe(self._put, bytes(data), keyframe, timestamp_us)

    def _put(self, data: bytes, keyframe: bool, timestamp_us: int) -> None:
        packet = av.Packet(data)
        packet.pts = timestamp_us
        packet.time_base = MICROSECONDS
        if keyframe:
            self._asked = False
            self._last_key_frame = time.monotonic()
        for viewer in list(self.viewers):
            viewer.offer(packet, keyframe)

    def subscribe(self) -> tuple[ViewerQueue, ViewerQueue]:
        """A new viewer's track, and what its feedback tells (the same queue)."""
        viewer = ViewerQueue(self)
        self.viewers.add(viewer)
        self.request_key_frame()  # it can start at the next frame rather than within a second
        return viewer, viewer

    def unsubscribe(self, viewer: ViewerQueue) -> None:
        self.viewers.discard(viewer)
        self.follow_estimates()

    def request_key_frame(self) -> None:
        if self._asked or self.encoder is None or self._ask_later is not None:
            return
        wait = self._last_key_frame + KEY_FRAME_SPACING_S - time.monotonic()
        if wait > 0:
            self._ask_later = self._loop.call_later(wait, self._force_key_frame)
        else:
            self._force_key_frame()

    def _force_key_frame(self) -> None:
        self._ask_later = None
        if self.encoder is not None:
            self._asked = True
            self.key_frames_forced += 1
            self.encoder.force_key_frame()

    def follow_estimates(self) -> None:
        """Set the encoder to the lowest viewer's estimate, within the bounds."""
        estimates = [v.estimate_bps for v in self.viewers if v.estimate_bps is not None]
        if not estimates:
            return
        bps = self.bitrates.clamp(min(estimates))
        if bps != self.bitrate and self.encoder is not None:
            self.bitrate = bps
            self.encoder.set_bitrate(bps)

    def stop(self) -> None:
        if self._ask_later is not None:
            self._ask_later.cancel()
        for viewer in list(self.viewers):
            viewer.stop()
        if self.encoder is not None:
            self.encoder.close()
            self.encoder = None


class ViewerQueue(MediaStreamTrack):
    """One viewer's packets, waiting for its sender."""

    kind = "video"

    def __init__(self, feed: EncodedFeed) -> None:
        super().__init__()
        self.feed = feed
        self.dropped = 0  # frames this viewer never got
        self.estimate_bps: int | None = None
        self._queue: deque[tuple[av.Packet, bool]] = deque()
        self._resyncing = True  # it starts at a key frame
        self._ready = asyncio.Event()

    def offer(self, packet: av.Packet, keyframe: bool) -> None:
        if len(self._queue) >= self.feed.max_queued:
            self._fall_back()
        if self._resyncing and not keyframe:
            self.dropped += 1
            return
        self._resyncing = False
        self._queue.append((packet, keyframe))
        self._ready.set()

    def _fall_back(self) -> None:
        """Drop up to the newest key frame waiting; with none past the first, drop all and
        wait for (and ask for) the next."""
        keys = [i for i, (_, keyframe) in enumerate(self._queue) if keyframe]
        cut = keys[-1] if keys and keys[-1] > 0 else len(self._queue)
        for _ in range(cut):
            self._queue.popleft()
        self.dropped += cut
        if not self._queue:
            self._resyncing = True
            self.feed.request_key_frame()

    async def recv(self) -> av.Packet:
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()[0]

    def stop(self) -> None:
        super().stop()
        self.feed.unsubscribe(self)
        self._ready.set()

    # Its feedback (robot/producer/feedback.py).
    def picture_lost(self) -> None:
        self.feed.request_key_frame()

    def estimate(self, bps: int) -> int:
        self.estimate_bps = bps
        self.feed.follow_estimates()
        return self.feed.bitrates.clamp(bps)
