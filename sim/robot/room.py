"""The simulated robot's room: a microphone that hears a known programme and the robot's own
speaker, and a speaker that records what it plays.

The microphone hears, every 20 ms on the loop's clock: the programme (a tone, or speech that
``espeak-ng`` says into a WAV file, looped) plus what the speaker played ``echo_delay_ms``
earlier times ``echo_gain`` (the room's echo path; gain 0: none). The speaker writes all it
plays into a WAV file (``recording``), which tests and benchmarks read.

Registered as the audio devices ``sim`` (entry point group ``telepresence_robot.audio``), with
the options (``AUDIO_OPTIONS``): ``programme`` (``tone``, ``speech``, ``silence``),
``tone_hz`` (440), ``level`` (0.3 of full scale), ``text`` (what ``speech`` says),
``echo_delay_ms`` (40), ``echo_gain`` (0.5), ``recording`` (a WAV path, or none).
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import wave
from collections import deque
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from robot.producer.audio import FRAME, RATE, AudioDevices

FRAME_S = FRAME / RATE
DEFAULT_TEXT = "This is the robot's room. Can you hear me?"


class Programme(StrEnum):
    TONE = "tone"
    SPEECH = "speech"
    SILENCE = "silence"


def tone(hz: float, level: float, seconds: float = 1.0) -> np.ndarray:
    """A whole number of periods' worth of a sine (so that it loops without a click)."""
    count = round(seconds * RATE)
    t = np.arange(count) / RATE
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype(np.int16)


def speech(text: str) -> np.ndarray:
    """``text`` as espeak-ng says it, at ``RATE`` (sox converts it)."""
    with tempfile.TemporaryDirectory() as folder:
        said, converted = Path(folder) / "said.wav", Path(folder) / "converted.wav"
        subprocess.run(["espeak-ng", "-w", str(said), text], check=True, capture_output=True)
        subprocess.run(
            ["sox", str(said), "-r", str(RATE), "-c", "1", "-b", "16", str(converted)],
            check=True,
            capture_output=True,
        )
        return read_wav(converted)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as file:
        return np.frombuffer(file.readframes(file.getnframes()), np.int16).copy()


class RoomSpeaker:
    """Plays into the room's echo path, and records into a WAV file."""

    def __init__(self, room: Room, recording: Path | None) -> None:
        self.room = room
        self._file: wave.Wave_write | None = None
        if recording is not None:
            # Unbuffered: wave patches the header at each write, so the file is always whole.
            self._file = wave.open(open(recording, "wb", buffering=0), "wb")  # noqa: SIM115
            self._file.setnchannels(1)
            self._file.setsampwidth(2)
            self._file.setframerate(RATE)

    def play(self, samples: np.ndarray) -> None:
        self.room.echo.append(samples)
        if self._file is not None:
            self._file.writeframes(samples.tobytes())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RoomMicrophone:
    """Hears the programme and the echo, paced by the loop's clock."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self._next: float | None = None

    async def read(self) -> np.ndarray:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._next is None or now - self._next > 1.0:  # first, or the loop was stalled
            self._next = now
        await asyncio.sleep(max(0.0, self._next - now))
        self._next += FRAME_S
        return self.room.heard()

    def close(self) -> None:
        pass


class Room:
    def __init__(self, programme: np.ndarray, echo_delay_ms: float, echo_gain: float) -> None:
        self.programme = programme
        self.echo_gain = echo_gain
        delay_frames = max(1, round(echo_delay_ms / 1000 / FRAME_S))
        # What the speaker played, oldest first: each tick the microphone hears the oldest,
        # then the speaker adds one.
        self.echo: deque[np.ndarray] = deque(
            [np.zeros(FRAME, np.int16)] * delay_frames, maxlen=delay_frames
        )
        self._at = 0

    def heard(self) -> np.ndarray:
        wanted = np.arange(self._at, self._at + FRAME) % len(self.programme)
        self._at = (self._at + FRAME) % len(self.programme)
        sound = self.programme[wanted].astype(np.float32)
        if self.echo:
            sound += self.echo.popleft().astype(np.float32) * self.echo_gain
        return np.clip(sound, -32768, 32767).astype(np.int16)


def programme_from(options: dict[str, Any]) -> np.ndarray:
    kind = Programme(options.get("programme", Programme.TONE))
    level = float(options.get("level", 0.3))
    if kind is Programme.TONE:
        return tone(float(options.get("tone_hz", 440)), level)
    if kind is Programme.SPEECH:
        said = speech(str(options.get("text", DEFAULT_TEXT))).astype(np.float32)
        peak = max(1.0, float(np.abs(said).max()))
        return (said / peak * level * 32767).astype(np.int16)
    return np.zeros(FRAME, np.int16)


def create(options: dict[str, Any]) -> AudioDevices:
    """The audio devices ``sim``: a room with the options above."""
    delay_ms = float(options.get("echo_delay_ms", 40))
    room = Room(programme_from(options), delay_ms, float(options.get("echo_gain", 0.5)))
    recording = options.get("recording")
    speaker = RoomSpeaker(room, Path(recording) if recording else None)
    return AudioDevices(RoomMicrophone(room), speaker, echo_delay_ms=round(delay_ms))
