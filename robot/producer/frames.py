"""A video track of frames rendered by a function, paced in real time, stamped with the clock.

The sources that draw their pictures (the test pattern, the simulator's camera) share this:
each frame is drawn just before it is due, off the event loop, and carries the time it was
drawn in its timestamp strip.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import av
import numpy as np
from aiortc import VideoStreamTrack
from aiortc.mediastreams import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE

from robot.producer.timestamp import stamp

Render = Callable[[np.ndarray, float], None]  # draws into an RGB image for a monotonic time


class RenderedTrack(VideoStreamTrack):
    """Frames of ``width`` x ``height`` at ``fps``, drawn by ``render``."""

    def __init__(self, render: Render, width: int = 640, height: int = 480, fps: int = 30) -> None:
        super().__init__()
        self.render = render
        self.width, self.height, self.fps = width, height, fps
        self._image = np.zeros((height, width, 3), np.uint8)
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> av.VideoFrame:
        await self._wait_for_next()
        frame = await asyncio.get_running_loop().run_in_executor(None, self._draw)
        frame.pts = self._count * VIDEO_CLOCK_RATE // self.fps
        frame.time_base = VIDEO_TIME_BASE
        return frame

    async def _wait_for_next(self) -> None:
        # Paced on the wall clock from the first frame; a late frame is sent at once, and
        # the schedule moves on rather than bursting to catch up.
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._count / self.fps
        if due > now:
            await asyncio.sleep(due - now)
        else:
            self._start += now - due
        self._count += 1

    def _draw(self) -> av.VideoFrame:
        self.render(self._image, time.monotonic())
        stamp(self._image, time.time_ns() // 1_000_000)
        # In the encoders' own format: several viewers' encoders share this one frame, and
        # converting it in each of their threads at once is not safe in PyAV.
        return av.VideoFrame.from_ndarray(self._image, format="rgb24").reformat(format="yuv420p")
