"""The gpiozero H-bridge board: real gpiozero Motors on its mock pin factory, read at the pins
(state and PWM duty cycle)."""

from __future__ import annotations

import pytest
from gpiozero import CamJamKitRobot, DigitalOutputDevice, Motor
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from drivers import DriverError
from drivers import gpiozero as gpiozero_board

PINS = {"left_forward": 17, "left_backward": 18, "right_forward": 22, "right_backward": 23}


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory(pin_class=MockPWMPin)


def states(factory: MockFactory, *pins: int) -> list[float]:
    return [factory.pin(pin).state for pin in pins]


def test_the_default_pins_are_those_of_gpiozeros_camjam_kit_robot():
    ours, theirs = MockFactory(pin_class=MockPWMPin), MockFactory(pin_class=MockPWMPin)
    motors = gpiozero_board.create({}, pin_factory=ours)  # kept: gpiozero releases pins it collects
    motors.drive(0.5, -0.3)
    robot = CamJamKitRobot(pin_factory=theirs)
    robot.value = (0.5, -0.3)
    header = range(2, 28)
    assert states(ours, *header) == states(theirs, *header)
    assert states(ours, 9, 10, 7, 8) == [0.5, 0, 0, 0.3]


def test_speed_is_the_duty_cycle_of_the_forward_or_backward_pin(factory):
    motors = gpiozero_board.create(PINS, pin_factory=factory)
    motors.drive(0.5, -0.25)
    assert states(factory, 17, 18, 22, 23) == [0.5, 0, 0, 0.25]
    assert factory.pin(17).frequency == 100  # gpiozero's PWM: 100 Hz
    motors.drive(-1, 1)
    assert states(factory, 17, 18, 22, 23) == [0, 1, 1, 0]
    motors.stop()
    assert states(factory, 17, 18, 22, 23) == [0, 0, 0, 0]


def test_inverted_wheels_swap_their_forward_and_backward_pins(factory):
    motors = gpiozero_board.create({**PINS, "invert_left": True}, pin_factory=factory)
    motors.drive(0.5, 0.5)
    assert states(factory, 17, 18, 22, 23) == [0, 0.5, 0.5, 0]


def test_enable_pins_are_held_high_from_the_start(factory):
    motors = gpiozero_board.create(
        {**PINS, "left_enable": 12, "right_enable": 13}, pin_factory=factory
    )
    assert states(factory, 12, 13, 17, 18, 22, 23) == [1, 1, 0, 0, 0, 0]
    motors.drive(0.5, 0.5)
    assert states(factory, 12, 13, 17, 18, 22, 23) == [1, 1, 0.5, 0, 0.5, 0]


def test_without_pwm_a_wheel_is_stopped_or_at_full_speed():
    factory = MockFactory(pin_class=MockPin)  # plain on/off pins
    motors = gpiozero_board.create({**PINS, "pwm": False}, pin_factory=factory)
    motors.drive(0.3, -0.7)
    assert states(factory, 17, 18, 22, 23) == [True, False, False, True]
    motors.drive(0, 0.01)
    assert states(factory, 17, 18, 22, 23) == [False, False, True, False]


def test_close_drives_the_pins_low_then_releases_them(factory):
    motors = gpiozero_board.create(PINS, pin_factory=factory)
    motors.drive(1, 1)
    motors.close()
    assert states(factory, 17, 18, 22, 23) == [0, 0, 0, 0]
    assert {factory.pin(pin).function for pin in (17, 18, 22, 23)} == {"input"}
    Motor(17, 18, pin_factory=factory).close()  # free for the next process


def test_pins_in_use_are_a_clear_error_and_the_pins_already_claimed_are_given_back(factory):
    holder = DigitalOutputDevice(22, pin_factory=factory)  # holds a right-wheel pin
    with pytest.raises(DriverError, match=r"cannot claim the motor pins .*GPIOPinInUse"):
        gpiozero_board.create(PINS, pin_factory=factory)
    Motor(17, 18, pin_factory=factory).close()  # the left wheel's pins were released
    holder.close()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (
            {"left_forward": 9, "right_backward": 9},
            "right_backward = 9: GPIO9 is already used by left_forward",
        ),
        ({"left_forward": 40}, "left_forward = 40: must be a BCM GPIO number from 2 to 27"),
        ({"right_forward": None}, "right_forward = None: must be a BCM pin number"),
        ({"left_enable": "GPIO5"}, "left_enable = 'GPIO5': must be int or null"),
        ({"pwm": "yes"}, "pwm = 'yes': must be bool"),
    ],
)
def test_bad_options_are_named(options, named):
    with pytest.raises(DriverError, match=f"MOTOR_OPTIONS.gpiozero.{named}"):
        gpiozero_board.check_options(options)


def test_a_phase_enable_bridge_takes_direction_on_one_pin_and_speed_on_the_other(factory):
    motors = gpiozero_board.create({"bridge": "phase-enable"}, pin_factory=factory)
    motors.drive(0.5, -0.3)
    # Pololu's DRV8835 kit: left phase 5, enable 12; right phase 6, enable 13
    assert states(factory, 5, 12, 6, 13) == [0, 0.5, 1, 0.3]
    motors.close()
    assert states(factory, 12, 13) == [0, 0]


def test_a_phase_enable_bridge_has_its_own_pins():
    with pytest.raises(DriverError) as raised:
        gpiozero_board.check_options({"bridge": "phase-enable", "left_forward": 9})
    assert "MOTOR_OPTIONS.gpiozero.left_forward: unknown option" in str(raised.value)
    with pytest.raises(DriverError, match="left_enable = None: must be a BCM pin number"):
        gpiozero_board.check_options({"bridge": "phase-enable", "left_enable": None})
    with pytest.raises(DriverError, match="bridge = 'h-bridge': must be one of"):
        gpiozero_board.check_options({"bridge": "h-bridge"})
