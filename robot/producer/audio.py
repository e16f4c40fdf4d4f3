"""The robot's two-way audio: its microphone to every viewer, one operator to its speaker.

One loop on the microphone's clock, as a full-duplex sound card runs: every 20 ms the
microphone gives a frame; the speaker is handed the same length of the operator's voice
(silence when nobody speaks), scaled by the volume and passed through WebRTC's limiter (AGC2's
limiter stage, so nothing clips); the microphone's frame then goes through WebRTC's audio
processing (AEC3 echo cancellation against exactly what the speaker was given, noise
suppression, automatic gain: ``pywebrtc-audio``) and on to every viewer's track. One clock
keeps the canceller's reference aligned with what the speaker plays.

Devices are found by name in the entry point group ``telepresence_robot.audio``: a factory
``create(options: dict) -> AudioDevices`` (``alsa``, robot/producer/alsa.py; the simulator's
room, sim/robot/room.py).

Only one operator is played at a time: the first whose console may drive (``may_speak``)
and whose microphone sends sound; the next one once that has been quiet for ``HOLD_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import MediaStreamError

from robot.contracts.cameras import AUDIO_GROUP
from robot.contracts.protocol import Command

log = logging.getLogger(__name__)

RATE = 48_000  # Opus's own rate: nothing is resampled on the way to the encoder
FRAME = RATE // 50  # 20 ms, one Opus packet
TIME_BASE = fractions.Fraction(1, RATE)
# What the speaker may lag behind the operator: past this the oldest is dropped, so a burst
# from the network never turns into a growing delay.
# aiortc's receiver holds four packets already (its jitter buffer's prefetch).
MAX_PLAYBACK_S = 0.06
PREBUFFER = 2  # frames
# Frames a viewer's track holds when it is not read fast enough (the oldest go first): what
# piles up before its connection starts reading would otherwise stay as delay.
MAX_QUEUED_FRAMES = 2
DEFAULT_VOLUME = 70
MAX_GAIN_DB = 50.0
# An operator holds the speaker until their sound stops for this long (the microphone turned
# off sends silence; a closed page sends nothing); then the next one who speaks has it.
HOLD_S = 0.5
SILENT = 64  # the peak below which a frame is silence (of 32767)


def _chime() -> np.ndarray:
    """Two soft notes rising (E6, then A6), 0.3 s: a sound, not a signal to process."""
    notes = []
    for hz in (1318.5, 1760.0):
        t = np.arange(round(0.15 * RATE)) / RATE
        notes.append(np.sin(2 * np.pi * hz * t) * np.exp(-t * 18) * 0.25 * 32767)
    whole = np.concatenate(notes)
    return np.pad(whole, (0, -len(whole) % FRAME)).astype(np.float32)


CHIME = _chime()
# Even at volume 0 the room hears that someone listens.
MIN_CHIME_GAIN = 0.3


class AudioError(RuntimeError):
    pass


class Microphone(Protocol):
    async def read(self) -> np.ndarray:
        """The next 20 ms (``FRAME`` int16 samples, mono, ``RATE``), when the device has it."""

    def close(self) -> None: ...


class Speaker(Protocol):
    def play(self, samples: np.ndarray) -> None:
        """Play ``FRAME`` int16 samples (mono, ``RATE``) after those played before."""

    def close(self) -> None: ...


@dataclass
class AudioDevices:
    microphone: Microphone
    speaker: Speaker
    # How long after the speaker is given a sample the microphone hears it (its buffers): a
    # hint for the canceller, which finds the delay itself too.
    echo_delay_ms: int = 0

    def close(self) -> None:
        self.microphone.close()
        self.speaker.close()


class Processing(StrEnum):
    """What the microphone's sound goes through (``AUDIO_OPTIONS`` ``processing``)."""

    FULL = "full"  # echo cancellation, noise suppression, automatic gain
    NO_ECHO_CANCELLER = "no-echo-canceller"  # noise suppression and gain only
    NONE = "none"  # as the microphone heard it


def names() -> list[str]:
    return sorted(entry.name for entry in entry_points(group=AUDIO_GROUP))


def open_devices(name: str, options: dict[str, Any]) -> AudioDevices:
    found = entry_points(group=AUDIO_GROUP, name=name)
    if not found:
        raise AudioError(f"no audio devices {name!r}; installed: {', '.join(names())}")
    return next(iter(found)).load()(dict(options))


class Volume:
    """The speaker's volume, 0-100 %, kept in a file so the robot keeps it across restarts."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.level = DEFAULT_VOLUME
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                self.level = min(100, max(0, int(path.read_text().strip())))

    def set(self, level: int) -> None:
        if not 0 <= level <= 100:
            raise ValueError(f"volume {level} is outside 0..100")
        self.level = level
        if self.path is not None:
            self.path.write_text(f"{level}\n")

    @property
    def gain(self) -> float:
        return self.level / 100


class AudioEngine:
    """Runs the devices (``run``) and hands out viewers' tracks (``track``)."""

    def __init__(
        self,
        devices: AudioDevices,
        volume: Volume,
        processing: Processing = Processing.FULL,
        on_change: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        from pywebrtc_audio import AudioProcessor, GainController

        self.devices = devices
        self.volume = volume
        # Each is told the state whenever it changes (telemetry, consoles, the status light).
        self.listeners: list[Callable[[dict[str, Any]], None]] = [on_change] if on_change else []
        self._chime: deque[np.ndarray] = deque()  # frames of the chime still to play
        self.processor = (
            None
            if processing is Processing.NONE
            else AudioProcessor(
                sample_rate=RATE,
                echo_cancellation=processing is Processing.FULL,
                noise_suppression=True,
                auto_gain_control=True,
                # Enough for a quiet microphone across a room; more lifts what the canceller
                # left of the speaker's echo back up to speech level.
                agc_max_gain_db=MAX_GAIN_DB,
                stream_delay_ms=devices.echo_delay_ms,
            )
        )
        # AGC2 with no adaptive gain is its limiter alone: the volume's level, never clipped.
        self.limiter = GainController(sample_rate=RATE, adaptive_digital=False)
        self.muted = False  # the robot's microphone, muted at the robot or by an operator
        self._tracks: set[RoomTrack] = set()
        self._playback: deque[np.ndarray] = deque(maxlen=round(MAX_PLAYBACK_S * 50))
        self._voices: dict[str, asyncio.Task[None]] = {}  # each peer's incoming track
        self._speaker_peer: str | None = None
        self._last_speaker: str | None = None
        self._flowing = False  # the speaker plays from the buffer (not waiting for it to fill)

    @property
    def state(self) -> dict[str, Any]:
        return {
            "listening": len(self._tracks),
            "speaking": self._speaker_peer is not None,
            "muted": self.muted,
            "volume": self.volume.level,
        }

    def _changed(self) -> None:
        state = self.state
        for listener in self.listeners:
            listener(state)

    def set_muted(self, muted: bool) -> None:
        if muted != self.muted:
            self.muted = muted
            if muted:  # what the microphone heard before is not sent either
                for track in self._tracks:
                    track.flush()
            self._changed()

    def set_volume(self, level: int) -> None:
        self.volume.set(level)
        self._changed()

    def command(self, command: Command) -> None:
        """Apply an admitted ``audio`` command (robot/contracts/protocol.py)."""
        if command.volume is not None:
            self.set_volume(command.volume)
        if command.mic is not None:
            self.set_muted(not command.mic)

    async def run(self) -> None:
        """Until cancelled; the devices are closed at the end."""
        try:
            while True:
                heard = await self.devices.microphone.read()
                played = self._next_playback()
                self.devices.speaker.play(played)
                self._send(self._process(heard, played))
        finally:
            for task in self._voices.values():
                task.cancel()
            self.devices.close()

    def chime(self) -> None:
        """Tell the room, on the speaker, that an operator starts listening or speaking."""
        self._chime.extend(CHIME.reshape(-1, FRAME))

    def _next_playback(self) -> np.ndarray:
        sound = np.zeros(FRAME, np.float32)
        # After running dry, wait for PREBUFFER frames: one late packet, not a gap per frame.
        if len(self._playback) >= (1 if self._flowing else PREBUFFER):
            self._flowing = True
            sound += self._playback.popleft() * self.volume.gain
        else:
            self._flowing = False
        if self._chime:
            sound += self._chime.popleft() * max(self.volume.gain, MIN_CHIME_GAIN)
        if not sound.any():
            return np.zeros(FRAME, np.int16)
        return self.limiter.process(np.clip(sound, -32768, 32767).astype(np.int16))

    def _process(self, heard: np.ndarray, played: np.ndarray) -> np.ndarray:
        """``played``: what the speaker was given this very tick, the canceller's reference."""
        if self.muted:
            return np.zeros(FRAME, np.int16)
        if self.processor is None:
            return heard
        return self.processor.process(heard, played)

    def _send(self, samples: np.ndarray) -> None:
        for track in list(self._tracks):
            track.put(samples)

    def track(self) -> RoomTrack:
        """A new track of the robot's microphone for one viewer."""
        track = RoomTrack(self)
        self._tracks.add(track)
        self.chime()  # the room hears that someone listens now
        self._changed()
        return track

    def track_ended(self, track: RoomTrack) -> None:
        if track in self._tracks:
            self._tracks.discard(track)
            self._changed()

    def attach(self, pc: RTCPeerConnection, peer: str, may_speak: Callable[[], bool]) -> None:
        """Give a viewer's connection, before its offer is applied, the robot's microphone
        (Opus) and take the operator's microphone it sends."""
        transceiver = pc.addTransceiver(self.track(), direction="sendrecv")
        transceiver.setCodecPreferences(
            [
                codec
                for codec in RTCRtpSender.getCapabilities("audio").codecs
                if codec.mimeType == "audio/opus"
            ]
        )
        pc.on(
            "track",
            lambda track: track.kind == "audio" and self.listen(peer, track, may_speak),
        )

    def listen(self, peer: str, track: MediaStreamTrack, may_speak: Callable[[], bool]) -> None:
        """Take a viewer's microphone track; it is played while ``may_speak()`` holds and no
        other operator is being played."""
        old = self._voices.pop(peer, None)
        if old is not None:
            old.cancel()
        self._voices[peer] = asyncio.create_task(self._receive(peer, track, may_speak))

    def forget(self, peer: str) -> None:
        """A viewer's connection closed."""
        task = self._voices.pop(peer, None)
        if task is not None:
            task.cancel()
        self._release(peer)

    async def _receive(
        self, peer: str, track: MediaStreamTrack, may_speak: Callable[[], bool]
    ) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = np.zeros(0, np.int16)
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        try:
            while True:
                try:
                    frame = await asyncio.wait_for(track.recv(), HOLD_S)
                except TimeoutError:  # its connection went quiet: a page closed, say
                    self._release(peer)
                    continue
                for converted in resampler.resample(frame):
                    pending = np.concatenate([pending, converted.to_ndarray().reshape(-1)])
                samples, pending = (
                    pending[: len(pending) // FRAME * FRAME],
                    pending[len(pending) // FRAME * FRAME :],
                )
                if not may_speak():
                    self._release(peer)
                    continue
                loud = np.abs(samples).max(initial=0) > SILENT
                if loud:
                    last_heard = loop.time()
                elif loop.time() - last_heard > HOLD_S:  # its microphone was turned off
                    self._release(peer)
                    continue
                if self._speaker_peer is None and loud:
                    self._speaker_peer = peer
                    log.info("playing the operator of viewer %s", peer)
                    if peer != self._last_speaker:  # not again after a pause of theirs
                        self.chime()
                    self._last_speaker = peer
                    self._changed()
                if self._speaker_peer == peer:
                    self._playback.extend(samples.reshape(-1, FRAME))
        except MediaStreamError:
            pass
        finally:
            self._release(peer)

    def _release(self, peer: str) -> None:
        if self._speaker_peer == peer:
            self._speaker_peer = None
            self._playback.clear()
            self._changed()


class RoomTrack(MediaStreamTrack):
    """One viewer's track of the robot's microphone, paced by the microphone."""

    kind = "audio"

    def __init__(self, engine: AudioEngine) -> None:
        super().__init__()
        self.engine = engine
        self._queue: asyncio.Queue[np.ndarray] = asyncio.Queue(MAX_QUEUED_FRAMES)
        self._pts = 0

    def flush(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    def put(self, samples: np.ndarray) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(samples)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        samples = await self._queue.get()
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        frame.time_base = TIME_BASE
        frame.pts = self._pts
        self._pts += len(samples)
        return frame

    def stop(self) -> None:
        super().stop()
        self.engine.track_ended(self)
