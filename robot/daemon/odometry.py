"""Odometry: where the robot is (x, y, heading) and how fast it goes, from its wheels.

``estimated`` dead-reckons from the outputs the controller commanded, the configured
wheel base and top speed (the speed of a wheel at output 1): it cannot know about slip,
load or a weak motor. ``measured`` integrates the wheel travel a board reports from its
encoders. Both integrate each stretch of constant wheel speeds as the exact arc it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pose:
    x: float = 0.0  # metres, forward at heading 0
    y: float = 0.0  # metres, to the left at heading 0
    heading: float = 0.0  # radians, counter-clockwise

    def as_dict(self) -> dict[str, float]:
        return {"x": round(self.x, 4), "y": round(self.y, 4), "heading": round(self.heading, 4)}


def advance(pose: Pose, left: float, right: float, wheel_separation: float) -> Pose:
    """``pose`` after the left wheel travelled ``left`` metres and the right ``right``, at
    constant speeds (an arc, integrated in closed form)."""
    distance = (left + right) / 2
    turn = (right - left) / wheel_separation
    if abs(turn) < 1e-12:
        # Too small a turn for the chord formula (it would divide by almost zero): a straight
        # line, but the turn still counts, so many small steps end where one step does.
        return Pose(
            pose.x + distance * math.cos(pose.heading),
            pose.y + distance * math.sin(pose.heading),
            pose.heading + turn,
        )
    # The arc's chord, along the mean heading: the same as radius * (sin h1 - sin h0) etc.,
    # without the cancellation that costs micrometres on a wide arc (a tiny turn).
    chord = 2 * distance / turn * math.sin(turn / 2)
    middle = pose.heading + turn / 2
    heading = pose.heading + turn
    return Pose(
        pose.x + chord * math.cos(middle),
        pose.y + chord * math.sin(middle),
        math.atan2(math.sin(heading), math.cos(heading)),
    )


class Odometry:
    """Dead reckoning from commanded outputs, or from encoder travel when a board has it."""

    def __init__(self, wheel_separation: float, top_speed: float, now: float) -> None:
        self.wheel_separation = wheel_separation
        self.top_speed = top_speed
        self.source = "estimated"
        self._pose = Pose()
        self._speeds = (0.0, 0.0)  # metres per second, left and right
        self._since = now
        self._travel: tuple[float, float] | None = None  # the encoders' last reading

    def outputs_changed(self, left: float, right: float, now: float) -> None:
        """The controller set new outputs: the stretch before them ends now."""
        if self._travel is None:
            self._pose = self.pose(now)
            self._since = max(now, self._since)
        self._speeds = (left * self.top_speed, right * self.top_speed)

    def encoders(self, travel: tuple[float, float], now: float) -> None:
        """A board's encoder reading: metres each wheel has travelled since it started."""
        if self._travel is not None:
            left, right = (travel[i] - self._travel[i] for i in (0, 1))
            dt = now - self._since
            if dt > 0:
                self._speeds = (left / dt, right / dt)
            self._pose = advance(self._pose, left, right, self.wheel_separation)
        self.source = "measured"
        self._travel = travel
        self._since = now

    def pose(self, now: float) -> Pose:
        if self._travel is not None:
            return self._pose  # measured: known up to the last encoder reading
        dt = max(0.0, now - self._since)
        return advance(
            self._pose, self._speeds[0] * dt, self._speeds[1] * dt, self.wheel_separation
        )

    def report(self, now: float) -> dict[str, Any]:
        """Pose and velocity for telemetry: linear in m/s, angular in rad/s (CCW)."""
        left, right = self._speeds
        return {
            "source": self.source,
            **self.pose(now).as_dict(),
            "linear": round((left + right) / 2, 4),
            "angular": round((right - left) / self.wheel_separation, 4),
        }
