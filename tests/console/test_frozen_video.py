"""What the console and the robot know of the video connection. A frozen picture stops the
driving: the real simulator's video producer is paused (SIGSTOP: its frames stop, as on a
Wi-Fi dead spot, while POST /publish still reaches the robot), and the console, driving
through /publish with a key held, stops sending drive commands, sends one stop and says so on
the picture; when frames come again it says so no more. Without the freeze rule the held key
would keep the robot going (the REST path does not pass through the producer). And over the
data channel, each command reaches the robot with its connection's round trip."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.console import console_url, open_console, wait_for_frames, wait_for_path
from tests.support.stack import RecordingStack

VIDEO_STALE_MS = 700  # freeze.js


@pytest.fixture
def page(browser: Any, stack: RecordingStack) -> Iterator[Any]:
    page = open_console(browser, console_url(stack))
    yield page
    page.close()


def producer_pid(stack: RecordingStack) -> int:
    return stack.wait_for_telemetry(
        lambda m: (m.get("video") or {}).get("pid") is not None, timeout=10
    )["video"]["pid"]


def test_a_frozen_picture_stops_the_driving(page: Any, stack: RecordingStack) -> None:
    page.uncheck("#p2p")
    wait_for_path(page, "publish")
    pid = producer_pid(stack)
    page.keyboard.down("ArrowUp")
    try:
        stack.wait_for_telemetry(
            lambda m: (m.get("command") or {}).get("path") == "publish" and m["wheels"]["left"] > 0,
            timeout=5,
        )
        assert page.is_hidden("#frozen")
        os.kill(pid, signal.SIGSTOP)
        try:
            frozen_at = page.evaluate("performance.now()")
            page.wait_for_selector("#frozen", state="visible", timeout=5_000)
            seen_at = page.evaluate("performance.now()")
            assert page.text_content("#frozen") == "video frozen: driving paused"
            stopped = stack.wait_for_telemetry(
                lambda m: (m.get("command") or {}).get("action") == "stop", timeout=5
            )
            assert stopped["wheels"] == {"left": 0.0, "right": 0.0}
            # Still frozen, key still held: once the console saw it, nothing goes out but
            # that one stop (the commands of the first VIDEO_STALE_MS are its keep-alives).
            page.wait_for_timeout(1000)
            sent = page.evaluate(f"window.robotConsole.sent.filter(s => s.at > {frozen_at})")
            assert [c["action"] for c in sent if c["at"] > seen_at] == []
            assert [c["action"] for c in sent].count("stop") == 1
            assert sent[-1]["action"] == "stop"
            assert sent[-1]["at"] > frozen_at
        finally:
            os.kill(pid, signal.SIGCONT)
        wait_for_frames(page, 5)
        page.wait_for_selector("#frozen", state="hidden", timeout=5_000)
    finally:
        page.keyboard.up("ArrowUp")
        page.check("#p2p")


def test_over_the_data_channel_the_robot_knows_the_connections_round_trip(
    page: Any, stack: RecordingStack
) -> None:
    """The link speed limit judges data-channel commands by their connection's round trip,
    which the producer reads from the browser's RTCP reports and passes on with each one."""
    wait_for_path(page, "datachannel")
    page.keyboard.down("ArrowUp")
    try:
        measured = stack.wait_for_telemetry(
            lambda m: (
                (m.get("command") or {}).get("path") == "datachannel"
                and (m.get("link_speed") or {}).get("round_trip_ms") is not None
            ),
            timeout=15,
        )
    finally:
        page.keyboard.up("ArrowUp")
    # On loopback: a few milliseconds, far below the table's first row.
    assert 0 <= measured["link_speed"]["round_trip_ms"] < 250
    assert measured["link_speed"]["max_speed"] == 1.0


def test_the_panel_shows_what_the_guard_sees_ahead(page: Any, stack: RecordingStack) -> None:
    """The simulated robot's guard reports the distance ahead (the room's wall is 3.9 m from
    the start, beyond its sensor's 2 m: nothing in range until it has driven up to it), and the
    panel shows it as the robot said it."""
    shown = page.wait_for_function(
        """() => {
          const obstacle = (window.robotConsole.state.telemetry || {}).obstacle;
          if (!obstacle) return null;
          const said = obstacle.distance_m === null ? 'nothing in range'
            : `${obstacle.distance_m.toFixed(2)} m`;
          const text = document.getElementById('t-ahead').textContent;
          return text === said ? text : null;
        }""",
        timeout=10_000,
    ).json_value()
    assert shown == "nothing in range" or shown.endswith(" m")
    assert page.text_content("#t-limit") in ("—", "obstacle")
