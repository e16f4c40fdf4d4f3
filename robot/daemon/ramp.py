"""Limits and ramping: how fast the wheel outputs may change, and how far they may go.

Pure functions over (left, right) outputs, so the rules can be checked without a clock:
the motion controller calls :func:`limit` once per command and :func:`step` once per tick
while the wheels are on their way to the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Wheels = tuple[float, float]


@dataclass(frozen=True)
class Limits:
    """``max_output``: the largest wheel output. ``acceleration`` / ``deceleration``: how
    much a wheel's output may grow / shrink in magnitude per second (0: at once).
    ``max_turn``: the largest turning part of the outputs, ``|right - left| / 2``."""

    max_output: float = 1.0
    acceleration: float = 0.0
    deceleration: float = 0.0
    max_turn: float = 1.0


def limit(target: Wheels, limits: Limits) -> Wheels:
    """``target`` within the turn limit and the output limit, keeping the direction of travel
    (the turn is cut first, then both wheels are scaled together, which keeps the curve)."""
    left, right = target
    turn = (right - left) / 2
    if abs(turn) > limits.max_turn:
        forward = (left + right) / 2
        turn = math.copysign(limits.max_turn, turn)
        left, right = forward - turn, forward + turn
    peak = max(abs(left), abs(right))
    if peak > limits.max_output:
        scale = limits.max_output / peak
        left, right = left * scale, right * scale
    return left + 0.0, right + 0.0


def step(current: Wheels, target: Wheels, dt: float, limits: Limits) -> Wheels:
    """One tick of ``dt`` seconds from ``current`` towards ``target``, each wheel moved by at
    most the acceleration (away from zero) or deceleration (towards zero) allows. A wheel
    that must reverse first slows to zero, then speeds up the other way."""
    return (
        _wheel(current[0], target[0], dt, limits),
        _wheel(current[1], target[1], dt, limits),
    )


def _wheel(now: float, target: float, dt: float, limits: Limits) -> float:
    if now == target:
        return now
    slowing = abs(target) < abs(now) or now * target < 0
    rate = limits.deceleration if slowing else limits.acceleration
    if rate <= 0:
        return target
    reach = rate * dt
    if slowing and now * target < 0:
        # Reversing: this tick may at most bring the wheel to a stop.
        return 0.0 if abs(now) <= reach else now - math.copysign(reach, now)
    if abs(target - now) <= reach:
        return target
    return now + math.copysign(reach, target - now)
