"""A daemon started before its broker keeps retrying, with the wheels stopped, and connects."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from sim.aws.certs import SimCerts
from sim.aws.iot_core import Broker
from sim.stack import robot_config
from tests.support.mqtt import collect, connected, next_message


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_log(path: Path, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} never logged:\n{path.read_text()}"
        time.sleep(0.05)


def test_the_daemon_retries_until_the_broker_comes_up(
    tmp_path: Path, sim_certs: SimCerts, thing_name: str
) -> None:
    port = free_port()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(robot_config(thing_name, port, sim_certs)))
    log = tmp_path / "daemon.log"
    with log.open("wb") as output:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "robot.cli", "run", "--config", str(config)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MOTOR_DRIVER": "sim", "PYTHONUNBUFFERED": "1"},
        )
    try:
        wait_for_log(log, "cannot connect")  # no broker yet: it says so and waits
        assert daemon.poll() is None
        with (
            Broker(tmp_path / "broker", sim_certs, thing_name, port=port) as broker,
            connected(broker, sim_certs.publisher) as publisher,
        ):
            telemetry = collect(publisher, f"{thing_name}/telemetry", qos=0)
            report = json.loads(next_message(telemetry, timeout=15).payload)
            assert report["link"] == "online"
            assert report["wheels"] == {"left": 0.0, "right": 0.0}
            daemon.terminate()
            assert daemon.wait(timeout=15) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
