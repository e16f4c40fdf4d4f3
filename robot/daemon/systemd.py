"""The systemd notify protocol: readiness, status lines and the watchdog, from the event loop.

systemd passes ``NOTIFY_SOCKET`` (a datagram socket; ``@`` starts an abstract name) and,
with ``WatchdogSec=``, ``WATCHDOG_USEC``. ``WATCHDOG=1`` is sent from a task on the event loop
itself, so a blocked loop sends nothing (what follows: docs/protocol.md, "Every way the wheels
stop"). Without ``NOTIFY_SOCKET`` (run by hand, in the simulator) every call does nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None, watchdog_s: float | None) -> None:
        self.address = address
        self.watchdog_s = watchdog_s  # systemd's WatchdogSec, None when it watches nothing
        self._socket: socket.socket | None = None
        if address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.setblocking(False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        environ = os.environ if environ is None else environ
        watchdog_s = None
        pid = environ.get("WATCHDOG_PID")
        if environ.get("WATCHDOG_USEC", "").isdigit() and pid in (None, str(os.getpid())):
            watchdog_s = int(environ["WATCHDOG_USEC"]) / 1_000_000
        return cls(environ.get("NOTIFY_SOCKET") or None, watchdog_s)

    def notify(self, *lines: str) -> None:
        """Send ``KEY=value`` lines; a lost datagram is logged, never raised."""
        if self._socket is None or self.address is None:
            return
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            self._socket.sendto("\n".join(lines).encode(), address)
        except OSError as exc:
            log.warning("systemd notify to %s failed: %s", self.address, exc)

    async def keep_alive(self) -> None:
        """Ping the watchdog twice per period for as long as the loop runs (and is not
        blocked); returns at once when there is no watchdog."""
        if self.watchdog_s is None:
            return
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(self.watchdog_s / 2)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
