"""The MQTT command link against the real broker: commands from {thing}/action come out of
events() as deliveries on the mqtt path, and send() lands on {thing}/telemetry."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from robot.contracts.admission import CommandPath
from robot.daemon import config
from robot.daemon.links import Delivery
from robot.daemon.mqtt_link import IoTLink
from sim.aws.certs import SimCerts
from sim.aws.iot_core import Broker
from sim.stack import robot_config
from tests.support.mqtt import collect, connected, next_message


def test_the_mqtt_link_delivers_actions_and_sends_telemetry_on_the_things_topics(
    broker: Broker, sim_certs: SimCerts, thing_name: str, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(robot_config(thing_name, broker.port, sim_certs)))
    settings = config.load(path, environ={})

    async def scenario() -> Delivery:
        async with IoTLink(settings) as link:
            with connected(broker, sim_certs.publisher) as publisher:
                telemetry = collect(publisher, settings.telemetry_topic)
                assert link.send(b'{"type": "state"}')
                received = await asyncio.to_thread(next_message, telemetry)
                assert (received.topic, received.payload) == (
                    f"{thing_name}/telemetry",
                    b'{"type": "state"}',
                )
                await asyncio.to_thread(publisher.publish, f"{thing_name}/action", b"go", 1)
                async for event in link.events():
                    if isinstance(event, Delivery):
                        return event
        raise AssertionError("the link ended")

    delivery = asyncio.run(asyncio.wait_for(scenario(), timeout=20))
    assert delivery == Delivery(b"go", CommandPath.MQTT)
