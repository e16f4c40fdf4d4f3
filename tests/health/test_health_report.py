"""The health report in the daemon: sent on the telemetry links as {"type": "health"} from a
task of its own, its reads in a worker thread (a read that blocks never holds a command up),
with the battery's level, the command ages of /publish commands, and the battery's cap on a
critical battery reported in state telemetry as ``limited_by: "battery"``."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from typing import Any

import pytest

import drivers
from robot.contracts.admission import CommandPath
from robot.daemon.battery import BatterySettings, OpenedOnRead, open_gauge
from robot.daemon.battery_cap import CRAWL
from robot.daemon.daemon import Daemon
from robot.daemon.estop import EStop
from robot.daemon.freshness import FreshnessGate
from robot.daemon.health import load_source
from robot.daemon.links import Delivery
from tests.unit.conftest import PATIENCE_S, RecordingLink, SyncedClock, sim_config  # noqa: F401

FORWARD = json.dumps({"action": "forward", "speed": 1.0, "ttl_ms": 5000}).encode()


class BlockedSource:
    """A health source whose read waits until the test lets it go (a hung `iw`, say)."""

    name = "blocked"

    def __init__(self) -> None:
        self.reading = threading.Event()
        self.release = threading.Event()

    def read(self) -> dict[str, Any]:
        self.reading.set()
        self.release.wait(PATIENCE_S)
        return {"load": [0.0, 0.0, 0.0]}


async def until(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {PATIENCE_S} s"
        await asyncio.sleep(0.01)


def make(config, tmp_path, health=None, battery: dict | None = None):
    motors = drivers.load("sim")
    gauge = None
    if battery is not None:
        gauge = open_gauge(BatterySettings("sim", options=battery), motors)
    link = RecordingLink()
    daemon = Daemon(
        dataclasses.replace(config, health_interval_ms=1000),
        motors,
        link,  # type: ignore[arg-type]
        estop=EStop(tmp_path),
        gate=FreshnessGate(SyncedClock()),
        health=health,
        gauge=gauge,
    )
    return daemon, motors, link


def test_health_goes_out_on_the_telemetry_link_with_the_battery(sim_config, tmp_path):  # noqa: F811
    daemon, motors, link = make(sim_config, tmp_path, load_source("sim"), {"start_percent": 50})

    async def body() -> None:
        serving = asyncio.create_task(daemon.serve())
        await until(lambda: link.messages("health"), "health report")
        serving.cancel()

    with motors:
        asyncio.run(body())
    [health] = link.messages("health")[:1]
    assert health["wifi"]["signal_dbm"] < 0 and health["cpu_temp_c"] > 0
    assert health["battery"]["percent"] == pytest.approx(50, abs=0.1)
    assert health["battery"]["level"] == "ok"
    assert health["control_link"] == {"round_trip_ms": None}


def test_a_blocked_health_read_never_holds_a_command_up(sim_config, tmp_path):  # noqa: F811
    source = BlockedSource()
    daemon, motors, link = make(sim_config, tmp_path, source)

    async def body() -> None:
        serving = asyncio.create_task(daemon.serve())
        await until(source.reading.is_set, "health read")
        link.incoming.put_nowait(Delivery(FORWARD, CommandPath.MQTT))
        await until(lambda: motors.robot.wheels != (0.0, 0.0), "wheels turning")
        assert not link.messages("health")  # the read is still blocked
        source.release.set()
        await until(lambda: link.messages("health"), "health report")
        serving.cancel()

    with motors:
        asyncio.run(body())


def test_a_critical_battery_holds_forward_motion_to_a_crawl_and_says_why(sim_config, tmp_path):  # noqa: F811
    daemon, motors, link = make(sim_config, tmp_path, None, {"start_percent": 5})

    async def body() -> None:
        serving = asyncio.create_task(daemon.serve())
        await until(lambda: link.messages("health"), "health report")
        daemon.handle(FORWARD)
        await until(lambda: motors.robot.wheels == (CRAWL, CRAWL), "the crawl")
        await asyncio.sleep(0)  # the state report goes out after the handling
        backwards = json.dumps({"action": "backwards", "speed": 0.5, "ttl_ms": 5000})
        daemon.handle(backwards.encode())
        await until(lambda: motors.robot.wheels[0] < 0, "backing away")
        await asyncio.sleep(0)
        serving.cancel()

    with motors:
        asyncio.run(body())
    [health] = link.messages("health")[:1]
    assert health["battery"]["level"] == "critical"
    states = link.messages("state")
    crawling = [s for s in states if s["wheels"] == {"left": CRAWL, "right": CRAWL}]
    assert crawling and all(s["limited_by"] == "battery" for s in crawling)
    assert states[-1]["wheels"]["left"] < 0 and states[-1]["limited_by"] is None


def test_the_round_trip_of_publish_commands_is_reported(sim_config, tmp_path):  # noqa: F811
    daemon, motors, link = make(sim_config, tmp_path, BlockedSource())
    daemon.health.source.release.set()

    async def body() -> None:
        for age_ms in (40, 60, 80):
            sent = int(time.time() * 1000) - age_ms
            stamped = {"action": "forward", "operator": "op", "received_ts": sent}
            daemon.handle(json.dumps(stamped).encode())
        await daemon.health.once()

    with motors:
        asyncio.run(body())
    [health] = link.messages("health")
    # Twice the worst one-way delay of the window (robot/daemon/command_delay.py).
    assert health["control_link"]["round_trip_ms"] == pytest.approx(160, abs=40)


def test_a_gauge_that_does_not_answer_is_reported_and_driving_goes_on(sim_config, tmp_path):  # noqa: F811
    motors = drivers.load("sim")
    absent = OpenedOnRead(BatterySettings("ina219"), motors)  # no INA219 on this computer
    link = RecordingLink()
    daemon = Daemon(sim_config, motors, link, estop=EStop(tmp_path), gauge=absent)  # type: ignore[arg-type]

    async def body() -> None:
        await daemon.health.once()
        daemon.handle(FORWARD)
        await asyncio.sleep(0)  # the state report goes out after the handling

    with motors:
        asyncio.run(body())
        assert motors.robot.wheels[0] > 0
    [health] = link.messages("health")
    assert set(health["battery"]) == {"error"}
    assert link.messages("state")[-1]["limited_by"] is None
