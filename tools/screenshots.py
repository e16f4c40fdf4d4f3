"""The docs' pictures of the operator console, taken from the simulated stack in headless
Chromium.

    .venv/bin/python tools/screenshots.py      # writes docs/img/console*.png
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.browser import chromium
from tests.support.console import console_url, open_console, wait_for_frames, wait_for_path
from tests.support.stack import RecordingStack

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def drive_a_curve(page: Any) -> None:
    """Forwards, a left curve, forwards again: a trail worth showing on the map."""
    for keys, held_ms in (
        (["ArrowUp"], 1500),
        (["ArrowUp", "ArrowLeft"], 700),
        (["ArrowUp"], 1200),
    ):
        for key in keys:
            page.keyboard.down(key)
        page.wait_for_timeout(held_ms)
        for key in keys:
            page.keyboard.up(key)
        page.wait_for_timeout(300)
    page.keyboard.down("ArrowUp")  # moving while the picture is taken
    page.wait_for_timeout(400)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as state_dir,
        chromium() as browser,
        RecordingStack(Path(state_dir), port=0, robots=3) as stack,
    ):
        page = open_console(browser, console_url(stack))
        wait_for_path(page, "datachannel")
        page.wait_for_function("window.robotConsole.state.video?.figures")
        drive_a_curve(page)
        page.screenshot(path=OUT / "console.png")
        page.keyboard.up("ArrowUp")
        page.click("#estop")
        page.wait_for_function(
            "document.getElementById('t-estop').textContent.startsWith('LATCHED')"
        )
        page.screenshot(path=OUT / "console-estop.png")
        page.close()
        stack.publish_command(b'{"action": "clear_estop"}')

        phone = browser.new_page(**PHONE)
        phone.goto(console_url(stack))
        wait_for_frames(phone, 30)
        phone.wait_for_function("window.robotConsole.state.video?.figures")
        phone.screenshot(path=OUT / "console-phone.png")
        phone.close()

        signin = browser.new_page(viewport={"width": 900, "height": 420})
        oidc = {"issuer": "https://login.example.com", "client_id": "console", "scopes": "openid"}
        signin.route("**/console/config.json", lambda route: route.fulfill(json={"oidc": oidc}))
        signin.goto(stack.url + "/")
        signin.wait_for_selector("#sign-in", state="visible")
        signin.screenshot(path=OUT / "console-sign-in.png")
        signin.close()
    for picture in sorted(OUT.glob("console*.png")):
        print(picture.relative_to(ROOT))


if __name__ == "__main__":
    main()
