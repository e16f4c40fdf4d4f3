"""How late commands reach the robot: the age of each ``/publish`` command on arrival, by the
``received_ts`` the publish endpoint stamped, while the robot's clock is synchronised (an
unsynchronised clock makes the figure meaningless). The health report carries the median of
the latest ones, beside the Wi-Fi signal, so a dead zone shows before the robot lurches."""

from __future__ import annotations

import statistics
from collections import deque
from typing import Any

from robot.contracts.protocol import Command

SAMPLES = 20


class CommandAges:
    def __init__(self, samples: int = SAMPLES) -> None:
        self.ages_ms: deque[float] = deque(maxlen=samples)

    def arrived(self, command: Command, now_ms: float, synced: bool) -> None:
        """Note ``command``'s age on arrival (cheap: on the command path)."""
        if synced and command.received_ts is not None:
            self.ages_ms.append(max(0.0, now_ms - command.received_ts))

    def report(self) -> dict[str, Any]:
        if not self.ages_ms:
            return {"command_age_ms": None, "samples": 0}
        return {
            "command_age_ms": round(statistics.median(self.ages_ms), 1),
            "samples": len(self.ages_ms),
        }
