"""Is a command fresh? The freshness gate applies the time rules of docs/protocol.md ("Time"):
by the robot's clock while it is synchronised, and relative to the smallest delivery delay
seen while it is not (a Pi has no real-time clock).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from robot.contracts import protocol
from robot.contracts.protocol import Command
from robot.contracts.refusals import Refusal, RefusalKind

log = logging.getLogger(__name__)

# The baseline may creep by this much per second: quartz clocks differ by tens of ppm.
DRIFT_ALLOWANCE = 1e-4
_TIME_ERROR = 5  # adjtimex's answer when the kernel clock is not synchronised


class StaleCommand(Refusal):
    """A command refused for its age or its stamp; ``reason`` says why."""

    kind = RefusalKind.STALE


def kernel_clock_synced() -> bool:
    """Whether the kernel says its clock is synchronised (NTP, systemd-timesyncd, chrony
    clear the kernel's "unsynchronised" state once they have set the time)."""
    adjtimex = _adjtimex()
    if adjtimex is None:
        return True  # no way to ask: judge by the clock
    timex = ctypes.create_string_buffer(256)  # struct timex, modes 0: read only
    return adjtimex(timex) not in (-1, _TIME_ERROR)


@functools.cache
def _adjtimex() -> Callable[[Any], int] | None:
    # Looked up once: find_library may run a subprocess, far too slow for every command.
    name = ctypes.util.find_library("c")
    return None if name is None else ctypes.CDLL(name, use_errno=True).adjtimex


class FreshnessGate:
    def __init__(
        self,
        clock_synced: Callable[[], bool] = kernel_clock_synced,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        monotonic_ms: Callable[[], float] = lambda: time.monotonic() * 1000,
    ) -> None:
        self._clock_synced = clock_synced
        self._wall_ms = wall_ms
        self._monotonic_ms = monotonic_ms
        self._synced = False
        self._baseline: tuple[float, float] | None = None  # (offset, monotonic ms when seen)

    @property
    def synced(self) -> bool:
        """Whether the last judgement used the wall clock."""
        return self._synced

    def check(self, command: Command, ttl_ms: int) -> None:
        """Raise StaleCommand unless ``command`` is fresh enough to act on."""
        # Asked every time: the clock becomes synchronised while the daemon runs.
        self._synced = self._clock_synced()
        if self._synced:
            self._check_by_clock(command, ttl_ms, self._wall_ms())
        elif command.received_ts is not None:
            self._check_relative(command.received_ts, ttl_ms, self._monotonic_ms())

    def _check_by_clock(self, command: Command, ttl_ms: int, now_ms: int) -> None:
        try:
            protocol.check_not_ahead(command, now_ms)
        except protocol.ProtocolError as exc:
            raise StaleCommand(exc.reason) from None
        for name in ("ts", "received_ts"):
            stamp = getattr(command, name)
            if stamp is not None and now_ms - stamp > ttl_ms:
                raise StaleCommand(
                    f"stale command: {name} says {now_ms - stamp} ms ago, "
                    f"longer than its TTL of {ttl_ms} ms"
                )

    def _check_relative(self, stamp: int, ttl_ms: int, now: float) -> None:
        offset = now - stamp
        if self._baseline is not None:
            base, seen = self._baseline
            base += (now - seen) * DRIFT_ALLOWANCE
            if offset - base > ttl_ms:
                raise StaleCommand(
                    f"stale command: delivered {offset - base:.0f} ms later than the "
                    f"fastest, longer than its TTL of {ttl_ms} ms (clock not synchronised)"
                )
            if offset >= base:
                return
        self._baseline = (offset, now)
