"""Pimoroni Explorer HAT (the STS-Pi kit's board).

``explorerhat.motor.one`` is the left wheel and ``.two`` the right, as the kit is wired;
``speed()`` takes -100..100.
"""

from __future__ import annotations

import importlib
from typing import Any

from drivers.base import MotorDriver, clamp
from drivers.options import BoardOptions, Requirement

REQUIRES = Requirement(module="explorerhat", pip="explorerhat", apt="python3-explorerhat",
                       extra="explorerhat")


class ExplorerHat(MotorDriver):
    name = "explorerhat"

    def __init__(self, module: Any) -> None:
        self._left = module.motor.one
        self._right = module.motor.two

    def drive(self, left: float, right: float) -> None:
        self._left.speed(round(clamp(left) * 100))
        self._right.speed(round(clamp(right) * 100))

    def stop(self) -> None:
        self._left.stop()
        self._right.stop()


def check_options(options: dict[str, Any]) -> None:
    BoardOptions("explorerhat", options).done()


def create(options: dict[str, Any]) -> ExplorerHat:
    check_options(options)
    # Imported here, not at the top: the library probes I2C as it is imported.
    return ExplorerHat(importlib.import_module("explorerhat"))
