"""The limiter stages: after the ramp, before the wheels, each stage may cap the outputs for
a reason of its own (the link, an obstacle, the battery), as ROS 2's diff_drive_controller
runs its named stages in order (timeout, limiters, odometry).

A stage is any object with a ``kind`` (a :class:`LimitedBy`) and ``limit(wheels)``, which
returns the capped wheels and whether it capped them. A stage never speeds the wheels up nor
turns them the other way: each only scales down what it is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from robot.contracts.telemetry import LimitedBy
from robot.daemon.ramp import Wheels


class Limiter(Protocol):
    kind: LimitedBy

    def limit(self, wheels: Wheels) -> tuple[Wheels, bool]:
        """``wheels`` capped by this stage, and whether it capped them."""
        ...


def run_chain(stages: Sequence[Limiter], wheels: Wheels) -> tuple[Wheels, LimitedBy | None]:
    """``wheels`` through every stage in order; the last stage that capped them is the one
    that binds, and the one telemetry names."""
    limited_by = None
    for stage in stages:
        wheels, limited = stage.limit(wheels)
        if limited:
            limited_by = stage.kind
    return wheels, limited_by


def cap_speed(wheels: Wheels, max_output: float) -> tuple[Wheels, bool]:
    """Both wheels scaled down together so neither passes ``max_output`` (keeps the curve)."""
    peak = max(abs(wheels[0]), abs(wheels[1]))
    if peak <= max_output:
        return wheels, False
    scale = max_output / peak
    return (wheels[0] * scale + 0.0, wheels[1] * scale + 0.0), True


def cap_forward(wheels: Wheels, max_forward: float) -> tuple[Wheels, bool]:
    """The forward part of the motion, ``(left + right) / 2``, cut to ``max_forward``; the turn
    and any backing away are kept."""
    forward = (wheels[0] + wheels[1]) / 2
    if forward <= max_forward:
        return wheels, False
    turn = (wheels[1] - wheels[0]) / 2
    return (max_forward - turn + 0.0, max_forward + turn + 0.0), True
