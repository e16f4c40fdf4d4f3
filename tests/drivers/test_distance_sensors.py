"""The obstacle guard's distance sensors, each through its real library: Adafruit's VL53L0X
driver against a simulated VL53L0X behind the I2C object (tests/silicon/vl53l0x.py), and
gpiozero's DistanceSensor on its mock pin factory, whose trigger pin answers with an echo."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory, MockTriggerPin

from drivers import DriverError, distance, hcsr04, vl53l0x
from tests.silicon.i2c import I2CBus
from tests.silicon.vl53l0x import ADDRESS, PERIOD_S, VL53L0X

ROOT = Path(__file__).resolve().parents[2]
SPEED_OF_SOUND = 343.26  # m/s, gpiozero's figure
PATIENCE_S = 10.0


class Target:
    def __init__(self, millimetres: float | None) -> None:
        self.mm = millimetres

    def __call__(self) -> float | None:
        return self.mm


def wait_for(reading: Callable[[], float | None], wanted: float | None) -> float | None:
    deadline = time.monotonic() + PATIENCE_S
    while (value := reading()) != pytest.approx(wanted) and time.monotonic() < deadline:
        time.sleep(0.01)
    return value


def test_the_vl53l0x_reads_metres_through_adafruits_library() -> None:
    target = Target(450)
    chip = VL53L0X(target)
    sensor = vl53l0x.create({}, i2c=I2CBus({ADDRESS: chip}))
    assert sensor.distance_m() == pytest.approx(0.45)
    target.mm = 180
    assert wait_for(sensor.distance_m, 0.18) == pytest.approx(0.18)
    sensor.close()


def test_the_vl53l0x_ranges_back_to_back_and_a_reading_never_waits_for_one() -> None:
    target = Target(450)
    chip = VL53L0X(target)
    sensor = vl53l0x.create({}, i2c=I2CBus({ADDRESS: chip}))
    ranged = chip.measurements
    target.mm = 300
    # Read at once, again and again, faster than the chip ranges: the last range holds.
    began = time.monotonic()
    readings = [sensor.distance_m() for _ in range(20)]
    elapsed = time.monotonic() - began
    assert chip.measurements - ranged <= elapsed / PERIOD_S + 1  # one range per period
    assert {round(reading, 3) for reading in readings if reading} <= {0.45, 0.3}
    assert wait_for(sensor.distance_m, 0.3) == pytest.approx(0.3)
    sensor.close()


def test_the_vl53l0x_says_nothing_in_range_beyond_its_reach_and_max_m() -> None:
    target = Target(None)
    sensor = vl53l0x.create({"max_m": 1.0}, i2c=I2CBus({ADDRESS: VL53L0X(target)}))
    assert sensor.distance_m() is None  # the chip's 8190: no light came back
    target.mm = 999
    assert wait_for(sensor.distance_m, 0.999) == pytest.approx(0.999)
    target.mm = 1500
    assert wait_for(sensor.distance_m, None) is None  # beyond max_m: not trusted


def test_a_vl53l0x_at_another_address_names_the_wiring_fix() -> None:
    bus = I2CBus({0x30: VL53L0X(Target(100))})
    with pytest.raises(DriverError, match=r"no VL53L0X answers at I2C address 0x29.*i2cdetect"):
        vl53l0x.create({}, i2c=bus)
    assert vl53l0x.create({"i2c_address": "0x30"}, i2c=bus).distance_m() == pytest.approx(0.1)


def echoing_factory(metres: float) -> MockFactory:
    """Pins where the trigger (BCM 23) answers with an echo (BCM 24) as long as sound takes
    there and back over ``metres``."""
    factory = MockFactory()
    echo = factory.pin(24)
    factory.pin(23, pin_class=MockTriggerPin, echo_pin=echo, echo_time=2 * metres / SPEED_OF_SOUND)
    return factory


def first_reading(
    sensor: distance.DistanceSensor, accept: Callable[[float | None], bool]
) -> float | None:
    deadline = time.monotonic() + PATIENCE_S
    while True:
        reading = sensor.distance_m()
        if accept(reading) or time.monotonic() > deadline:
            return reading
        time.sleep(0.05)


def test_the_hcsr04_reads_metres_through_gpiozero() -> None:
    with hcsr04.create({}, pin_factory=echoing_factory(0.8)) as sensor:
        # gpiozero times the echo in its own thread: a busy machine adds a little to it.
        reading = first_reading(sensor, lambda r: r is not None and 0.7 < r < 1.2)
        assert reading is not None and 0.7 < reading < 1.2


def test_the_hcsr04_says_nothing_in_range_when_the_echo_is_too_long() -> None:
    with hcsr04.create({"max_m": 1.0}, pin_factory=echoing_factory(3.0)) as sensor:
        assert first_reading(sensor, lambda r: r is None) is None


def test_sensors_are_found_by_name_and_their_libraries_named_when_missing() -> None:
    assert distance.sensor_names() == ["hcsr04", "sim", "vl53l0x"]
    assert distance.check("vl53l0x", {}) == []
    problem = distance.kind("vl53l0x").requires[0]
    assert problem.extra == "obstacle"
    with pytest.raises(DriverError, match='unknown distance sensor "sonar"'):
        distance.load("sonar", {})


@pytest.mark.parametrize("name", ["vl53l0x", "hcsr04"])
def test_a_sensors_library_is_in_the_obstacle_extra_by_its_real_name(name: str) -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for needed in distance.kind(name).requires:
        assert needed.extra == "obstacle"
        assert any(spec.startswith(needed.pip) for spec in extras["obstacle"])
        assert importlib.util.find_spec(needed.module) is not None
        assert importlib.metadata.distribution(needed.pip).metadata["Name"].lower() == needed.pip
