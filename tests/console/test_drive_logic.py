"""Properties of the console's driving logic (cloud/console/drive.js), run in Chromium on the
module itself: the stick's dead zone, and the driver that turns wishes from the keys, a
gamepad and the joystick into commands. The page is the console's folder served as plain
static files (the `modules` fixture); each example calls the module with a recording stand-in
for the command path."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@PROPERTY
@given(st.floats(-1, 1))
def test_the_dead_zone_keeps_sign_range_and_order(modules: Any, value: float) -> None:
    cut, beyond = modules.evaluate(
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
    modules: Any, steps: list[tuple[str, float, float]]
) -> None:
    result = modules.evaluate(RUN_DRIVER, [list(s) for s in steps])
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


# Presses and releases `steps` ([down|up|blur, code] each) on a Keyboard over a recording
# driver: what the driver was told, whether each key was the console's, and e-stops.
RUN_KEYS = """async (steps) => {
  const { Keyboard } = await import("/drive.js");
  const told = [];
  let released = 0;
  let estops = 0;
  const driver = {
    set: (source, linear, angular) => told.push([source, linear, angular]),
    release: () => { released += 1; },
  };
  const keyboard = new Keyboard(driver, () => { estops += 1; });
  const press = {
    down: (code) => keyboard.down(code),
    up: (code) => keyboard.up(code),
    blur: () => keyboard.letGo(),
  };
  const ours = steps.map(([what, code]) => press[what](code));
  return { told, ours, released, estops };
}"""


def test_keys_wish_together_and_repeat_is_ignored(modules: Any) -> None:
    result = modules.evaluate(
        RUN_KEYS,
        [
            ["down", "ArrowUp"],
            ["down", "ArrowUp"],  # the key's own auto-repeat
            ["down", "KeyA"],
            ["down", "KeyQ"],  # not a driving key
            ["up", "ArrowUp"],
            ["up", "KeyA"],
        ],
    )
    assert result["told"] == [["keys", 1, 0], ["keys", 1, 1], ["keys", 0, 1], ["keys", 0, 0]]
    assert result["ours"][:4] == [True, True, True, False]
    assert result["estops"] == 0


def test_space_and_escape_stop_and_losing_focus_lets_go(modules: Any) -> None:
    result = modules.evaluate(
        RUN_KEYS, [["down", "ArrowDown"], ["down", "Space"], ["down", "Escape"], ["blur", ""]]
    )
    assert result["estops"] == 2 and result["ours"][:3] == [True, True, True]
    assert result["released"] == 1
    # After letting go the key counts as up: pressing it again wishes again.
    again = modules.evaluate(RUN_KEYS, [["down", "KeyS"], ["blur", ""], ["down", "KeyS"]])
    assert again["told"] == [["keys", -1, 0], ["keys", -1, 0]]


@PROPERTY
@given(st.floats(-1.5, 1.5), st.floats(-1.5, 1.5))
def test_the_joystick_drives_the_way_the_thumb_leans(
    modules: Any, across: float, down: float
) -> None:
    # A 140 px pad at (10, 20); the thumb at (across, down) radii from its middle.
    wish = modules.evaluate(
        "async ([x, y]) => { const { joystick } = await import('/drive.js');"
        " return joystick(80 + x * 70, 90 + y * 70, { left: 10, top: 20, width: 140 }); }",
        [across, down],
    )
    length = max(1.0, (across**2 + down**2) ** 0.5)  # the knob stays on the pad
    assert wish["knob"][0] == pytest.approx(across / length * 42, abs=1e-6)
    assert wish["knob"][1] == pytest.approx(down / length * 42, abs=1e-6)
    assert -1 <= wish["linear"] <= 1 and -1 <= wish["angular"] <= 1
    assert wish["linear"] * down <= 0  # up (negative y) drives forward
    assert wish["angular"] * across <= 0  # left turns left
    if abs(down / length) > 0.15:
        assert wish["linear"] != 0
