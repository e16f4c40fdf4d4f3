"""What the robot says on ``{thing}/telemetry``: its state, on change and at a steady rate."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Any, Protocol

from robot.contracts.protocol import Command
from robot.contracts.refusals import Refusal


class MotionReason(StrEnum):
    """Why the wheels are as they are, as a state message's ``reason`` says."""

    START = "start"  # nothing has driven them since the daemon started
    COMMAND = "command"  # a command drives them
    EXPIRED = "expired"  # the command's TTL lapsed
    STOP = "stop"
    ESTOP = "estop"  # an e-stop latched (or is still latched from before)
    ESTOP_CLEARED = "estop-cleared"
    LINK_LOST = "link-lost"  # the link that carries the commands dropped
    SHUTDOWN = "shutdown"  # the daemon is stopping
    DRIVER_ERROR = "driver-error"  # the board failed; it was told to stop
    HANDOVER = "handover"  # the drive lease changed hands while its old holder drove


class LimitedBy(StrEnum):
    """Which limiter stage capped the wheels below what the command and the ramp asked for, as
    a state message's ``limited_by`` says (``null`` when none did)."""

    LINK = "link"
    OBSTACLE = "obstacle"
    BATTERY = "battery"


class ThrottleFlag(StrEnum):
    """What the Pi's firmware reports of its power and heat (``vcgencmd get_throttled``)."""

    UNDER_VOLTAGE = "under-voltage"
    FREQUENCY_CAPPED = "frequency-capped"
    THROTTLED = "throttled"
    SOFT_TEMPERATURE_LIMIT = "soft-temperature-limit"


class Motion(Protocol):
    """What a state message reports of the wheels (the daemon's MotionState)."""

    left: float
    right: float
    command: Command | None
    applied_at: float  # time.monotonic() when the command was applied
    reason: MotionReason
    path: str | None  # a CommandPath while a command drives the wheels
    limited_by: LimitedBy | None  # the limiter that capped the wheels, if any


def state_message(
    state: Motion, link_online: bool, board: str, board_status: dict[str, Any]
) -> dict[str, Any]:
    """A telemetry message for the motion state at this moment."""
    command = state.command
    active = None
    if command is not None:
        active = {
            "id": command.id,
            "action": command.action,
            "age_ms": round((time.monotonic() - state.applied_at) * 1000, 1),
            "path": state.path,
        }
    return {
        "type": "state",
        "t": time.time(),  # epoch seconds of this report
        "wheels": {"left": state.left, "right": state.right},
        "reason": state.reason,
        "limited_by": state.limited_by,
        "command": active,
        "link": "online" if link_online else "offline",
        "board": board,
        **board_status,
    }


def health_message(figures: dict[str, Any]) -> dict[str, Any]:
    """A health report: the computer's figures, the battery's and the control link's."""
    return {"type": "health", "t": time.time(), **figures}


def rejection_message(
    refusal: Refusal, command_id: str | None, path: str | None = None
) -> dict[str, Any]:
    """A refused command: why (``reason``, and the ``kind`` of rule that refused it), its id
    if it could be read, and its path when known (a console's data channel; MQTT cannot tell a
    direct publish from the publish Lambda's before the command is read)."""
    message = {
        "type": "rejected",
        "t": time.time(),
        "reason": refusal.reason,
        "kind": str(refusal.kind),
        "id": command_id,
    }
    return message if path is None else {**message, "path": path}


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()
