"""An exception inside the daemon ends it with the wheels stopped (in-process, real broker)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import drivers
from robot.daemon import config, daemon
from sim.aws.certs import SimCerts
from sim.aws.iot_core import Broker
from sim.stack import robot_config
from tests.support.mqtt import connected


def test_an_exception_while_driving_stops_the_wheels(
    broker: Broker,
    sim_certs: SimCerts,
    thing_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(robot_config(thing_name, broker.port, sim_certs)))
    settings = config.load(path, environ={})
    boards: list[drivers.MotorDriver] = []
    load = drivers.load

    def load_and_keep(name: str, options: dict) -> drivers.MotorDriver:
        boards.append(load(name, options))  # the real sim board, kept to look at its wheels
        return boards[-1]

    monkeypatch.setattr(drivers, "load", load_and_keep)
    handle = daemon.Daemon.handle

    def handle_or_fail(self: daemon.Daemon, payload: bytes, *how: object) -> None:
        if payload == b"fail":  # a stand-in for any bug reached while the wheels turn
            raise RuntimeError("injected failure")
        handle(self, payload, *how)

    monkeypatch.setattr(daemon.Daemon, "handle", handle_or_fail)

    async def scenario() -> None:
        running = asyncio.create_task(daemon.run(settings))
        with connected(broker, sim_certs.publisher) as publisher:
            # The SDK's publish blocks until acknowledged: keep it off the daemon's loop.
            def send(payload: str) -> None:
                publisher.publish(settings.action_topic, payload, 1)

            while not boards or boards[0].robot.wheels == (0.0, 0.0):
                await asyncio.to_thread(send, '{"action": "forward", "ttl_ms": 5000}')
                await asyncio.sleep(0.05)
            await asyncio.to_thread(send, "fail")
            with pytest.raises(RuntimeError, match="injected failure"):
                await asyncio.wait_for(running, timeout=10)

    asyncio.run(scenario())
    assert boards[0].robot.wheels == (0.0, 0.0)
