"""The battery gauges: Adafruit's INA219 and MAX17048 libraries against the chips' register
models (tests/silicon/), the readings turned into percentage, current and minutes left, the
BATTERY config's checks, the simulated battery draining with the wheels' work, and the cap that
holds forward motion to a crawl on a critical battery."""

from __future__ import annotations

import pytest

from robot.contracts.telemetry import LimitedBy
from robot.daemon.battery import (
    BatteryLevel,
    BatterySettings,
    INA219Gauge,
    MAX17048Gauge,
    battery_settings,
    percent_of_cell,
)
from robot.daemon.battery_cap import CRAWL, BatteryCap
from robot.daemon.config import ConfigError, load
from sim.robot.battery import SimBattery, cell_voltage
from sim.robot.kinematics import DiffDrive
from tests.silicon.i2c import I2CBus
from tests.silicon.ina219 import CALIBRATION, INA219
from tests.silicon.max17048 import MAX17048
from tests.unit.conftest import write_config


def test_the_ina219_library_reads_the_packs_volts_and_amps_from_the_chip():
    chip = INA219(volts=11.4, amps=1.25)
    gauge = INA219Gauge(BatterySettings("ina219", cells=3, capacity_mah=2200), I2CBus({0x40: chip}))
    assert chip.calibration == 4096  # the library calibrated it (32 V, 2 A)
    report = gauge.read()
    assert report["voltage"] == pytest.approx(11.4 + 1.25 * 0.1, abs=0.01)
    assert report["current_ma"] == pytest.approx(1250, abs=1)
    assert report["percent"] == pytest.approx(percent_of_cell((11.4 + 0.125) / 3), abs=0.5)
    minutes = 2200 * report["percent"] / 100 / 1250 * 60
    assert report["minutes_left"] == pytest.approx(minutes, abs=0.5)


def test_an_ina219_that_lost_its_calibration_is_calibrated_again_before_each_current_read():
    chip = INA219(volts=7.6, amps=0.5)
    gauge = INA219Gauge(BatterySettings("ina219", cells=2), I2CBus({0x40: chip}))
    chip.write(bytes([0x00, 0x80, 0x00]))  # a brown-out resets the chip: calibration 0
    assert chip.calibration == 0
    assert gauge.read()["current_ma"] == pytest.approx(500, abs=1)
    assert chip.calibration == 4096


def test_a_charging_pack_has_no_minutes_left():
    chip = INA219(volts=12.4, amps=-0.8)
    report = INA219Gauge(BatterySettings("ina219", cells=3), I2CBus({0x40: chip})).read()
    assert report["current_ma"] < 0 and report["minutes_left"] is None


def test_an_ina219_at_another_address_is_read_there():
    chip = INA219(volts=3.7, amps=0.2)
    settings = BatterySettings("ina219", address=0x41)
    assert INA219Gauge(settings, I2CBus({0x41: chip})).read()["current_ma"] == pytest.approx(200)
    with pytest.raises(ValueError):  # the library finds no chip at its default address
        INA219Gauge(BatterySettings("ina219"), I2CBus({0x41: chip}))


def test_the_max17048_library_resets_the_chip_and_reads_its_charge():
    chip = MAX17048(volts=3.85, percent=62.5, rate_per_hour=-10.4)
    gauge = MAX17048Gauge(BatterySettings("max17048", capacity_mah=3000), I2CBus({0x36: chip}))
    assert chip.resets == 1 and not chip.reset_indicator  # reset, and its alert cleared
    report = gauge.read()
    assert report["percent"] == pytest.approx(62.5, abs=0.01)
    assert report["voltage"] == pytest.approx(3.85, abs=0.001)
    assert report["current_ma"] == pytest.approx(312, abs=1)  # 10.4 %/h of 3000 mAh
    assert report["minutes_left"] == pytest.approx(62.5 / 10.4 * 60, abs=0.5)
    assert report["level"] is BatteryLevel.OK


def test_a_chip_that_is_not_a_max17048_is_refused():
    chip = MAX17048()
    chip.memory[0x08:0x0A] = b"\x00\x40"  # another version
    with pytest.raises(RuntimeError, match="MAX1704X"):
        MAX17048Gauge(BatterySettings("max17048"), I2CBus({0x36: chip}))


@pytest.mark.parametrize(
    ("percent", "level"),
    [(80, BatteryLevel.OK), (20, BatteryLevel.LOW), (10, BatteryLevel.CRITICAL)],
)
def test_the_levels_follow_the_settings(percent, level):
    chip = MAX17048(percent=percent)
    gauge = MAX17048Gauge(BatterySettings("max17048"), I2CBus({0x36: chip}))
    assert gauge.read()["level"] is level


def test_the_battery_config_is_checked_key_by_key():
    settings, problems = battery_settings({"sensor": "ina219", "cells": 3, "capacity_mah": 2200})
    assert problems == [] and settings == BatterySettings("ina219", 3, 2200, options={})
    assert battery_settings({}) == (None, [])
    _, problems = battery_settings({"sensor": "ina", "cells": 0, "volts": 3})
    assert problems == [
        "BATTERY.sensor = 'ina': must be one of ina219, max17048, sim",
        "BATTERY.volts: unknown key; known keys: address, capacity_mah, cells, "
        "critical_percent, low_percent, options, sensor",
        "BATTERY.cells = 0: must be a number from 1 to 12",
    ]
    _, problems = battery_settings({"sensor": "sim", "low_percent": 10, "critical_percent": 15})
    assert problems == ["BATTERY.critical_percent = 15: must be below low_percent (10)"]
    _, problems = battery_settings("ina219")
    assert "must be a JSON object" in problems[0]


def test_the_simulated_battery_drains_faster_while_the_wheels_work():
    now = [0.0]
    robot = DiffDrive(now=0.0)
    settings = BatterySettings("sim", capacity_mah=1000, options={"idle_ma": 600, "motor_ma": 900})
    battery = SimBattery(settings, robot.work, clock=lambda: now[0])
    now[0] = 60.0
    idle = 100 - battery.read()["percent"]
    assert idle == pytest.approx(100 * 600 / 60 / 1000, abs=0.1)  # 10 mAh in a minute
    robot.set_wheels(1.0, 1.0, 60.0)
    now[0] = 120.0
    report = battery.read()
    assert report["current_ma"] == pytest.approx(600 + 2 * 900)
    assert 100 - report["percent"] - idle == pytest.approx(100 * 2400 / 60 / 1000, abs=0.1)
    assert report["voltage"] == pytest.approx(cell_voltage(report["percent"]), abs=0.001)


def test_the_cell_curve_and_its_inverse_agree():
    for percent in (0, 5, 33, 60, 99, 100):
        assert percent_of_cell(cell_voltage(percent)) == pytest.approx(percent, abs=0.01)


def test_the_cap_holds_forward_motion_to_a_crawl_only_on_a_critical_battery():
    cap = BatteryCap()
    assert cap.limit((1.0, 1.0)) == ((1.0, 1.0), False)
    cap.critical = True
    assert cap.limit((1.0, 1.0)) == ((CRAWL, CRAWL), True)
    assert cap.limit((-1.0, -1.0)) == ((-1.0, -1.0), False)  # backing away stays allowed
    assert cap.limit((-0.6, 0.6)) == ((-0.6, 0.6), False)  # and turning in place
    (left, right), limited = cap.limit((0.6, 1.0))  # forward in a curve: the curve kept
    assert limited and (left + right) / 2 == pytest.approx(CRAWL)
    assert (right - left) / 2 == pytest.approx(0.2)
    assert cap.kind is LimitedBy.BATTERY


def test_the_silicon_models_keep_the_chips_rules():
    chip = INA219(volts=5.0, amps=10.0)  # beyond the shunt's range at gain /8
    assert chip.shunt_register() == 32000
    chip.write(bytes([CALIBRATION, 0x10, 0x01]))
    assert chip.calibration == 0x1000  # bit 0 is not writable


def test_a_bad_battery_config_is_named_with_its_fix_and_a_good_one_read(tmp_path):
    bad = write_config(tmp_path / "bad", BATTERY={"sensor": "max17048", "capacity_mah": -5})
    with pytest.raises(ConfigError) as raised:
        load(bad, environ={})
    assert raised.value.problems == [
        "BATTERY.capacity_mah = -5: must be a number from 10 to 1000000"
    ]
    good = write_config(
        tmp_path / "good",
        BATTERY={"sensor": "max17048", "capacity_mah": 3000, "address": 0x37},
        HEALTH_SOURCE="off",
        HEALTH_INTERVAL_MS=2000,
    )
    config = load(good, environ={})
    assert config.battery == BatterySettings(
        "max17048", capacity_mah=3000, address=0x37, options={}
    )
    assert (config.health_source, config.health_interval_ms) == ("off", 2000)
    assert load(write_config(tmp_path / "none"), environ={}).battery is None
