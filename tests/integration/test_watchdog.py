"""A daemon whose event loop is blocked stops pinging the watchdog; systemd kills it and
``robot stop-motors`` stops the wheels. Real daemon, real broker; a local datagram socket
stands in for systemd (``SystemdStandIn``), doing what systemd does with
``Type=notify``, ``WatchdogSec=`` and ``ExecStopPost=``."""

from __future__ import annotations

import configparser
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sim.aws.certs import SimCerts
from sim.aws.iot_core import Broker
from sim.robot.board import read_state
from sim.stack import robot_config
from tests.support.mqtt import connected

ROOT = Path(__file__).resolve().parents[2]
PATIENCE_S = 30.0  # a safety net for a subprocess, never a timing check
WATCHDOG_S = 1.0

# The daemon as `robot run` runs it, plus a wedge: once the wheels turn, a blocking call on
# its event loop (the kind of bug the watchdog is there for).
DAEMON_WITH_A_WEDGE = """
import asyncio, sys, time
from robot.daemon import config
from robot.daemon import daemon
from sim.robot.board import read_state

async def main(path, state_file):
    async def wedge_once_moving():
        while True:
            await asyncio.sleep(0.02)
            try:
                if read_state(state_file) != (0.0, 0.0):
                    break
            except (OSError, ValueError, KeyError):
                pass
        time.sleep(120)

    wedge = asyncio.create_task(wedge_once_moving())
    await daemon.run(config.load(path, environ={}))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


class SystemdStandIn:
    """The notify socket systemd would give the service, and its watchdog: a stand-in."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.lines: list[str] = []

    def receive(self, timeout: float) -> list[str]:
        """The lines of the next datagram, or [] when none came within ``timeout``."""
        self.socket.settimeout(timeout)
        try:
            lines = self.socket.recv(4096).decode().splitlines()
        except TimeoutError:
            return []
        self.lines.extend(lines)
        return lines

    def wait_for(self, line: str) -> None:
        deadline = time.monotonic() + PATIENCE_S
        while line not in self.receive(1.0):
            assert time.monotonic() < deadline, f"no {line} (got {self.lines})"

    def watch(self, process: subprocess.Popen[bytes]) -> float:
        """systemd's watchdog: wait until no WATCHDOG=1 came for WatchdogSec, then kill the
        service with SIGABRT, as systemd does; returns the silence that fired it."""
        last_ping = time.monotonic()
        while True:
            lines = self.receive(WATCHDOG_S / 4)
            if "WATCHDOG=1" in lines:
                last_ping = time.monotonic()
            silence = time.monotonic() - last_ping
            if silence > WATCHDOG_S:
                process.send_signal(signal.SIGABRT)
                process.wait(timeout=PATIENCE_S)
                return silence
            assert process.poll() is None, "the daemon ended by itself"

    def close(self) -> None:
        self.socket.close()


def test_a_blocked_event_loop_fires_the_watchdog_and_stop_motors_stops_the_wheels(
    broker: Broker, sim_certs: SimCerts, thing_name: str, tmp_path: Path
) -> None:
    state_file = tmp_path / "wheels.json"
    settings = robot_config(thing_name, broker.port, sim_certs)
    settings["MOTOR_OPTIONS"] = {"sim": {"state_file": str(state_file)}}
    settings["STATE_DIR"] = str(tmp_path / "state")
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(settings))
    systemd = SystemdStandIn(tmp_path / "notify")
    clean = {key: value for key, value in os.environ.items() if key != "MOTOR_DRIVER"}
    environ = {
        **clean,
        "NOTIFY_SOCKET": str(systemd.path),
        "WATCHDOG_USEC": str(int(WATCHDOG_S * 1_000_000)),
    }
    daemon = subprocess.Popen(
        [sys.executable, "-c", DAEMON_WITH_A_WEDGE, str(config_path), str(state_file)],
        cwd=ROOT,
        env=environ,
    )
    try:
        systemd.wait_for("READY=1")  # board stopped, link up
        assert read_state(state_file) == (0.0, 0.0)
        assert any(line.startswith("STATUS=link online") for line in systemd.lines)
        with connected(broker, sim_certs.publisher) as publisher:
            publisher.publish(f"{thing_name}/action", '{"action":"forward","ttl_ms":5000}', 1)
        silence = systemd.watch(daemon)
        assert silence > WATCHDOG_S
        assert "WATCHDOG=1" in systemd.lines  # it did ping while the loop ran
        # Killed mid-command: the board keeps its last output, the TTL died with the loop.
        assert read_state(state_file) != (0.0, 0.0)
        stop = subprocess.run(
            [sys.executable, "-m", "robot.cli", "stop-motors", "--config", str(config_path)],
            cwd=ROOT,
            env=clean,
            capture_output=True,
            text=True,
            timeout=PATIENCE_S,
        )
        assert stop.returncode == 0, stop.stderr
        assert read_state(state_file) == (0.0, 0.0)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        systemd.close()


def test_the_unit_waits_for_ready_and_watches_the_loop() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(ROOT / "deploy" / "robot.service")
    service = parser["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert 1 <= int(service["WatchdogSec"]) <= 10
    assert service["ExecStopPost"].split()[1] == "stop-motors"
