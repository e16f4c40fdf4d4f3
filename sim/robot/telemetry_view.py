"""What the simulator shows of the robot at ``GET /telemetry``: its latest state and rejection."""

from __future__ import annotations

import json
from typing import Any


class LatestTelemetry:
    """The robot's latest state report and latest rejection, from its telemetry topic."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self.rejection: dict[str, Any] | None = None

    def record(self, payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "rejected":
            self.rejection = message
        else:
            self.state = message

    def snapshot(self) -> dict[str, Any]:
        return {**(self.state or {}), "last_rejection": self.rejection}
