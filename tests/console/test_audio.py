"""Two-way audio in `robot sim`, in headless Chromium: the robot's room reaches the console
(a WebAudio analyser finds its tone), and the operator's fake microphone (a WAV file of a tone
that Chromium plays as its microphone) comes out of the simulated speaker at the volume the
operator sets. Real aiortc, real Opus both ways, the real audio processing on the robot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim.robot.room import read_wav, tone
from tests.support.audio import (
    peak_hz,
    played_since,
    rms,
    set_volume,
    speaking,
    write_wav,
)
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
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The operator's voice is a tone."""
    folder = tmp_path_factory.mktemp("operator")
    with speaking(write_wav(folder / "tone.wav", tone(OPERATOR_HZ, 0.5, seconds=5.0))) as running:
        yield running


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
        before = played_since(recording, len(read_wav(recording)), 0.5)
        assert abs(peak_hz(before) - OPERATOR_HZ) > 50 or rms(before) < 30  # mic still off
        page.click("#mic")
        loud = steady_tone_level(recording)
        set_volume(page, 50)
        assert 0.4 < steady_tone_level(recording) / loud < 0.6
        said = stack.wait_for_telemetry(
            lambda m: (m.get("audio") or {}).get("volume") == 50 and m["audio"]["speaking"],
            timeout=10,
        )
        assert said["audio"]["listening"] >= 1
    finally:
        page.close()


# How loud the robot's audio plays in the page, as the root mean square of its latest 21 ms
# (full scale 1), polled every 5 ms from a click on ``button`` until it is below ``quiet``:
# the milliseconds that took, or null after 3 s (benchmarks/audio.py reports the figure).
SILENCED_MS = """async ([button, quiet]) => {
  const element = document.getElementById("room");
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(element.srcObject).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const level = () => {
    analyser.getFloatTimeDomainData(samples);
    return Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
  };
  const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  while (level() < quiet * 10) await wait(5); // the room plays
  const clicked = performance.now();
  document.getElementById(button).click();
  while (performance.now() - clicked < 3000) {
    if (level() < quiet) return performance.now() - clicked;
    await wait(5);
  }
  return null;
}"""


def test_muting_the_robots_microphone_silences_the_console(
    browser: Any, stack: RecordingStack
) -> None:
    page = open_console(browser, console_url(stack))
    try:
        page.wait_for_function("() => !document.getElementById('robot-mic').disabled")
        assert page.evaluate(SILENCED_MS, ["robot-mic", 0.002]) is not None
        page.wait_for_function(
            "() => document.getElementById('robot-mic').textContent === \"Robot's microphone on\""
        )
    finally:
        page.click("#robot-mic")  # on again for the other tests
        page.wait_for_function(
            "() => document.getElementById('robot-mic').textContent === \"Robot's microphone off\""
        )
        page.close()


def test_muting_the_operators_microphone_silences_the_speaker(
    browser: Any, stack: RecordingStack
) -> None:
    recording = stack.robot.speaker_file
    page = open_console(browser, console_url(stack))
    try:
        page.wait_for_function("() => !document.getElementById('volume').disabled")
        set_volume(page, 100)
        page.click("#mic")
        steady_tone_level(recording)
        before = len(read_wav(recording))
        page.click("#mic")  # off
        # Silence within the second, and for the second after it (benchmarks/audio.py
        # measures how soon, beside the 200 ms).
        after = played_since(recording, before, 2.0).astype(np.float64)
        frames = after.reshape(-1, 480)  # 10 ms each
        loud = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 30)
        assert loud.size == 0 or loud[-1] < 100, loud[-3:]
    finally:
        page.close()
