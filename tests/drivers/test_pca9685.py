"""The PCA9685 register model keeps the datasheet's rules a driver could break."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.silicon.i2c import I2CBus
from tests.silicon.motor_hat import MotorHat
from tests.silicon.pca9685 import ALL_LED, LED0, MODE1, MODE2, PCA9685, PRE_SCALE

AI, SLEEP = 0x20, 0x10


def awake(auto_increment: bool = True) -> PCA9685:
    chip = PCA9685()
    chip.write(bytes([MODE1, AI if auto_increment else 0]))
    return chip


def set_channel(chip: PCA9685, channel: int, on: int, off: int) -> None:
    chip.write(bytes([LED0 + 4 * channel, on & 0xFF, on >> 8, off & 0xFF, off >> 8]))


def test_power_on_asleep_with_every_output_off_at_200_hz():
    chip = PCA9685()
    assert chip.sleeping
    assert chip.frequency == pytest.approx(200, abs=5)  # the datasheet's "200 Hz": 196.9
    assert [chip.duty(channel) for channel in range(16)] == [0.0] * 16


def test_outputs_stay_low_while_asleep():
    chip = PCA9685()
    chip.write(bytes([MODE1, SLEEP | AI]))
    set_channel(chip, 0, 0, 0x1000 >> 1)
    assert chip.duty(0) == 0
    chip.write(bytes([MODE1, AI]))
    assert chip.duty(0) == 0.5


def test_the_prescaler_is_written_only_while_asleep():
    chip = awake()
    chip.write(bytes([PRE_SCALE, 3]))
    assert chip.registers[PRE_SCALE] == 0x1E
    chip.write(bytes([MODE1, SLEEP]))
    chip.write(bytes([PRE_SCALE, 3]))
    assert chip.frequency == pytest.approx(1526, abs=1)


def test_without_auto_increment_every_byte_lands_in_the_same_register():
    chip = awake(auto_increment=False)
    chip.write(bytes([LED0, 1, 2, 3, 4]))
    assert list(chip.registers[LED0 : LED0 + 4]) == [4, 0, 0, 0x10]


def test_full_off_wins_over_full_on_which_wins_over_the_counts():
    chip = awake()
    set_channel(chip, 3, 0x1000, 0x1000)
    assert chip.duty(3) == 0
    set_channel(chip, 3, 0x1000, 0x0800)
    assert chip.duty(3) == 1
    set_channel(chip, 3, 0, 0x0400)
    assert chip.duty(3) == 0.25


@given(on=st.integers(0, 4095), off=st.integers(0, 4095))
def test_a_pulse_is_high_from_its_on_count_to_its_off_count_round_the_period(on, off):
    chip = awake()
    set_channel(chip, 5, on, off)
    ticks = chip.high_ticks(5)
    assert ticks.bit_count() == (off - on) % 4096
    if on != off:
        assert ticks >> on & 1  # high at the ON count
        assert not ticks >> off & 1  # low again at the OFF count


def test_all_led_registers_write_every_channel_and_read_as_zero():
    chip = awake()
    chip.write(bytes([ALL_LED, 0, 0, 0, 0x08]))
    assert {chip.duty(channel) for channel in range(16)} == {0.5}
    chip.write(bytes([ALL_LED]))
    assert chip.read(4) == bytes(4)


def test_invrt_inverts_the_outputs():
    chip = awake()
    set_channel(chip, 0, 0, 0x0400)
    chip.write(bytes([MODE2, 0x14]))
    assert chip.duty(0) == 0.75


def test_registers_read_back_through_the_bus():
    chip = awake()
    bus = I2CBus({0x60: chip})
    set_channel(chip, 1, 0x123, 0x456)
    buffer = bytearray(5)
    bus.writeto_then_readfrom(0x60, bytes([LED0 + 4]), buffer, in_start=1)
    assert buffer[1:] == bytes([0x23, 0x01, 0x56, 0x04])


def test_an_address_nobody_answers_is_a_remote_io_error():
    with pytest.raises(OSError) as raised:
        I2CBus({0x60: PCA9685()}).writeto(0x61, b"")
    assert raised.value.errno == errno.EREMOTEIO


def test_the_motor_hat_decodes_the_tb6612_truth_table():
    hat = MotorHat()
    hat.pca.write(bytes([MODE1, AI]))
    pwm, plus, minus = 8, 9, 10  # motor1
    full, off = (0x1000, 0), (0, 0x1000)
    for channel, (on, off_count) in ((pwm, full), (plus, full), (minus, off)):
        set_channel(hat.pca, channel, on, off_count)
    assert hat.bridge("motor1").output == 1
    set_channel(hat.pca, minus, *full)
    assert hat.bridge("motor1").mode == "brake"
    set_channel(hat.pca, plus, *off)
    set_channel(hat.pca, minus, *off)
    assert hat.bridge("motor1").mode == "coast"
    set_channel(hat.pca, minus, *full)
    set_channel(hat.pca, pwm, 0, 0x0400)  # PWM low 3/4 of the time: brake then
    bridge = hat.bridge("motor1")
    assert (bridge.output, bridge.brake, bridge.coast) == (-0.25, 0.75, 0)
