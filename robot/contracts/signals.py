"""What a producer's output says: readiness, viewers, trouble, read one line at a time.

Our own producer prints ``media-status ...`` lines (written here, so writer and reader
agree); the KVS C SDK sample is read from the log lines it really prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

PREFIX = "media-status "


@dataclass(frozen=True)
class Signal:
    """``ready``; ``viewers`` (value: how many); ``fatal`` (restart it); ``error`` (note it);
    ``audio`` (value: its state, a JSON object)."""

    kind: Literal["ready", "viewers", "fatal", "error", "audio"]
    value: int | str = ""


Classifier = Callable[[str], "Signal | None"]


def ready_line() -> str:
    return f"{PREFIX}ready"


def viewers_line(count: int) -> str:
    return f"{PREFIX}viewers {count}"


def audio_line(state: dict[str, object]) -> str:
    """The producer's audio: ``{listening, speaking, muted, volume}``, or ``{off: why}``."""
    return f"{PREFIX}audio {json.dumps(state, separators=(',', ':'))}"


def fatal_line(reason: str) -> str:
    return f"{PREFIX}fatal {' '.join(reason.split())}"


def classify_status_line(line: str) -> Signal | None:
    """Read one line of our producer's output."""
    if not line.startswith(PREFIX):
        return None
    kind, _, rest = line[len(PREFIX) :].strip().partition(" ")
    if kind == "ready":
        return Signal("ready")
    if kind == "viewers" and rest.isdigit():
        return Signal("viewers", int(rest))
    if kind in ("fatal", "error"):
        return Signal(kind, rest or kind)
    if kind == "audio" and rest.startswith("{"):
        return Signal("audio", rest)
    return None


# The KVS C SDK sample (kvsWebRTCClientMasterGstreamerSample.c and the SDK's logger).
# Older releases print "Channel <name> set up done"; newer ones "Signaling client connection
# to socket established". "New connection state N" is RTC_PEER_CONNECTION_STATE: 3 is
# CONNECTED, 4 DISCONNECTED, 5 FAILED, 6 CLOSED.
_SAMPLE_READY = re.compile(
    r"set up done|Signaling client connection to socket established|Signaling Connect\]"
)
_SAMPLE_STATE = re.compile(r"New connection state (\d+)")
_SAMPLE_FATAL = re.compile(r"Terminated with status code (0x[0-9a-fA-F]+)|must be set")
_SAMPLE_ERROR = re.compile(r"(\w+\(\)): operation returned status code: (0x[0-9a-fA-F]+)")
_CONNECTED, _GONE = 3, (5, 6)


class SampleLogReader:
    """A classifier for the C sample's log; it counts viewers from connection states."""

    def __init__(self) -> None:
        self.viewers = 0

    def __call__(self, line: str) -> Signal | None:
        if _SAMPLE_READY.search(line):
            return Signal("ready")
        state = _SAMPLE_STATE.search(line)
        if state:
            # The log names no peer: count CONNECTED up and FAILED/CLOSED down (DISCONNECTED
            # is followed by one of those, or by CONNECTED again after an ICE restart).
            code = int(state.group(1))
            if code == _CONNECTED:
                self.viewers += 1
            elif code in _GONE:
                self.viewers = max(0, self.viewers - 1)
            else:
                return None
            return Signal("viewers", self.viewers)
        fatal = _SAMPLE_FATAL.search(line)
        if fatal:
            return Signal("fatal", line.strip())
        error = _SAMPLE_ERROR.search(line)
        if error:
            return Signal("error", f"{error.group(1)} returned {error.group(2)}")
        return None
