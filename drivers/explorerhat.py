"""Pimoroni Explorer HAT Pro (the STS-Pi kit's board): a DRV8833 H-bridge on four GPIOs.

The library names the motor terminals ``explorerhat.motor.one`` and ``.two``; as the kit
is wired, one is the left wheel. ``speed()`` takes -100..100 and drives software PWM through
``RPi.GPIO`` (on Raspberry Pi OS Bookworm, the rpi-lgpio shim over lgpio, which works on every
Pi including the 5). At import the library needs ``smbus``, ``RPi.GPIO`` and ``cap1xxx`` but
touches no bus; I2C is used only by its touch pads and analog inputs, never by the motors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drivers import probes
from drivers.base import Board, import_library
from drivers.channel_board import ChannelBoard
from drivers.options import BoardOptions, Requirement
from drivers.wiring import Wiring, read_wiring, wiring_options

CHANNELS = ("one", "two")  # the library's motor names, as printed on the board (1, 2)
MOTOR_PINS = (19, 20, 21, 26)  # BCM: motor one backward/forward, motor two backward/forward


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
    # Imported here, not at the top: a laptop has neither the library nor RPi.GPIO.
    module = import_library(
        "explorerhat",
        "explorerhat",
        "on Raspberry Pi OS run MOTOR_DRIVER=explorerhat ./install.sh (it installs "
        "python3-smbus and python3-rpi-lgpio with apt, then explorerhat and cap1xxx with pip "
        "--no-deps), and add the user to the gpio group",
    )
    return ExplorerHat(module, wiring)


def probe(options: Mapping[str, Any]) -> str:
    """The motor pins must be free: nothing else may drive the DRV8833."""
    return probes.describe_gpio_lines(MOTOR_PINS)


BOARD = Board(
    name="explorerhat",
    check_options=check_options,
    create=create,
    requires=(
        Requirement(
            module="explorerhat", pip="explorerhat", apt="python3-explorerhat", extra="explorerhat"
        ),
        # What explorerhat imports at import (apt's python3-rpi-lgpio is RPi.GPIO on Bookworm).
        Requirement(module="smbus", pip="smbus", apt="python3-smbus"),
        Requirement(module="RPi.GPIO", pip="rpi-lgpio", apt="python3-rpi-lgpio"),
        Requirement(module="cap1xxx", pip="cap1xxx", apt="python3-cap1xxx"),
    ),
    probe=probe,
    options=wiring_options(CHANNELS, "motor terminal"),
)
