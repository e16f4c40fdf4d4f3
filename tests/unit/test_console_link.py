"""The console link: a producer run's control socket in, deliveries and link changes out,
telemetry back as encoded; a console that stops driving when its link goes."""

from __future__ import annotations

import asyncio
import json
import socket

from robot.contracts import access
from robot.contracts.admission import CommandPath
from robot.contracts.control import ControlSocket, command_message, watchers_message
from robot.daemon.config import Config
from robot.daemon.console_link import ConsoleLink
from robot.daemon.links import Delivery, LinkStatus, Watchers
from tests.unit.conftest import make_daemon, wait_until

GRANTS = access.Grants("alice", frozenset({access.SCOPE_DRIVE}), None)


def test_a_runs_commands_come_out_as_deliveries_and_telemetry_goes_back_as_it_is() -> None:
    async def scenario() -> tuple[list, bytes]:
        ours, theirs = socket.socketpair()
        async with ConsoleLink() as link:
            events = link.events()
            link.attach(ours)
            assert await anext(events) == LinkStatus(online=True)
            producer = await ControlSocket.open(theirs)
            producer.send(command_message('{"action": "stop"}', GRANTS))
            producer.send({"type": "something else"})  # skipped
            producer.send(command_message('{"action": "left"}', GRANTS))
            producer.send(watchers_message(["bob", "alice", "bob"]))
            producer.send({"type": "watchers", "subjects": [1]})  # malformed: skipped
            got = [await anext(events), await anext(events), await anext(events)]
            assert link.send(b'{"type":"state"}')
            line = await anext(producer.lines())
            await producer.close()  # the run ends
            got.append(await anext(events))
            assert not link.online and not link.send(b"{}")
        return got, line

    got, line = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert got == [
        Delivery('{"action": "stop"}', CommandPath.DATACHANNEL, GRANTS),
        Delivery('{"action": "left"}', CommandPath.DATACHANNEL, GRANTS),
        Watchers(frozenset({"alice", "bob"})),
        LinkStatus(online=False),
    ]
    assert line == b'{"type":"state"}'


def test_the_wheels_stop_when_the_console_link_that_drove_them_goes(sim_config: Config) -> None:
    daemon, motors, _ = make_daemon(sim_config)
    consoles = ConsoleLink()
    daemon.links.append(consoles)

    async def scenario() -> None:
        ours, theirs = socket.socketpair()
        serving = asyncio.create_task(daemon.serve())
        consoles.attach(ours)
        producer = await ControlSocket.open(theirs)
        forward = json.dumps({"action": "forward", "ttl_ms": 5000})
        producer.send(command_message(forward, GRANTS))
        await wait_until(lambda: motors.robot.wheels != (0.0, 0.0))
        assert daemon.controller.state.path is CommandPath.DATACHANNEL
        await producer.close()  # the producer is gone, and its data channels with it
        await wait_until(lambda: motors.robot.wheels == (0.0, 0.0))
        assert daemon.controller.state.reason == "link-lost"
        serving.cancel()

    with motors:
        asyncio.run(asyncio.wait_for(scenario(), 10))
