"""The motion controller: the latest valid command drives the wheels until its TTL lapses, with
no queue; the outputs ramp at the configured limits (robot/daemon/ramp.py), and every stop is at
once. The rules are docs/protocol.md's ("Every way the wheels stop", "The emergency stop").

Its stages, in the order of ROS 2's diff_drive_controller: the timeout (the deadman TTL), the
ramp, the limiter chain (robot/daemon/limiters.py: the link, an obstacle, the battery), then the
wheels, whose changes the odometry follows (``on_change``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drivers import MotorDriver
from robot.contracts.admission import CommandPath
from robot.contracts.protocol import MOTION_ACTIONS, Command
from robot.contracts.refusals import Refusal, RefusalKind
from robot.contracts.telemetry import LimitedBy, MotionReason
from robot.daemon import ramp
from robot.daemon.estop import EStop
from robot.daemon.limiters import Limiter, run_chain
from robot.daemon.mixing import wheel_outputs

log = logging.getLogger(__name__)

TICK_S = 0.02  # ramp steps while ramping: 50 Hz, smooth for a motor, cheap for a Pi Zero


@dataclass(frozen=True)
class MotionState:
    left: float = 0.0
    right: float = 0.0
    command: Command | None = None  # the command driving the wheels, if any
    applied_at: float = 0.0  # time.monotonic() when it was applied
    reason: MotionReason = MotionReason.START  # why the wheels are as they are
    path: CommandPath | None = None  # how the command driving them came
    limited_by: LimitedBy | None = None  # the limiter stage that caps them, if any


class EStopRefusal(Refusal):
    """A valid command the e-stop latch does not allow now; ``reason`` says why."""

    kind = RefusalKind.ESTOP


class MotionController:
    """Owns the driver on the event loop. Not thread-safe: call it from the loop only."""

    def __init__(
        self,
        driver: MotorDriver,
        default_speed: float,
        default_ttl_ms: int,
        on_change: Callable[[MotionState], None] = lambda state: None,
        limits: ramp.Limits = ramp.Limits(),  # noqa: B008 (frozen, shared safely)
        estop: EStop | None = None,
        limiters: Sequence[Limiter] = (),
    ) -> None:
        self._driver = driver
        self._limiters = tuple(limiters)
        self._default_speed = default_speed
        self._default_ttl_ms = default_ttl_ms
        self._on_change = on_change
        self._limits = limits
        self.estop = estop
        self._deadline: asyncio.TimerHandle | None = None
        self._tick: asyncio.TimerHandle | None = None
        self._target = (0.0, 0.0)
        self._path: CommandPath | None = None  # of the command being applied
        self._stepped_at = 0.0
        self.state = MotionState(reason=MotionReason.ESTOP if self.latched else MotionReason.START)

    @property
    def latched(self) -> bool:
        return self.estop is not None and self.estop.latched

    @property
    def path(self) -> CommandPath | None:
        """How the command being applied (or last applied) came."""
        return self._path

    def going_forward(self) -> bool:
        """Whether a command asks the wheels forward now (what the obstacle guard watches)."""
        left, right = self._target
        return self.state.reason is MotionReason.COMMAND and left + right > 0

    def ttl_ms(self, command: Command) -> int:
        return self._default_ttl_ms if command.ttl_ms is None else command.ttl_ms

    def check_allowed(self, command: Command) -> None:
        """Raise EStopRefusal if the e-stop latch forbids ``command``."""
        if command.action in MOTION_ACTIONS and self.latched:
            raise EStopRefusal("estop latched")
        if command.action == "clear_estop" and self.estop is None:
            raise EStopRefusal("this robot keeps no e-stop latch")

    def apply(self, command: Command, path: CommandPath) -> None:
        """Act on ``command`` at once: the wheels first, then the bookkeeping. ``path`` says
        how it came (telemetry and the e-stop latch tell it)."""
        self._path = path
        if command.action == "estop":
            self._halt(command, MotionReason.ESTOP)  # the wheels stop before the latch is written
            if self.estop is not None:
                self.estop.engage(command.operator, self._path)
            return
        if command.action == "clear_estop":
            self.check_allowed(command)
            assert self.estop is not None
            try:
                self.estop.clear()
            except OSError as exc:
                raise EStopRefusal(f"cannot clear the e-stop: {exc}") from None
            self._halt(command, MotionReason.ESTOP_CLEARED)
            return
        if command.action == "stop":
            self._halt(command, MotionReason.STOP)
            return
        self.check_allowed(command)
        target = ramp.limit(wheel_outputs(command, self._default_speed), self._limits)
        self._cancel_timers()
        # Arm the timer before touching the hardware, so a driver error still ends in a stop.
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self.ttl_ms(command) / 1000, self._expire)
        self._target = target
        self.state = MotionState(self.state.left, self.state.right, command, time.monotonic())
        self._step(first=True)

    def limits_changed(self) -> None:
        """A limiter's input changed (a new distance, a new round trip): the wheels of the
        command being applied follow at once."""
        if self.state.reason is MotionReason.COMMAND and self.state.command is not None:
            if self._tick is not None:
                self._tick.cancel()
            self._step()

    def stop(self, reason: MotionReason) -> None:
        """Stop the wheels now (on shutdown, a lost link, an error)."""
        self._halt(None, reason)

    def _halt(self, command: Command | None, reason: MotionReason) -> None:
        self._cancel_timers()
        self._target = (0.0, 0.0)
        self._set(0.0, 0.0, command, reason)

    def _expire(self) -> None:
        self._deadline = None
        log.debug("command %s expired", self.state.command and self.state.command.id)
        self._halt(None, MotionReason.EXPIRED)

    def _step(self, first: bool = False) -> None:
        self._tick = None
        now = time.monotonic()
        # A late tick moves no further than a punctual one: no jolt after a stall.
        dt = TICK_S if first else min(now - self._stepped_at, TICK_S)
        self._stepped_at = now
        # The ramp runs from what the wheels were given, so a cap that lifts lets them speed
        # up at the ramp's pace, never at once.
        current = (self.state.left, self.state.right)
        ramped = ramp.step(current, self._target, dt, self._limits)
        (left, right), limited_by = run_chain(self._limiters, ramped)
        if not first and (left, right) == current and limited_by is self.state.limited_by:
            return  # held by a limiter, nothing new: the next change of its input steps again
        self._set(left, right, self.state.command, MotionReason.COMMAND, limited_by)
        ramping = (self.state.left, self.state.right) != self._target
        if ramping and self.state.reason is MotionReason.COMMAND:
            self._tick = asyncio.get_running_loop().call_later(TICK_S, self._step)

    def _time_to_live(self) -> float | None:
        """Seconds until the deadman fires: a board that keeps time stops the wheels then
        by itself, even if this loop is stuck."""
        if self._deadline is None:
            return None
        return max(0.0, self._deadline.when() - asyncio.get_running_loop().time())

    def _cancel_timers(self) -> None:
        for handle in (self._deadline, self._tick):
            if handle is not None:
                handle.cancel()
        self._deadline = self._tick = None

    def _set(
        self,
        left: float,
        right: float,
        command: Command | None,
        reason: MotionReason,
        limited_by: LimitedBy | None = None,
    ) -> None:
        try:
            if left == 0.0 and right == 0.0:
                self._driver.stop()
            else:
                self._driver.drive(left, right, self._time_to_live())
        except Exception:
            # A board that fails mid-command must not keep the last output: try to stop it.
            log.exception("motor driver failed; stopping the wheels")
            self._cancel_timers()
            try:
                self._driver.stop()
            except Exception:
                log.exception("motor driver failed to stop")
            left, right, command, reason = 0.0, 0.0, None, MotionReason.DRIVER_ERROR
            limited_by = None
        applied_at = self.state.applied_at if reason is MotionReason.COMMAND else time.monotonic()
        path = self._path if command is not None else None
        self.state = MotionState(left, right, command, applied_at, reason, path, limited_by)
        self._on_change(self.state)
