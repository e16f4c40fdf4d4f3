"""The Pico's firmware (firmware/pico/main.py) itself, run under CPython on the MicroPython
stand-in (tests/silicon/micropython.py), spoken to with pyserial over a pseudo-terminal:
version 3 of docs/serial-protocol.md (checksums, the version line, time to live, encoder
reports) and its watchdogs."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from tests.silicon.micropython import Pico, load_firmware, run_firmware

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "pico" / "main.py"
PATIENCE_S = 10.0  # a safety net for waiting on another thread, never a timing check
PINS = {"CHANNEL_PINS": ((8, 9), (10, 11))}
# The firmware's functions, for calling directly (its pins record, nothing runs).
OFFLINE = load_firmware(FIRMWARE, Pico(-1), PINS)


@dataclass
class Board:
    pico: Pico
    firmware: dict[str, Any]
    port: serial.Serial
    changed: threading.Condition

    def channel(self, forward: int, backward: int) -> float:
        """The channel's output, -1..1, read from its two bridge inputs' duty."""
        duty = self.pico.duties.get(forward, 0) - self.pico.duties.get(backward, 0)
        return round(duty * 1000 / 65535) / 1000

    @property
    def outputs(self) -> tuple[float, float]:
        return self.channel(8, 9), self.channel(10, 11)

    def ask(self, line: bytes) -> bytes:
        self.port.write(line + b"\n")
        return self.port.readline()

    def wait_until(self, condition: Callable[[], bool]) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, PATIENCE_S)


@pytest.fixture
def boot() -> Iterator[Callable[..., Board]]:
    started: list[tuple[Pico, threading.Thread, serial.Serial, tuple[int, int]]] = []

    def start(**settings: Any) -> Board:
        controller_end, pi_end = os.openpty()
        tty.setraw(pi_end)
        changed = threading.Condition()

        def notify() -> None:
            with changed:
                changed.notify_all()

        pico = Pico(controller_end, on_change=notify)
        firmware = load_firmware(FIRMWARE, pico, {**PINS, **settings})
        thread = threading.Thread(target=run_firmware, args=(firmware,), daemon=True)
        thread.start()
        port = serial.Serial(os.ttyname(pi_end), 115200, timeout=PATIENCE_S)
        started.append((pico, thread, port, (controller_end, pi_end)))
        return Board(pico, firmware, port, changed)

    yield start
    for pico, thread, port, fds in started:
        pico.power_off()
        thread.join(PATIENCE_S)
        port.close()
        pico.close()
        for fd in fds:
            os.close(fd)


def checked(command: bytes) -> bytes:
    """A line with its checksum, as the Pi sends it."""
    return command + b"*%02X" % OFFLINE["crc8"](command)


def test_the_checksum_is_crc8_smbus() -> None:
    crc8 = OFFLINE["crc8"]
    assert crc8(b"123456789") == 0xF4  # the catalogued check value of CRC-8/SMBUS
    assert crc8(b"") == 0


def test_a_version_1_conversation_still_works(boot) -> None:
    board = boot()
    assert board.ask(b"S") == b"OK\n"
    assert board.ask(b"M 600 -250") == b"OK\n"
    assert board.outputs == (0.6, -0.25)
    assert board.ask(b"M 1200 0") == b"ERR range\n"
    assert board.outputs == (0, 0)


def test_a_checksummed_line_gets_a_checksummed_reply(boot) -> None:
    board = boot()
    assert board.ask(checked(b"M 500 500")) == checked(b"OK") + b"\n"
    assert board.outputs == (0.5, 0.5)


def test_the_version_line_names_the_protocol_and_the_firmware(boot) -> None:
    board = boot()
    assert board.ask(checked(b"V")) == checked(b"OK 3 telepresence-pico 1.1") + b"\n"


@pytest.mark.parametrize(
    "line",
    [b"M 500 500*00", b"M 500 500*7", b"M 500 500*ZZ", b"M 500 501*" + checked(b"M 500 500")[-2:]],
)
def test_a_wrong_checksum_is_refused_and_stops_the_wheels(boot, line) -> None:
    board = boot()
    assert board.ask(checked(b"M 300 300")) == checked(b"OK") + b"\n"
    assert board.ask(line) == checked(b"ERR checksum") + b"\n"
    assert board.outputs == (0, 0)


def test_after_a_checksummed_line_lines_without_one_are_refused(boot) -> None:
    board = boot()
    assert board.ask(checked(b"S")) == checked(b"OK") + b"\n"
    assert board.ask(b"M 500 500") == b"ERR checksum\n"
    assert board.outputs == (0, 0)


def test_the_watchdog_stops_the_wheels_when_the_pi_goes_silent(boot) -> None:
    board = boot(WATCHDOG_MS=200)
    assert board.ask(checked(b"M 500 -500")) == checked(b"OK") + b"\n"
    assert board.wait_until(lambda: board.firmware["controller"].watchdog_trips == 1)
    assert board.outputs == (0, 0)


def test_a_command_ends_with_its_ttl_even_while_heartbeats_come(boot) -> None:
    board = boot(WATCHDOG_MS=5000)
    controller = board.firmware["controller"]
    assert board.ask(checked(b"M 500 -500 300")) == checked(b"OK") + b"\n"
    deadline = time.monotonic() + PATIENCE_S
    while board.outputs != (0, 0):  # a Pi that keeps its heartbeat going
        assert board.ask(checked(b"H")) == checked(b"OK") + b"\n"
        assert time.monotonic() < deadline
    assert controller.ttl_stops == 1 and controller.watchdog_trips == 0


def test_a_command_without_a_ttl_ends_the_previous_ones() -> None:
    controller = OFFLINE["Controller"]([OFFLINE["Channel"](p) for p in PINS["CHANNEL_PINS"]])
    assert controller.answer(b"M 100 100 50", False) == b"OK\n"
    assert controller.expires is not None
    assert controller.answer(b"M 100 100", False) == b"OK\n"
    assert controller.expires is None  # only the watchdog stops it now, as in version 2


def test_the_encoders_count_quadrature_edges(boot) -> None:
    board = boot(ENCODER_PINS=((2, 3), (4, 5)))
    assert board.ask(b"E") == b"OK 0 0\n"
    for phase_b, phase_a, pulses in ((3, 2, 3), (5, 4, 0)):  # channel A forwards
        for _ in range(pulses):
            board.pico.set_level(phase_b, 0)
            board.pico.set_level(phase_a, 1)
            board.pico.set_level(phase_a, 0)
    for _ in range(2):  # channel B backwards: phase B high on phase A's rising edge
        board.pico.set_level(5, 1)
        board.pico.set_level(4, 1)
        board.pico.set_level(4, 0)
    assert board.ask(b"E") == b"OK 3 -2\n"


@given(st.lists(st.sampled_from((1, -1)), max_size=50))
def test_an_encoders_count_is_its_net_edges(steps) -> None:
    pico = Pico(-1)
    firmware = load_firmware(FIRMWARE, pico, PINS)
    encoder = firmware["Encoder"]((2, 3))
    for step in steps:
        pico.set_level(3, 0 if step > 0 else 1)
        pico.set_level(2, 1)
        pico.set_level(2, 0)
    assert encoder.count == sum(steps)


def test_a_board_without_encoders_refuses_the_report(boot) -> None:
    board = boot()
    assert board.ask(b"M 100 100") == b"OK\n"
    assert board.ask(b"E") == b"ERR no encoders\n"
    assert board.outputs == (0, 0)


def test_the_chip_watchdog_is_armed_by_the_first_valid_line_not_at_power_up(boot) -> None:
    board = boot()
    assert board.ask(b"X") == b"ERR unknown\n"
    assert board.pico.chip_watchdog_ms is None  # mpremote can still take over
    assert board.ask(b"H") == b"OK\n"
    assert board.wait_until(lambda: board.pico.chip_watchdog_ms == 2000)


def test_a_bridge_fault_refuses_driving(boot) -> None:
    board = boot(FAULT_PIN=15)
    assert board.ask(b"M 500 500") == b"OK\n"
    board.pico.levels[15] = 0  # nFAULT pulled low
    assert board.ask(b"M 600 600") == b"ERR fault\n"
    assert board.outputs == (0, 0)


def test_the_pwm_runs_above_hearing_on_every_bridge_input(boot) -> None:
    board = boot()
    assert board.ask(b"S") == b"OK\n"
    assert board.pico.pwm_hz == {8: 20000, 9: 20000, 10: 20000, 11: 20000}


def test_over_a_uart_the_same_protocol(boot) -> None:
    board = boot(UART_ID=0, BAUDRATE=57600)
    assert board.ask(b"M 100 200") == b"OK\n"
    assert board.pico.uart == (0, 57600)
    assert board.outputs == (0.1, 0.2)


@given(st.binary(max_size=40).filter(lambda line: b"\n" not in line), st.booleans())
def test_every_line_gets_exactly_one_reply_and_a_refused_one_stops(line, drive_first) -> None:
    controller = OFFLINE["Controller"]([OFFLINE["Channel"](p) for p in PINS["CHANNEL_PINS"]])
    if drive_first:
        assert controller.answer(b"M 100 100", False) == b"OK\n"
    replies = [controller.receive(byte) for byte in line + b"\n"]
    assert replies[:-1] == [None] * len(line)
    reply = replies[-1]
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    if reply.startswith(b"ERR"):
        assert not controller.moving
    else:
        assert reply.rstrip(b"\n").split(b"*")[0].split(b" ")[0] == b"OK"
