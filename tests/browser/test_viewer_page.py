"""The viewer page in a real browser, against the whole simulated stack as `robot sim` runs it:
GET / serves it, it joins the robot's channel with the dev token (POST /viewer), the video of
the simulated camera plays, and an arrow key drives the simulated robot."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from robot.commands.sim import viewer_url
from tests.support.browser import chromium
from tests.support.stack import RecordingStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    with RecordingStack(tmp_path_factory.mktemp("sim"), port=0) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def page(browser: Any, stack: RecordingStack) -> Any:
    page = browser.new_page()
    page.goto(viewer_url(stack))
    return page


def test_the_video_of_the_simulated_camera_plays(page: Any, stack: RecordingStack) -> None:
    page.wait_for_function("window.robotViewer && window.robotViewer.frames > 30", timeout=30_000)
    size = page.evaluate(
        "(() => { const v = document.getElementById('video');"
        " return [v.videoWidth, v.videoHeight, v.paused]; })()"
    )
    assert size == [640, 480, False]
    assert page.text_content("#status") == "watching"
    video = stack.wait_for_telemetry(
        lambda m: (m.get("video") or {}).get("state") == "streaming", timeout=10
    )["video"]
    assert video["viewers"] == 1 and video["producer"] == "python"


def test_an_arrow_key_drives_the_simulated_robot(page: Any, stack: RecordingStack) -> None:
    page.wait_for_function("window.robotViewer && window.robotViewer.frames > 0", timeout=30_000)
    stack.drain_telemetry()
    start = stack.wait_for_telemetry(lambda m: "pose" in m, timeout=5)["pose"]
    page.keyboard.down("ArrowUp")
    moving = stack.wait_for_telemetry(
        lambda m: m.get("command") and m["command"]["action"] == "forward", timeout=5
    )
    page.wait_for_timeout(800)
    page.keyboard.up("ArrowUp")
    stopped = stack.wait_for_telemetry(lambda m: m.get("reason") == "stop", timeout=5)
    assert moving["wheels"]["left"] > 0
    assert stopped["pose"]["x"] > start["x"] + 0.1  # held for more than a TTL: it kept going
    assert stopped["wheels"] == {"left": 0.0, "right": 0.0}


def test_a_page_without_a_token_asks_for_one(browser: Any, stack: RecordingStack) -> None:
    page = browser.new_page()
    page.goto(stack.url + "/")
    assert page.is_visible("#login")
    assert page.text_content("#status") == "a token is needed to watch"
    page.close()


def test_the_video_comes_back_after_the_producer_is_killed(
    page: Any, stack: RecordingStack
) -> None:
    page.wait_for_function("window.robotViewer && window.robotViewer.frames > 0", timeout=30_000)
    stack.drain_telemetry()
    producer = stack.wait_for_telemetry(lambda m: (m.get("video") or {}).get("pid"), 5)["video"]
    joins = page.evaluate("window.robotViewer.joins")
    os.kill(producer["pid"], signal.SIGKILL)
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
    frames = page.evaluate("window.robotViewer.frames")
    page.wait_for_function(f"window.robotViewer.frames > {frames + 30}", timeout=30_000)
