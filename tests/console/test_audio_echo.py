"""The robot's echo canceller as the operator hears it: in `robot sim`'s room, whose
microphone hears the speaker at half its level 40 ms later, what comes back to the console of
the operator's own voice (Chromium's fake microphone saying speech from espeak-ng), with the
canceller against the same room without it. Its own module: Chromium's fake microphone is
one file per browser, and Playwright's sync API runs one browser at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.robot import room
from tests.support.audio import set_volume, speaker_plays, speaking, write_wav
from tests.support.console import console_url, open_console
from tests.support.stack import RecordingStack

# The robot's audio in the page over one second: its root mean square (full scale 1).
ROOM_LEVEL = """async () => {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  context.createMediaStreamSource(document.getElementById("room").srcObject).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < 25; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 40));
    analyser.getFloatTimeDomainData(samples);
    for (const x of samples) sum += x * x;
    count += samples.length;
  }
  return Math.sqrt(sum / count);
}"""


def operators_echo(browser: Any, folder: Path, processing: str) -> float:
    """What the operator hears of their own tone through a room whose speaker the robot's
    microphone hears at half its level, 40 ms later, after 3 s for the canceller."""
    settings = {
        "AUDIO_OPTIONS": {
            "programme": "silence",
            "echo_gain": 0.5,
            "echo_delay_ms": 40,
            "recording": str(folder / "speaker.wav"),
        },
        "AUDIO_PROCESSING": processing,
    }
    with RecordingStack(folder, port=0, robot_settings=settings) as in_room:
        page = open_console(browser, console_url(in_room))
        try:
            page.wait_for_function("() => !document.getElementById('volume').disabled")
            set_volume(page, 100)
            page.click("#mic")
            speaker_plays(in_room.robot.speaker_file)
            page.wait_for_timeout(3000)  # the canceller converges (the bound: 2 s)
            return page.evaluate(ROOM_LEVEL)
        finally:
            page.close()


def test_the_echo_canceller_keeps_the_operators_voice_from_coming_back(tmp_path: Path) -> None:
    # Speech, not a tone: an adaptive filter fed one frequency finds no single echo path.
    said = room.speech("The operator speaks through the robot, and hears the room.")
    with speaking(write_wav(tmp_path / "speech.wav", said)) as browser:
        uncancelled = operators_echo(browser, tmp_path / "off", "no-echo-canceller")
        cancelled = operators_echo(browser, tmp_path / "on", "full")
    assert uncancelled > 0.005  # the echo path is there
    assert 20 * np.log10(uncancelled / max(cancelled, 1e-5)) > 10, (uncancelled, cancelled)
