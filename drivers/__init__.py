"""The hardware abstraction: boards by name, each imported only when it is asked for.

    >>> from drivers import load
    >>> with load("sim") as motors:
    ...     motors.drive(0.5, 0.5)

A board module exposes:

- ``REQUIRES``: a ``Requirement`` naming the library it needs (``None`` if it needs none);
- ``check_options(options: dict) -> None``: raises ``DriverError`` naming every bad option,
  without touching hardware or importing the board library;
- ``create(options: dict) -> MotorDriver``.

Nothing here imports a board library, so a laptop never needs one.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Any

from drivers.base import DriverError, MotorDriver, clamp
from drivers.options import Requirement

# name -> module that implements it
BOARDS: dict[str, str] = {
    "sim": "sim.motors",
    "explorerhat": "drivers.explorerhat",
    "adafruit": "drivers.adafruit",
    "gpiozero": "drivers.gpio",
    "serial": "drivers.serial_controller",
}

__all__ = ["BOARDS", "DriverError", "MotorDriver", "Requirement", "check", "clamp", "load"]


def load(name: str, options: dict[str, Any] | None = None) -> MotorDriver:
    """The motor driver for board ``name``, configured with ``options``."""
    module = _board_module(name)
    _require(name, module)
    return module.create(dict(options or {}))


def check(name: str, options: dict[str, Any] | None = None) -> list[str]:
    """Every problem that would stop board ``name`` from loading, without touching hardware."""
    try:
        module = _board_module(name)
    except DriverError as exc:
        return [str(exc)]
    problems = []
    try:
        module.check_options(dict(options or {}))
    except DriverError as exc:
        problems.append(str(exc))
    try:
        _require(name, module)
    except DriverError as exc:
        problems.append(str(exc))
    return problems


def _board_module(name: str) -> ModuleType:
    module_name = BOARDS.get(name)
    if module_name is None:
        raise DriverError(
            f'unknown motor driver "{name}": choose one of {", ".join(sorted(BOARDS))}'
        )
    return importlib.import_module(module_name)


def _require(name: str, module: ModuleType) -> None:
    requirement: Requirement | None = module.REQUIRES
    # find_spec looks the library up without importing it (some probe I2C at import)
    if requirement is not None and importlib.util.find_spec(requirement.module) is None:
        raise DriverError(
            f'motor driver "{name}" needs the Python package "{requirement.pip}", '
            f"which is not installed: {requirement.install_hint()}"
        )
