"""Pimoroni Explorer HAT Pro (the STS-Pi kit's board): a DRV8833 H-bridge on four GPIOs.

The library names the motor terminals ``explorerhat.motor.one`` and ``.two``; as the kit
is wired, one is the left wheel. ``speed()`` takes -100..100.
"""

from __future__ import annotations

import importlib
from typing import Any

from drivers.base import Board, DriverError
from drivers.channel_board import ChannelBoard
from drivers.options import BoardOptions, Requirement
from drivers.wiring import Wiring, read_wiring

CHANNELS = ("one", "two")  # the library's motor names, as printed on the board (1, 2)


class ExplorerHat(ChannelBoard):
    name = "explorerhat"

    def __init__(self, module: Any, wiring: Wiring) -> None:
        super().__init__(wiring)
        self._motors = {channel: getattr(module.motor, channel) for channel in CHANNELS}
        self.stop()  # a killed process leaves the PWM running: start from stopped

    def _set(self, channel: str, value: float) -> None:
        self._motors[channel].speed(round(value * 100))


def _wiring(options: dict[str, Any]) -> Wiring:
    opts = BoardOptions("explorerhat", options)
    wiring = read_wiring(opts, CHANNELS)
    opts.done()
    return wiring


def check_options(options: dict[str, Any]) -> None:
    _wiring(options)


def create(options: dict[str, Any]) -> ExplorerHat:
    wiring = _wiring(options)
    # Imported here, not at the top: the library probes I2C as it is imported.
    try:
        module = importlib.import_module("explorerhat")
    except (ImportError, OSError) as exc:
        raise DriverError(
            f'motor driver "explorerhat": the explorerhat library failed to start ({exc}); '
            "check the HAT is seated and I2C is enabled (sudo raspi-config nonint do_i2c 0)"
        ) from exc
    return ExplorerHat(module, wiring)


BOARD = Board(
    name="explorerhat",
    check_options=check_options,
    create=create,
    requires=(
        Requirement(
            module="explorerhat", pip="explorerhat", apt="python3-explorerhat", extra="explorerhat"
        ),
    ),
)
