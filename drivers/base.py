"""The motor driver interface every board implements, and the plugin that makes one."""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drivers.options import Option, Requirement


class DriverError(RuntimeError):
    """A board that cannot be loaded or driven; the message says what to do about it."""


class MotorDriver(abc.ABC):
    """Two wheels, each driven from -1 (full reverse) to 1 (full forward).

    Boards differ in wiring (which channel is the left wheel, which motor is mounted
    inverted); a board module takes that from its options, so callers never see it.
    """

    name: str = "motor driver"

    @abc.abstractmethod
    def drive(self, left: float, right: float, ttl_s: float | None = None) -> None:
        """Set both wheel outputs at once; each is clamped to -1..1.

        ``ttl_s``: how long these outputs may stand without another call. A board that keeps
        time itself (a serial controller) stops the wheels then, even if the Pi is wedged;
        the others leave it to the motion controller's deadman timer."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop both wheels."""

    def close(self) -> None:
        """Stop the wheels and release the hardware. Safe to call more than once."""
        self.stop()

    def status(self) -> dict[str, Any]:
        """Board-specific state for telemetry (a simulated pose, a controller's health)."""
        return {}

    async def keep_alive(self) -> None:  # noqa: B027 (optional: most boards need nothing)
        """What the board needs done while the daemon runs (a serial controller's
        heartbeat), on the daemon's event loop, so a blocked loop does none of it; returns
        at once for a board that needs nothing. Never raises for a board's trouble."""

    def wheel_travel(self) -> tuple[float, float] | None:
        """Metres each wheel has rolled since the driver started, from wheel encoders
        (left, right); None for a board without them."""
        return None

    def __enter__(self) -> MotorDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def import_library(board: str, module: str, fix: str) -> ModuleType:
    """Import a board's library; any failure (a missing module, a library that finds no Pi,
    a pin library that raises its own error) becomes a DriverError that ends with ``fix``."""
    try:
        return importlib.import_module(module)
    except Exception as exc:
        detail = " ".join(str(exc).split())  # one line: some libraries' messages have several
        raise DriverError(
            f'motor driver "{board}": the {module} library failed to start '
            f"({type(exc).__name__}: {detail}); {fix}"
        ) from exc


def clamp(value: float) -> float:
    """A wheel output limited to -1..1 (NaN counts as stop)."""
    if value != value:  # NaN
        return 0.0
    return max(-1.0, min(1.0, float(value)))


@dataclass(frozen=True)
class Board:
    """A motor board plugin, as published under the ``telepresence_robot.boards`` group.

    ``check_options`` raises DriverError naming every bad option without touching hardware
    or importing the board's library; ``create`` builds the driver (and may import it).
    """

    name: str
    check_options: Callable[[Mapping[str, Any]], None]
    create: Callable[[Mapping[str, Any]], MotorDriver]
    requires: tuple[Requirement, ...] = ()  # every library ``create`` imports
    # What is on the board's bus, looked at without driving (robot doctor): a sentence, or
    # DriverError saying what is missing and the fix.
    probe: Callable[[Mapping[str, Any]], str] | None = None
    # Its MOTOR_OPTIONS keys with their defaults and meanings (docs/boards.md's table).
    options: tuple[Option, ...] = ()
