"""What every board shares: wiring, clamping, and never leaving a wheel running after an error.

A board subclasses ``ChannelBoard`` and says how to set one channel (``_set``); a board that
sets both channels in one go (a serial controller) overrides ``_apply`` and ``_halt`` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from drivers.base import DriverError, MotorDriver
from drivers.wiring import Wiring

log = logging.getLogger(__name__)


class ChannelBoard(MotorDriver):
    def __init__(self, wiring: Wiring) -> None:
        self.wiring = wiring
        self.closed = False

    # --- what a board implements -------------------------------------------------------

    def _set(self, channel: str, value: float) -> None:
        """Set one channel's output (-1..1, already clamped and inverted; 0 means stop)."""
        raise NotImplementedError

    def _apply(self, outputs: Mapping[str, float]) -> None:
        for channel, value in outputs.items():
            self._set(channel, value)

    def _halt(self) -> None:
        """Stop every channel, trying each even when one fails."""
        errors = []
        for channel in self.wiring.channels:
            try:
                self._set(channel, 0.0)
            except Exception as exc:  # the other wheel must still be tried
                errors.append(exc)
        if errors:
            raise errors[0]

    def _release(self) -> None:
        """Let go of the hardware (after the wheels were stopped)."""

    # --- the MotorDriver interface -------------------------------------------------------

    def drive(self, left: float, right: float) -> None:
        if self.closed:
            raise DriverError(f'motor driver "{self.name}" is closed; load it again to drive')
        try:
            self._apply(self.wiring.outputs(left, right))
        except Exception as exc:
            # Whatever went wrong (a bus error, a refused command, a bug), one wheel may be
            # running on an old output: stop both before reporting.
            raise self._stopped_after(exc) from exc

    def stop(self) -> None:
        if self.closed:
            return  # closing stopped the wheels and released the hardware
        try:
            self._halt()
        except Exception as exc:
            raise DriverError(
                f'motor driver "{self.name}" could not stop the wheels: {exc}; cut the motor power'
            ) from exc

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.stop()
        finally:
            self.closed = True
            self._release()

    def _stopped_after(self, exc: Exception) -> DriverError:
        try:
            self._halt()
        except Exception as halt_exc:  # reported in the error raised
            log.critical("%s: stopping after an error failed too: %s", self.name, halt_exc)
            return DriverError(
                f'motor driver "{self.name}": {_text(exc)}; stopping the wheels '
                f"failed too ({_text(halt_exc)}): cut the motor power"
            )
        return DriverError(f'motor driver "{self.name}": {_text(exc)}; wheels stopped')


def _text(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
