"""The control link's round trip, measured on the robot: from the commands themselves, each
stamped command (``ts`` from its sender, else ``received_ts`` from the publish endpoint) says
how long it took to arrive, and a symmetric link's round trip is twice that; a console's
command over the data channel comes with its connection's round trip, which the video
producer reads from the viewer's RTCP reports (robot/producer/master.py).

``received_ts`` (the endpoint's clock, kept right in AWS) is read by the robot's clock while
that is synchronised; otherwise, and for a sender's own ``ts`` (a laptop's clock may be off by
more than the delays that matter), a stamp counts relative to the fastest delivery seen on
that path (as the freshness gate judges an unsynchronised robot, robot/daemon/freshness.py):
only the delay a link adds when it gets worse. The worst of the last
``WINDOW_S`` counts: a link that hiccups is slow until it has been fast for that long.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from robot.contracts.protocol import Command

WINDOW_S = 2.0


class CommandDelay:
    def __init__(
        self,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wall_ms = wall_ms
        self._monotonic = monotonic
        self._fastest: dict[str, float] = {}  # path -> smallest (arrival - stamp) seen, in ms
        self._delays: deque[tuple[float, float]] = deque()  # (monotonic s, one-way ms)

    def observe(self, command: Command, path: str, clock_synced: bool) -> None:
        """A command that arrived just now by ``path``."""
        stamp = command.ts if command.ts is not None else command.received_ts
        if stamp is None:
            return
        offset = self._wall_ms() - stamp
        if clock_synced and command.ts is None:
            delay = max(0.0, offset)
        else:
            source = f"{path} ts" if command.ts is not None else path
            fastest = min(offset, self._fastest.get(source, offset))
            self._fastest[source] = fastest
            delay = offset - fastest
        now = self._monotonic()
        self._delays.append((now, delay))
        self._forget(now)

    def round_trip(self, milliseconds: float) -> None:
        """A round trip measured by the link itself (a console's connection)."""
        now = self._monotonic()
        self._delays.append((now, milliseconds / 2))
        self._forget(now)

    def round_trip_ms(self) -> float | None:
        """Twice the worst one-way delay of the last ``WINDOW_S``; None with no stamped
        command in that time."""
        self._forget(self._monotonic())
        if not self._delays:
            return None
        return 2 * max(delay for _, delay in self._delays)

    def _forget(self, now: float) -> None:
        while self._delays and now - self._delays[0][0] > WINDOW_S:
            self._delays.popleft()
