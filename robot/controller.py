"""The motion controller: the latest valid command drives the wheels until its TTL lapses.

There is no queue: a command replaces the previous one the moment it arrives, and a
deadman timer stops the wheels when no fresh command has come within its TTL. A held key
(a stream of commands) keeps pushing the deadline out, so the wheels never stutter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from drivers import MotorDriver
from robot.mixing import wheel_outputs
from robot.protocol import Command

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MotionState:
    left: float = 0.0
    right: float = 0.0
    command: Command | None = None  # the command driving the wheels, if any
    applied_at: float = 0.0  # time.monotonic() when it was applied
    reason: str = "start"  # why the wheels are as they are: command, expired, stop, ...

    @property
    def moving(self) -> bool:
        return self.left != 0.0 or self.right != 0.0


class StaleCommand(ValueError):
    pass


class MotionController:
    """Owns the driver on the event loop. Not thread-safe: call it from the loop only."""

    def __init__(
        self,
        driver: MotorDriver,
        default_speed: float,
        default_ttl_ms: int,
        on_change: Callable[[MotionState], None] = lambda state: None,
    ) -> None:
        self._driver = driver
        self._default_speed = default_speed
        self._default_ttl_ms = default_ttl_ms
        self._on_change = on_change
        self._deadline: asyncio.TimerHandle | None = None
        self.state = MotionState()

    def ttl_ms(self, command: Command) -> int:
        return self._default_ttl_ms if command.ttl_ms is None else command.ttl_ms

    def check_fresh(self, command: Command, now_ms: int | None = None) -> None:
        """Raise StaleCommand if the sender's ``ts`` says the command expired before it arrived."""
        if command.ts is None:
            return
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        age = now_ms - command.ts
        if age > self.ttl_ms(command):
            raise StaleCommand(
                f"stale command: sent {age} ms ago, "
                f"longer than its TTL of {self.ttl_ms(command)} ms"
            )

    def apply(self, command: Command) -> None:
        """Drive the wheels as ``command`` asks, at once, and (re)arm the deadman timer."""
        left, right = wheel_outputs(command, self._default_speed)
        self._cancel_deadline()
        if command.action == "stop":
            self._set(0.0, 0.0, command, "stop")
            return
        # Arm the timer before touching the hardware, so a driver error still ends in a stop.
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.ttl_ms(command) / 1000, self._expire)
        self._set(left, right, command, "command")

    def stop(self, reason: str) -> None:
        """Stop the wheels now (on shutdown, a lost link, an error)."""
        self._cancel_deadline()
        self._set(0.0, 0.0, None, reason)

    def _expire(self) -> None:
        self._deadline = None
        log.debug("command %s expired", self.state.command and self.state.command.id)
        self._set(0.0, 0.0, None, "expired")

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _set(self, left: float, right: float, command: Command | None, reason: str) -> None:
        try:
            if left == 0.0 and right == 0.0:
                self._driver.stop()
            else:
                self._driver.drive(left, right)
        except Exception:
            # A board that fails mid-command must not keep the last output: try to stop it.
            log.exception("motor driver failed; stopping the wheels")
            self._cancel_deadline()
            try:
                self._driver.stop()
            except Exception:
                log.exception("motor driver failed to stop")
            left, right, command, reason = 0.0, 0.0, None, "driver-error"
        self.state = MotionState(left, right, command, time.monotonic(), reason)
        self._on_change(self.state)
