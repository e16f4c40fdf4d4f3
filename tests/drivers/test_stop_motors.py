"""``robot stop-motors``: a board keeps its last output when the process that set it dies, so
the systemd unit runs this after the daemon, however the daemon ended."""

from __future__ import annotations

import configparser
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from robot import cli
from sim.robot.board import read_state
from tests.silicon.serial_controller import SimulatedController
from tests.support.stack import RecordingStack

ROOT = Path(__file__).resolve().parents[2]
PATIENCE_S = 30.0  # a safety net for a subprocess, never a timing check


def robot(*args: str) -> subprocess.CompletedProcess[str]:
    """The ``robot`` command line in a process of its own, as systemd runs it."""
    env = {key: value for key, value in os.environ.items() if key != "MOTOR_DRIVER"}
    return subprocess.run(
        [sys.executable, "-m", "robot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=PATIENCE_S,
    )


def test_the_real_daemon_killed_mid_drive_leaves_the_wheels_turning_until_stop_motors(
    tmp_path, monkeypatch
):
    for key in (
        "AWS_ENDPOINT_URL_IOT_DATA_PLANE",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "ROBOT_NAME",
    ):
        monkeypatch.setenv(key, "restored after the test")  # the stack sets them
    state = tmp_path / "wheels.json"
    with RecordingStack(tmp_path / "sim", port=0) as stack:
        # the same stack, its daemon restarted on a sim board with simulated silicon
        stack.stop_daemon()
        config = json.loads(stack.config_path.read_text())
        config["MOTOR_OPTIONS"] = {"sim": {"state_file": str(state)}}
        # The guard's simulated rangefinder reads the pose from the board it measures for: a
        # sensor without one is blind, and a blind guard refuses forward motion.
        config["OBSTACLE_GUARD"]["options"]["state_file"] = str(state)
        stack.config_path.write_text(json.dumps(config))
        stack.start_daemon()
        stack.drain_telemetry()
        stack.publish_command(b'{"action": "forward", "ttl_ms": 5000, "id": "before-kill"}')
        # Driving, not only applied: the guard holds forward motion until its first range.
        stack.wait_for_telemetry(
            lambda m: (
                (m.get("command") or {}).get("id") == "before-kill" and m["wheels"]["left"] > 0
            ),
            timeout=PATIENCE_S,
        )
        assert read_state(state)[0] > 0

        daemon = stack.daemon
        assert daemon is not None
        daemon.kill()  # SIGKILL: no handler runs, nothing stops the wheels
        assert daemon.wait(timeout=PATIENCE_S) == -signal.SIGKILL
        moving = read_state(state)
        assert moving[0] > 0 and moving == pytest.approx((moving[0], moving[0]))

        result = robot("stop-motors", "--config", str(stack.config_path))
        assert result.returncode == 0, result.stderr
        assert read_state(state) == (0, 0)


def test_a_process_killed_mid_drive_leaves_the_wheels_turning_until_stop_motors(
    tmp_path, write_config
):
    state = tmp_path / "wheels.json"
    config = write_config("sim", {"state_file": str(state)})
    script = (
        "import sys, time, drivers\n"
        "motors = drivers.load('sim', {'state_file': sys.argv[1]})\n"
        "motors.drive(0.5, 0.5)\n"
        "print('driving', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(state)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "driving\n"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=PATIENCE_S) == -signal.SIGKILL
    finally:
        process.kill()
        process.stdout.close()
    assert read_state(state) == (0.5, 0.5)  # nobody stopped them

    result = robot("stop-motors", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert "motors stopped (board sim)" in result.stdout
    assert read_state(state) == (0, 0)


def test_stop_motors_stops_a_serial_controller_left_driving(
    tmp_path, write_config, capsys, monkeypatch
):
    monkeypatch.delenv("MOTOR_DRIVER", raising=False)
    controller = SimulatedController(tmp_path / "ttyACM0", watchdog_s=60)
    try:
        import serial

        with serial.Serial(str(controller.link), 115200, timeout=PATIENCE_S) as port:
            port.write(b"M 700 700\n")
            assert port.readline() == b"OK\n"
        assert controller.outputs == (0.7, 0.7)
        config = write_config("serial", {"port": str(controller.link)})
        assert cli.main(["stop-motors", "--config", str(config)]) == 0
        assert controller.outputs == (0, 0)
    finally:
        controller.close()
    assert "motors stopped (board serial)" in capsys.readouterr().out


def test_a_board_that_cannot_be_reached_fails_loudly(write_config):
    # No I2C bus here: the unit's log must say that the wheels may still be turning.
    result = robot("stop-motors", "--config", str(write_config("adafruit")))
    assert result.returncode == 1
    assert 'cannot stop the motors: motor driver "adafruit": cannot open the I2C bus' in (
        result.stderr
    )


def test_a_broken_config_fails_loudly(tmp_path):
    (tmp_path / "config.json").write_text("{")
    result = robot("stop-motors", "--config", str(tmp_path / "config.json"))
    assert result.returncode == 2
    assert "robot stop-motors: " in result.stderr
    assert "not valid JSON" in result.stderr


@pytest.fixture(scope="module")
def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(ROOT / "deploy" / "robot.service")
    return parser


def test_the_unit_runs_stop_motors_after_the_daemon_with_the_same_config(unit):
    service = unit["Service"]
    start, stop = service["ExecStart"].split(), service["ExecStopPost"].split()
    assert start[0].endswith("/robot") and start[1] == "run"
    assert stop[0] == start[0] and stop[1] == "stop-motors"
    assert start[start.index("--config") + 1] == stop[stop.index("--config") + 1]
    assert service["Restart"] == "always"


def test_the_unit_is_hardened(unit):
    service = unit["Service"]
    assert service["User"] != "root"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["ProtectHome"] == "yes"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path):
    unit_file = tmp_path / "robot.service"
    shutil.copy(ROOT / "deploy" / "robot.service", unit_file)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit_file)],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        # the unit's paths exist only on the robot
        if "/opt/telepresence-robot/venv/bin/robot is not executable" not in line
    ]
    assert complaints == []
