"""Wheel mixing: what a command asks of the two wheels.

The protocol says what a command *is*; this module says what it *does* to the wheels. The
motion controller turns its result into driver calls (and, in time, ramps towards it).
"""

from __future__ import annotations

from robot.contracts.protocol import Command


def wheel_outputs(command: Command, default_speed: float) -> tuple[float, float]:
    """The (left, right) wheel outputs, each -1..1, that a command asks for (a motion command,
    or ``stop``: the e-stop's actions stop the wheels in the controller, never mixed).

    ``left``/``right`` spin in place: left wheel backwards and right wheel forwards is
    ``left``. For ``drive``, positive ``angular`` turns left (counter-clockwise); when a
    wheel would exceed full speed both are scaled down together, keeping the curve.
    """
    speed = default_speed if command.speed is None else command.speed
    if command.action == "drive":
        left = command.linear - command.angular
        right = command.linear + command.angular
        peak = max(abs(left), abs(right), 1.0)
        scale = (1.0 if command.speed is None else command.speed) / peak
        return _clean(left * scale), _clean(right * scale)
    direction = {
        "forward": (1.0, 1.0),
        "backwards": (-1.0, -1.0),
        "left": (-1.0, 1.0),
        "right": (1.0, -1.0),
        "stop": (0.0, 0.0),
    }[command.action]
    return _clean(direction[0] * speed), _clean(direction[1] * speed)


def _clean(value: float) -> float:
    # Avoid "-0.0" in telemetry and keep rounding noise inside the -1..1 contract.
    return max(-1.0, min(1.0, value)) + 0.0
