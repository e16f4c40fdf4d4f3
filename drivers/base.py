"""The motor driver interface every board implements."""

from __future__ import annotations

import abc
from typing import Any


class DriverError(RuntimeError):
    """A board that cannot be loaded or driven; the message says what to do about it."""


class MotorDriver(abc.ABC):
    """Two wheels, each driven from -1 (full reverse) to 1 (full forward).

    Boards differ in wiring (which channel is the left wheel, which motor is mounted
    inverted); a board module takes that from its options, so callers never see it.
    """

    name: str = "motor driver"

    @abc.abstractmethod
    def drive(self, left: float, right: float) -> None:
        """Set both wheel outputs at once; each is clamped to -1..1."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop both wheels."""

    def close(self) -> None:
        """Stop the wheels and release the hardware. Safe to call more than once."""
        self.stop()

    def status(self) -> dict[str, Any]:
        """Board-specific state for telemetry (a simulated pose, a controller's health)."""
        return {}

    def __enter__(self) -> MotorDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def clamp(value: float) -> float:
    """A wheel output limited to -1..1 (NaN counts as stop)."""
    if value != value:  # NaN
        return 0.0
    return max(-1.0, min(1.0, float(value)))
