"""Adafruit DC & Stepper Motor HAT (PCA9685 + two TB6612FNG), through adafruit_motorkit.

Four motor terminals, M1..M4; by default M1 is the left wheel and M2 the right. The AWS
sample's robot had both motors mounted the other way round (its forward was throttle
-speed on both): that is ``invert_left`` and ``invert_right``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drivers import probes
from drivers.base import Board, DriverError, import_library
from drivers.channel_board import ChannelBoard
from drivers.options import BoardOptions, Option, Requirement
from drivers.wiring import Wiring, read_wiring, wiring_options

CHANNELS = ("motor1", "motor2", "motor3", "motor4")
DEFAULT_ADDRESS = 0x60  # the HAT with no address jumper closed
# The PCA9685's prescaler reaches 24 Hz to about 1.7 kHz; adafruit_motorkit asks for 1600 Hz.
FREQUENCY_RANGE = (24, 1700)


@dataclass(frozen=True)
class Settings:
    wiring: Wiring
    address: int = DEFAULT_ADDRESS
    pwm_frequency: float = 1600.0
    on_stop: str = "brake"


class MotorHat(ChannelBoard):
    name = "adafruit"

    def __init__(self, kit: Any, settings: Settings) -> None:
        super().__init__(settings.wiring)
        self._motors = {channel: getattr(kit, channel) for channel in settings.wiring.channels}
        # adafruit_motor: throttle 0 shorts the motor (brake), None opens the bridge (coast).
        self._idle = 0.0 if settings.on_stop == "brake" else None
        # The PCA9685 keeps generating the last PWM after its process dies: start stopped.
        self.stop()

    def _set(self, channel: str, value: float) -> None:
        self._motors[channel].throttle = value if value else self._idle


def _settings(options: dict[str, Any]) -> Settings:
    opts = BoardOptions("adafruit", options)
    wiring = read_wiring(opts, CHANNELS)
    address = _address(opts)
    frequency = opts.get("pwm_frequency", 1600, (int, float))
    low, high = FREQUENCY_RANGE
    if not low <= frequency <= high:
        opts.fail("pwm_frequency", frequency, f"must be from {low} to {high} (Hz)")
    on_stop = opts.get("on_stop", "brake", str, choices=("brake", "coast"))
    opts.done()
    return Settings(wiring, address, float(frequency), on_stop)


def _address(opts: BoardOptions) -> int:
    # JSON has no hex numbers: "0x61" is accepted as well as 97.
    value = opts.get("i2c_address", f"0x{DEFAULT_ADDRESS:02x}", (int, str))
    try:
        address = int(value, 0) if isinstance(value, str) else value
    except ValueError:
        address = -1
    if not 0x40 <= address <= 0x7F:
        opts.fail(
            "i2c_address",
            value,
            'must be a PCA9685 address from 0x40 to 0x7F, e.g. "0x60" (the HAT\'s default; '
            "closing jumper A0, A1, A2, A3 or A4 adds 1, 2, 4, 8 or 16)",
        )
        return DEFAULT_ADDRESS
    return address


def check_options(options: dict[str, Any]) -> None:
    _settings(options)


def create(options: dict[str, Any], i2c: Any = None) -> MotorHat:
    """The HAT's driver; ``i2c`` is a busio.I2C-shaped bus (the Pi's I2C bus 1 if None)."""
    settings = _settings(options)
    # Imported here: adafruit_motorkit imports Blinka's ``board``, which probes the platform
    # (and fails on one it does not know, or on a Pi 5 without lgpio).
    motorkit = import_library(
        "adafruit",
        "adafruit_motorkit",
        "on Raspberry Pi OS run MOTOR_DRIVER=adafruit ./install.sh (python3-lgpio, I2C on)",
    )
    if i2c is None:
        i2c = pi_i2c_bus('motor driver "adafruit"')
    try:
        kit = motorkit.MotorKit(
            address=settings.address, i2c=i2c, pwm_frequency=settings.pwm_frequency
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise DriverError(
            f'motor driver "adafruit": no Motor HAT answers at I2C address '
            f"0x{settings.address:02x} ({exc}); check that the HAT is seated and that "
            "MOTOR_OPTIONS.adafruit.i2c_address matches its address jumpers "
            "(i2cdetect -y 1 lists the addresses in use)"
        ) from exc
    return MotorHat(kit, settings)


def pi_i2c_bus(who: str) -> Any:
    """The Pi's I2C bus 1, through Blinka; ``who`` wants it (named in the error)."""
    try:
        return importlib.import_module("board").I2C()
    except Exception as exc:
        # Blinka fails its own ways: no I2C on a platform it does not know (AttributeError),
        # NotImplementedError, a missing pin library (ImportError)...
        raise DriverError(
            f"{who}: cannot open the I2C bus ({exc}); on a Raspberry Pi, "
            "enable I2C (sudo raspi-config nonint do_i2c 0) and add the user to the i2c group"
        ) from exc


def probe(options: Mapping[str, Any]) -> str:
    return probes.describe_i2c_address(_settings(dict(options)).address)


BOARD = Board(
    name="adafruit",
    check_options=check_options,
    create=create,
    requires=(
        Requirement(
            module="adafruit_motorkit", pip="adafruit-circuitpython-motorkit", extra="adafruit"
        ),
        Requirement(module="board", pip="adafruit-blinka", extra="adafruit"),  # it imports it
    ),
    probe=probe,
    options=(
        *wiring_options(CHANNELS, "terminal"),
        Option(
            "i2c_address",
            f"0x{DEFAULT_ADDRESS:02x}",
            'the HAT\'s I2C address, `"0x40"`..`"0x7F"` (a number works too); each closed '
            "jumper A0…A4 adds 1, 2, 4, 8, 16",
        ),
        Option(
            "pwm_frequency",
            1600,
            f"PWM frequency in Hz, {FREQUENCY_RANGE[0]}..{FREQUENCY_RANGE[1]} "
            "(the PCA9685 rounds it: 1600 gives 1526)",
        ),
        Option(
            "on_stop",
            "brake",
            'what a stopped wheel does: `"brake"` (motor shorted, stops quickly) or `"coast"` '
            "(motor free)",
        ),
    ),
)
