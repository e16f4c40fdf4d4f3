"""Two-way audio in the browser tests: Chromium with a fake microphone, the simulated
speaker's recording, the console's volume slider."""

from __future__ import annotations

import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from robot.producer.audio import RATE
from sim.robot.room import read_wav
from tests.support.browser import chromium


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(samples.tobytes())
    return path


def speaking(microphone: Path) -> Any:
    """Chromium whose fake microphone loops the WAV file ``microphone``."""
    flags = (
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--use-fake-ui-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
    )
    return chromium(flags=flags)


def peak_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float32) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def played_since(recording: Path, start: int, seconds: float, timeout: float = 20) -> np.ndarray:
    """``seconds`` of what the speaker played from sample ``start`` on, once it has."""
    deadline = time.monotonic() + timeout
    wanted = start + round(seconds * RATE)
    while time.monotonic() < deadline:
        played = read_wav(recording)
        if len(played) >= wanted:
            return played[start:wanted]
        time.sleep(0.1)
    raise AssertionError(f"the speaker played {len(played) - start} samples of {wanted - start}")


def speaker_plays(recording: Path, timeout: float = 20) -> None:
    """Return once the speaker plays sound (half a second of it above a whisper)."""
    deadline = time.monotonic() + timeout
    at = len(read_wav(recording))
    while time.monotonic() < deadline:
        window = played_since(recording, at, 0.5)
        at += len(window)
        if rms(window) > 100:
            return
    raise AssertionError("the speaker played nothing")


def set_volume(page: Any, level: int) -> None:
    """Move the volume slider as an operator does; return once the robot says it is set."""
    page.evaluate(
        "(level) => { const slider = document.getElementById('volume'); slider.value = level;"
        " slider.dispatchEvent(new Event('change')); }",
        level,
    )
    page.wait_for_function(
        f"() => document.getElementById('volume-value').textContent === '{level} %'"
    )
