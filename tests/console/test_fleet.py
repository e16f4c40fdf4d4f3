"""The console's fleet view: GET /robots (the real authorizer and fleet Lambda behind the
simulator's front) lists the robots the token may see, with their link, and marks the one
being watched."""

from __future__ import annotations

from typing import Any

from tests.support.console import (
    VIEWPORT,
    console_url,
    open_console,
    wait_for_frames,
    wait_for_path,
)
from tests.support.stack import RecordingStack


def test_the_fleet_lists_the_robot_online_and_marks_it(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = open_console(browser, console_url(stack))
    pages.append(page)
    wait_for_path(page, "datachannel")  # the robot's welcome names it
    item = page.locator(f'#fleet button[data-robot="{stack.thing_name}"]')
    item.wait_for(timeout=10_000)
    assert item.text_content() == f"{stack.thing_name} — online"
    assert item.get_attribute("class") == "current"
    assert page.text_content("#robot-name") == stack.thing_name


def test_picking_a_robot_switches_video_and_driving_to_it(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    # The fleet list names a second robot that this token may not use (the answer is the test's,
    # the rest is the stack's): picking it switches to its routes, which refuse; picking the
    # stack's robot again watches and drives it through its own routes.
    other = "robot-elsewhere"
    fleet = {
        "robots": [
            {"name": stack.thing_name, "link": "online", "since": None},
            {"name": other, "link": "offline", "since": 1_700_000_000},
        ]
    }
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    page.route("**/robots", lambda route: route.fulfill(json=fleet))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(f"{request.method} {request.url}"))
    page.goto(console_url(stack))
    wait_for_path(page, "datachannel")

    page.click(f'#fleet button[data-robot="{other}"]')
    page.wait_for_function(
        "document.getElementById('status').textContent.includes('403')", timeout=10_000
    )
    assert page.text_content("#robot-name") == other
    assert f"robot={other}" in page.url
    assert page.get_attribute(f'#fleet button[data-robot="{other}"]', "class") == "current"
    assert f"POST {stack.url}/robots/{other}/viewer" in requests
    assert page.evaluate("window.robotConsole.state.path") == "publish"

    page.click(f'#fleet button[data-robot="{stack.thing_name}"]')
    wait_for_frames(page, 10)
    wait_for_path(page, "datachannel")
    assert f"POST {stack.url}/robots/{stack.thing_name}/viewer" in requests
    page.uncheck("#p2p")  # drive through the robot's own publish route
    stack.drain_telemetry()
    page.keyboard.down("ArrowUp")
    moving = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("path") == "publish", timeout=5
    )
    page.keyboard.up("ArrowUp")
    assert moving["wheels"]["left"] > 0
    assert f"POST {stack.url}/robots/{stack.thing_name}/publish" in requests
