"""The serial board: real pyserial on a pseudo-terminal, talking to the Pico firmware itself
(firmware/pico/main.py on the MicroPython stand-in); the two sides of docs/serial-protocol.md
checked against each other."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from hypothesis import given, settings
from hypothesis import strategies as st

import drivers
from drivers import DriverError
from drivers import serial_protocol as protocol
from robot.daemon import config as robot_config
from robot.daemon.daemon import Daemon
from robot.daemon.estop import EStop
from tests.silicon.micropython import Pico, load_firmware
from tests.silicon.serial_controller import FIRMWARE, SimulatedController
from tests.unit.conftest import RecordingLink, write_config

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


async def until(condition: Callable[[], bool]) -> bool:
    """``eventually`` for a test on the event loop: the loop runs while it waits."""
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def on_a_loop(motors: drivers.MotorDriver, body: Callable[[], Any]) -> Any:
    """Run ``await body()`` on an event loop while the driver's keep_alive runs on it, as
    the daemon runs both."""

    async def main() -> Any:
        keep_alive = asyncio.create_task(motors.keep_alive())
        try:
            return await body()
        finally:
            keep_alive.cancel()

    return asyncio.run(main())


# --- the line protocol ---------------------------------------------------------------------

wheel = st.floats(min_value=-1, max_value=1, allow_nan=False)


@given(a=wheel, b=wheel)
def test_what_the_pi_sends_the_firmware_reads_back(a, b):
    sent = protocol.line(protocol.drive_command(a, b), checked=True)
    assert sent.endswith(b"\n") and len(sent) <= MAX_LINE and sent.isascii()
    command, checked = OFFLINE["split_checksum"](sent[:-1])
    assert checked and parse_command(command) == ("M", (round(a * 1000), round(b * 1000), None))


@given(a=wheel, b=wheel, ttl_s=st.floats(min_value=0, max_value=3600))
def test_a_time_to_live_travels_in_whole_milliseconds_rounded_up(a, b, ttl_s):
    sent = protocol.line(protocol.drive_command(a, b, ttl_s), checked=True)
    assert len(sent) <= MAX_LINE
    command, _ = OFFLINE["split_checksum"](sent[:-1])
    _, (_, _, ttl_ms) = parse_command(command)
    assert ttl_ms == min(max(1, math.ceil(ttl_s * 1000)), 60000)


@given(
    a=st.integers(-1000, 1000),
    b=st.integers(-1000, 1000),
    plus=st.booleans(),
    gap=st.integers(1, 3),
)
def test_the_firmware_takes_signs_and_runs_of_spaces(a, b, plus, gap):
    first = f"+{a}" if plus and a >= 0 else str(a)
    assert parse_command(f"M{' ' * gap}{first}{' ' * gap}{b}".encode()) == ("M", (a, b, None))


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
        (b"M 1 2 3 4", "syntax"),
        (b"M 1 2 0", "range"),
        (b"M 1 2 60001", "range"),
        (b"M 1 2 -5", "syntax"),
        (b"M 1 2 +5", "syntax"),
        (b"M 1 2 100000", "syntax"),
        (b"E 1", "syntax"),
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
        assert verb in {"M", "S", "H", "V", "E"}
        if verb == "M":
            a, b, ttl = args
            assert -1000 <= a <= 1000 and -1000 <= b <= 1000
            assert ttl is None or 1 <= ttl <= 60000
        else:
            assert args == ()


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


@contextlib.contextmanager
def heartbeating(
    tmp_path: Path, watchdog_s: float
) -> Iterator[tuple[SimulatedController, drivers.MotorDriver]]:
    """A controller whose watchdog fires after ``watchdog_s``, and a driver sending a
    heartbeat every 50 ms (while its keep_alive runs); both closed afterwards."""
    controller = SimulatedController(tmp_path / "ttyACM0", watchdog_s=watchdog_s)
    motors = load(controller, heartbeat_ms=50)
    try:
        yield controller, motors
    finally:
        motors.close()
        controller.close()


def test_the_heartbeat_keeps_the_watchdog_from_stopping_a_driving_robot(tmp_path):
    with heartbeating(tmp_path, watchdog_s=0.5) as (controller, motors):

        async def body() -> None:
            motors.drive(0.5, 0.5)
            assert await until(lambda: controller.commands().count(b"H") >= 20)  # 1 s and more
            assert controller.outputs == (0.5, 0.5)
            assert controller.watchdog_trips == 0

        on_a_loop(motors, body)


def test_a_blocked_loop_sends_no_heartbeat_and_the_controller_stops_the_wheels(tmp_path):
    with heartbeating(tmp_path, watchdog_s=0.3) as (controller, motors):

        async def body() -> None:
            motors.drive(0.5, 0.5, ttl_s=30)  # a long TTL: only the watchdog can stop it
            assert await until(lambda: controller.commands().count(b"H") >= 3)
            heard = len(controller.received)
            # A wedged daemon: this call blocks the loop until the controller has acted.
            assert controller.wait_until(lambda c: c.outputs == (0, 0), PATIENCE_S)
            assert controller.watchdog_trips == 1
            assert len(controller.received) == heard  # nothing came while the loop was blocked

        on_a_loop(motors, body)


def test_a_command_ends_with_its_ttl_even_while_heartbeats_come(tmp_path):
    with heartbeating(tmp_path, watchdog_s=5.0) as (controller, motors):

        async def body() -> None:
            motors.drive(0.5, -0.5, ttl_s=0.3)
            assert controller.commands()[-1] == b"M 500 -500 300"
            assert await until(lambda: controller.outputs == (0, 0))
            assert controller.ttl_stops == 1 and controller.watchdog_trips == 0
            heartbeats = controller.commands().count(b"H")
            assert await until(lambda: controller.commands().count(b"H") > heartbeats)

        on_a_loop(motors, body)


def test_a_blocked_loop_stops_a_serial_robot_within_the_commands_ttl(tmp_path):
    with heartbeating(tmp_path, watchdog_s=5.0) as (controller, motors):

        async def body() -> None:
            motors.drive(0.4, 0.4, ttl_s=0.2)
            # Blocked for far longer than the TTL, and far shorter than the watchdog.
            assert controller.wait_until(lambda c: c.outputs == (0, 0), PATIENCE_S)
            assert controller.ttl_stops == 1 and controller.watchdog_trips == 0

        on_a_loop(motors, body)


def test_a_killed_driver_falls_silent_and_the_watchdog_stops_the_wheels(tmp_path):
    controller = SimulatedController(tmp_path / "ttyACM0", watchdog_s=1.0)
    script = (
        "import asyncio, sys, drivers\n"
        "async def main():\n"
        "    motors = drivers.load('serial', {'port': sys.argv[1], 'heartbeat_ms': 50})\n"
        "    motors.drive(0.4, 0.4)\n"
        "    await asyncio.wait_for(motors.keep_alive(), 60)\n"
        "asyncio.run(main())\n"
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

    async def body() -> None:
        motors.drive(0.5, 0.5)
        controller.unplug()
        assert await until(lambda: not motors.status()["connected"])  # the heartbeat noticed
        with pytest.raises(DriverError, match="not connected"):
            motors.drive(0.5, 0.5)
        controller.plug_in()
        assert await until(lambda: motors.status()["connected"])
        assert motors.status()["reconnects"] == 1
        assert controller.outputs == (0, 0)  # not driving again until told to
        motors.drive(-0.2, 0.2)
        assert controller.outputs == (-0.2, 0.2)

    on_a_loop(motors, body)
    motors.close()


def test_closing_while_unplugged_leaves_the_stop_to_the_watchdog(controller):
    motors = load(controller, heartbeat_ms=50)

    async def body() -> None:
        motors.drive(0.5, 0.5)
        controller.unplug()
        assert await until(lambda: not motors.status()["connected"])

    on_a_loop(motors, body)
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
        ({"encoder_counts_per_metre": 0}, "encoder_counts_per_metre = 0: must be above 0"),
        ({"encoder_counts_per_metre": "many"}, "encoder_counts_per_metre = 'many': must be int"),
    ],
)
def test_bad_options_are_named(options, named):
    with pytest.raises(DriverError, match=f"MOTOR_OPTIONS.serial.{named}"):
        drivers.load("serial", options)


def test_the_driver_speaks_version_3_with_checksums_and_ttls_to_the_firmware(controller):
    motors = load(controller)
    motors.drive(0.25, -0.5, ttl_s=2.5)
    assert controller.received[0] == protocol.line(b"V", checked=True)[:-1]
    assert controller.received[-1] == protocol.line(b"M 250 -500 2500", checked=True)[:-1]
    assert controller.outputs == (0.25, -0.5)
    assert motors.status()["protocol"] == 3
    motors.close()


def test_a_version_2_controller_gets_no_ttl_and_cannot_report_encoders(tmp_path):
    # The firmware answering V as version 2 stands in for an older controller.
    controller = SimulatedController(tmp_path / "ttyACM0", constants={"PROTOCOL": 2})
    try:
        motors = load(controller)
        motors.drive(0.25, -0.5, ttl_s=2.5)
        assert controller.commands()[-1] == b"M 250 -500"
        assert motors.status()["protocol"] == 2
        motors.close()
        with pytest.raises(DriverError, match="speaks protocol version 2, without encoder"):
            load(controller, encoder_counts_per_metre=1000)
    finally:
        controller.close()


def test_a_board_without_encoders_reports_no_travel(controller):
    motors = load(controller)
    assert motors.wheel_travel() is None
    assert b"E" not in controller.commands()
    motors.close()


def test_the_encoders_report_each_wheels_travel_through_the_wiring(tmp_path):
    # Channel B drives the left wheel, mounted the other way round.
    controller = SimulatedController(tmp_path / "ttyACM0", encoder_counts_per_s=4000)
    wiring = {"left": "b", "right": "a", "invert_left": True}
    motors = load(controller, encoder_counts_per_metre=2000, **wiring)
    try:
        assert motors.wheel_travel() == (0.0, 0.0)
        motors.drive(0.5, 0.25)
        assert eventually(lambda: controller.counts[0] >= 400)
        motors.stop()
        counts = list(controller.counts)

        def settled() -> bool:
            nonlocal counts
            counts, before = list(controller.counts), counts
            return counts == before and motors.wheel_travel() == (
                -counts[1] / 2000,
                counts[0] / 2000,
            )

        assert eventually(settled)
        left, right = motors.wheel_travel()
        assert left > right > 0  # both forwards, the left one (told 0.5) twice as far
    finally:
        motors.close()
        controller.close()


def test_the_daemon_measures_odometry_from_a_serial_controllers_encoders(tmp_path):
    controller = SimulatedController(tmp_path / "ttyACM0", encoder_counts_per_s=4000)
    options = {"port": str(controller.link), "encoder_counts_per_metre": 4000}
    config = robot_config.load(
        write_config(tmp_path, MOTOR_DRIVER="serial", MOTOR_OPTIONS={"serial": options}),
        environ={},
    )
    link = RecordingLink()
    motors = drivers.load("serial", options)

    async def body() -> dict[str, Any]:
        daemon = Daemon(config, motors, link, estop=EStop(tmp_path / "state"))  # type: ignore[arg-type]
        # A report reads the encoders: the driver's and the odometry's zero point, taken here
        # while the wheels stand, not at whatever moment the first report after the forward
        # happens to run.
        daemon.report()
        assert controller.counts == [0, 0]
        daemon.handle(json.dumps({"action": "forward", "speed": 1, "ttl_ms": 5000}).encode())
        assert await until(lambda: controller.counts[0] >= 1000)  # a quarter of a metre
        daemon.handle(b'{"action": "stop"}')
        daemon.report()
        return link.messages("state")[-1]["odometry"]

    try:
        odometry = on_a_loop(motors, body)
    finally:
        motors.close()
        controller.close()
    assert odometry["source"] == "measured"
    assert odometry["x"] >= 0.25


def test_probe_names_the_firmware_without_driving(controller):
    found = drivers.board("serial").probe({"port": str(controller.link)})
    assert found == f"telepresence-pico 1.1 (protocol 3) on {controller.link}"
    assert controller.commands() == [b"V"]
