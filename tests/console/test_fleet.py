"""The console's fleet view: GET /robots (the real authorizer and fleet Lambda behind the
simulator's front) lists the robots the token may see, with their link, and marks the one
being watched."""

from __future__ import annotations

from typing import Any

from tests.support.console import console_url, open_console, wait_for_path
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
