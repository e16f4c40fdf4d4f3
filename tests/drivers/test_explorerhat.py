"""The Explorer HAT board through the REAL explorerhat library (and its cap1xxx), which drives
a simulated GPIO block (tests/silicon/rpi_gpio.py) in place of RPi.GPIO, as rpi-lgpio's shim
would on Raspberry Pi OS Bookworm, on any Pi."""

from __future__ import annotations

import sys

import pytest

import drivers
from drivers import DriverError, explorerhat
from tests.drivers.conftest import ONE_B, ONE_F, TWO_B, TWO_F, explorer_hat_motors


def pins(gpio) -> list[float]:
    return [gpio.drive(pin) for pin in (ONE_F, ONE_B, TWO_F, TWO_B)]


def test_the_library_driven_here_is_the_real_one(explorer_hat_gpio):
    drivers.load("explorerhat")
    library = sys.modules["explorerhat"]
    assert library.__version__ == "0.5.1" and library.__file__.endswith("explorerhat/__init__.py")
    assert "site-packages" in library.__file__


def test_by_default_motor_one_is_the_left_wheel(explorer_hat_gpio):
    drivers.load("explorerhat").drive(0.5, -0.3)
    assert pins(explorer_hat_gpio) == [0.5, 0, 0, 0.3]
    assert explorer_hat_motors(explorer_hat_gpio) == (0.5, -0.3)


def test_the_wheels_can_be_swapped(explorer_hat_gpio):
    drivers.load("explorerhat", {"left": "two", "right": "one"}).drive(0.5, -0.3)
    assert pins(explorer_hat_gpio) == [0, 0.3, 0.5, 0]


def test_a_wheel_can_be_inverted(explorer_hat_gpio):
    drivers.load("explorerhat", {"invert_left": True}).drive(0.5, 0.5)
    assert pins(explorer_hat_gpio) == [0, 0.5, 0.5, 0]


def test_speeds_are_whole_percents_within_the_librarys_range(explorer_hat_gpio):
    drivers.load("explorerhat").drive(0.333, 7)  # the library raises ValueError beyond 100
    assert pins(explorer_hat_gpio) == [0.33, 0, 1.0, 0]


def test_the_motors_use_gpio_only_and_the_library_touches_no_i2c_for_them(explorer_hat_gpio):
    drivers.load("explorerhat").drive(0.2, 0.2)
    assert set(explorer_hat_gpio.pwms) == {ONE_F, ONE_B, TWO_F, TWO_B}
    # the smbus stand-in has no device: any I2C transfer would have raised


def test_closing_stops_both_motors(explorer_hat_gpio):
    motors = drivers.load("explorerhat")
    motors.drive(0.8, -0.8)
    motors.close()
    assert pins(explorer_hat_gpio) == [0, 0, 0, 0]


@pytest.mark.parametrize(
    ("missing", "fix"),
    [("smbus", "python3-smbus"), ("RPi.GPIO", "python3-rpi-lgpio"), ("cap1xxx", "--no-deps")],
)
def test_a_missing_library_of_the_library_is_a_clear_error(
    explorer_hat_gpio, monkeypatch, missing, fix
):
    monkeypatch.setitem(sys.modules, missing, None)
    if missing == "RPi.GPIO":
        monkeypatch.setitem(sys.modules, "RPi", None)
    with pytest.raises(DriverError, match=f"explorerhat library failed to start.*{fix}"):
        explorerhat.create({})


def test_a_library_that_fails_its_own_way_is_a_clear_error(explorer_hat_gpio, monkeypatch):
    # RPi.GPIO on a Pi 5 raises RuntimeError at import ("Cannot determine SOC peripheral base")
    class NotThisPi:
        def __getattr__(self, name):
            raise RuntimeError("Cannot determine SOC peripheral base address")

    monkeypatch.setitem(sys.modules["RPi"].__dict__, "GPIO", NotThisPi())
    monkeypatch.setitem(sys.modules, "RPi.GPIO", NotThisPi())
    with pytest.raises(DriverError, match=r"failed to start.*rpi-lgpio"):
        explorerhat.create({})


def test_check_names_every_module_the_library_imports(monkeypatch):
    for module in ("explorerhat", "smbus", "RPi", "RPi.GPIO", "cap1xxx"):
        monkeypatch.setitem(sys.modules, module, None)
    problems = drivers.check("explorerhat")
    assert len(problems) == 4, problems
    for apt in ("python3-explorerhat", "python3-smbus", "python3-rpi-lgpio", "python3-cap1xxx"):
        assert any(f"sudo apt install {apt}" in problem for problem in problems), apt
