"""An H-bridge on the Pi's GPIO pins (L298N, L9110S, DRV8833, TB6612 boards...), via gpiozero.

Each wheel is a gpiozero ``Motor``: a forward and a backward pin, and an optional enable
pin (L298N's ENA/ENB) that is held high. With PWM (the default) the speed is the duty
cycle of the forward or backward pin; without it a wheel is either stopped or at full
speed. The default pins are the CamJam EduKit 3 motor board's, as gpiozero's
``CamJamKitRobot`` uses them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from drivers.base import Board, DriverError
from drivers.channel_board import ChannelBoard
from drivers.options import BoardOptions, Requirement
from drivers.wiring import Wiring, read_wiring

# option -> default BCM pin (None: not connected)
PINS: dict[str, int | None] = {
    "left_forward": 9,
    "left_backward": 10,
    "left_enable": None,
    "right_forward": 7,
    "right_backward": 8,
    "right_enable": None,
}
BCM_PINS = range(2, 28)  # the 40-pin header's GPIOs


@dataclass(frozen=True)
class Settings:
    wiring: Wiring
    pins: dict[str, int | None]
    pwm: bool = True


class GpioMotors(ChannelBoard):
    name = "gpiozero"

    def __init__(self, motor_class: Any, settings: Settings, pin_factory: Any = None) -> None:
        super().__init__(settings.wiring)
        self.pwm = settings.pwm
        self._motors: dict[str, Any] = {}
        try:
            for wheel in settings.wiring.channels:
                self._motors[wheel] = motor_class(
                    settings.pins[f"{wheel}_forward"],
                    settings.pins[f"{wheel}_backward"],
                    enable=settings.pins[f"{wheel}_enable"],
                    pwm=settings.pwm,
                    pin_factory=pin_factory,
                )
        except Exception:
            self._release()  # give back the pins already claimed
            raise
        self.stop()

    def _set(self, channel: str, value: float) -> None:
        if not self.pwm and value:
            value = 1.0 if value > 0 else -1.0  # on/off pins: any speed is full speed
        self._motors[channel].value = value

    def _release(self) -> None:
        for motor in self._motors.values():
            motor.close()


def _settings(options: dict[str, Any]) -> Settings:
    opts = BoardOptions("gpiozero", options)
    wiring = read_wiring(opts)
    pins = {key: opts.get(key, default, (int, type(None))) for key, default in PINS.items()}
    for key in ("left_forward", "left_backward", "right_forward", "right_backward"):
        if pins[key] is None:
            opts.fail(
                key, None, "must be a BCM pin number: a wheel needs a forward and a backward pin"
            )
    used: dict[int, str] = {}
    for key, pin in pins.items():
        if pin is None:
            continue
        if pin not in BCM_PINS:
            opts.fail(key, pin, f"must be a BCM GPIO number from {BCM_PINS[0]} to {BCM_PINS[-1]}")
        elif pin in used:
            opts.fail(key, pin, f"GPIO{pin} is already used by {used[pin]}; each pin has one job")
        else:
            used[pin] = key
    pwm = opts.get("pwm", True, bool)
    opts.done()
    return Settings(wiring, pins, pwm)


def check_options(options: dict[str, Any]) -> None:
    _settings(options)


def create(options: dict[str, Any], pin_factory: Any = None) -> GpioMotors:
    """The driver; ``pin_factory`` is a gpiozero pin factory (gpiozero's default if None)."""
    settings = _settings(options)
    gpiozero = importlib.import_module("gpiozero")
    try:
        return GpioMotors(gpiozero.Motor, settings, pin_factory)
    except gpiozero.GPIOZeroError as exc:
        raise DriverError(
            f'motor driver "gpiozero": cannot claim the motor pins ({type(exc).__name__}: {exc}); '
            "on a Raspberry Pi, gpiozero needs a pin library (sudo apt install python3-lgpio, "
            "or pip install lgpio) and the user in the gpio group, and no other process may "
            "hold the pins"
        ) from exc


BOARD = Board(
    name="gpiozero",
    check_options=check_options,
    create=create,
    requires=(
        Requirement(module="gpiozero", pip="gpiozero", apt="python3-gpiozero", extra="gpiozero"),
    ),
)
