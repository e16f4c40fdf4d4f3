"""Differential-drive kinematics: the simulated robot's true pose, integrated exactly from
piecewise-constant wheels.

Real motors never match: ``mismatch`` makes the right wheel that much faster than the left
(0.02: 2 %), so the daemon's dead-reckoned estimate drifts from this truth as it would on a
real robot.
"""

from __future__ import annotations

from robot.daemon.odometry import Pose, advance

__all__ = ["DiffDrive", "Pose"]


class DiffDrive:
    """Two wheels ``wheel_separation`` metres apart, each at most ``top_speed`` metres per second.

    Wheel outputs (-1..1) hold between calls to ``set_wheels``, so the motion between two
    changes is an arc that is integrated in closed form: no tick loop, no drift with load.
    """

    def __init__(
        self,
        wheel_separation: float = 0.15,
        top_speed: float = 0.5,
        now: float = 0.0,
        mismatch: float = 0.0,
        start: Pose | None = None,
    ) -> None:
        if wheel_separation <= 0 or top_speed <= 0:
            raise ValueError("wheel_separation and top_speed must be positive")
        self.wheel_separation = wheel_separation
        self.top_speed = top_speed
        self.mismatch = mismatch
        self._pose = start or Pose()
        self._wheels = (0.0, 0.0)
        self._since = now
        self._travel = (0.0, 0.0)  # metres each wheel has rolled, up to _since
        self._work = 0.0  # wheel output-seconds (|left| + |right|), up to _since

    @property
    def wheels(self) -> tuple[float, float]:
        return self._wheels

    def set_wheels(self, left: float, right: float, now: float) -> None:
        self._pose = self.pose(now)
        self._travel = self.travel(now)
        self._work = self.work(now)
        self._since = max(now, self._since)
        self._wheels = (left, right)

    def travel(self, now: float) -> tuple[float, float]:
        """Metres each wheel has rolled (what wheel encoders would count)."""
        left, right = self._distances(now)
        return self._travel[0] + left, self._travel[1] + right

    def work(self, now: float) -> float:
        """How hard the motors have worked: the sum over both wheels of |output| x seconds
        (what a simulated battery drains by)."""
        left, right = self._wheels
        return self._work + (abs(left) + abs(right)) * max(0.0, now - self._since)

    def pose(self, now: float) -> Pose:
        left, right = self._distances(now)
        return advance(self._pose, left, right, self.wheel_separation)

    def _distances(self, now: float) -> tuple[float, float]:
        dt = max(0.0, now - self._since)
        left, right = self._wheels
        return left * self.top_speed * dt, right * self.top_speed * (1 + self.mismatch) * dt
