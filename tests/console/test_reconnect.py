"""The console keeps working when the video goes away: with the robot's producer killed, the
data channel closes with it and the console falls back to /publish at once; the producer
comes back, the console joins again by itself, and driving returns on the data channel."""

from __future__ import annotations

import os
import signal
from typing import Any

from tests.support.console import console_url, open_console, wait_for_frames, wait_for_path
from tests.support.stack import RecordingStack


def drive_briefly(page: Any, stack: RecordingStack, path: str) -> dict:
    stack.drain_telemetry()
    page.keyboard.down("ArrowUp")
    moving = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("path") == path and m["wheels"]["left"] > 0, 5
    )
    page.keyboard.up("ArrowUp")
    stack.wait_for_telemetry(lambda m: m.get("reason") == "stop", timeout=5)
    return moving


def test_driving_survives_a_producer_restart(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = open_console(browser, console_url(stack))
    pages.append(page)
    wait_for_path(page, "datachannel")
    producer = stack.wait_for_telemetry(lambda m: (m.get("video") or {}).get("pid"), 5)["video"]
    joins = page.evaluate("window.robotViewer.joins")

    os.kill(producer["pid"], signal.SIGKILL)
    wait_for_path(page, "publish", timeout_ms=10_000)
    assert page.text_content("#path") == "via /publish"
    assert page.get_attribute("#telemetry", "class") == "stale"  # it came on the channel
    # Not driven now: with no new frame the picture is old, and driving pauses on it
    # (cloud/console/freeze.js, tests/console/test_frozen_video.py).

    restarted = stack.wait_for_telemetry(
        lambda m: (
            (m.get("video") or {}).get("state") == "streaming"
            and m["video"]["pid"] != producer["pid"]
        ),
        timeout=30,
    )["video"]
    assert restarted["restarts"] == producer["restarts"] + 1
    assert "exited with code -9" in restarted["last_error"]
    page.wait_for_function(f"window.robotViewer.joins > {joins}", timeout=30_000)
    wait_for_frames(page, 30)
    wait_for_path(page, "datachannel", timeout_ms=10_000)
    page.wait_for_selector("#frozen", state="hidden", timeout=5_000)
    drive_briefly(page, stack, "datachannel")
    assert page.get_attribute("#telemetry", "class") == ""
    page.wait_for_function("document.getElementById('t-video').textContent.startsWith('streaming')")
