"""Bounds on what one sender may cost: a token bucket for messages, a budget for log lines."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` messages a second on average, ``burst`` at once: :meth:`take` says whether
    one more fits."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._at = clock()

    def take(self) -> bool:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class LogBudget:
    """At most one line per ``every_s``; :meth:`allow` returns how many were held back since
    the last line it allowed (to say so in it), or None to hold this one back."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self._last: float | None = None
        self._held = 0

    def allow(self) -> int | None:
        now = self.clock()
        if self._last is not None and now - self._last < self.every_s:
            self._held += 1
            return None
        held, self._held, self._last = self._held, 0, now
        return held
