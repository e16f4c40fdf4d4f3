"""SIMULATED silicon: the Raspberry Pi's GPIO block, behind the ``RPi.GPIO`` module's API.

``GpioBlock().modules()`` are the modules ``RPi`` and ``RPi.GPIO`` a board library imports
(the real ``explorerhat`` does ``import RPi.GPIO as GPIO``); put them in ``sys.modules``
and the library drives this block instead of a Pi's. The block records what the pins do:
each pin's mode and level, and each software PWM's frequency and duty cycle, so
``drive(pin)`` says what a motor driver chip on that pin would see (0..1).

Only the part of RPi.GPIO's API that board libraries use is modelled; as on a Pi, a pin
must be set up as an output before it is written or given a PWM.
"""

from __future__ import annotations

import importlib.machinery
import threading
import types
from dataclasses import dataclass
from typing import Any

BCM, BOARD = 11, 10
IN, OUT = 1, 0
LOW, HIGH = 0, 1
PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22
RISING, FALLING, BOTH = 31, 32, 33


@dataclass
class Pwm:
    frequency: float
    duty: float = 0.0  # percent
    running: bool = False


class GpioBlock:
    def __init__(self) -> None:
        self.mode: int | None = None
        self.directions: dict[int, int] = {}  # BCM pin -> IN or OUT
        self.levels: dict[int, int] = {}
        self.pwms: dict[int, Pwm] = {}
        self.cleanups = 0
        self._lock = threading.Lock()

    def drive(self, pin: int) -> float:
        """What the pin drives, 0..1: a running PWM's duty, else its output level."""
        with self._lock:
            if self.directions.get(pin) != OUT:
                return 0.0
            pwm = self.pwms.get(pin)
            if pwm is not None and pwm.running:
                return pwm.duty / 100
            return float(self.levels.get(pin, LOW))

    def modules(self) -> dict[str, types.ModuleType]:
        """``RPi`` and ``RPi.GPIO``, bound to this block, for sys.modules."""
        gpio = _module("RPi.GPIO", _api(self))
        package = _module("RPi", {"GPIO": gpio, "__path__": []})
        return {"RPi": package, "RPi.GPIO": gpio}

    def _numbering_set(self) -> None:
        if self.mode is None:
            raise RuntimeError(
                "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
                "GPIO.setmode(GPIO.BCM)"
            )

    def _output_pin(self, pin: int) -> None:
        self._numbering_set()
        if self.directions.get(pin) != OUT:
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")


def _module(name: str, attributes: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType(name, "SIMULATED: tests/silicon/rpi_gpio.py")
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attributes)
    return module


def _api(block: GpioBlock) -> dict[str, Any]:
    def setmode(mode: int) -> None:
        block.mode = mode

    def setwarnings(flag: bool) -> None:
        pass

    def setup(pin: int, direction: int, pull_up_down: int = PUD_OFF, initial: int = -1) -> None:
        block._numbering_set()
        with block._lock:
            block.directions[pin] = direction
            if direction == OUT and initial != -1:
                block.levels[pin] = initial
            elif direction == IN:
                block.levels[pin] = HIGH if pull_up_down == PUD_UP else LOW

    def output(pin: int, value: int) -> None:
        block._output_pin(pin)
        with block._lock:
            block.levels[pin] = HIGH if value else LOW

    def input(pin: int) -> int:
        return block.levels.get(pin, LOW)

    def cleanup(pin: int | None = None) -> None:
        with block._lock:
            pins = list(block.directions) if pin is None else [pin]
            for each in pins:
                block.directions.pop(each, None)  # back to an input, as on a Pi
                block.pwms.pop(each, None)
            block.cleanups += 1

    class PWM:
        def __init__(self, pin: int, frequency: float) -> None:
            block._output_pin(pin)
            self.pin = pin
            with block._lock:
                block.pwms[pin] = Pwm(frequency)

        def start(self, duty: float) -> None:
            self._check(duty)
            with block._lock:
                block.pwms[self.pin].duty = duty
                block.pwms[self.pin].running = True

        def ChangeDutyCycle(self, duty: float) -> None:
            self._check(duty)
            with block._lock:
                block.pwms[self.pin].duty = duty

        def ChangeFrequency(self, frequency: float) -> None:
            with block._lock:
                block.pwms[self.pin].frequency = frequency

        def stop(self) -> None:
            with block._lock:
                if self.pin in block.pwms:
                    block.pwms[self.pin].running = False

        @staticmethod
        def _check(duty: float) -> None:
            if not 0.0 <= duty <= 100.0:
                raise ValueError("dutycycle must have a value from 0.0 to 100.0")

    def add_event_detect(pin: int, edge: int, callback: Any = None, bouncetime: int = 0) -> None:
        pass

    def remove_event_detect(pin: int) -> None:
        pass

    return {
        "BCM": BCM,
        "BOARD": BOARD,
        "IN": IN,
        "OUT": OUT,
        "LOW": LOW,
        "HIGH": HIGH,
        "PUD_OFF": PUD_OFF,
        "PUD_DOWN": PUD_DOWN,
        "PUD_UP": PUD_UP,
        "RISING": RISING,
        "FALLING": FALLING,
        "BOTH": BOTH,
        "setmode": setmode,
        "setwarnings": setwarnings,
        "setup": setup,
        "output": output,
        "input": input,
        "cleanup": cleanup,
        "PWM": PWM,
        "add_event_detect": add_event_detect,
        "remove_event_detect": remove_event_detect,
    }
