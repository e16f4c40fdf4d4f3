"""Is a command fresh? Judged by the robot's clock when it is synchronised, and without
trusting it when it is not.

A command may carry two stamps: ``ts``, the sender's clock, and ``received_ts``, the
publish endpoint's clock (AWS keeps it synchronised). With a synchronised clock the robot
refuses a stamp further in the future than the allowed skew, and a command older than its
TTL by either stamp.

A Pi has no real-time clock: until NTP has set it, its wall clock can be off by months, and
judging stamps by it would refuse everything or accept anything. Then the robot judges only
``received_ts``, and only *relatively*: the difference between the robot's monotonic clock
and the stamp is the same for every command except for delivery time, so a command whose
difference exceeds the smallest seen by more than its TTL was delayed longer than its TTL.
The first command after a start sets that baseline and is taken as fresh (the link never
replays old commands: no persistent session, no offline queue). ``ts`` alone cannot be
judged then; such a command drives for its TTL like any other.
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
