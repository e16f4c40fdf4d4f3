"""Differential-drive kinematics: the simulated robot's true pose, integrated exactly from
piecewise-constant wheels, stopped by the walls and boxes of its world (sim/robot/world.py).

Real motors never match: ``mismatch`` makes the right wheel that much faster than the left
(0.02: 2 %), so the daemon's dead-reckoned estimate drifts from this truth as it would on a
real robot.

Collisions: the robot's round body may not move into a block. Along each stretch of constant
wheels the path is sampled every ``STEP_M`` (only as far as time has got, so a query costs
what the robot travelled since the last one); where the body would first press into a block
the robot stops, wheels still turning, until the wheels change, and ``collisions`` counts
each time it ran into something it was not already touching.
"""

from __future__ import annotations

import math

from robot.daemon.odometry import Pose, advance
from sim.robot.world import EMPTY, ROBOT_RADIUS_M, World

__all__ = ["DiffDrive", "Pose"]

STEP_M = 0.005  # sampling of the path for contact: finer than any block is thick


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
        world: World = EMPTY,
    ) -> None:
        if wheel_separation <= 0 or top_speed <= 0:
            raise ValueError("wheel_separation and top_speed must be positive")
        self.wheel_separation = wheel_separation
        self.top_speed = top_speed
        self.mismatch = mismatch
        self.world = world
        self.collisions = 0
        self._pose = start or Pose()
        self._wheels = (0.0, 0.0)
        self._since = now
        self._travel = (0.0, 0.0)  # metres each wheel has rolled, up to _since
        self._work = 0.0  # wheel output-seconds (|left| + |right|), up to _since
        self._checked = now  # the path is known free of contact up to this time
        self._contact: float | None = None  # when this stretch ran into a block
        self._touching = world.touches(self._pose.x, self._pose.y)  # at this stretch's start

    @property
    def wheels(self) -> tuple[float, float]:
        return self._wheels

    def set_wheels(self, left: float, right: float, now: float) -> None:
        now = max(now, self._since)
        self._pose = self.pose(now)
        self._travel = self.travel(now)
        self._work = self.work(now)
        self._touching = self._contact is not None or self.world.touches(self._pose.x, self._pose.y)
        self._since = self._checked = now
        self._contact = None
        self._wheels = (left, right)

    def travel(self, now: float) -> tuple[float, float]:
        """Metres each wheel has rolled (what wheel encoders would count): a wheel of a robot
        pressed against a wall slips, and its encoder counts no further."""
        left, right = self._distances(self._moving_until(now))
        return self._travel[0] + left, self._travel[1] + right

    def work(self, now: float) -> float:
        """How hard the motors have worked: the sum over both wheels of |output| x seconds
        (what a simulated battery drains by)."""
        left, right = self._wheels
        return self._work + (abs(left) + abs(right)) * max(0.0, now - self._since)

    def pose(self, now: float) -> Pose:
        left, right = self._distances(self._moving_until(now))
        return advance(self._pose, left, right, self.wheel_separation)

    def _speeds(self) -> tuple[float, float]:
        left, right = self._wheels
        return left * self.top_speed, right * self.top_speed * (1 + self.mismatch)

    def _distances(self, now: float) -> tuple[float, float]:
        dt = max(0.0, now - self._since)
        left, right = self._speeds()
        return left * dt, right * dt

    def _moving_until(self, now: float) -> float:
        """``now``, or the moment of contact if the robot ran into a block before it."""
        if self._contact is None and now > self._checked:
            self._search(now)
        if self._contact is not None and self._contact <= now:
            return self._contact
        return now

    def _search(self, now: float) -> None:
        left, right = self._speeds()
        fastest = max(abs(left), abs(right))
        if fastest == 0 or not self.world.blocks:
            self._checked = now
            return
        samples = max(1, math.ceil(fastest * (now - self._checked) / STEP_M))
        step = (now - self._checked) / samples
        before = self._clearance(self._checked)
        for index in range(1, samples + 1):
            moment = self._checked + index * step
            clearance = self._clearance(moment)
            # Pressing in: touching, and closer than a step before (backing off is free).
            if clearance <= 0 and clearance < before:
                self._contact = moment - step  # the last moment before it pressed in
                if not (self._touching and index == 1):
                    self.collisions += 1
                break
            before = clearance
        self._checked = now

    def _clearance(self, moment: float) -> float:
        """The gap between the body and the nearest block at ``moment`` on this stretch."""
        x, y = self._path(moment - self._since)
        return self.world.clearance(x, y) - ROBOT_RADIUS_M

    def _path(self, dt: float) -> tuple[float, float]:
        """The centre's positions ``dt`` seconds into this stretch (its closed-form arc)."""
        left, right = self._speeds()
        speed = (left + right) / 2
        turn = (right - left) / self.wheel_separation
        x0, y0, h0 = self._pose.x, self._pose.y, self._pose.heading
        if abs(turn) < 1e-9:
            return x0 + speed * dt * math.cos(h0), y0 + speed * dt * math.sin(h0)
        radius = speed / turn
        heading = h0 + turn * dt
        return (
            x0 + radius * (math.sin(heading) - math.sin(h0)),
            y0 - radius * (math.cos(heading) - math.cos(h0)),
        )
