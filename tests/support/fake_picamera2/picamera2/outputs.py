"""A fake of picamera2's outputs: the base class an encoder writes its frames to."""

from __future__ import annotations

from typing import Any


class Output:
    def outputframe(
        self, frame: bytes, keyframe: bool = True, timestamp: int | None = None, *args: Any
    ) -> None:
        pass
