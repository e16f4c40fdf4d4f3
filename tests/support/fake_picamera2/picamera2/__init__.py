"""A fake of picamera2's camera (tests/support/fake_picamera2/README.md)."""

from __future__ import annotations

from typing import Any

from picamera2.encoders import H264Encoder
from picamera2.outputs import Output

cameras: list[Picamera2] = []  # every camera made, for the tests to find


class Picamera2:
    def __init__(self, camera_num: int = 0) -> None:
        self.camera_num = camera_num
        self.configuration: dict[str, Any] | None = None
        self.encoder: H264Encoder | None = None
        self.closed = False
        cameras.append(self)

    def create_video_configuration(
        self, main: dict[str, Any], controls: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {"main": dict(main), "controls": dict(controls or {})}

    def configure(self, configuration: dict[str, Any]) -> None:
        self.configuration = configuration

    def start_recording(self, encoder: H264Encoder, output: Output) -> None:
        if self.configuration is None:
            raise RuntimeError("Camera must be configured before recording")
        width, height = self.configuration["main"]["size"]
        fps = self.configuration["controls"].get("FrameRate", 30)
        self.encoder = encoder
        encoder.start(width, height, fps, output)

    def stop_recording(self) -> None:
        if self.encoder is not None:
            self.encoder.stop()

    def close(self) -> None:
        self.closed = True
