"""The daemon's command links: where commands come in and where telemetry goes back out.

Two links implement one small interface, and the daemon consumes both the same way (as
aiomqtt's client is consumed)::

    async with link:
        async for event in link.events():   # a Delivery per command, a LinkStatus on a change,
                                            # Watchers when who watches changes
            ...
        link.send(telemetry)                 # a telemetry message, never waiting

``robot.daemon.mqtt_link.IoTLink`` is the robot's MQTT session with IoT Core (commands from
``{thing}/action``, telemetry to ``{thing}/telemetry``); ``robot.daemon.console_link.ConsoleLink``
is the consoles' data channels, through the video producer's control socket.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from robot.contracts.access import Grants
from robot.contracts.admission import CommandPath


@dataclass(frozen=True)
class Delivery:
    """One command payload, as it came, with the path it came by."""

    payload: bytes | str
    path: CommandPath
    grants: Grants | None = None  # a console's: what its verified token grants
    round_trip_ms: float | None = None  # a console's: its connection's round trip, measured


@dataclass(frozen=True)
class LinkStatus:
    online: bool


@dataclass(frozen=True)
class Watchers:
    """Who watches the robot through this link now: the subjects of its welcomed consoles."""

    subjects: frozenset[str]


LinkEvent = Delivery | LinkStatus | Watchers


class CommandLink(Protocol):
    path: CommandPath  # the path of what it delivers

    @property
    def online(self) -> bool: ...

    def events(self) -> AsyncIterator[LinkEvent]: ...

    def send(self, telemetry: bytes) -> bool:
        """Queue one encoded telemetry message without waiting; False if it was dropped."""
        ...
