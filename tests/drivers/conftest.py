"""Every board on its simulated silicon, ready to drive: the ``make_rig`` fixture.

A rig is a board's driver plus a reading of what the silicon drives the wheels with,
decoded where the motors would see it: PCA9685 + TB6612 outputs for the Adafruit HAT,
gpiozero's mock pins for an H-bridge, the simulated controller's outputs for the serial
board, the simulated GPIO block the real explorerhat library drives, the simulated robot's
wheels.
``wheels()`` assumes the board's default wiring (first channel left, second right).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import drivers
from drivers.base import MotorDriver
from tests.silicon.i2c import I2CBus
from tests.silicon.rpi_gpio import GpioBlock
from tests.silicon.smbus import smbus_module

# BCM pins of the Explorer HAT's DRV8833 inputs: motor one forward/backward, two forward/backward
ONE_F, ONE_B, TWO_F, TWO_B = 20, 19, 26, 21


@dataclass
class Rig:
    driver: MotorDriver
    wheels: Callable[[], tuple[float, float]]  # (left, right), -1..1, read from the silicon
    silicon: Any


@pytest.fixture
def explorer_hat_gpio(monkeypatch: pytest.MonkeyPatch) -> GpioBlock:
    """A simulated GPIO block (and an I2C bus with nothing on it) as ``RPi.GPIO`` and
    ``smbus`` in sys.modules, so the REAL explorerhat library, imported afresh by the driver,
    drives it."""
    gpio = GpioBlock()
    for name, module in gpio.modules().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(sys.modules, "smbus", smbus_module(I2CBus()))
    for name in [name for name in sys.modules if name.split(".")[0] in ("explorerhat", "cap1xxx")]:
        monkeypatch.delitem(sys.modules, name)
    return gpio


def explorer_hat_motors(gpio: GpioBlock) -> tuple[float, float]:
    """Motor one and two as the DRV8833 drives them, -1..1."""
    return gpio.drive(ONE_F) - gpio.drive(ONE_B), gpio.drive(TWO_F) - gpio.drive(TWO_B)


@pytest.fixture
def make_rig(tmp_path: Path, explorer_hat_gpio: GpioBlock) -> Iterator[Callable[..., Rig]]:
    cleanups: list[Callable[[], None]] = []

    def sim(options: dict[str, Any]) -> Rig:
        driver = drivers.load("sim", options)
        return Rig(driver, lambda: driver.robot.wheels, driver.robot)

    def explorerhat(options: dict[str, Any]) -> Rig:
        gpio = explorer_hat_gpio
        return Rig(drivers.load("explorerhat", options), lambda: explorer_hat_motors(gpio), gpio)

    def adafruit(options: dict[str, Any]) -> Rig:
        from drivers import adafruit
        from tests.silicon.motor_hat import MotorHat

        hat = MotorHat()
        return Rig(
            adafruit.create(options, i2c=hat.bus),
            lambda: (hat.output("motor1"), hat.output("motor2")),
            hat,
        )

    def gpiozero(options: dict[str, Any]) -> Rig:
        from gpiozero.pins.mock import MockFactory, MockPWMPin

        from drivers import gpiozero as gpiozero_board

        factory = MockFactory(pin_class=MockPWMPin)
        driver = gpiozero_board.create(options, pin_factory=factory)
        pins = {**gpiozero_board.PINS, **options}

        def wheel(side: str) -> float:
            enable = pins[f"{side}_enable"]
            enabled = factory.pin(enable).state if enable is not None else 1
            return enabled * (
                factory.pin(pins[f"{side}_forward"]).state
                - factory.pin(pins[f"{side}_backward"]).state
            )

        return Rig(driver, lambda: (wheel("left"), wheel("right")), factory)

    def serial(options: dict[str, Any]) -> Rig:
        from tests.silicon.serial_controller import SimulatedController

        controller = SimulatedController(tmp_path / "ttyACM0", watchdog_s=5.0)
        cleanups.append(controller.close)
        driver = drivers.load("serial", {"port": str(controller.link), **options})
        return Rig(driver, lambda: controller.outputs, controller)

    builders = {
        "sim": sim,
        "explorerhat": explorerhat,
        "adafruit": adafruit,
        "gpiozero": gpiozero,
        "serial": serial,
    }

    def make(board: str, options: dict[str, Any] | None = None) -> Rig:
        if board not in builders:
            pytest.fail(
                f"board {board!r} is installed (entry point) but has no rig in "
                "tests/drivers/conftest.py: add one on its simulated silicon"
            )
        rig = builders[board](dict(options or {}))
        cleanups.append(rig.driver.close)
        return rig

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """A valid config.json selecting ``board`` with ``options`` (dummy certificate files)."""

    def write(board: str, options: dict[str, Any] | None = None) -> Path:
        certs = tmp_path / "certs"
        certs.mkdir(exist_ok=True)
        for name in ("cacert.pem", "certificate.pem", "private.pem.key"):
            (certs / name).write_text("not a real certificate\n")
        (certs / "private.pem.key").chmod(0o600)
        path = tmp_path / "config.json"
        path.write_text(
            json.dumps(
                {
                    "IOT_THINGNAME": "testbot",
                    "IOT_CORE_ENDPOINT": "localhost",
                    "IOT_GET_CREDENTIAL_ENDPOINT": "",
                    "ROLE_ALIAS": "",
                    "AWS_DEFAULT_REGION": "eu-west-1",
                    "MOTOR_DRIVER": board,
                    "MOTOR_OPTIONS": {board: options or {}},
                }
            )
        )
        return path

    return write
