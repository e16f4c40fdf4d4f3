"""The fleet view against `robot sim --robots 2`: the console lists both robots, and picking
the second one moves the video, the data channel and the keys to it, while the first stays
still."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.console import console_url, open_console, wait_for_frames, wait_for_path
from tests.support.stack import RecordingStack

SECOND = "sim-robot-2"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    with RecordingStack(tmp_path_factory.mktemp("fleet"), port=0, robots=2) as running:
        yield running


def test_picking_the_second_robot_watches_and_drives_it(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    first, second = stack.robots
    page = open_console(browser, console_url(stack))
    pages.append(page)
    wait_for_path(page, "datachannel")
    listed = page.locator("#fleet button")
    page.wait_for_function("document.querySelectorAll('#fleet button').length === 2")
    assert listed.all_text_contents() == [f"{first.name} — online", f"{SECOND} — online"]

    page.click(f'#fleet button[data-robot="{SECOND}"]')
    page.wait_for_function(
        f"window.robotConsole.state.welcome?.robot === {SECOND!r}", timeout=15_000
    )
    wait_for_frames(page, 30)
    assert page.text_content("#robot-name") == SECOND
    assert page.get_attribute(f'#fleet button[data-robot="{SECOND}"]', "class") == "current"
    watched = stack.wait_for_telemetry(
        lambda m: (m.get("video") or {}).get("viewers", 0) >= 1, timeout=10, robot=second
    )
    assert watched["video"]["state"] == "streaming"

    page.keyboard.down("ArrowUp")
    moving = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("path") == "datachannel" and m["wheels"]["left"] > 0,
        timeout=5,
        robot=second,
    )
    still = stack.wait_for_telemetry(lambda m: m.get("type") == "state", timeout=2, robot=first)
    page.keyboard.up("ArrowUp")
    stack.wait_for_telemetry(lambda m: m.get("reason") == "stop", timeout=5, robot=second)
    assert moving["command"]["action"] == "drive"
    assert still["wheels"] == {"left": 0.0, "right": 0.0}
    page.wait_for_function(  # the page shows the second robot's telemetry
        "window.robotConsole.state.telemetry.odometry.x > 0", timeout=5_000
    )
