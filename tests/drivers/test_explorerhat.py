"""The Explorer HAT board, against the FAKE explorerhat module (tests/drivers/fakes/): the real
library needs smbus and probes I2C as it is imported, so it cannot run here."""

from __future__ import annotations

import sys

import pytest

import drivers
from drivers import DriverError, explorerhat

# BCM pins of the HAT's DRV8833 inputs: motor one forward/backward, motor two forward/backward
ONE_F, ONE_B, TWO_F, TWO_B = 20, 19, 26, 21


def pins(fake) -> list[float]:
    return [fake.PWM.get(pin, 0) for pin in (ONE_F, ONE_B, TWO_F, TWO_B)]


def test_the_module_driven_here_is_the_fake(fake_explorerhat):
    assert fake_explorerhat.FAKE is True
    assert sys.modules["explorerhat"] is fake_explorerhat


def test_by_default_motor_one_is_the_left_wheel(fake_explorerhat):
    drivers.load("explorerhat").drive(0.5, -0.3)
    assert pins(fake_explorerhat) == [50, 0, 0, 30]


def test_the_wheels_can_be_swapped(fake_explorerhat):
    drivers.load("explorerhat", {"left": "two", "right": "one"}).drive(0.5, -0.3)
    assert pins(fake_explorerhat) == [0, 30, 50, 0]


def test_a_wheel_can_be_inverted(fake_explorerhat):
    drivers.load("explorerhat", {"invert_left": True}).drive(0.5, 0.5)
    assert pins(fake_explorerhat) == [0, 50, 50, 0]


def test_speeds_are_whole_percents_within_the_librarys_range(fake_explorerhat):
    motors = drivers.load("explorerhat")
    motors.drive(0.333, 7)  # the library raises ValueError beyond 100
    assert pins(fake_explorerhat) == [33, 0, 100, 0]


def test_a_new_driver_stops_what_a_killed_process_left_running(fake_explorerhat):
    fake_explorerhat.motor.one.speed(80)
    fake_explorerhat.motor.two.speed(-80)
    drivers.load("explorerhat")
    assert pins(fake_explorerhat) == [0, 0, 0, 0]


def test_a_library_that_fails_to_start_is_a_clear_error(monkeypatch):
    # The real library raises ImportError when smbus or RPi.GPIO is missing.
    monkeypatch.setitem(sys.modules, "explorerhat", None)
    with pytest.raises(DriverError, match=r"explorerhat library failed to start.*do_i2c"):
        explorerhat.create({})
