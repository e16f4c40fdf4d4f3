"""FAKE ``explorerhat`` module, for tests only: the real one imports smbus and RPi.GPIO and
probes I2C as it is imported, so it cannot run off a Raspberry Pi.

It keeps the part of the real library's API the driver uses, with the same rules:
``motor.one`` / ``motor.two`` are ``Motor(pin_fw, pin_bw)`` on the Explorer HAT Pro's
DRV8833 pins; ``speed(n)`` takes -100..100 (ValueError outside) and sets the software-PWM
duty cycle (percent) of the forward or the backward pin, the other to 0; ``stop()`` is
``speed(0)``. ``PWM`` records each pin's duty cycle: the simulated pins.
"""

from __future__ import annotations

from types import SimpleNamespace

FAKE = True

# Motor pins (BCM) of the Explorer HAT Pro, as in the real library
M1B, M1F, M2B, M2F = 19, 20, 21, 26

PWM: dict[int, float] = {}  # BCM pin -> duty cycle in percent


class Motor:
    def __init__(self, pin_fw: int, pin_bw: int) -> None:
        self.pin_fw = pin_fw
        self.pin_bw = pin_bw
        self._speed = 0

    def speed(self, speed: float = 100) -> float:
        if speed > 100 or speed < -100:
            raise ValueError("Speed must be between -100 and 100")
        self._speed = speed
        PWM[self.pin_fw] = max(speed, 0)
        PWM[self.pin_bw] = max(-speed, 0)
        return speed

    def stop(self) -> None:
        self.speed(0)


motor = SimpleNamespace(one=Motor(M1F, M1B), two=Motor(M2F, M2B))


def output(terminal: str) -> float:
    """What the DRV8833 drives terminal "one" or "two" with: -1..1."""
    m = getattr(motor, terminal)
    return (PWM.get(m.pin_fw, 0) - PWM.get(m.pin_bw, 0)) / 100
