"""Print two-way audio figures beside the issue's targets (a script, not a test):

- mouth to ear, each way, p50 and worst of ``--chirps``: a 100 ms chirp said into the
  simulated room reaches an aiortc viewer (real Opus over a loopback peer connection, the
  robot's full audio processing on the way); a chirp an aiortc operator sends comes out of the
  simulated speaker. Found by cross-correlation; 20 ms granularity (one frame). Target
  p50 <= 150 ms each way;
- echo return loss enhancement: the room's microphone hears the speaker at half its level
  40 ms later while an operator speaks (a speech-like chirp train); what the viewers get
  against what the microphone heard, after 2 s to converge. Target >= 25 dB;
- mute to silence at the other end, each way (target <= 200 ms);
- the engine's CPU per second of audio on this machine (the producer's share; its CPU and RSS
  with video as well: benchmarks/video.py's figures plus this).

    python benchmarks/audio.py [--chirps 10]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robot.producer.audio import FRAME, RATE, AudioEngine, Processing, Volume  # noqa: E402
from sim.robot import room  # noqa: E402

CHIRP_S = 0.1
GAP_S = 0.9


def chirp(level: float = 0.5) -> np.ndarray:
    t = np.arange(round(CHIRP_S * RATE)) / RATE
    f0, f1 = 300.0, 3000.0
    phase = 2 * np.pi * (f0 * t + (f1 - f0) / (2 * CHIRP_S) * t**2)
    return (np.sin(phase) * np.hanning(len(t)) * level * 32767).astype(np.int16)


def found_at(signal: np.ndarray, pattern: np.ndarray) -> int:
    """Where ``pattern`` best matches in ``signal`` (cross-correlation by FFT)."""
    size = len(signal) + len(pattern)
    spectrum = np.fft.rfft(signal.astype(np.float64), size) * np.conj(
        np.fft.rfft(pattern.astype(np.float64), size)
    )
    return int(np.argmax(np.fft.irfft(spectrum, size)[: len(signal)]))


class Timed:
    """Frames with the loop time each was made or played at."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.frames: list[np.ndarray] = []

    def add(self, samples: np.ndarray) -> None:
        self.times.append(asyncio.get_running_loop().time())
        self.frames.append(samples.reshape(-1))

    def when(self, pattern: np.ndarray, after: int = 0) -> float:
        """The loop time of the frame in which ``pattern`` starts, from frame ``after`` on."""
        signal = np.concatenate(self.frames[after:])
        return self.times[after + found_at(signal, pattern) // FRAME]


class OperatorTrack(MediaStreamTrack):
    """An operator's microphone: silence, and a chirp each time ``say`` is called."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self.pending = np.zeros(0, np.int16)
        self.sent = Timed()
        self.pts = 0
        self.start: float | None = None

    def say(self, samples: np.ndarray) -> None:
        self.pending = np.concatenate([self.pending, samples])

    async def recv(self) -> av.AudioFrame:
        loop = asyncio.get_running_loop()
        self.start = self.start or loop.time()
        await asyncio.sleep(max(0.0, self.start + self.pts / RATE - loop.time()))
        samples = np.zeros(FRAME, np.int16)
        taken = self.pending[:FRAME]
        samples[: len(taken)] = taken
        self.pending = self.pending[FRAME:]
        self.sent.add(samples)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.time_base, frame.pts = RATE, fractions.Fraction(1, RATE), self.pts
        self.pts += FRAME
        return frame


async def connect(engine: AudioEngine, operator: OperatorTrack) -> tuple[Any, Any, Any]:
    viewer, robot = RTCPeerConnection(), RTCPeerConnection()
    received: asyncio.Future = asyncio.get_running_loop().create_future()
    viewer.on("track", lambda track: received.done() or received.set_result(track))
    viewer.addTransceiver(operator, direction="sendrecv")
    engine.attach(robot, "operator", lambda: True)
    await viewer.setLocalDescription(await viewer.createOffer())
    await robot.setRemoteDescription(viewer.localDescription)
    await robot.setLocalDescription(await robot.createAnswer())
    await viewer.setRemoteDescription(robot.localDescription)
    return viewer, robot, await asyncio.wait_for(received, 10)


async def latencies(chirps: int) -> tuple[list[float], list[float]]:
    folder = Path(tempfile.mkdtemp())
    devices = room.create({"programme": "silence", "echo_gain": 0.0})
    the_room = devices.microphone.room
    heard, played = Timed(), Timed()
    read, play = devices.microphone.read, devices.speaker.play

    async def read_timed() -> np.ndarray:
        samples = await read()
        heard.add(samples)
        return samples

    def play_timed(samples: np.ndarray) -> None:
        played.add(samples)
        play(samples)

    devices.microphone.read, devices.speaker.play = read_timed, play_timed
    engine = AudioEngine(devices, Volume(folder / "volume"), Processing.FULL)
    engine.volume.level = 100
    running = asyncio.create_task(engine.run())
    operator = OperatorTrack()
    viewer, robot, track = await connect(engine, operator)
    received = Timed()

    async def receive() -> None:
        while True:
            frame = await track.recv()
            received.add(frame.to_ndarray().reshape(-1)[::2])  # stereo from the decoder

    receiving = asyncio.create_task(receive())
    pattern = chirp()
    to_operator, to_robot = [], []
    await asyncio.sleep(2.0)  # connected, the processing settled
    for _ in range(chirps):
        marks = (
            len(heard.frames),
            len(received.frames),
            len(played.frames),
            len(operator.sent.frames),
        )
        the_room.programme = np.concatenate([pattern, np.zeros(round(GAP_S * RATE), np.int16)])
        the_room._at = 0
        operator.say(pattern)
        await asyncio.sleep(CHIRP_S + GAP_S)
        the_room.programme = np.zeros(FRAME, np.int16)
        to_operator.append(received.when(pattern, marks[1]) - heard.when(pattern, marks[0]))
        to_robot.append(played.when(pattern, marks[2]) - operator.sent.when(pattern, marks[3]))
    muted = await mute_times(engine, the_room, operator, received, played)
    receiving.cancel()
    running.cancel()
    await viewer.close()
    await robot.close()
    return to_operator, to_robot, muted


async def mute_times(
    engine: AudioEngine, the_room: Any, operator: OperatorTrack, received: Timed, played: Timed
) -> tuple[float, float]:
    """From muting to silence at the other end: the robot's microphone (to the viewer), the
    operator's (to the speaker; a browser's muted track sends silence, as here)."""
    the_room.programme = room.tone(440, 0.3)
    operator.say(np.tile(room.tone(1000, 0.3), 3))
    await asyncio.sleep(1.5)
    loop = asyncio.get_running_loop()
    marks = len(received.frames), len(played.frames)
    at = loop.time()
    engine.set_muted(True)
    operator.pending = np.zeros(0, np.int16)
    await asyncio.sleep(1.0)
    engine.set_muted(False)
    the_room.programme = np.zeros(FRAME, np.int16)
    return silent_after(received, marks[0]) - at, silent_after(played, marks[1]) - at


def silent_after(timed: Timed, start: int) -> float:
    """The time of the first frame from ``start`` on after which every frame is silence."""
    loud = [i for i in range(start, len(timed.frames)) if np.abs(timed.frames[i]).max() > 64]
    return timed.times[(loud[-1] + 1) if loud else start]


async def erle() -> tuple[float, float]:
    """Echo return loss enhancement with the canceller, and without it (noise suppression and
    gain only), in dB, over the 2 s after 2 s of convergence."""
    figures = []
    for processing in (Processing.FULL, Processing.NO_ECHO_CANCELLER):
        devices = room.create({"programme": "silence", "echo_gain": 0.5, "echo_delay_ms": 40})
        engine = AudioEngine(devices, Volume(None), processing)
        engine.volume.level = 100
        heard = Timed()
        read = devices.microphone.read

        async def read_timed(read=read, heard=heard) -> np.ndarray:
            samples = await read()
            heard.add(samples)
            return samples

        devices.microphone.read = read_timed
        sent = engine.track()
        out = Timed()
        running = asyncio.create_task(engine.run())
        voice = OperatorTrack()
        # Speech-like: chirps of 100 ms, back to back, for the whole run.
        voice.say(np.tile(np.concatenate([chirp(0.4), chirp(0.4)[::-1]]), 25))
        engine.listen("operator", voice, lambda: True)
        for _ in range(200):  # 4 s
            out.add((await sent.recv()).to_ndarray())
        running.cancel()
        mic = np.concatenate(heard.frames[100:200]).astype(np.float64)
        clean = np.concatenate(out.frames[100:]).astype(np.float64)
        figures.append(10 * np.log10(np.mean(mic**2) / max(np.mean(clean**2), 1e-9)))
    return figures[0], figures[1]


def processing_cpu() -> float:
    """CPU seconds per second of audio for the robot's processing and limiter (one frame at a
    time, as the engine runs them)."""
    from pywebrtc_audio import AudioProcessor, GainController

    processor = AudioProcessor(
        sample_rate=RATE, echo_cancellation=True, noise_suppression=True, auto_gain_control=True
    )
    limiter = GainController(sample_rate=RATE, adaptive_digital=False)
    near = room.tone(440, 0.3, 10.0)
    far = room.tone(700, 0.3, 10.0)
    start = time.process_time()
    for at in range(0, len(near) - FRAME, FRAME):
        processor.process(near[at : at + FRAME], limiter.process(far[at : at + FRAME]))
    return (time.process_time() - start) / 10.0


def ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:.0f} ms, worst {max(values) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chirps", type=int, default=10)
    args = parser.parse_args()
    to_operator, to_robot, (robot_muted, operator_muted) = asyncio.run(latencies(args.chirps))
    with_canceller, without = asyncio.run(erle())
    cpu = processing_cpu()
    print(f"room -> operator, mouth to ear: {ms(to_operator)}   (target p50 <= 150 ms)")
    print(f"operator -> speaker, mouth to ear: {ms(to_robot)}   (target p50 <= 150 ms)")
    print(
        f"mute -> silence: the robot's microphone {robot_muted * 1000:.0f} ms at the viewer, "
        f"the operator's {operator_muted * 1000:.0f} ms at the speaker   (target <= 200 ms)"
    )
    print(
        f"ERLE after 2 s: {with_canceller:.1f} dB (without the canceller {without:.1f} dB)"
        "   (target >= 25 dB)"
    )
    print(f"audio processing: {cpu * 100:.1f} % of one core   (producer target <= 50 % with video)")


if __name__ == "__main__":
    main()
