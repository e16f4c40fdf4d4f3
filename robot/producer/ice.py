"""The ICE servers a new peer gets: KVS's TURN credentials live ``Ttl`` seconds (300), while
one signaling connection lives up to an hour, so they are fetched again, as the KVS C SDK
does, once they come within ``REFRESH_BEFORE_S`` of expiring, when the next peer needs them.

A peer keeps the servers it was made with: its relay, once allocated, lives on by itself.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

from robot.producer.kvs import IceServer

REFRESH_BEFORE_S = 30  # the C SDK's margin


class IceServers:
    """The servers ``fetch`` gives, kept until their shortest ``ttl_s`` is within
    ``REFRESH_BEFORE_S`` of its end (servers without one, such as STUN, never expire)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[list[IceServer]]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._servers: list[IceServer] | None = None
        self._refresh_at = -math.inf
        self._lock = asyncio.Lock()  # peers that arrive together share one fetch

    async def current(self) -> list[IceServer]:
        """Servers whose credentials are good for at least ``REFRESH_BEFORE_S`` more."""
        async with self._lock:
            if self._servers is None or self._clock() >= self._refresh_at:
                await self._refresh()
            assert self._servers is not None
            return self._servers

    async def refresh(self) -> None:
        """Fetch now (``RECONNECT_ICE_SERVER``: the service says the old ones will go)."""
        async with self._lock:
            await self._refresh()

    async def _refresh(self) -> None:
        fetched_at = self._clock()
        servers = await self._fetch()
        ttls = [server.ttl_s for server in servers if server.ttl_s is not None]
        self._servers = servers
        self._refresh_at = fetched_at + min(ttls) - REFRESH_BEFORE_S if ttls else math.inf
