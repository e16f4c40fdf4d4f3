"""The audio engine on the simulated room, in real time: real WebRTC audio processing
(pywebrtc-audio's AEC3, noise suppression, AGC2 and its limiter), the room's echo path, the
speaker's recording."""

from __future__ import annotations

import asyncio
import fractions
import time
from pathlib import Path

import av
import numpy as np
from aiortc import MediaStreamTrack

from robot.contracts import protocol
from robot.producer.audio import FRAME, RATE, AudioEngine, Processing, Volume
from sim.robot import room
from sim.robot.room import read_wav, tone


def peak_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float32) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


class VoiceTrack(MediaStreamTrack):
    """An operator's microphone saying ``samples`` over and over, in 20 ms stereo frames as
    aiortc's decoder gives them."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self.samples = samples
        self.at = 0
        self.start: float | None = None

    async def recv(self) -> av.AudioFrame:
        self.start = self.start or time.monotonic()
        due = self.start + self.at / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        index = np.arange(self.at, self.at + FRAME) % len(self.samples)
        stereo = np.repeat(self.samples[index], 2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = RATE
        frame.time_base = fractions.Fraction(1, RATE)
        frame.pts = self.at
        self.at += FRAME
        return frame


async def collect(track: MediaStreamTrack, seconds: float) -> np.ndarray:
    """``seconds`` of a viewer's track, or a failure naming why the engine stopped."""
    chunks = []
    async with asyncio.timeout(seconds * 3 + 5):
        for _ in range(round(seconds * 50)):
            frame = await track.recv()
            chunks.append(frame.to_ndarray().reshape(-1))
    return np.concatenate(chunks)


def engine_in(
    tmp_path: Path, processing: Processing = Processing.FULL, **options: object
) -> AudioEngine:
    devices = room.create({"recording": str(tmp_path / "speaker.wav"), **options})
    return AudioEngine(devices, Volume(tmp_path / "volume"), processing)


async def test_the_rooms_tone_reaches_a_viewers_track(tmp_path: Path) -> None:
    engine = engine_in(tmp_path, tone_hz=660)
    running = asyncio.create_task(engine.run())
    try:
        heard = await collect(engine.track(), 1.5)
    finally:
        running.cancel()
    assert abs(peak_hz(heard[RATE // 2 :]) - 660) < 10
    assert rms(heard[RATE // 2 :]) > 1000


async def test_the_operator_is_played_at_the_volume_and_never_clipped(tmp_path: Path) -> None:
    engine = engine_in(tmp_path, programme="silence")
    engine.set_volume(50)
    running = asyncio.create_task(engine.run())
    try:
        engine.listen("viewer#1", VoiceTrack(tone(1000, 0.4)), lambda: True)
        await asyncio.sleep(1.0)
        engine.set_volume(100)
        engine.listen("viewer#1", VoiceTrack(tone(1000, 1.0)), lambda: True)  # full scale, boosted
        await asyncio.sleep(1.0)
    finally:
        running.cancel()
        await asyncio.sleep(0)
    played = read_wav(tmp_path / "speaker.wav")
    half = played[int(RATE * 0.4) : int(RATE * 0.9)]  # after the chime
    assert abs(peak_hz(half) - 1000) < 10
    # Half the volume: half the tone's amplitude (0.4 of full scale, so rms 0.4 / 2 / sqrt 2).
    assert abs(rms(half) / (0.4 * 32767 / 2 / np.sqrt(2)) - 1) < 0.1
    assert np.abs(played).max() < 32767
    assert Volume(tmp_path / "volume").level == 100  # kept for the next start


async def test_only_an_operator_who_may_speak_is_played(tmp_path: Path) -> None:
    engine = engine_in(tmp_path, programme="silence")
    running = asyncio.create_task(engine.run())
    try:
        engine.listen("watcher#1", VoiceTrack(tone(1000, 0.4)), lambda: False)
        await asyncio.sleep(0.6)
        assert not engine.state["speaking"]
    finally:
        running.cancel()
        await asyncio.sleep(0)
    assert rms(read_wav(tmp_path / "speaker.wav")) == 0


async def test_muting_the_microphone_silences_the_next_frame(tmp_path: Path) -> None:
    engine = engine_in(tmp_path)
    running = asyncio.create_task(engine.run())
    track = engine.track()
    try:
        await collect(track, 0.3)
        engine.command(protocol.parse('{"action": "audio", "mic": false}'))
        await track.recv()  # one frame may have been made before
        assert rms(await collect(track, 0.2)) == 0
        assert engine.state["muted"]
    finally:
        running.cancel()


async def test_the_room_hears_a_chime_when_someone_starts_listening(tmp_path: Path) -> None:
    engine = engine_in(tmp_path, programme="silence")
    engine.set_volume(0)  # the chime plays all the same
    running = asyncio.create_task(engine.run())
    try:
        await collect(engine.track(), 0.6)
    finally:
        running.cancel()
        await asyncio.sleep(0)
    played = read_wav(tmp_path / "speaker.wav")
    assert rms(played) > 300
    assert abs(peak_hz(played) - 1318.5) < 20 or abs(peak_hz(played) - 1760) < 20
