"""The serial board: real pyserial on a pseudo-terminal, talking to the Pico firmware itself
(firmware/pico/main.py on the MicroPython stand-in); the two sides of docs/serial-protocol.md
checked against each other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

import drivers
from drivers import DriverError
from drivers import serial_protocol as protocol
from sim.silicon.micropython import Pico, load_firmware
from sim.silicon.serial_controller import FIRMWARE, SimulatedController

ROOT = Path(__file__).resolve().parents[2]
PATIENCE_S = 10.0  # a safety net for waiting on another thread, never a timing check
OFFLINE = load_firmware(FIRMWARE, Pico(-1))  # the firmware's functions, called directly
MAX_LINE = OFFLINE["MAX_LINE"]
CommandError = OFFLINE["Refused"]
parse_command = OFFLINE["parse"]


def reason(error: Exception) -> str:
    return error.args[0]


def eventually(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- the line protocol ---------------------------------------------------------------------

wheel = st.floats(min_value=-1, max_value=1, allow_nan=False)


@given(a=wheel, b=wheel)
def test_what_the_pi_sends_the_firmware_reads_back(a, b):
    sent = protocol.line(protocol.drive_command(a, b), checked=True)
    assert sent.endswith(b"\n") and len(sent) <= MAX_LINE and sent.isascii()
    command, checked = OFFLINE["split_checksum"](sent[:-1])
    assert checked and parse_command(command) == ("M", (round(a * 1000), round(b * 1000)))


@given(
    a=st.integers(-1000, 1000),
    b=st.integers(-1000, 1000),
    plus=st.booleans(),
    gap=st.integers(1, 3),
)
def test_the_firmware_takes_signs_and_runs_of_spaces(a, b, plus, gap):
    first = f"+{a}" if plus and a >= 0 else str(a)
    assert parse_command(f"M{' ' * gap}{first}{' ' * gap}{b}".encode()) == ("M", (a, b))


def test_the_firmware_ignores_a_cr_before_the_lf():
    controller = OFFLINE["Controller"]([OFFLINE["Channel"](pins) for pins in ((8, 9), (10, 11))])
    replies = [controller.receive(byte) for byte in b"M 5 5\r\n"]
    assert replies[-1] == b"OK\n" and controller.moving


@given(value=st.integers().filter(lambda n: abs(n) > 1000 and abs(n) < 10000))
def test_the_firmware_refuses_more_than_full_speed(value):
    with pytest.raises(CommandError) as raised:
        parse_command(f"M {value} 0".encode())
    assert reason(raised.value) == "range"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"", "syntax"),
        (b"M", "syntax"),
        (b"M 1", "syntax"),
        (b"M 1 2 3", "syntax"),
        (b"M 1_0 2", "syntax"),
        (b"M \xd9\xa1 2", "syntax"),
        (b"M 0.5 0.5", "syntax"),
        (b"M -- 2", "syntax"),
        (b"M 00001 2", "syntax"),
        (b"S 1", "syntax"),
        (b"m 1 2", "unknown"),
        (b"X", "unknown"),
        (b"M 1001 0", "range"),
    ],
)
def test_the_firmware_refuses_malformed_lines_with_a_reason(line, reason):
    with pytest.raises(CommandError) as raised:
        parse_command(line)
    assert raised.value.args[0] == reason


@given(st.binary(max_size=40).filter(lambda line: b"\n" not in line))
def test_the_firmware_parser_never_fails_any_other_way(line):
    try:
        verb, args = parse_command(line)
    except CommandError as exc:
        assert reason(exc) in {"syntax", "range", "unknown"}
    else:
        assert verb in {"M", "S", "H", "V"}
        assert all(-1000 <= arg <= 1000 for arg in args)


@given(st.binary(max_size=40))
def test_the_pi_reads_any_reply_as_ok_a_reason_or_a_protocol_error(line):
    try:
        reply = protocol.parse_reply(protocol.reply_text(line, checked=False))
    except ValueError:
        assert line.rstrip(b"\r\n") not in {b"OK", b"ERR"}
    else:
        assert reply is None or (isinstance(reply, str) and reply)


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"OK\n", None),
        (b"OK\r\n", None),
        (b"ERR range\n", "range"),
        (b"ERR\n", "no reason given"),
        (b"ERR  overcurrent \r\n", "overcurrent"),
    ],
)
def test_replies(line, reply):
    assert protocol.parse_reply(protocol.reply_text(line, checked=False)) == reply


@pytest.mark.parametrize("line", [b"OKAY\n", b"ERROR 5\n", b"\n", b"READY\n"])
def test_lines_that_are_no_reply(line):
    with pytest.raises(ValueError, match="not a reply"):
        protocol.parse_reply(protocol.reply_text(line, checked=False))


def test_a_checked_reply_must_carry_its_checksum():
    good = protocol.line(b"ERR range", checked=True)
    assert protocol.reply_text(good, checked=True) == b"ERR range"
    for damaged in (b"ERR rangf" + good[9:], b"ERR range\n", good.replace(b"*", b"+")):
        with pytest.raises(protocol.ChecksumError):
            protocol.reply_text(damaged, checked=True)


def test_the_pi_and_the_firmware_compute_the_same_checksums():
    for data in (b"", b"M 600 -250", b"OK 2 telepresence-pico 1.0", bytes(range(256))):
        assert protocol.crc8(data) == OFFLINE["crc8"](data)


# --- the firmware, over a real serial port ---------------------------------------------------


@pytest.fixture
def controller(tmp_path: Path):
    running = SimulatedController(tmp_path / "ttyACM0", watchdog_s=5.0)
    yield running
    running.close()


@pytest.fixture
def port(controller: SimulatedController):
    with serial.Serial(str(controller.link), 115200, timeout=PATIENCE_S) as opened:
        yield opened


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(
        st.binary(max_size=50).filter(lambda line: b"\n" not in line), min_size=1, max_size=5
    )
)
def test_every_line_gets_one_reply_and_a_refused_one_stops_the_wheels(tmp_path_factory, lines):
    controller = SimulatedController(tmp_path_factory.mktemp("tty") / "ttyACM0", watchdog_s=5.0)
    try:
        with serial.Serial(str(controller.link), 115200, timeout=PATIENCE_S) as port:
            for line in lines:
                port.write(b"M 300 300\n")
                assert port.readline() == b"OK\n"
                port.write(line + b"\n")
                answer = protocol.reply_text(port.readline(), checked=False)
                if protocol.parse_reply(answer) is not None:
                    assert controller.outputs == (0, 0)
                port.write(b"H\n")
                assert port.readline() == b"OK\n"  # no second reply was queued before it
    finally:
        controller.close()


def test_an_overlong_line_is_refused_whole(controller, port):
    port.write(b"M " + b" " * 40 + b"1 1\nM 1 1\n")
    assert port.readline() == b"ERR long\n"
    assert port.readline() == b"OK\n"
    assert controller.outputs == (0.001, 0.001)


def test_the_watchdog_stops_the_wheels_when_the_pi_goes_silent(tmp_path):
    controller = SimulatedController(tmp_path / "ttyACM0", watchdog_s=0.2)
    try:
        with serial.Serial(str(controller.link), 115200, timeout=PATIENCE_S) as port:
            port.write(b"M 500 -500\n")
            assert port.readline() == b"OK\n"
            assert controller.wait_until(lambda c: c.watchdog_trips == 1, PATIENCE_S)
            assert controller.outputs == (0, 0)
    finally:
        controller.close()


# --- the driver ----------------------------------------------------------------------------


def load(controller: SimulatedController, **options: object) -> drivers.MotorDriver:
    return drivers.load("serial", {"port": str(controller.link), **options})


def test_the_heartbeat_keeps_the_watchdog_from_stopping_a_driving_robot(tmp_path):
    controller = SimulatedController(tmp_path / "ttyACM0", watchdog_s=2.0)
    motors = load(controller, heartbeat_ms=50)
    try:
        motors.drive(0.5, 0.5)
        assert controller.wait_until(lambda c: c.commands().count(b"H") >= 10, PATIENCE_S)
        assert controller.outputs == (0.5, 0.5)
        assert controller.watchdog_trips == 0
    finally:
        motors.close()
        controller.close()


def test_a_killed_driver_falls_silent_and_the_watchdog_stops_the_wheels(tmp_path):
    controller = SimulatedController(tmp_path / "ttyACM0", watchdog_s=1.0)
    script = (
        "import sys, time, drivers\n"
        "motors = drivers.load('serial', {'port': sys.argv[1], 'heartbeat_ms': 50})\n"
        "motors.drive(0.4, 0.4)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(controller.link)], cwd=ROOT)
    try:
        assert controller.wait_until(lambda c: c.commands().count(b"H") >= 3, PATIENCE_S)
        assert controller.outputs == (0.4, 0.4)  # heartbeats keep it driving
        assert controller.watchdog_trips == 0
        os.kill(process.pid, signal.SIGKILL)
        assert controller.wait_until(lambda c: c.watchdog_trips == 1, PATIENCE_S)
        assert controller.outputs == (0, 0)
    finally:
        process.kill()
        process.wait(timeout=PATIENCE_S)
        controller.close()


def test_unplugged_then_back_the_driver_reconnects_with_the_wheels_stopped(controller):
    motors = load(controller, heartbeat_ms=50)
    motors.drive(0.5, 0.5)
    controller.unplug()
    assert eventually(lambda: not motors.status()["connected"])  # the heartbeat noticed
    with pytest.raises(DriverError, match="not connected"):
        motors.drive(0.5, 0.5)
    controller.plug_in()
    assert eventually(lambda: motors.status()["connected"])
    assert motors.status()["reconnects"] == 1
    assert controller.outputs == (0, 0)  # not driving again until told to
    motors.drive(-0.2, 0.2)
    assert controller.outputs == (-0.2, 0.2)
    motors.close()


def test_closing_while_unplugged_leaves_the_stop_to_the_watchdog(controller):
    motors = load(controller, heartbeat_ms=50)
    motors.drive(0.5, 0.5)
    controller.unplug()
    assert eventually(lambda: not motors.status()["connected"])
    motors.close()  # nothing to talk to, and nothing turning: no error
    controller.plug_in()
    with pytest.raises(DriverError, match="closed"):
        motors.drive(0.5, 0.5)
    assert controller.outputs == (0, 0)


def test_a_refused_drive_is_an_error_and_leaves_the_wheels_stopped(controller):
    motors = load(controller)
    motors.drive(0.5, 0.5)
    controller.fault = True  # the bridge pulls nFAULT low
    with pytest.raises(DriverError, match="refused 'M 600 600': fault; wheels stopped"):
        motors.drive(0.6, 0.6)
    assert controller.outputs == (0, 0)
    motors.close()


def test_a_controller_that_boots_when_the_port_opens_is_waited_for(tmp_path):
    controller = SimulatedController(tmp_path / "ttyACM0", boot_s=0.5)
    try:
        motors = load(controller, reply_timeout_ms=50)
        motors.drive(0.3, 0.3)
        assert controller.outputs == (0.3, 0.3)
        motors.close()
    finally:
        controller.close()


def test_a_device_that_never_answers_is_a_clear_error(tmp_path):
    master, slave = os.openpty()  # a terminal with nothing behind it
    try:
        with pytest.raises(
            DriverError,
            match=r"no OK from a motor controller on .* within 0.3 s "
            r"\(last heard: b''\); check the baud rate",
        ):
            drivers.load(
                "serial",
                {"port": os.ttyname(slave), "connect_timeout_ms": 300, "reply_timeout_ms": 50},
            )
    finally:
        os.close(master)
        os.close(slave)


def test_a_missing_device_is_a_clear_error(tmp_path):
    with pytest.raises(DriverError, match=r"cannot open .*ttyUSB7.*dialout"):
        drivers.load("serial", {"port": str(tmp_path / "ttyUSB7")})


def test_the_channels_can_be_swapped_and_inverted(controller):
    motors = load(controller, left="b", right="a", invert_right=True)
    motors.drive(0.25, 0.75)
    assert controller.outputs == (-0.75, 0.25)
    motors.close()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"baudrate": 100000}, "baudrate = 100000: must be one of 9600"),
        ({"heartbeat_ms": 10}, "heartbeat_ms = 10: must be from 20 to 5000"),
        ({"reply_timeout_ms": 0.5}, "reply_timeout_ms = 0.5: must be int"),
        ({"port": 0}, "port = 0: must be str"),
    ],
)
def test_bad_options_are_named(options, named):
    with pytest.raises(DriverError, match=f"MOTOR_OPTIONS.serial.{named}"):
        drivers.load("serial", options)


def test_the_driver_speaks_version_2_with_checksums_to_the_firmware(controller):
    motors = load(controller)
    motors.drive(0.25, -0.5)
    assert controller.received[0] == protocol.line(b"V", checked=True)[:-1]
    assert controller.received[-1] == protocol.line(b"M 250 -500", checked=True)[:-1]
    assert controller.outputs == (0.25, -0.5)
    motors.close()


def test_probe_names_the_firmware_without_driving(controller):
    found = drivers.board("serial").probe({"port": str(controller.link)})
    assert found == f"telepresence-pico 1.0 (protocol 2) on {controller.link}"
    assert controller.commands() == [b"V"]
