"""Speed that follows the link: the table's verdicts written out, never faster with a worse
link (hypothesis), the stage capping the wheels, the round trip measured from the commands'
stamps, and LINK_SPEED_LIMITS checked in config.json."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot.contracts.access import Grants
from robot.contracts.control import command_message, read_command
from robot.contracts.protocol import Command
from robot.contracts.telemetry import LimitedBy
from robot.daemon.command_delay import WINDOW_S, CommandDelay
from robot.daemon.config import DEFAULTS, ConfigError, load
from robot.daemon.link_limits import LinkLimiter, LinkReading, LinkSpeedLimit, max_speed
from tests.unit.conftest import PROPERTY, make_daemon, write_config

DEFAULT_TABLE = (LinkSpeedLimit(250, 0.5), LinkSpeedLimit(600, 0.2))


@pytest.mark.parametrize(
    ("round_trip_ms", "lost", "allowed"),
    [
        (None, False, 1.0),  # nothing measured yet
        (0, False, 1.0),
        (250, False, 1.0),  # "above": 250 itself is still good
        (250.1, False, 0.5),
        (400, False, 0.5),
        (600, False, 0.5),
        (601, False, 0.2),
        (5000, False, 0.2),
        (None, True, 0.0),  # lost: stop, whatever was measured
        (10, True, 0.0),
    ],
)
def test_the_default_table(round_trip_ms: float | None, lost: bool, allowed: float) -> None:
    assert max_speed(DEFAULT_TABLE, LinkReading(round_trip_ms, lost)) == allowed


def test_an_empty_table_never_limits_a_live_link() -> None:
    assert max_speed((), LinkReading(9999)) == 1.0
    assert max_speed((), LinkReading(9999, lost=True)) == 0.0


@st.composite
def tables(draw: st.DrawFn) -> tuple[LinkSpeedLimit, ...]:
    """Valid tables: above_ms rising, max_speed not rising (what config.json accepts)."""
    aboves = sorted(set(draw(st.lists(st.integers(0, 5000), max_size=5))))
    speeds = sorted(draw(st.lists(st.floats(0, 1), min_size=len(aboves), max_size=len(aboves))))
    return tuple(LinkSpeedLimit(a, s) for a, s in zip(aboves, reversed(speeds), strict=True))


round_trips = st.one_of(st.none(), st.floats(0, 10_000))


@PROPERTY
@given(tables(), round_trips, round_trips)
def test_never_faster_with_a_worse_link(
    table: tuple[LinkSpeedLimit, ...], first: float | None, second: float | None
) -> None:
    better, worse = sorted((first or 0.0, second or 0.0))
    assert max_speed(table, LinkReading(worse)) <= max_speed(table, LinkReading(better))
    assert max_speed(table, LinkReading(worse, lost=True)) == 0.0


wheels = st.tuples(st.floats(-1, 1), st.floats(-1, 1))


@PROPERTY
@given(tables(), round_trips, round_trips, wheels)
def test_the_stage_never_speeds_up_and_keeps_the_curve(
    table: tuple[LinkSpeedLimit, ...],
    first: float | None,
    second: float | None,
    asked: tuple[float, float],
) -> None:
    better, worse = sorted((first or 0.0, second or 0.0))
    (left, right), limited = LinkLimiter(table, lambda: LinkReading(worse)).limit(asked)
    (good_left, good_right), _ = LinkLimiter(table, lambda: LinkReading(better)).limit(asked)
    assert max(abs(left), abs(right)) <= max(abs(good_left), abs(good_right)) + 1e-12
    assert max(abs(left), abs(right)) <= max_speed(table, LinkReading(worse)) + 1e-12
    assert abs(left) <= abs(asked[0]) + 1e-12 and abs(right) <= abs(asked[1]) + 1e-12
    assert left * asked[0] >= 0 and right * asked[1] >= 0  # never the other way
    if limited:  # scaled together: the ratio of the wheels, the curve, is kept
        assert left * asked[1] == pytest.approx(right * asked[0], abs=1e-9)


def test_the_stage_says_link_and_whether_it_capped() -> None:
    slow = LinkLimiter(DEFAULT_TABLE, lambda: LinkReading(700))
    assert slow.kind is LimitedBy.LINK
    assert slow.limit((1.0, 0.5)) == ((0.2, 0.1), True)
    assert slow.limit((0.1, -0.1)) == ((0.1, -0.1), False)


# --- the round trip, from the commands' stamps ---------------------------------------------


class Clocks:
    def __init__(self) -> None:
        self.wall_ms = 1_000_000.0
        self.monotonic = 100.0


def delay_on(clocks: Clocks) -> CommandDelay:
    return CommandDelay(lambda: clocks.wall_ms, lambda: clocks.monotonic)


def test_by_the_synchronised_clock_the_round_trip_is_twice_the_commands_age() -> None:
    clocks = Clocks()
    delay = delay_on(clocks)
    assert delay.round_trip_ms() is None
    delay.observe(Command("forward", received_ts=int(clocks.wall_ms) - 150), "publish", True)
    assert delay.round_trip_ms() == 300


def test_a_senders_own_clock_is_judged_relatively_even_by_a_synchronised_robot() -> None:
    clocks = Clocks()
    delay = delay_on(clocks)
    behind = 400  # the laptop's clock: within the TTL, but not a delay of the link
    delay.observe(Command("forward", ts=int(clocks.wall_ms) - behind), "mqtt", True)
    assert delay.round_trip_ms() == 0
    delay.observe(Command("forward", ts=int(clocks.wall_ms) - behind - 100), "mqtt", True)
    assert delay.round_trip_ms() == 200


def test_the_worst_of_the_window_counts_until_it_is_forgotten() -> None:
    clocks = Clocks()
    delay = delay_on(clocks)
    delay.observe(Command("forward", received_ts=int(clocks.wall_ms) - 400), "publish", True)
    clocks.monotonic += 1
    delay.observe(Command("forward", received_ts=int(clocks.wall_ms) - 10), "publish", True)
    assert delay.round_trip_ms() == 800
    clocks.monotonic += WINDOW_S
    delay.observe(Command("forward", received_ts=int(clocks.wall_ms) - 10), "publish", True)
    assert delay.round_trip_ms() == 20


def test_without_a_synchronised_clock_only_the_delay_above_the_fastest_counts() -> None:
    clocks = Clocks()
    delay = delay_on(clocks)
    offset = 3_600_000  # the sender's clock an hour behind: by the clock, far too old
    delay.observe(Command("forward", ts=int(clocks.wall_ms) - offset - 20), "datachannel", False)
    assert delay.round_trip_ms() == 0
    delay.observe(Command("forward", ts=int(clocks.wall_ms) - offset - 220), "datachannel", False)
    assert delay.round_trip_ms() == 400


def test_a_command_without_stamps_measures_nothing() -> None:
    delay = delay_on(Clocks())
    delay.observe(Command("forward"), "mqtt", True)
    assert delay.round_trip_ms() is None


# --- LINK_SPEED_LIMITS in config.json ------------------------------------------------------


def test_the_default_table_loads(tmp_path: Path) -> None:
    assert DEFAULTS["LINK_SPEED_LIMITS"] == [
        {"above_ms": 250, "max_speed": 0.5},
        {"above_ms": 600, "max_speed": 0.2},
    ]
    assert load(write_config(tmp_path), environ={}).link_speed_limits == DEFAULT_TABLE


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"above_ms": 250}, "must be a list of rows"),
        ([{"above_ms": 250}], 'must be {"above_ms": <ms>, "max_speed": <0..1>}'),
        ([{"above_ms": "250", "max_speed": 0.5}], "above_ms must be a number of milliseconds"),
        ([{"above_ms": 250, "max_speed": 1.5}], "max_speed must be a number from 0 (stop) to 1"),
        ([{"above_ms": 250, "max_speed": True}], "max_speed must be a number"),
        (
            [{"above_ms": 600, "max_speed": 0.2}, {"above_ms": 250, "max_speed": 0.5}],
            "rows must rise in above_ms: sort them",
        ),
        (
            [{"above_ms": 250, "max_speed": 0.2}, {"above_ms": 600, "max_speed": 0.5}],
            "a worse link may not allow more speed",
        ),
    ],
)
def test_a_bad_table_names_the_key_the_row_and_the_fix(
    tmp_path: Path, value: Any, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, LINK_SPEED_LIMITS=value), environ={})
    [problem] = caught.value.problems
    assert problem.startswith("LINK_SPEED_LIMITS")
    assert says in problem


# --- in the daemon -------------------------------------------------------------------------


def test_a_late_command_over_publish_drives_at_the_links_speed(tmp_path: Path) -> None:
    """The daemon's chain: a command whose received_ts says it took 400 ms (round trip 800 ms,
    above the table's 600 ms) is applied at a fifth of its speed, and telemetry says why."""
    settings = load(write_config(tmp_path, MAX_ACCELERATION=0), environ={})
    daemon, motors, link = make_daemon(settings)

    async def body() -> None:
        now_ms = int(time.time() * 1000)
        fast = {"action": "forward", "speed": 1.0, "operator": "alice", "received_ts": now_ms}
        daemon.handle(json.dumps(fast).encode())
        assert motors.robot.wheels == (1.0, 1.0)
        late = {**fast, "received_ts": now_ms - 400}
        daemon.handle(json.dumps(late).encode())
        assert motors.robot.wheels == pytest.approx((0.2, 0.2))
        daemon.report()
        await asyncio.sleep(0)
        state = link.messages("state")[-1]
        assert state["limited_by"] == "link"
        assert state["link_speed"]["max_speed"] == 0.2
        assert state["link_speed"]["round_trip_ms"] >= 800
        daemon.controller.stop(daemon.controller.state.reason)

    with motors:
        asyncio.run(body())


def test_a_round_trip_the_link_measured_counts_as_it_is() -> None:
    clocks = Clocks()
    delay = delay_on(clocks)
    delay.round_trip(420.0)
    assert delay.round_trip_ms() == 420
    clocks.monotonic += WINDOW_S + 0.1
    assert delay.round_trip_ms() is None


@pytest.mark.parametrize(
    ("round_trip", "read"),
    [(312.5, 312.5), (None, None), ("300", None), (True, None), (-1, None), (1e9, None)],
)
def test_the_control_socket_carries_a_consoles_round_trip(round_trip: Any, read: Any) -> None:
    grants = Grants("alice", frozenset({"robot:drive"}), None)
    message = command_message('{"action": "stop"}', grants)
    if round_trip is not None:
        message["round_trip_ms"] = round_trip
    parsed = read_command(json.loads(json.dumps(message)))
    assert parsed is not None
    assert parsed[2] == read
