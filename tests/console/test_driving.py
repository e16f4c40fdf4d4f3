"""Driving the simulated robot from the console: a held arrow key over the data channel and
over the /publish fallback, a stand-in gamepad's stick, the touch joystick, and letting go
(a key, the window's focus) stops. What the robot did is read from its telemetry, on the
stack's side (every message) and in the page (what the console shows)."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.console import (
    GAMEPAD_SCRIPT,
    console_url,
    open_console,
    wait_for_path,
)
from tests.support.stack import RecordingStack

DEAD_ZONE = 0.15  # drive.js


@pytest.fixture(scope="module")
def page(browser: Any, stack: RecordingStack) -> Iterator[Any]:
    page = open_console(browser, console_url(stack), init_script=GAMEPAD_SCRIPT)
    yield page
    page.close()


def pose(stack: RecordingStack) -> dict[str, float]:
    return stack.wait_for_telemetry(lambda m: "pose" in m, timeout=5)["pose"]


def sent_by(path: str, action: str = "drive") -> Any:
    return lambda m: (
        (m.get("command") or {}).get("action") == action and (m["command"].get("path") == path)
    )


def hold_key_and_release(page: Any, stack: RecordingStack, path: str) -> None:
    stack.drain_telemetry()
    start = pose(stack)
    page.keyboard.down("ArrowUp")
    moving = stack.wait_for_telemetry(sent_by(path), timeout=5)
    page.wait_for_timeout(800)  # more than a command's TTL: the stream keeps it going
    page.keyboard.up("ArrowUp")
    stopped = stack.wait_for_telemetry(sent_by(path, "stop"), timeout=5)
    assert moving["wheels"]["left"] > 0 and moving["wheels"]["right"] > 0
    assert stopped["wheels"] == {"left": 0.0, "right": 0.0}
    assert stopped["pose"]["x"] > start["x"] + 0.1
    # The page sees it too (telemetry comes on the channel, whichever way commands go).
    page.wait_for_function(
        "(({ wheels, odometry }) => wheels.left === 0 && wheels.right === 0"
        " && odometry.x > 0.1)(window.robotConsole.state.telemetry)",
        timeout=5_000,
    )


def test_a_held_key_drives_over_the_data_channel(page: Any, stack: RecordingStack) -> None:
    wait_for_path(page, "datachannel")
    assert page.text_content("#path") == "peer to peer"
    hold_key_and_release(page, stack, "datachannel")
    ids = page.evaluate("window.robotConsole.sent.map(s => s.path)")
    assert set(ids[-5:]) == {"datachannel"}


def test_without_peer_to_peer_a_held_key_drives_through_publish(
    page: Any, stack: RecordingStack
) -> None:
    page.uncheck("#p2p")
    try:
        wait_for_path(page, "publish")
        assert page.text_content("#path") == "via /publish"
        hold_key_and_release(page, stack, "publish")
    finally:
        page.check("#p2p")


def test_a_held_key_is_said_at_once_then_kept_alive(page: Any, stack: RecordingStack) -> None:
    before = page.evaluate("window.robotConsole.sent.length")
    page.keyboard.down("ArrowLeft")
    page.wait_for_timeout(1000)
    page.keyboard.up("ArrowLeft")
    stack.wait_for_telemetry(lambda m: (m.get("command") or {}).get("action") == "stop", 5)
    sent = page.evaluate(f"window.robotConsole.sent.slice({before})")
    drives = [s for s in sent if s["action"] == "drive"]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(drives)]
    # One at the press, then a keep-alive every 250 ms (the median: a loaded machine delays
    # some), not ten a second.
    assert 3 <= len(drives) <= 6, len(drives)
    assert 230 <= statistics.median(gaps) <= 330, gaps
    assert [s["action"] for s in sent] == ["drive"] * len(drives) + ["stop"]


def test_losing_focus_stops(page: Any, stack: RecordingStack) -> None:
    stack.drain_telemetry()
    page.keyboard.down("ArrowDown")
    backwards = stack.wait_for_telemetry(
        lambda m: m.get("type") == "state" and m["wheels"]["left"] < 0, timeout=5
    )
    page.evaluate("window.dispatchEvent(new Event('blur'))")
    stopped = stack.wait_for_telemetry(lambda m: m.get("reason") == "stop", timeout=5)
    page.keyboard.up("ArrowDown")
    assert backwards["command"]["action"] == "drive"
    assert stopped["wheels"] == {"left": 0.0, "right": 0.0}


def test_the_gamepad_stick_drives_with_a_dead_zone(page: Any, stack: RecordingStack) -> None:
    stack.drain_telemetry()
    page.evaluate("window.testGamepad.axes[1] = -0.8")  # stick pushed forwards
    moving = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("action") == "drive" and m["wheels"]["left"] > 0.3,
        timeout=5,
    )
    assert page.text_content("#gamepad") == "gamepad: stand-in gamepad (standard mapping)"
    command = page.evaluate("window.robotConsole.sent.at(-1)")
    assert command["action"] == "drive"
    page.evaluate("window.testGamepad.axes[1] = -0.1")  # inside the dead zone: let go
    stopped = stack.wait_for_telemetry(lambda m: m.get("reason") == "stop", timeout=5)
    assert moving["wheels"]["left"] == pytest.approx(moving["wheels"]["right"])
    assert stopped["wheels"] == {"left": 0.0, "right": 0.0}


def test_the_gamepad_turns_the_way_the_stick_leans(page: Any, stack: RecordingStack) -> None:
    stack.drain_telemetry()
    page.evaluate("window.testGamepad.axes[0] = -1")  # stick to the left: turn left
    turning = stack.wait_for_telemetry(
        lambda m: (
            m.get("type") == "state" and m["wheels"]["right"] > 0.2 and m["wheels"]["left"] < -0.2
        ),
        timeout=5,
    )
    page.evaluate("window.testGamepad.axes[0] = 0")
    stack.wait_for_telemetry(lambda m: m.get("reason") == "stop", timeout=5)
    assert turning["command"]["action"] == "drive"


def test_the_touch_joystick_drives(page: Any, stack: RecordingStack) -> None:
    box = page.locator("#joystick").bounding_box()
    middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    stack.drain_telemetry()
    page.mouse.move(*middle)
    page.mouse.down()
    page.mouse.move(middle[0], box["y"] + 2, steps=4)  # thumb to the top edge: forwards
    moving = stack.wait_for_telemetry(
        lambda m: m.get("type") == "state" and m["wheels"]["left"] > 0.3, timeout=5
    )
    page.mouse.up()
    stopped = stack.wait_for_telemetry(lambda m: m.get("reason") == "stop", timeout=5)
    assert moving["wheels"]["left"] == pytest.approx(moving["wheels"]["right"], abs=0.05)
    assert stopped["wheels"] == {"left": 0.0, "right": 0.0}


def test_the_speed_limit_scales_what_is_sent(page: Any, stack: RecordingStack) -> None:
    page.fill("#speed", "0.3")
    try:
        stack.drain_telemetry()
        page.keyboard.down("ArrowUp")
        page.wait_for_timeout(600)  # past the ramp
        page.keyboard.up("ArrowUp")
        messages = [m for m in stack.drain_telemetry() if m.get("type") == "state"]
        assert max(m["wheels"]["left"] for m in messages) == pytest.approx(0.3)
        assert page.text_content("#speed-value") == "30 %"
    finally:
        page.fill("#speed", "0.6")
