"""Driving over the console's data channel, through the whole simulated stack: an aiortc
console in the test joins the robot's video channel with a session from ``POST /viewer``,
opens the ``control`` data channel, signs in with a token the real daemon's producer verifies,
and drives the real daemon on the sim board; telemetry comes back on the same channel."""

from __future__ import annotations

import asyncio

import pytest

from sim.aws import dev_identity
from tests.support.datachannel import ConsolePeer


@pytest.fixture(autouse=True)
def video_ready(stack) -> None:
    """The producer holds the data channels: wait until it is connected to signaling."""
    stack.wait_for_telemetry(
        lambda message: (message.get("video") or {}).get("state") in ("ready", "streaming"), 30
    )
    stack.drain_telemetry()


def token(stack, *scopes: str, robot: str | None = None) -> str:
    return dev_identity.dev_token(stack.state_dir, robot or stack.thing_name, scopes=scopes)


def moving(message: dict) -> bool:
    return message.get("type") == "state" and message["wheels"]["left"] > 0


def test_a_drive_token_is_welcomed_drives_and_sees_telemetry(stack):
    async def body() -> None:
        async with ConsolePeer(stack.url, token(stack, "robot:drive")) as console:
            welcome = await console.hello()
            assert welcome == {
                "type": "welcome",
                "robot": stack.thing_name,
                "drive": True,
                "admin": False,
            }
            state = await console.next(lambda message: message.get("type") == "state")
            assert state["link"] == "online"  # telemetry arrives before any command
            console.send(
                {"action": "drive", "linear": 0.5, "angular": 0, "ttl_ms": 300, "id": "k1"}
            )
            driving = await console.next(moving)
            assert driving["command"]["id"] == "k1"
            assert driving["command"]["path"] == "datachannel"
            stopped = await console.next(lambda message: message.get("reason") == "expired")
            assert stopped["wheels"] == {"left": 0.0, "right": 0.0}  # the same deadman

    asyncio.run(body())
    # And the same telemetry went out on MQTT, as for any other command.
    assert any(
        (message.get("command") or {}).get("path") == "datachannel"
        for message in stack.drain_telemetry()
    )


def test_a_view_only_token_watches_but_cannot_drive(stack):
    async def body() -> None:
        async with ConsolePeer(stack.url, token(stack, "robot:view")) as console:
            welcome = await console.hello()
            assert welcome["type"] == "welcome" and welcome["drive"] is False
            console.send({"action": "forward", "id": "nope"})
            rejected = await console.next(lambda message: message.get("type") == "rejected")
            assert rejected["id"] == "nope" and rejected["path"] == "datachannel"
            assert "robot:drive" in rejected["reason"]
            console.send({"action": "forward", "operator": "someone else"})
            rejected = await console.next(lambda message: message.get("type") == "rejected")
            assert "operator" in rejected["reason"]

    asyncio.run(body())
    assert not any(moving(message) for message in stack.drain_telemetry())


def test_a_drive_token_latches_the_estop_and_only_an_admin_clears_it(stack):
    async def body() -> None:
        async with (
            ConsolePeer(stack.url, token(stack, "robot:drive")) as driver,
            ConsolePeer(stack.url, token(stack, "robot:admin")) as admin,
        ):
            assert (await driver.hello())["admin"] is False
            assert (await admin.hello())["admin"] is True
            driver.send({"action": "estop"})
            # The wheels stop (and that is reported) before the latch is written.
            latched = await driver.next(lambda message: (message.get("estop") or {}).get("latched"))
            assert latched["estop"]["via"] == "datachannel" and latched["reason"] == "estop"
            assert latched["estop"]["by"] == dev_identity.DEV_SUBJECT
            driver.send({"action": "clear_estop"})
            refused = await driver.next(lambda message: message.get("type") == "rejected")
            assert "robot:admin" in refused["reason"]
            driver.send({"action": "drive", "linear": 0.5, "angular": 0})
            refused = await driver.next(lambda message: message.get("type") == "rejected")
            assert refused["reason"] == "estop latched"
            admin.send({"action": "clear_estop"})
            cleared = await admin.next(lambda message: message.get("reason") == "estop-cleared")
            assert cleared["estop"] == {"latched": False}

    asyncio.run(body())


def test_consoles_that_do_not_prove_a_token_for_this_robot_are_denied(stack):
    async def denied(first: dict | str, robot_token: str | None = None) -> dict:
        async with ConsolePeer(stack.url, robot_token or token(stack, "robot:drive")) as console:
            console.send(first)
            answer = await console.next(lambda message: True)
            await asyncio.wait_for(console.closed.wait(), 5)  # the robot closes the channel
            return answer

    async def body() -> None:
        before_hello = await denied({"action": "forward"})
        assert before_hello["type"] == "denied" and "hello" in before_hello["reason"]
        forged = await denied({"type": "hello", "token": "a.b.c"})
        assert forged == {"type": "denied", "reason": "invalid token"}
        elsewhere = token(stack, "robot:drive", robot="another-robot")
        other = await denied({"type": "hello", "token": elsewhere})
        assert other["type"] == "denied" and "another-robot" not in other["reason"]
        assert stack.thing_name in other["reason"]

    asyncio.run(body())
    assert not any(moving(message) for message in stack.drain_telemetry())
