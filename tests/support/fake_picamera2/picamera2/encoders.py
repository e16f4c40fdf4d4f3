"""A fake of picamera2's H264Encoder: libx264 through PyAV, in a thread of its own."""

from __future__ import annotations

import fractions
import threading
import time
from typing import Any

import av
import numpy as np

from robot.producer.timestamp import stamp

# picamera2's profile names (as FFmpeg's), and libx264's.
PROFILES = {
    "baseline": "Baseline",
    "constrained baseline": "Constrained Baseline",
    "main": "Main",
    "high": "High",
}


class H264Encoder:
    def __init__(
        self,
        bitrate: int | None = None,
        repeat: bool = True,
        iperiod: int | None = None,
        framerate: float | None = None,
        enable_sps_framerate: bool = False,
        qp: int | None = None,
        profile: str | None = None,
    ) -> None:
        self.bitrate = bitrate
        self.repeat = repeat
        self.iperiod = iperiod
        self.profile = profile
        self._key_frames_requested = 0
        self._key_frames_generated = 0
        # What it did, for the tests.
        self.bitrates_applied: list[int] = []
        self.forced_stamps: list[int] = []  # the time drawn into each key frame it was asked for
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def force_key_frame(self) -> None:
        self._key_frames_requested += 1

    def start(self, width: int, height: int, fps: int, output: Any) -> None:
        if self.profile is not None and self.profile.lower() not in PROFILES:
            raise RuntimeError("Profile " + self.profile + " not recognised")
        self._thread = threading.Thread(
            target=self._run, args=(width, height, fps, output), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self, width: int, height: int, fps: int, output: Any) -> None:
        codec = av.CodecContext.create("libx264", "w")
        codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
        codec.time_base = fractions.Fraction(1, 1_000_000)  # picamera2's timestamps
        codec.framerate = fractions.Fraction(fps)  # what libx264's rate control spreads over
        codec.bit_rate = self.bitrate or 1_500_000
        if self.profile is not None:
            codec.profile = PROFILES[self.profile.lower()]
        codec.options = {
            "tune": "zerolatency",
            "repeat-headers": "1" if self.repeat else "0",
            "keyint": str(self.iperiod or 60),
            "scenecut": "0",  # key frames only on the period or on request, as the Pi's
        }
        image = np.full((height, width, 3), 90, np.uint8)
        start = time.monotonic()
        count = 0
        while not self._stop.is_set():
            if codec.bit_rate != self.bitrate and self.bitrate:
                codec.bit_rate = self.bitrate  # libx264 takes it at the next frame
                self.bitrates_applied.append(self.bitrate)
            now_us = time.monotonic_ns() // 1000
            epoch_ms = time.time_ns() // 1_000_000
            image[16:, :] = 90
            x = (count * 8) % width  # a moving bar: frames differ, as a camera's do
            image[16:, x : x + 16] = 230
            stamp(image, epoch_ms)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = now_us, codec.time_base
            if self._key_frames_requested > self._key_frames_generated:
                self._key_frames_generated += 1
                frame.pict_type = av.video.frame.PictureType.I
                self.forced_stamps.append(epoch_ms)
            for packet in codec.encode(frame):
                output.outputframe(bytes(packet), packet.is_keyframe, packet.pts)
            count += 1
            due = start + count / fps
            if due > time.monotonic():
                self._stop.wait(due - time.monotonic())
