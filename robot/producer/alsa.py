"""A Raspberry Pi's microphone and speaker through ALSA, with PyAV (FFmpeg's ``alsa`` formats).

The audio devices ``alsa`` (``AUDIO_DEVICES``), with the options (``AUDIO_OPTIONS``):
``microphone`` and ``speaker`` (ALSA device names, ``default``; ``arecord -L`` and
``aplay -L`` list them: ``plughw:CARD=Device,DEV=0`` for a USB adapter, say),
``microphone_gain_db`` (0) and ``echo_delay_ms`` (the devices' buffers, 40).

Both devices block, so each runs in a thread of its own: the microphone's fills a queue the
loop reads; the speaker's drains one the loop fills (the oldest dropped when it is behind).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from typing import Any

import av
import numpy as np

from robot.producer.audio import FRAME, RATE, AudioDevices, AudioError

log = logging.getLogger(__name__)

QUEUED_FRAMES = 10  # 200 ms


class AlsaMicrophone:
    def __init__(self, device: str, gain_db: float) -> None:
        self.device = device
        self.gain = 10 ** (gain_db / 20)
        try:
            self._input = av.open(
                device, format="alsa", options={"sample_rate": str(RATE), "channels": "1"}
            )
        except (av.FFmpegError, OSError) as exc:
            raise AudioError(f"cannot open the microphone {device!r}: {exc}") from exc
        self._loop = asyncio.get_running_loop()
        self._frames: asyncio.Queue[np.ndarray | None] = asyncio.Queue(QUEUED_FRAMES)
        self._thread = threading.Thread(target=self._capture, name="microphone", daemon=True)
        self._thread.start()

    def _capture(self) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        pending = np.zeros(0, np.int16)
        try:
            for frame in self._input.decode(audio=0):
                for converted in resampler.resample(frame):
                    pending = np.concatenate([pending, converted.to_ndarray().reshape(-1)])
                while len(pending) >= FRAME:
                    chunk, pending = pending[:FRAME], pending[FRAME:]
                    scaled = np.clip(chunk.astype(np.float32) * self.gain, -32768, 32767)
                    self._loop.call_soon_threadsafe(self._put, scaled.astype(np.int16))
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("microphone %s: %s", self.device, exc)
        self._loop.call_soon_threadsafe(self._put, None)

    def _put(self, frame: np.ndarray | None) -> None:
        if self._frames.full():
            self._frames.get_nowait()
        self._frames.put_nowait(frame)

    async def read(self) -> np.ndarray:
        frame = await self._frames.get()
        if frame is None:
            raise AudioError(f"the microphone {self.device!r} stopped")
        return frame

    def close(self) -> None:
        with contextlib.suppress(av.FFmpegError, OSError):
            self._input.close()


class AlsaSpeaker:
    def __init__(self, device: str) -> None:
        self.device = device
        try:
            self._output = av.open(device, mode="w", format="alsa")
            self._stream = self._output.add_stream("pcm_s16le", rate=RATE, layout="mono")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise AudioError(f"cannot open the speaker {device!r}: {exc}") from exc
        self._frames: queue.Queue[np.ndarray | None] = queue.Queue(QUEUED_FRAMES)
        self._thread = threading.Thread(target=self._playback, name="speaker", daemon=True)
        self._thread.start()

    def play(self, samples: np.ndarray) -> None:
        with contextlib.suppress(queue.Full):
            self._frames.put_nowait(samples)

    def _playback(self) -> None:
        pts = 0
        try:
            while (samples := self._frames.get()) is not None:
                frame = av.AudioFrame.from_ndarray(
                    samples.reshape(1, -1), format="s16", layout="mono"
                )
                frame.sample_rate = RATE
                frame.pts = pts
                pts += len(samples)
                for packet in self._stream.encode(frame):
                    self._output.mux(packet)
        except (av.FFmpegError, OSError, ValueError) as exc:
            log.warning("speaker %s: %s", self.device, exc)

    def close(self) -> None:
        with contextlib.suppress(queue.Full):
            self._frames.put_nowait(None)
        self._thread.join(timeout=1)
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            self._output.close()


def create(options: dict[str, Any]) -> AudioDevices:
    """The audio devices ``alsa``; must be called on the producer's loop."""
    microphone = AlsaMicrophone(
        str(options.get("microphone", "default")), float(options.get("microphone_gain_db", 0))
    )
    try:
        speaker = AlsaSpeaker(str(options.get("speaker", "default")))
    except AudioError:
        microphone.close()
        raise
    return AudioDevices(microphone, speaker, echo_delay_ms=int(options.get("echo_delay_ms", 40)))
