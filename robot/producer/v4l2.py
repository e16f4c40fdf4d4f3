"""The ``v4l2`` camera: a USB (UVC) camera through Video4Linux, decoded by FFmpeg (PyAV)."""

from __future__ import annotations

from typing import Any


def create(options: dict[str, Any]) -> Any:
    from aiortc.contrib.media import MediaPlayer

    width, height = options.get("width", 640), options.get("height", 480)
    player = MediaPlayer(
        options.get("device", "/dev/video0"),
        format="v4l2",
        options={
            "video_size": f"{width}x{height}",
            "framerate": str(options.get("fps", 30)),
            # Most UVC cameras give 30 fps at 640x480 only as MJPEG, not as raw YUYV.
            "input_format": options.get("input_format", "mjpeg"),
        },
    )
    return player.video
