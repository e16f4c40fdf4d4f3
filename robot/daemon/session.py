"""The drive lease: at most one operator (a token's subject) drives the robot at a time.

The first motion command from an operator while the lease is free takes it; every command
from the driver renews it; it lapses after ``lease_s`` without one, or when the driver
releases it. A motion command from anyone else is refused, naming who drives. ``stop`` and
``estop`` are never refused here (safety over ownership), and renew nothing but the driver's.

Hand-over: an operator asks (``request_control``; with the lease free it is theirs at once),
the driver accepts or declines, and an ask the driver leaves unanswered passes the lease once
the driver has sent nothing for ``handover_s`` since it. An admin takes the lease at once
(``take_control``; the access rule lets only admins send it).

The lease lives in memory only: a daemon restart frees it. Lapses are judged when the lease
is next looked at (a command, a report), against an injected monotonic clock: nothing here
runs on a timer, and the check on the command path is a few comparisons.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from robot.contracts.protocol import MOTION_ACTIONS, Command, escape
from robot.contracts.refusals import Refusal, RefusalKind

# Who a command published straight to the MQTT topic comes from: it carries no operator (the
# IoT policy, not a token, let its sender in), so all such senders share this one name.
MQTT_OPERATOR = "mqtt"


class LeaseRefusal(Refusal):
    """A valid command the drive lease does not allow now; ``reason`` names who drives."""

    kind = RefusalKind.LEASE


def operator_of(command: Command) -> str:
    """Who sent an admitted command, as the lease knows them."""
    return MQTT_OPERATOR if command.operator is None else command.operator


class Session:
    """The lease and the hand-over. Not thread-safe: call it from the daemon's loop only."""

    def __init__(
        self, lease_s: float, handover_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lease_s = lease_s
        self.handover_s = handover_s
        self.clock = clock
        self.driver: str | None = None
        self.since = 0.0  # clock time the driver took the lease
        self.last_command = 0.0  # clock time of the driver's latest command
        self.requested_by: str | None = None
        self.requested_at = 0.0
        self.watchers: frozenset[str] = frozenset()

    def check(self, operator: str, action: str) -> None:
        """Raise LeaseRefusal if the lease forbids ``operator`` sending ``action`` now."""
        self.settle()
        if action in MOTION_ACTIONS and self.driver not in (None, operator):
            raise LeaseRefusal(f"{_quoted(self.driver)} drives this robot; request control")

    def drove(self, operator: str, action: str) -> None:
        """``operator``'s ``action`` was applied (after ``check``): take or renew the lease."""
        if self.driver is None and action in MOTION_ACTIONS:
            self._give(operator)
        elif self.driver == operator:
            self.last_command = self.clock()

    def act(self, operator: str, command: Command) -> None:
        """Apply a session action (protocol.SESSION_ACTIONS); LeaseRefusal if it may not."""
        self.settle()
        action = command.action
        if action == "take_control":
            self._give(operator)
        elif action == "request_control":
            if self.driver is None:
                self._give(operator)
            elif self.driver != operator:
                self.requested_by, self.requested_at = operator, self.clock()
        elif self.driver != operator:
            raise LeaseRefusal(f'only the driver may send "{action}"; {self._who()}')
        elif action == "release_control":
            self.driver = None
            self.requested_by = None
        elif self.requested_by != command.to:
            asked = _quoted(self.requested_by) if self.requested_by else "nobody"
            raise LeaseRefusal(f"{_quoted(command.to or '')} has not asked; {asked} has")
        elif action == "accept_control":
            self._give(command.to)
        else:  # decline_control
            self.requested_by = None
            self.last_command = self.clock()  # an answer is a sign of life

    def settle(self) -> None:
        """Apply what the clock decided since the last look: an unanswered ask passes, an
        idle lease lapses."""
        if self.driver is None:
            return
        now = self.clock()
        idle = now - max(self.requested_at, self.last_command)
        if self.requested_by is not None and idle >= self.handover_s:
            self._give(self.requested_by)
            return
        if now - self.last_command >= self.lease_s:
            self.driver = None
            self.requested_by = None

    def see(self, watchers: Iterable[str]) -> None:
        """Who watches now (the subjects of the consoles the robot welcomed)."""
        self.watchers = frozenset(watchers)

    def report(self, wall_now: float) -> dict[str, Any]:
        """The session as telemetry says it: ``since`` in epoch seconds (from ``wall_now``);
        ``watchers`` are the watching subjects other than the driver."""
        self.settle()
        since = None
        if self.driver is not None:
            since = round(wall_now - (self.clock() - self.since), 3)
        return {
            "driver": self.driver,
            "since": since,
            "requested_by": self.requested_by,
            "watchers": sorted(self.watchers - {self.driver}),
        }

    def _give(self, operator: str | None) -> None:
        if operator != self.driver:
            self.since = self.clock()
        self.driver = operator
        self.last_command = self.clock()
        self.requested_by = None

    def _who(self) -> str:
        return "nobody drives" if self.driver is None else f"{_quoted(self.driver)} drives"


def _quoted(operator: str) -> str:
    return f'"{escape(operator)}"'
