"""The operator console in headless Chromium, as the browser tests, the console benchmark and
the screenshot script open it."""

from __future__ import annotations

from typing import Any

from sim.aws import dev_identity
from sim.stack import SimStack

VIEWPORT = {"width": 1280, "height": 860}

# A stand-in gamepad for the Gamepad API: headless Chromium has no device to read, so
# navigator.getGamepads() is replaced by one returning `window.testGamepad`, whose axes and
# buttons a test sets (a standard-mapping pad: left stick axes 0 and 1, button 1 is "B").
GAMEPAD_SCRIPT = """
window.testGamepad = {
  id: "stand-in gamepad (standard mapping)", index: 0, connected: true, mapping: "standard",
  axes: [0, 0, 0, 0], buttons: Array.from({ length: 17 }, () => ({ pressed: false, value: 0 })),
};
navigator.getGamepads = () => [window.testGamepad, null, null, null];
"""


def console_url(stack: SimStack, token: str | None = None, robot: str | None = None) -> str:
    """The console's address, signed in with ``token`` (the dev token by default)."""
    assert stack.identity is not None
    fragment = f"token={token or stack.identity.token}"
    return f"{stack.url}/#{fragment}" + (f"&robot={robot}" if robot else "")


def token_with(
    stack: SimStack,
    *scopes: str,
    robot: str | None = None,
    subject: str = dev_identity.DEV_SUBJECT,
) -> str:
    """A dev token for the stack's robot (or ``robot``) with exactly ``scopes``, for
    ``subject`` (another operator than the dev token's, say)."""
    return dev_identity.dev_token(
        stack.state_dir, robot or stack.thing_name, scopes, subject=subject
    )


def open_console(browser: Any, url: str, init_script: str | None = None) -> Any:
    """A new page showing the console at ``url``, once its video plays."""
    page = browser.new_page(viewport=VIEWPORT)
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    wait_for_frames(page, 1)
    return page


def wait_for_frames(page: Any, more: int, timeout_ms: int = 30_000) -> None:
    """Wait until ``more`` frames beyond those shown so far have been presented."""
    shown = page.evaluate("window.robotViewer ? window.robotViewer.frames : 0")
    page.wait_for_function(
        f"window.robotViewer && window.robotViewer.frames >= {shown + more}", timeout=timeout_ms
    )


def wait_for_path(page: Any, path: str, timeout_ms: int = 15_000) -> None:
    """Wait until drive commands take ``path`` (``datachannel`` or ``publish``)."""
    page.wait_for_function(
        f"window.robotConsole && window.robotConsole.state.path === {path!r}", timeout=timeout_ms
    )
