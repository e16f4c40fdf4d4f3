"""A link that names another API in ``#api=`` must not hand it the operator's token: a real
Chromium page signed in to the simulated stack, and a second local origin that records every
request it gets (and answers each with CORS open, as an attacker's server would)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from tests.support.console import VIEWPORT, console_url, open_console, wait_for_frames
from tests.support.stack import RecordingStack


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str | None]]] = []

    def _answer(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "authorization, content-type")
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_OPTIONS = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def evil() -> Iterator[tuple[str, list]]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.seen
    server.shutdown()
    server.server_close()


def test_an_api_in_the_fragment_that_is_not_the_consoles_gets_nothing(
    browser: Any, pages: list, stack: RecordingStack, evil: tuple[str, list]
) -> None:
    origin, seen = evil
    page = browser.new_page(viewport=VIEWPORT)
    pages.append(page)
    page.goto(console_url(stack) + f"&api={origin}")
    deadline = time.monotonic() + 20
    while not (seen or fleet_listed(page)):  # whichever API the console picked answers
        assert time.monotonic() < deadline, "the console reached no API"
        page.wait_for_timeout(100)
    assert seen == []
    wait_for_frames(page, 1)  # and it watches through its own


def test_the_pages_own_origin_in_the_fragment_is_kept(
    browser: Any, pages: list, stack: RecordingStack
) -> None:
    page = open_console(browser, console_url(stack) + f"&api={stack.url}/")
    pages.append(page)
    page.wait_for_function(FLEET_LISTED, timeout=15_000)


FLEET_LISTED = "window.robotConsole?.state.fleet.robots.length > 0"


def fleet_listed(page: Any) -> bool:
    return bool(page.evaluate(FLEET_LISTED))
