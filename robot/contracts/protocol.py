"""The command protocol: one strict parser shared by the robot daemon and the publish Lambda,
so every path gives a payload the same verdict. The wire contract (actions, fields, ranges,
strictness, stamps) is docs/protocol.md.

Standard library only, so the Lambda ships this module as it is.
"""

from __future__ import annotations

import contextlib
import json
import math
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from robot.contracts.refusals import Refusal, RefusalKind

MAX_PAYLOAD_BYTES = 1024
MIN_TTL_MS = 50
MAX_TTL_MS = 5000
MIN_SPEED, MAX_SPEED = 0.0, 1.0
MAX_ID_LENGTH = 64
MAX_OPERATOR_LENGTH = 128
# How far a stamp may lie in the future of the judging clock: clocks synced by NTP agree
# to a few milliseconds; more than this is a wrong clock or a forged stamp.
MAX_CLOCK_SKEW_MS = 1000

DISCRETE_ACTIONS = ("forward", "backwards", "left", "right", "stop")
LATCH_ACTIONS = ("estop", "clear_estop")
# Move the drive lease; ANSWER_ACTIONS name the requester they answer in ``to``.
ANSWER_ACTIONS = ("accept_control", "decline_control")
SESSION_ACTIONS = ("request_control", *ANSWER_ACTIONS, "release_control", "take_control")
# The robot's speaker volume and microphone: the producer applies it, on the data channel.
AUDIO_ACTION = "audio"
AUDIO_FIELDS = ("volume", "mic")
ACTIONS = (*DISCRETE_ACTIONS, "drive", *LATCH_ACTIONS, *SESSION_ACTIONS, AUDIO_ACTION)
# What an emergency stop refuses until it is cleared.
MOTION_ACTIONS = ("forward", "backwards", "left", "right", "drive")
# Set by the publish endpoint, never by the sender.
ENDPOINT_FIELDS = ("operator", "received_ts")
_FIELDS = {
    "action",
    "linear",
    "angular",
    "speed",
    "ttl_ms",
    "id",
    "ts",
    "to",
    *AUDIO_FIELDS,
    *ENDPOINT_FIELDS,
}
_UTF8_BOM = b"\xef\xbb\xbf"
_MAX_NAMES_SHOWN = 5


class ProtocolError(Refusal):
    """A payload that is not a valid command. ``reason`` says why, for a person."""

    kind = RefusalKind.PROTOCOL


@dataclass(frozen=True)
class Command:
    action: str
    linear: float | None = None
    angular: float | None = None
    speed: float | None = None
    ttl_ms: int | None = None
    id: str | None = None
    ts: int | None = None
    operator: str | None = None
    received_ts: int | None = None
    to: str | None = None  # accept_control, decline_control: the requester answered
    volume: int | None = None  # audio: the speaker's volume, 0..100 %
    mic: bool | None = None  # audio: whether the robot's microphone is on

    def to_dict(self) -> dict[str, Any]:
        """The command as JSON-ready fields, leaving out the ones not given."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def with_id(self) -> Command:
        """This command with an ``id``, a fresh one if it had none."""
        if self.id is not None:
            return self
        return Command(**{**self.to_dict(), "id": uuid.uuid4().hex[:16]})


def parse(payload: bytes | str | dict[str, Any]) -> Command:
    """Parse and validate one command; raise ProtocolError with the reason if it is invalid."""
    data = decode(payload) if isinstance(payload, bytes | str) else payload
    if not isinstance(data, dict):
        raise ProtocolError("a command must be a JSON object")
    unknown = sorted(str(key) for key in set(data) - _FIELDS)
    if unknown:
        shown = ", ".join(escape(name, 32) for name in unknown[:_MAX_NAMES_SHOWN])
        more = (
            f" and {len(unknown) - _MAX_NAMES_SHOWN} more"
            if len(unknown) > _MAX_NAMES_SHOWN
            else ""
        )
        raise ProtocolError(f"unknown field(s): {shown}{more}")
    nulls = sorted(key for key, value in data.items() if value is None and key != "action")
    if nulls:
        raise ProtocolError(f'"{nulls[0]}" is null: leave out a field that has no value')

    if "action" not in data:
        raise ProtocolError('missing "action": one of ' + ", ".join(ACTIONS))
    action = data["action"]
    if not isinstance(action, str):
        raise ProtocolError('"action" must be a string: one of ' + ", ".join(ACTIONS))
    if action not in ACTIONS:
        expected = ", ".join(ACTIONS)
        raise ProtocolError(f'unknown action "{escape(action, 32)}": expected one of {expected}')

    linear = _number(data, "linear", -1.0, 1.0)
    angular = _number(data, "angular", -1.0, 1.0)
    if action == "drive":
        if linear is None or angular is None:
            raise ProtocolError('"drive" needs both "linear" and "angular" (each -1..1)')
    elif linear is not None or angular is not None:
        raise ProtocolError(f'"linear" and "angular" belong to "drive", not "{action}"')
    if action in LATCH_ACTIONS and (
        data.get("speed") is not None or data.get("ttl_ms") is not None
    ):
        raise ProtocolError(f'"{action}" takes no "speed" or "ttl_ms": it holds until cleared')
    if action in (*SESSION_ACTIONS, AUDIO_ACTION) and (
        data.get("speed") is not None or data.get("ttl_ms") is not None
    ):
        raise ProtocolError(f'"{action}" takes no "speed" or "ttl_ms": it moves no wheels')
    volume = _integer(data, "volume", 0, 100)
    mic = data.get("mic")
    if mic is not None and not isinstance(mic, bool):
        raise ProtocolError('"mic" must be true or false')
    if action == AUDIO_ACTION and volume is None and mic is None:
        raise ProtocolError('"audio" needs "volume" (0..100) or "mic" (true or false)')
    if action != AUDIO_ACTION and (volume is not None or mic is not None):
        raise ProtocolError(f'"volume" and "mic" belong to "audio", not "{action}"')
    to = _printable(data, "to", MAX_OPERATOR_LENGTH)
    if action in ANSWER_ACTIONS and to is None:
        raise ProtocolError(f'"{action}" needs "to": the operator who asked for control')
    if action not in ANSWER_ACTIONS and to is not None:
        raise ProtocolError(f'"to" belongs to {" and ".join(ANSWER_ACTIONS)}, not "{action}"')

    return Command(
        action=action,
        linear=linear,
        angular=angular,
        speed=_number(data, "speed", MIN_SPEED, MAX_SPEED),
        ttl_ms=_integer(data, "ttl_ms", MIN_TTL_MS, MAX_TTL_MS),
        id=_printable(data, "id", MAX_ID_LENGTH),
        ts=_integer(data, "ts", 0, 2**53),
        operator=_printable(data, "operator", MAX_OPERATOR_LENGTH),
        received_ts=_integer(data, "received_ts", 0, 2**53),
        to=to,
        volume=volume,
        mic=mic,
    )


def check_sender_fields(command: Command) -> None:
    """Refuse a command that sets what only the endpoint that received it may set."""
    given = [name for name in ENDPOINT_FIELDS if getattr(command, name) is not None]
    if given:
        raise ProtocolError(f"{', '.join(given)}: set by the endpoint, not by you")


def operator_from(subject: str) -> str | None:
    """A token's subject as ``operator`` can carry it: printable, and not too long."""
    printable = "".join(char for char in subject if char.isprintable())
    return printable[:MAX_OPERATOR_LENGTH] or None


def check_not_ahead(command: Command, now_ms: int) -> None:
    """Refuse a command whose ``ts`` or ``received_ts`` is further in the future of
    ``now_ms`` than :data:`MAX_CLOCK_SKEW_MS`: a wrong clock, or a stamp meant to outlive
    its TTL."""
    for name in ("ts", "received_ts"):
        stamp = getattr(command, name)
        if stamp is not None and stamp - now_ms > MAX_CLOCK_SKEW_MS:
            raise ProtocolError(
                f'"{name}" is {stamp - now_ms} ms in the future; '
                f"clocks may differ by at most {MAX_CLOCK_SKEW_MS} ms"
            )


def command_id(payload: bytes | str) -> str | None:
    """The sender's id of a rejected command, when the payload can be read, to echo back
    (read as strictly as a command: a payload the protocol cannot decode has no id)."""
    with contextlib.suppress(ProtocolError):
        data = decode(payload)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"][:MAX_ID_LENGTH]
    return None


def decode(payload: bytes | str) -> Any:
    """The JSON value of a payload, read strictly: at most MAX_PAYLOAD_BYTES of UTF-8 without
    a byte order mark, no NaN or infinities, no key twice in an object. ProtocolError if not."""
    # surrogatepass: a str from Python may hold lone surrogates, which strict UTF-8 refuses
    size = len(payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload)
    if size > MAX_PAYLOAD_BYTES:
        raise ProtocolError(f"payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    if isinstance(payload, bytes):
        # json.loads on bytes would guess UTF-16 or UTF-32 from the first bytes: decode here.
        if payload.startswith(_UTF8_BOM):
            raise ProtocolError("payload starts with a byte order mark: send UTF-8 without one")
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"payload is not UTF-8 (byte {exc.start})") from None
    elif payload.startswith("\ufeff"):
        raise ProtocolError("payload starts with a byte order mark: send UTF-8 without one")
    try:
        return json.loads(
            payload, parse_constant=_reject_constant, object_pairs_hook=_object_without_repeats
        )
    except ProtocolError:
        raise
    except ValueError as exc:
        raise ProtocolError(f"payload is not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("payload nests arrays or objects too deeply") from None


def escape(text: str, limit: int = 64) -> str:
    """``text`` cut to ``limit`` characters, with quotes, backslashes, control and non-ASCII
    characters escaped as in a JSON string: safe inside a reason, a log line or telemetry."""
    return json.dumps(text[:limit])[1:-1]


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:  # json.loads would keep the last one: a sender could hide a field
            raise ProtocolError(f'"{escape(key, 32)}" appears more than once')
        data[key] = value
    return data


def _reject_constant(name: str) -> None:
    raise ProtocolError(f"{name} is not a number a command may carry")


def _number(data: dict[str, Any], key: str, low: float, high: float) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f'"{key}" must be a number from {low:g} to {high:g}')
    # The range first: math.isfinite cannot take an integer too large for a float.
    if not low <= value <= high or not math.isfinite(value):
        raise ProtocolError(f'"{key}" is {value!r}; it must be from {low:g} to {high:g}')
    return float(value)


def _integer(data: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f'"{key}" must be a whole number from {low} to {high}')
    if not low <= value <= high:
        raise ProtocolError(f'"{key}" is {value}; it must be from {low} to {high}')
    return value


def _printable(data: dict[str, Any], key: str, longest: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= longest or not value.isprintable():
        raise ProtocolError(f'"{key}" must be a printable string of 1 to {longest} characters')
    return value
