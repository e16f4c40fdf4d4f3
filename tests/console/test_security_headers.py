"""The console under its own Content-Security-Policy, in a real Chromium page against the
simulated stack: it signs in, lists the fleet, watches and drives by both paths with no
violation reported; and a page elsewhere that frames it gets nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.support.console import VIEWPORT, console_url, wait_for_frames, wait_for_path
from tests.support.stack import RecordingStack

VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.violations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""


def test_the_console_works_under_its_policy(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    page.add_init_script(VIOLATIONS)
    response = page.goto(console_url(stack))
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    wait_for_frames(page, 1)  # POST /viewer, then the signaling WebSocket and WebRTC
    page.wait_for_function("window.robotConsole?.state.fleet.robots.length > 0")  # GET /robots
    wait_for_path(page, "datachannel")
    assert page.evaluate("window.robotConsole.send({action: 'stop'})") == "datachannel"
    page.uncheck("#p2p")
    wait_for_path(page, "publish")
    assert page.evaluate("window.robotConsole.send({action: 'stop'})") == "publish"
    assert page.evaluate("window.violations") == []


class _Framer(BaseHTTPRequestHandler):
    console: ClassVar[str] = ""

    def do_GET(self) -> None:
        body = f'<!doctype html><iframe id="framed" src="{self.console}"></iframe>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def framer(stack: RecordingStack) -> Iterator[str]:
    _Framer.console = console_url(stack)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Framer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_a_framed_console_is_refused(browser: Any, pages: list, framer: str) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text))
    page.goto(framer, wait_until="load")  # the frame's own load, refused or not, comes first
    (frame,) = [frame for frame in page.frames if frame != page.main_frame]
    assert frame.url != framer
    # Chromium puts its error page in the frame's place: none of the console's elements.
    assert frame.url.startswith("chrome-error://"), frame.url
    assert any("frame-ancestors" in text for text in refused), refused
