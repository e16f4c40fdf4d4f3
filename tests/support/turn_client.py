"""A TURN allocation made with aioice's client (the one aiortc uses), for checking a server."""

from __future__ import annotations

import asyncio

from aioice.turn import create_turn_endpoint

from sim.aws.turn import TurnServer


class _Ignoring(asyncio.DatagramProtocol):
    pass


async def allocate(turn: TurnServer, username: str, password: str) -> tuple[str, int]:
    """A relay allocated on ``turn`` with the credential (then released); its relayed
    address. aioice's ``TransactionFailed`` (401 for a refused credential) if none."""
    transport, _ = await create_turn_endpoint(
        _Ignoring, (turn.host, turn.port), username, password, lifetime=60
    )
    try:
        return transport.get_extra_info("sockname")
    finally:
        transport.close()
