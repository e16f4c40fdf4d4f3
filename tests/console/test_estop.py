"""The emergency stop from the console: the key and the button latch it (over the data
channel and /publish at once), motion is then refused with its reason, a drive token cannot
clear it by either path, and an administrator's console offers the clear button."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from robot.contracts import access
from tests.support.console import console_url, open_console, token_with, wait_for_path
from tests.support.stack import RecordingStack


def latched(message: dict) -> bool:
    return message.get("type") == "state" and message.get("estop", {}).get("latched") is True


def cleared(message: dict) -> bool:
    return message.get("type") == "state" and message.get("estop", {}).get("latched") is False


@pytest.fixture
def driver_page(browser: Any, stack: RecordingStack) -> Iterator[Any]:
    page = open_console(browser, console_url(stack))
    wait_for_path(page, "datachannel")
    yield page
    page.close()
    stack.publish_command(b'{"action": "clear_estop"}')  # the next test starts unlatched
    stack.wait_for_telemetry(cleared, timeout=5)


def test_the_key_latches_and_motion_is_refused(driver_page: Any, stack: RecordingStack) -> None:
    page = driver_page
    stack.drain_telemetry()
    page.keyboard.down("ArrowUp")
    stack.wait_for_telemetry(lambda m: m.get("wheels", {}).get("left", 0) > 0, timeout=5)
    page.keyboard.press("Space")  # while the arrow is still held
    stop = stack.wait_for_telemetry(latched, timeout=5)
    page.keyboard.up("ArrowUp")
    assert stop["wheels"] == {"left": 0.0, "right": 0.0}
    assert stop["estop"]["by"] == "sim-operator"
    page.wait_for_function("document.getElementById('t-estop').textContent.startsWith('LATCHED')")
    assert page.get_attribute("#estop", "class") == "latched"
    assert page.is_hidden("#clear-estop")  # a drive token has no clear button

    page.keyboard.down("ArrowLeft")
    refused = stack.wait_for_telemetry(lambda m: m.get("type") == "rejected", timeout=5)
    page.keyboard.up("ArrowLeft")
    assert "estop" in refused["reason"]
    page.wait_for_function("document.getElementById('t-rejected').textContent.includes('estop')")
    states = [m for m in stack.drain_telemetry() if m.get("type") == "state"]
    assert all(m["wheels"] == {"left": 0.0, "right": 0.0} for m in states)


def test_a_drive_token_cannot_clear_it_by_either_path(
    driver_page: Any, stack: RecordingStack
) -> None:
    page = driver_page
    page.click("#estop")
    stack.wait_for_telemetry(latched, timeout=5)
    stack.drain_telemetry()
    path = page.evaluate("window.robotConsole.send({action: 'clear_estop'})")
    assert path == "datachannel"
    # Refused in the producer and answered to this console alone, not on MQTT.
    page.wait_for_function(
        "window.robotConsole.state.rejections.at(-1)?.path === 'datachannel'", timeout=5_000
    )
    shown = page.evaluate("window.robotConsole.state.rejections.at(-1)")
    assert access.SCOPE_ADMIN in shown["reason"]
    assert not any(m.get("type") == "rejected" for m in stack.drain_telemetry())

    page.uncheck("#p2p")
    path = page.evaluate("window.robotConsole.send({action: 'clear_estop'})")
    assert path == "publish"
    shown = page.evaluate("window.robotConsole.state.rejections.at(-1)")
    assert shown["path"] == "publish" and access.SCOPE_ADMIN in shown["reason"]
    page.wait_for_timeout(500)
    assert all(latched(m) for m in stack.drain_telemetry() if m.get("type") == "state")


def test_an_administrator_clears_it_with_the_button(
    browser: Any, driver_page: Any, stack: RecordingStack
) -> None:
    driver_page.click("#estop")
    stack.wait_for_telemetry(latched, timeout=5)
    admin = open_console(browser, console_url(stack, token_with(stack, access.SCOPE_ADMIN)))
    try:
        admin.wait_for_selector("#clear-estop", state="visible", timeout=10_000)
        admin.click("#clear-estop")
        stack.wait_for_telemetry(cleared, timeout=5)
        admin.wait_for_selector("#clear-estop", state="hidden", timeout=5_000)
        driver_page.wait_for_function("document.getElementById('t-estop').textContent === 'clear'")
    finally:
        admin.close()
