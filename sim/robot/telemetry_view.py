"""What the simulator knows of the robot from its telemetry topic: its latest state, health
report and rejection (``GET /telemetry``), and whether it is connected at all."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

# The sim robot reports every 200 ms; this much silence means it is gone.
MAX_SILENCE_S = 2.0


class LatestTelemetry:
    """The robot's latest state report and latest rejection, from its telemetry topic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.state: dict[str, Any] | None = None
        self.rejection: dict[str, Any] | None = None
        self.health: dict[str, Any] | None = None
        self._clock = clock
        self._state_at = 0.0

    def record(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "rejected":
            self.rejection = message
        elif message.get("type") == "health":
            self.health = message  # no word on the link: the state reports say that
        else:
            self.state, self._state_at = message, self._clock()

    def snapshot(self) -> dict[str, Any]:
        return {**(self.state or {}), "last_rejection": self.rejection, "last_health": self.health}

    def unavailable_reason(self, max_silence_s: float = MAX_SILENCE_S) -> str | None:
        """Why the robot cannot take a command now, or None if it is connected: it never
        reported, its last word is offline (its own, or the last will the broker published
        for it), or it has been silent too long."""
        if self.state is None:
            return "the robot has not connected yet"
        if self.state.get("link") != "online":
            return "the robot is not connected (its link is offline)"
        silence = self._clock() - self._state_at
        if silence > max_silence_s:
            return f"no telemetry from the robot for {silence:.0f} s"
        return None
