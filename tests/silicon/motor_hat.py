"""Adafruit DC & Stepper Motor HAT: one PCA9685 driving two TB6612FNG dual H-bridges.

Each motor terminal M1..M4 is an H-bridge whose PWM and two direction inputs are PCA9685
channels. What a motor sees is decoded tick by tick from the TB6612FNG truth table:

    IN_A IN_B PWM  -> output
     H    H    x   -> short brake
     H    L    H   -> drive one way (+)     H  L  L -> short brake
     L    H    H   -> drive the other (-)   L  H  L -> short brake
     L    L    x   -> off (high impedance): the motor coasts

"+" is the direction adafruit_motorkit calls forward (throttle > 0) on that terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.silicon.i2c import I2CBus
from tests.silicon.pca9685 import ALL_TICKS, PCA9685, TICKS

# terminal -> (PWM channel, input high for +, input high for -), as the HAT is wired
TERMINALS = {
    "motor1": (8, 9, 10),
    "motor2": (13, 11, 12),
    "motor3": (2, 3, 4),
    "motor4": (7, 5, 6),
}
DEFAULT_ADDRESS = 0x60


@dataclass(frozen=True)
class Bridge:
    """One H-bridge over a PWM period, as fractions of the period."""

    output: float  # driven + minus driven -: the motor's mean drive, -1..1
    brake: float  # motor terminals shorted
    coast: float  # motor terminals open

    @property
    def mode(self) -> str:
        """What the motor mostly sees: "drive", "brake" or "coast"."""
        return max(
            ("drive", abs(self.output)),
            ("brake", self.brake),
            ("coast", self.coast),
            key=lambda item: item[1],
        )[0]


class MotorHat:
    """A Motor HAT on a simulated I2C bus (``bus``, to hand to ``MotorKit(i2c=...)``)."""

    def __init__(self, address: int = DEFAULT_ADDRESS, bus: I2CBus | None = None) -> None:
        self.pca = PCA9685()
        self.bus = bus or I2CBus()
        self.bus.devices[address] = self.pca

    def bridge(self, terminal: str) -> Bridge:
        pwm, plus, minus = (self.pca.high_ticks(channel) for channel in TERMINALS[terminal])
        forward = pwm & plus & ~minus
        backward = pwm & minus & ~plus
        brake = (plus & minus) | (~pwm & ALL_TICKS & (plus ^ minus))
        coast = ~(plus | minus) & ALL_TICKS
        return Bridge(
            output=(forward.bit_count() - backward.bit_count()) / TICKS,
            brake=brake.bit_count() / TICKS,
            coast=coast.bit_count() / TICKS,
        )

    def output(self, terminal: str) -> float:
        return self.bridge(terminal).output
