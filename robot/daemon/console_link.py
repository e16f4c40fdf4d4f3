"""The consoles' command link: what consoles send on their data channels, which the video
producer passes on over its control socket (robot/contracts/control.py), who watches through
them, and the telemetry that goes back to them the same way. One of the daemon's two command
links (links.py).

The producer is restarted now and then; the media supervisor hands this link the daemon's
end of each run's control socket (``attach``) and takes it back when the run ends
(``detach``). The link is online while it holds one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

from robot.contracts.admission import CommandPath
from robot.contracts.control import ControlSocket, read_command, read_watchers
from robot.daemon.links import Delivery, LinkEvent, LinkStatus, Watchers

log = logging.getLogger(__name__)


class ConsoleLink:
    path = CommandPath.DATACHANNEL

    def __init__(self) -> None:
        self._events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._control: ControlSocket | None = None
        self._serving: asyncio.Task[None] | None = None

    @property
    def online(self) -> bool:
        return self._control is not None

    async def __aenter__(self) -> ConsoleLink:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.detach()

    async def events(self) -> AsyncIterator[LinkEvent]:
        """Each console's command, each change of who watches and of the link, as they come."""
        while True:
            yield await self._events.get()

    def send(self, telemetry: bytes) -> bool:
        """Queue one encoded telemetry message to the producer for the consoles; never waits."""
        return self._control is not None and self._control.send(telemetry)

    def attach(self, sock: socket.socket) -> None:
        """Serve the daemon's end of a new producer run's control socket (on the loop)."""
        if self._serving is not None:
            self._serving.cancel()
        self._serving = asyncio.create_task(self._serve(sock), name="console-link")

    async def detach(self) -> None:
        """The run is over: close its socket, if it is still open."""
        serving, self._serving = self._serving, None
        if serving is not None:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    async def _serve(self, sock: socket.socket) -> None:
        control = await ControlSocket.open(sock)
        self._control = control
        self._events.put_nowait(LinkStatus(online=True))
        try:
            async for message in control.messages():
                self._read(message)
        finally:
            if self._control is control:
                self._control = None
                self._events.put_nowait(LinkStatus(online=False))
            await control.close()

    def _read(self, message: dict) -> None:
        command = read_command(message)
        if command is not None:
            payload, grants, round_trip_ms = command
            delivery = Delivery(payload, CommandPath.DATACHANNEL, grants, round_trip_ms)
            self._events.put_nowait(delivery)
            return
        watchers = read_watchers(message)
        if watchers is not None:
            self._events.put_nowait(Watchers(watchers))
            return
        log.warning("control socket: neither a command nor watchers: %.120r", message)
