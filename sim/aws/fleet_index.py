"""A stand-in for AWS IoT fleet indexing's connectivity status, which the fleet Lambda reads
in AWS: here each robot's link comes from its telemetry (a state report says ``online``; the
broker's last will for a vanished daemon says ``offline``), with the time it last changed."""

from __future__ import annotations

import json
import threading
import time

from cloud.fleet.app import Link


class TelemetryLinks:
    """Robots' links as their telemetry tells them; a fleet Lambda ``LinkSource``."""

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}
        self._lock = threading.Lock()  # recorded on the MQTT thread, read on the front's

    def record(self, robot: str, payload: bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("link") not in ("online", "offline"):
            return
        with self._lock:
            if robot not in self._links or self._links[robot].state != message["link"]:
                self._links[robot] = Link(message["link"], time.time())

    def __call__(self, names: list[str]) -> dict[str, Link]:
        with self._lock:
            return {name: self._links[name] for name in names if name in self._links}
