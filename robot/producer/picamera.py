"""The ``picamera2`` camera: a Raspberry Pi camera (CSI) through libcamera, on Bookworm.

picamera2's ``H264Encoder`` uses the hardware H.264 block of a Pi 4 and older; the packets
it writes go to aiortc as they are, with no decode or re-encode (robot/producer/encoded.py).
A Pi 5 has no H.264 block: picamera2 encodes in software there, by itself, and the packets
take the same path. picamera2 comes from apt (``python3-picamera2``); ``install.sh`` makes
the venv see it.

Only H.264 can be negotiated with this source, and aiortc answers it as constrained baseline
(profile-level-id 42e01f): the encoder is set to that profile. A key frame comes every second
(``iperiod`` = fps), and whenever a viewer asks (``force_key_frame``, picamera2 0.3.32 on).
"""

from __future__ import annotations

import fcntl
import logging
from typing import Any

from robot.contracts import video
from robot.producer.encoded import EncodedFeed

log = logging.getLogger(__name__)
PROFILE = "constrained baseline"  # what aiortc's answer offers (picamera2's profile names)


class PicameraEncoder:
    """picamera2's camera and encoder, as the feed asks things of them."""

    def __init__(self, camera: Any, encoder: Any) -> None:
        self.camera = camera
        self.encoder = encoder
        self._told = False

    def force_key_frame(self) -> None:
        force = getattr(self.encoder, "force_key_frame", None)
        if force is not None:
            force()
        elif not self._told:  # picamera2 before 0.3.32: key frames come every iperiod only
            self._told = True
            log.warning("picamera2 before 0.3.32 makes no key frame on request; upgrade it")

    def set_bitrate(self, bps: int) -> None:
        # picamera2 reads it when recording starts; while it records, the Pi 4's V4L2
        # encoder takes a new bitrate through the same control (the Pi 5's libav one
        # does not: it keeps the bitrate it started with).
        self.encoder.bitrate = bps
        device = getattr(self.encoder, "vd", None)
        if device is None or device.closed:
            return
        from videodev2 import V4L2_CID_MPEG_VIDEO_BITRATE, VIDIOC_S_CTRL, v4l2_control

        control = v4l2_control()
        control.id, control.value = V4L2_CID_MPEG_VIDEO_BITRATE, bps
        fcntl.ioctl(device, VIDIOC_S_CTRL, control)

    def close(self) -> None:
        self.camera.stop_recording()
        self.camera.close()


def create(options: dict[str, Any]) -> EncodedFeed:
    from picamera2 import Picamera2
    from picamera2.encoders import H264Encoder
    from picamera2.outputs import Output

    feed = EncodedFeed(video.bitrates("picamera2", "h264", options))

    class ToFeed(Output):
        def outputframe(
            self,
            frame: bytes,
            keyframe: bool = True,
            timestamp: int | None = None,
            *args: Any,
            **kwargs: Any,
        ) -> None:
            feed.put(frame, keyframe, timestamp or 0)

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
    encoder = H264Encoder(bitrate=feed.bitrate, repeat=True, iperiod=fps, profile=PROFILE)
    camera.start_recording(encoder, ToFeed())
    feed.encoder = PicameraEncoder(camera, encoder)
    return feed
