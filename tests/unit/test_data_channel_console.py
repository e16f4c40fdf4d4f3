"""The operators' console object (robot/producer/consoles.py) on its own: a real aiortc data
channel over loopback, real tokens verified by the authorizer's code, and a clock the test
sets; what reaches the daemon is what ``to_daemon`` collects."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from robot.contracts import tokens, verify
from robot.contracts.admission import UnscopedTokens
from robot.producer import consoles
from robot.producer.consoles import Operators
from tests.support.datachannel import LoopbackConsole
from tests.unit.conftest import ManualClock

ROBOT = "unit-robot"
KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER, AUDIENCE = "https://issuer.test", "robots"


class Host:
    """The master's part, recorded: who was welcomed and who left."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.welcomed_: list[tuple[str, str, bool]] = []
        self.farewells: list[tuple[str, str, bool]] = []

    def welcomed(self, peer: str, subject: str, drives: bool) -> str | None:
        self.welcomed_.append((peer, subject, drives))
        return self.refuse

    def farewell(self, peer: str, subject: str, last: bool) -> None:
        self.farewells.append((peer, subject, last))


def token(*scopes: str, robots: list[str] | None = None, ttl: int = 600, now: float | None = None):
    return tokens.mint(
        KEY, "alice", scopes, ttl, issuer=ISSUER, audience=AUDIENCE, robots=robots, now=now
    )


def operators(
    clock: Any = time.time,
    unscoped: UnscopedTokens = UnscopedTokens.ACCEPTED,
    watchers: list[list[str]] | None = None,
) -> tuple[Operators, list[dict]]:
    """Consoles of ROBOT, and the commands they pass to the daemon (who watches goes to
    ``watchers``, when given)."""
    sent: list[dict] = []

    def to_daemon(message: dict) -> bool:
        if message["type"] == "watchers":
            (watchers if watchers is not None else []).append(message["subjects"])
        else:
            sent.append(message)
        return True

    verifier = verify.Verifier(verify.static_key(KEY.public_key()), ISSUER, AUDIENCE)
    return Operators(ROBOT, verifier, to_daemon, clock, unscoped), sent


def test_the_daemon_hears_who_watches_as_consoles_are_welcomed_and_go():
    heard: list[list[str]] = []
    ops, _ = operators(watchers=heard)

    async def body() -> None:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p1")) as first:
            first.send({"type": "hello", "token": token("robot:view")})
            await first.next()
            async with LoopbackConsole(lambda channel: ops.attach(channel, "p2")) as second:
                second.send({"type": "hello", "token": "not a token"})
                assert (await second.next())["type"] == "denied"  # never watched: no news
        async with asyncio.timeout(5):
            while len(heard) < 2:
                await asyncio.sleep(0.01)

    run(body)
    assert heard == [["alice"], []]


def run(body: Any) -> Any:
    return asyncio.run(body())


def test_a_drive_token_is_welcomed_and_its_commands_go_to_the_daemon_with_its_grants():
    ops, sent = operators()
    ops.host = host = Host()

    async def body() -> None:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p1")) as console:
            console.send({"type": "hello", "token": token("robot:drive", robots=[ROBOT])})
            assert await console.next() == {
                "type": "welcome",
                "robot": ROBOT,
                "drive": True,
                "admin": False,
            }
            console.send({"action": "forward", "id": "f1"})
            async with asyncio.timeout(5):
                while not sent:
                    await asyncio.sleep(0.01)

    run(body)
    assert host.welcomed_ == [("p1", "alice", True)]
    assert '"f1"' in sent[0]["payload"] and sent[0]["grants"]["sub"] == "alice"


def test_a_view_only_consoles_command_is_answered_to_it_alone_and_never_forwarded():
    ops, sent = operators()

    async def body() -> dict:
        async with (
            LoopbackConsole(lambda channel: ops.attach(channel, "viewer")) as viewer,
            LoopbackConsole(lambda channel: ops.attach(channel, "driver")) as driver,
        ):
            viewer.send({"type": "hello", "token": token("robot:view")})
            driver.send({"type": "hello", "token": token("robot:drive")})
            assert (await viewer.next())["drive"] is False
            assert (await driver.next())["drive"] is True
            viewer.send({"action": "forward", "id": "<b>attacker's id</b>"})
            rejected = await viewer.next()
            ops.telemetry('{"type":"state"}')  # the driver's next message is this, not that
            assert await driver.next() == {"type": "state"}
            return rejected

    rejected = run(body)
    assert rejected["type"] == "rejected" and "robot:drive" in rejected["reason"]
    assert rejected["kind"] == "access" and rejected["path"] == "datachannel"
    assert sent == []


@pytest.mark.parametrize(
    ("unscoped", "robots", "verdict"),
    [
        (UnscopedTokens.ACCEPTED, None, "welcome"),
        (UnscopedTokens.REFUSED, None, "denied"),
        (UnscopedTokens.REFUSED, [ROBOT], "welcome"),
        (UnscopedTokens.ACCEPTED, ["another-robot"], "denied"),
    ],
)
def test_the_unscoped_token_rule_at_the_hello(unscoped, robots, verdict):
    ops, _ = operators(unscoped=unscoped)

    async def body() -> dict:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p")) as console:
            console.send({"type": "hello", "token": token("robot:drive", robots=robots)})
            return await console.next()

    assert run(body)["type"] == verdict


def test_at_exp_the_channel_closes_and_the_host_hears_it_was_the_last_console():
    clock = ManualClock(time.time())
    ops, sent = operators(clock)
    ops.host = host = Host()
    short = token("robot:drive", ttl=60, now=clock.now)
    clock.now = int(clock.now) + 60 - 0.3  # 0.3 s (of the loop's own time) before exp

    async def body() -> tuple[dict, float]:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p")) as console:
            console.send({"type": "hello", "token": short})
            assert (await console.next())["type"] == "welcome"
            started = time.monotonic()
            denied = await console.next()
            await asyncio.wait_for(console.closed.wait(), 2)
            return denied, time.monotonic() - started

    denied, after = run(body)
    assert denied == {"type": "denied", "reason": "the token has expired; sign in again"}
    assert 0.25 < after < 1.0
    assert host.farewells == [("p", "alice", True)]
    assert sent == []


def test_a_command_at_exp_is_refused_even_before_the_timer_fires():
    clock = ManualClock(time.time())
    ops, sent = operators(clock)
    short = token("robot:drive", ttl=60, now=clock.now)

    async def body() -> dict:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p")) as console:
            console.send({"type": "hello", "token": short})
            assert (await console.next())["type"] == "welcome"
            clock.now = int(clock.now) + 60  # exactly exp: no leeway for a session
            console.send({"action": "forward"})
            return await console.next()

    assert "expired" in run(body)["reason"]
    assert sent == []


def test_past_the_burst_the_channel_closes_and_an_overflowing_estop_still_passes():
    # A clock that stands still: the bucket never refills.
    ops, sent = operators(ManualClock(time.time()))

    async def body() -> dict:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p")) as console:
            console.send({"type": "hello", "token": token("robot:drive")})
            await console.next()
            for number in range(consoles.COMMAND_BURST):
                console.send({"action": "stop", "id": f"s{number}"})
            console.send({"action": "estop", "id": "over"})
            for number in range(100):
                console.send({"action": "forward", "id": f"late{number}"})
            denied = await console.next()
            await asyncio.wait_for(console.closed.wait(), 2)
            return denied

    denied = run(body)
    assert denied["type"] == "denied" and "commands a second" in denied["reason"]
    assert len(sent) == consoles.COMMAND_BURST + 1
    assert '"over"' in sent[-1]["payload"]


def test_a_second_control_channel_and_other_labels_are_closed():
    ops, _ = operators()

    async def body() -> None:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p")) as console:
            closed = []
            for label in (consoles.LABEL, "other"):
                extra = console.pc.createDataChannel(label)
                done = asyncio.Event()
                extra.on("close", done.set)
                closed.append(done)
            await asyncio.wait_for(asyncio.gather(*(done.wait() for done in closed)), 10)
            console.send({"type": "hello", "token": token("robot:view")})
            assert (await console.next())["type"] == "welcome"

    run(body)


def test_a_console_the_host_has_no_room_for_is_denied_with_its_reason():
    ops, _ = operators()
    ops.host = Host(refuse="every view-only slot is taken")

    async def body() -> dict:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p")) as console:
            console.send({"type": "hello", "token": token("robot:view")})
            return await console.next()

    assert run(body) == {"type": "denied", "reason": "every view-only slot is taken"}
    assert not any(console.grants for console in ops.consoles)


def test_denials_before_the_welcome():
    ops, _ = operators()
    expired = token("robot:drive", ttl=60, now=time.time() - 3600)
    cases = [
        ({"action": "forward"}, "hello"),
        ({"type": "hello"}, "no token"),
        ({"type": "hello", "token": "a.b.c"}, "invalid token"),
        ({"type": "hello", "token": expired}, "invalid token"),
        ({"type": "hello", "token": token("robot:drive", robots=["b"])}, 'robot "unit-robot"'),
    ]

    async def body() -> list[str]:
        reasons = []
        for first, _ in cases:
            async with LoopbackConsole(lambda channel: ops.attach(channel, "p")) as console:
                console.send(first)
                reasons.append((await console.next())["reason"])
        return reasons

    for reason, (_, expected) in zip(run(body), cases, strict=True):
        assert expected in reason


def test_a_channel_without_a_valid_hello_in_time_is_closed(monkeypatch):
    monkeypatch.setattr(consoles, "HELLO_S", 0.5)  # HELLO_S (10 s), shortened
    ops, sent = operators()

    async def body() -> dict:
        async with LoopbackConsole(lambda channel: ops.attach(channel, "p1")) as console:
            denied = await console.next(timeout=5)  # having said nothing
            await asyncio.wait_for(console.closed.wait(), 5)
            return denied

    denied = run(body)
    assert denied == {"type": "denied", "reason": "no valid hello within 0.5 s"}
    assert not ops.consoles and not sent
