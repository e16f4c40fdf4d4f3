"""Two-way audio in `robot sim`, in headless Chromium: the robot's room reaches the console
(a WebAudio analyser finds its tone), and the operator's fake microphone (a WAV file of a tone
that Chromium plays as its microphone) comes out of the simulated speaker at the volume the
operator sets. Real aiortc, real Opus both ways, the real audio processing on the robot."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from robot.producer.audio import RATE
from sim.robot.room import read_wav, tone
from tests.support.browser import chromium
from tests.support.console import console_url, open_console
from tests.support.stack import RecordingStack

ROOM_HZ = 440  # the simulated room's default programme
OPERATOR_HZ = 1000

# The peak of the analyser's spectrum of the robot's audio, in Hz, or null before it plays.
PEAK_HZ = """async () => {
  const element = document.getElementById("room");
  if (!element.srcObject) return null;
  if (!window.roomAnalyser) {
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    context.createMediaStreamSource(element.srcObject).connect(analyser);
    window.roomAnalyser = analyser;
  }
  const analyser = window.roomAnalyser;
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i += 1) if (bins[i] > bins[best]) best = i;
  if (bins[best] < -70) return null; // silence
  return (best * analyser.context.sampleRate) / analyser.fftSize;
}"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    with RecordingStack(tmp_path_factory.mktemp("sim"), port=0) as running:
        yield running


@pytest.fixture(scope="module")
def microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's voice: a tone, which Chromium loops as its fake microphone."""
    path = tmp_path_factory.mktemp("operator") / "tone.wav"
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(tone(OPERATOR_HZ, 0.5, seconds=5.0).tobytes())
    return path


@pytest.fixture(scope="module")
def browser(microphone: Path) -> Iterator[Any]:
    flags = (
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--use-fake-ui-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
    )
    with chromium(flags=flags) as running:
        yield running


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


def steady_tone_level(recording: Path, timeout: float = 30) -> float:
    """The level of the operator's tone on the speaker once it holds (two half-seconds in a
    row within 5 %): the browser's own noise suppression and gain take a second to settle."""
    deadline = time.monotonic() + timeout
    at = len(read_wav(recording))
    last = 0.0
    while time.monotonic() < deadline:
        window = played_since(recording, at, 0.5)
        at += len(window)
        level = rms(window) if abs(peak_hz(window) - OPERATOR_HZ) < 10 else 0.0
        if level > 100 and abs(level - last) < 0.05 * level:
            return level
        last = level
    raise AssertionError(f"the operator's tone never held on the speaker (last {last:.0f})")


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


def test_the_rooms_tone_reaches_the_console(browser: Any, stack: RecordingStack) -> None:
    page = open_console(browser, console_url(stack))
    try:
        found = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = page.evaluate(PEAK_HZ)
            if found is not None and abs(found - ROOM_HZ) < 15:
                break
            time.sleep(0.2)
        assert found is not None and abs(found - ROOM_HZ) < 15, found
    finally:
        page.close()


def test_the_operators_tone_comes_out_of_the_speaker_at_the_set_volume(
    browser: Any, stack: RecordingStack
) -> None:
    recording = stack.robot.speaker_file
    page = open_console(browser, console_url(stack))
    try:
        page.wait_for_function("() => !document.getElementById('volume').disabled")
        page.evaluate(
            "() => { const v = document.getElementById('volume'); v.value = 100;"
            " v.dispatchEvent(new Event('change')); }"
        )
        page.wait_for_function(
            "() => document.getElementById('volume-value').textContent === '100 %'"
        )
        assert rms(played_since(recording, len(read_wav(recording)), 0.5)) == 0  # mic still off
        page.click("#mic")
        loud = steady_tone_level(recording)
        set_volume(page, 50)
        assert 0.4 < steady_tone_level(recording) / loud < 0.6
    finally:
        page.close()
