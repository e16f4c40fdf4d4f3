"""The producer's ICE servers for each new peer: KVS's TURN credentials fetched again, as the
C SDK does, 30 s before their Ttl runs out, and not before (robot/producer/ice.py)."""

from __future__ import annotations

import asyncio

from robot.producer.ice import REFRESH_BEFORE_S, IceServers
from robot.producer.kvs import IceServer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Service:
    """GetIceServerConfig's answers: a new credential each call, valid ``ttl_s``."""

    def __init__(self, ttl_s: int | None = 300) -> None:
        self.ttl_s = ttl_s
        self.calls = 0

    async def fetch(self) -> list[IceServer]:
        self.calls += 1
        await asyncio.sleep(0)  # a real call yields: peers arriving meanwhile must wait for it
        stun = IceServer(["stun:stun.example:443"])
        turn = IceServer(["turn:turn.example:443"], f"user-{self.calls}", "secret", self.ttl_s)
        return [stun, turn] if self.ttl_s is not None else [stun]


async def test_credentials_are_reused_until_30_s_before_their_ttl() -> None:
    clock, service = Clock(), Service(ttl_s=300)
    ice = IceServers(service.fetch, clock)
    assert (await ice.current())[1].username == "user-1"
    clock.now += 300 - REFRESH_BEFORE_S - 0.5
    assert (await ice.current())[1].username == "user-1", "still good for 30 s more"
    clock.now += 0.5
    assert (await ice.current())[1].username == "user-2", "fetched again at TTL - 30 s"
    assert service.calls == 2


async def test_a_short_ttl_is_followed_too() -> None:
    clock, service = Clock(), Service(ttl_s=40)
    ice = IceServers(service.fetch, clock)
    await ice.current()
    clock.now += 10
    assert (await ice.current())[1].username == "user-2"


async def test_peers_arriving_together_share_one_fetch() -> None:
    service = Service()
    ice = IceServers(service.fetch, Clock())
    answers = await asyncio.gather(*(ice.current() for _ in range(5)))
    assert service.calls == 1 and all(answer == answers[0] for answer in answers)


async def test_servers_without_a_ttl_are_kept_and_refresh_fetches_at_once() -> None:
    clock, service = Clock(), Service(ttl_s=None)
    ice = IceServers(service.fetch, clock)
    await ice.current()
    clock.now += 10 * 3600
    await ice.current()
    assert service.calls == 1
    await ice.refresh()  # RECONNECT_ICE_SERVER
    assert service.calls == 2
