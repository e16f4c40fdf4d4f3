"""The ``picamera2`` camera: a Raspberry Pi camera (CSI) through libcamera, on Bookworm.

picamera2's ``H264Encoder`` uses the hardware H.264 block of a Pi 4 and older; the packets
it writes go to aiortc as they are, with no decode or re-encode. A Pi 5 has no H.264
block: picamera2 encodes in software there, by itself, and the packets take the same path.
picamera2 comes from apt (``python3-picamera2``); ``install.sh`` makes the venv see it.

Only H.264 can be negotiated with this source. A viewer that joins mid-stream waits for the
next key frame: one a second (``iperiod`` = fps).
"""

from __future__ import annotations

import asyncio
import fractions
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

MICROSECONDS = fractions.Fraction(1, 1_000_000)
MAX_QUEUED = 30  # about a second: beyond that the viewer's decoder is better off re-syncing


class EncodedTrack(MediaStreamTrack):
    """H.264 packets handed over from picamera2's encoder thread."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[av.Packet] = asyncio.Queue()
        self._resync = False
        self.camera: Any = None

    def put(self, data: bytes, keyframe: bool, timestamp_us: int) -> None:
        """Called on the encoder's thread."""
        self._loop.call_soon_threadsafe(self._put, bytes(data), keyframe, timestamp_us)

    def _put(self, data: bytes, keyframe: bool, timestamp_us: int) -> None:
        if self._queue.qsize() >= MAX_QUEUED:
            # Nobody is keeping up: drop what waits and start again at a key frame, so the
            # decoder never sees a frame whose reference was dropped.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._resync = True
        if self._resync and not keyframe:
            return
        self._resync = False
        packet = av.Packet(data)
        packet.pts = timestamp_us
        packet.time_base = MICROSECONDS
        self._queue.put_nowait(packet)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        return await self._queue.get()

    def stop(self) -> None:
        super().stop()
        if self.camera is not None:
            self.camera.stop_recording()
            self.camera.close()
            self.camera = None


def create(options: dict[str, Any]) -> EncodedTrack:
    from picamera2 import Picamera2
    from picamera2.encoders import H264Encoder
    from picamera2.outputs import Output

    track = EncodedTrack()

    class ToTrack(Output):
        def outputframe(
            self,
            frame: bytes,
            keyframe: bool = True,
            timestamp: int | None = None,
            *args: Any,
            **kwargs: Any,
        ) -> None:
            track.put(frame, keyframe, timestamp or 0)

    width, height = options.get("width", 640), options.get("height", 480)
    fps = options.get("fps", 30)
    camera = Picamera2(options.get("camera", 0))
    camera.configure(
        camera.create_video_configuration(
            main={"size": (width, height), "format": "YUV420"},
            controls={"FrameRate": fps},
        )
    )
    # repeat: SPS and PPS before every key frame, so a viewer can start at any of them.
    encoder = H264Encoder(bitrate=options.get("bitrate", 1_500_000), repeat=True, iperiod=fps)
    camera.start_recording(encoder, ToTrack())
    track.camera = camera
    return track
