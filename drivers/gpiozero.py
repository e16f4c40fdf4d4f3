"""An H-bridge on the Pi's GPIO pins (L298N, L9110S, DRV8833, TB6612 boards...), via gpiozero.

Each wheel is a gpiozero ``Motor``: a forward and a backward pin, and an optional enable
pin (L298N's ENA/ENB) that is held high. With PWM (the default) the speed is the duty
cycle of the forward or backward pin; without it a wheel is either stopped or at full
speed. The default pins are the CamJam EduKit 3 motor board's, as gpiozero's
``CamJamKitRobot`` uses them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drivers import probes
from drivers.base import Board, DriverError, import_library
from drivers.channel_board import ChannelBoard
from drivers.options import BoardOptions, Option, Requirement
from drivers.wiring import Wiring, read_wiring, wiring_options

# option -> default BCM pin (None: not connected)
PINS: dict[str, int | None] = {
    "left_forward": 9,
    "left_backward": 10,
    "left_enable": None,
    "right_forward": 7,
    "right_backward": 8,
    "right_enable": None,
}
# A phase/enable bridge (DRV8835, Cytron MDD10A, Pololu boards): one pin sets the direction,
# the other's PWM the speed. Defaults: Pololu's DRV8835 kit for the Raspberry Pi.
PHASE_ENABLE_PINS: dict[str, int | None] = {
    "left_phase": 5,
    "left_enable": 12,
    "right_phase": 6,
    "right_enable": 13,
}
BRIDGES = ("in1-in2", "phase-enable")
BCM_PINS = range(2, 28)  # the 40-pin header's GPIOs


@dataclass(frozen=True)
class Settings:
    wiring: Wiring
    pins: dict[str, int | None]
    pwm: bool = True
    bridge: str = "in1-in2"


class GpioMotors(ChannelBoard):
    name = "gpiozero"

    def __init__(self, gpiozero: Any, settings: Settings, pin_factory: Any = None) -> None:
        super().__init__(settings.wiring)
        self.pwm = settings.pwm
        self._motors: dict[str, Any] = {}
        pins = settings.pins
        try:
            for wheel in settings.wiring.channels:
                if settings.bridge == "phase-enable":
                    self._motors[wheel] = gpiozero.PhaseEnableMotor(
                        pins[f"{wheel}_phase"],
                        pins[f"{wheel}_enable"],
                        pwm=settings.pwm,
                        pin_factory=pin_factory,
                    )
                    continue
                self._motors[wheel] = gpiozero.Motor(
                    pins[f"{wheel}_forward"],
                    pins[f"{wheel}_backward"],
                    enable=pins[f"{wheel}_enable"],
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
    bridge = opts.get("bridge", "in1-in2", str, choices=BRIDGES)
    defaults = PHASE_ENABLE_PINS if bridge == "phase-enable" else PINS
    pins = {key: opts.get(key, default, (int, type(None))) for key, default in defaults.items()}
    # an in1-in2 bridge may have its enable pins jumpered; a phase-enable one's carry the speed
    needed = [key for key in defaults if bridge == "phase-enable" or not key.endswith("_enable")]
    for key in needed:
        if pins[key] is None:
            opts.fail(key, None, f"must be a BCM pin number: a {bridge} bridge needs it")
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
    return Settings(wiring, pins, pwm, bridge)


def check_options(options: dict[str, Any]) -> None:
    _settings(options)


def create(options: dict[str, Any], pin_factory: Any = None) -> GpioMotors:
    """The driver; ``pin_factory`` is a gpiozero pin factory (gpiozero's default if None)."""
    settings = _settings(options)
    gpiozero = import_library(
        "gpiozero",
        "gpiozero",
        "on Raspberry Pi OS run MOTOR_DRIVER=gpiozero ./install.sh (python3-gpiozero and "
        "python3-lgpio)",
    )
    try:
        return GpioMotors(gpiozero, settings, pin_factory)
    except Exception as exc:  # gpiozero's errors, and its pin library's own (lgpio's "GPIO busy")
        raise DriverError(
            f'motor driver "gpiozero": cannot claim the motor pins ({type(exc).__name__}: {exc}); '
            "on a Raspberry Pi, gpiozero needs a pin library (sudo apt install python3-lgpio, "
            "or pip install lgpio) and the user in the gpio group, and no other process may "
            "hold the pins"
        ) from exc


def probe(options: Mapping[str, Any]) -> str:
    pins = _settings(dict(options)).pins
    return probes.describe_gpio_lines(pin for pin in pins.values() if pin is not None)


BOARD = Board(
    name="gpiozero",
    check_options=check_options,
    create=create,
    requires=(
        Requirement(module="gpiozero", pip="gpiozero", apt="python3-gpiozero", extra="gpiozero"),
    ),
    probe=probe,
    options=(
        Option(
            "left_forward",
            PINS["left_forward"],
            "BCM pin that drives the left wheel forwards (IN1)",
        ),
        Option("left_backward", PINS["left_backward"], "BCM pin that drives it backwards (IN2)"),
        Option(
            "left_enable",
            PINS["left_enable"],
            "BCM pin held high to enable the left bridge (L298N ENA), or `null`",
        ),
        Option("right_forward", PINS["right_forward"], "right wheel forwards (IN3)"),
        Option("right_backward", PINS["right_backward"], "right wheel backwards (IN4)"),
        Option(
            "right_enable",
            PINS["right_enable"],
            "enable pin of the right bridge (L298N ENB), or `null`",
        ),
        Option(
            "pwm",
            True,
            "speed by PWM on the forward/backward pins; `false`: a wheel is stopped or at full "
            "speed",
        ),
        Option(
            "bridge",
            BRIDGES[0],
            '`"phase-enable"` for a bridge with a direction pin and a speed (PWM) pin per motor '
            "(DRV8835, Cytron MDD10A, Pololu boards): then its pins are "
            + ", ".join(f"`{key}` ({pin})" for key, pin in PHASE_ENABLE_PINS.items())
            + ", the defaults of Pololu's DRV8835 kit for the Raspberry Pi, and the "
            "forward/backward keys do not apply",
        ),
        *wiring_options(),
    ),
)
