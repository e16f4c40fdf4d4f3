"""The Adafruit Motor HAT board: the real adafruit_motorkit driving the PCA9685 register model,
read at the TB6612 outputs (duty cycle, direction, brake or coast)."""

from __future__ import annotations

import errno
import os

import pytest

from drivers import DriverError, adafruit
from tests.silicon.i2c import I2CBus
from tests.silicon.motor_hat import TERMINALS, MotorHat
from tests.silicon.pca9685 import LED0

RESOLUTION = 1 / 2048  # a 12-bit duty cycle, truncated by adafruit_motor


def outputs(hat: MotorHat) -> dict[str, float]:
    return {terminal: pytest.approx(hat.output(terminal), abs=RESOLUTION) for terminal in TERMINALS}


def test_by_default_motor1_is_the_left_wheel_and_motor2_the_right():
    hat = MotorHat()
    adafruit.create({}, i2c=hat.bus).drive(0.5, -0.3)
    assert outputs(hat) == {"motor1": 0.5, "motor2": -0.3, "motor3": 0, "motor4": 0}


@pytest.mark.parametrize(
    ("options", "driven"),
    [
        ({"left": "motor2", "right": "motor1"}, {"motor1": -0.3, "motor2": 0.5}),
        ({"left": "motor3", "right": "motor4"}, {"motor3": 0.5, "motor4": -0.3}),
        ({"left": "motor4", "right": "motor1"}, {"motor4": 0.5, "motor1": -0.3}),
    ],
)
def test_any_two_terminals_can_be_the_wheels(options, driven):
    hat = MotorHat()
    adafruit.create(options, i2c=hat.bus).drive(0.5, -0.3)
    assert outputs(hat) == {"motor1": 0, "motor2": 0, "motor3": 0, "motor4": 0, **driven}


def test_the_aws_sample_wiring_is_both_wheels_inverted():
    # The sample drove forward with throttle = -speed on both motors.
    hat = MotorHat()
    motors = adafruit.create({"invert_left": True, "invert_right": True}, i2c=hat.bus)
    motors.drive(0.6, 0.6)
    assert (hat.output("motor1"), hat.output("motor2")) == pytest.approx(
        (-0.6, -0.6), abs=RESOLUTION
    )


def test_one_wheel_inverted():
    hat = MotorHat()
    adafruit.create({"invert_right": True}, i2c=hat.bus).drive(0.25, 0.75)
    assert (hat.output("motor1"), hat.output("motor2")) == pytest.approx(
        (0.25, -0.75), abs=RESOLUTION
    )


def test_stop_brakes_by_default():
    hat = MotorHat()
    motors = adafruit.create({}, i2c=hat.bus)
    motors.drive(1, 1)
    motors.stop()
    assert hat.bridge("motor1").brake == hat.bridge("motor2").brake == 1.0


def test_stop_can_coast_instead_and_so_does_a_zero_wheel():
    hat = MotorHat()
    motors = adafruit.create({"on_stop": "coast"}, i2c=hat.bus)
    motors.drive(0, 0.5)
    assert hat.bridge("motor1").coast == 1.0
    motors.close()
    assert hat.bridge("motor1").coast == hat.bridge("motor2").coast == 1.0


@pytest.mark.parametrize("address", ["0x61", 97])
def test_another_i2c_address(address):
    hat = MotorHat(address=0x61)
    adafruit.create({"i2c_address": address}, i2c=hat.bus).drive(0.2, 0.2)
    assert hat.output("motor1") == pytest.approx(0.2, abs=RESOLUTION)


def test_no_hat_at_the_address_is_a_clear_error():
    hat = MotorHat(address=0x61)
    with pytest.raises(DriverError, match="no Motor HAT answers at I2C address 0x60"):
        adafruit.create({}, i2c=hat.bus)


@pytest.mark.parametrize(("frequency", "expected"), [(None, 1526), (100, 100), (1000, 1017)])
def test_pwm_frequency(frequency, expected):
    hat = MotorHat()
    options = {} if frequency is None else {"pwm_frequency": frequency}
    adafruit.create(options, i2c=hat.bus)
    # what the prescaler makes of it: 25 MHz / 4096 / (prescale + 1)
    assert hat.pca.frequency == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"pwm_frequency": 5000}, "pwm_frequency = 5000: must be from 24 to 1700"),
        ({"pwm_frequency": "fast"}, "pwm_frequency = 'fast': must be int or float"),
        ({"i2c_address": "sixty"}, "i2c_address = 'sixty': must be a PCA9685 address"),
        ({"i2c_address": 0x20}, "i2c_address = 32: must be a PCA9685 address"),
        ({"on_stop": "float"}, "on_stop = 'float': must be one of 'brake', 'coast'"),
    ],
)
def test_bad_options_are_named(options, named):
    with pytest.raises(DriverError, match=f"MOTOR_OPTIONS.adafruit.{named}"):
        adafruit.check_options(options)


def test_a_new_driver_stops_what_a_killed_process_left_running():
    hat = MotorHat()
    adafruit.create({}, i2c=hat.bus).drive(0.9, 0.9)  # the process "dies": nobody closes it
    assert hat.output("motor1") > 0.8
    adafruit.create({}, i2c=hat.bus)
    assert (hat.output("motor1"), hat.output("motor2")) == (0, 0)


class FailingBus(I2CBus):
    """A bus whose writes to some channels' registers fail (a loose wire, a brown-out)."""

    def __init__(self, hat: MotorHat, channels: set[int], times: int) -> None:
        super().__init__(hat.bus.devices)
        self.registers = {LED0 + 4 * channel for channel in channels}
        self.times = times  # how many writes fail before the bus recovers

    def writeto(self, address, buffer, *, start=0, end=None):
        if self.times and buffer[start] in self.registers:
            self.times -= 1
            raise OSError(errno.EREMOTEIO, os.strerror(errno.EREMOTEIO))
        super().writeto(address, buffer, start=start, end=end)


def test_a_bus_error_while_driving_stops_both_wheels():
    hat = MotorHat()
    bus = FailingBus(hat, set(TERMINALS["motor2"]), times=0)
    motors = adafruit.create({}, i2c=bus)
    motors.drive(0.4, 0.4)
    bus.times = 1
    with pytest.raises(DriverError, match="Remote I/O error; wheels stopped"):
        motors.drive(0.8, 0.8)  # motor1 got 0.8 before motor2's write failed
    assert (hat.output("motor1"), hat.output("motor2")) == (0, 0)


def test_a_wheel_that_cannot_be_stopped_does_not_keep_the_other_one_running():
    hat = MotorHat()
    bus = FailingBus(hat, set(TERMINALS["motor2"]), times=0)
    motors = adafruit.create({}, i2c=bus)
    bus.times = 1000
    with pytest.raises(DriverError, match="cut the motor power"):
        motors.drive(0.8, 0.8)
    assert hat.output("motor1") == 0
