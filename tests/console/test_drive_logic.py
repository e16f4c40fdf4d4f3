"""Properties of the console's driving logic (cloud/console/drive.js), run in Chromium on the
module itself: the stick's dead zone, and the driver that turns wishes from the keys, a
gamepad and the joystick into commands. The page is the console's folder served as plain
static files; each example calls the module with a recording stand-in for the command path."""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.aws.console_site import ROOT

PROPERTY = settings(max_examples=80, deadline=None)
BIG_CHANGE = 0.25  # drive.js: smaller changes wait for the next repeat

# Runs `steps` ([source, linear, angular] each) through a Driver whose control records what
# it is asked to send; no time passes, so only what is sent at once shows.
RUN_DRIVER = """async (steps) => {
  const { Driver } = await import("/drive.js");
  const sent = [];
  const control = {
    drive: (linear, angular, speed) => sent.push({ action: "drive", linear, angular, speed }),
    send: (command) => sent.push(command),
  };
  const driver = new Driver({ control, speed: () => 0.5 });
  for (const [source, linear, angular] of steps) driver.set(source, linear, angular);
  const wish = driver.current();
  const repeating = driver.timer !== null;
  driver.release();
  clearInterval(driver.timer);
  return { sent, wish, repeating, afterRelease: sent.at(-1) || null };
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
    yield page
    page.close()
    server.shutdown()
    server.server_close()


@PROPERTY
@given(st.floats(-1, 1))
def test_the_dead_zone_keeps_sign_range_and_order(page: Any, value: float) -> None:
    cut, beyond = page.evaluate(
        "async ([v]) => { const { deadZone } = await import('/drive.js');"
        " return [deadZone(v), deadZone(v + (v >= 0 ? 0.01 : -0.01))]; }",
        [value],
    )
    assert -1 <= cut <= 1
    assert cut == 0 if abs(value) <= 0.15 else cut * value > 0
    assert abs(beyond) >= abs(cut)  # further out never drives slower


axis = st.sampled_from([-1.0, -0.5, -0.2, 0.0, 0.1, 0.2, 0.7, 1.0])
step = st.tuples(st.sampled_from(["keys", "gamepad", "touch"]), axis, axis)


@PROPERTY
@given(st.lists(step, max_size=12))
def test_the_driver_sends_what_is_wished_and_stops_when_nothing_is(
    page: Any, steps: list[tuple[str, float, float]]
) -> None:
    result = page.evaluate(RUN_DRIVER, [list(s) for s in steps])
    sent, (linear, angular) = result["sent"], result["wish"]
    moving = linear != 0 or angular != 0
    assert result["repeating"] == moving  # a wish is repeated exactly while there is one
    drives_so_far = [c for c in sent if c["action"] == "drive"]
    if moving:
        last = drives_so_far[-1]
        assert abs(last["linear"] - linear) <= BIG_CHANGE
        assert abs(last["angular"] - angular) <= BIG_CHANGE
        assert last["speed"] == 0.5
        assert result["afterRelease"] == {"action": "stop"}  # letting go stops
    elif drives_so_far:
        assert sent[-1] == {"action": "stop"}  # it moved once, so it was stopped
    else:
        assert sent == []  # never moved: nothing to say
    # Never two stops in a row: a stop follows a drive.
    assert all(not (a["action"] == b["action"] == "stop") for a, b in itertools.pairwise(sent))
    # The latest source that wishes to move is the one obeyed.
    latest = [(lin, ang) for source, lin, ang in steps if lin or ang]
    if moving:
        assert (linear, angular) in latest
