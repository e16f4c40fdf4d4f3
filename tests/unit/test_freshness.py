"""Freshness: by the robot's clock once it is synchronised, relatively when it is not."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot.contracts.protocol import MAX_CLOCK_SKEW_MS, Command
from robot.daemon import freshness
from robot.daemon.freshness import DRIFT_ALLOWANCE, FreshnessGate, StaleCommand, kernel_clock_synced
from tests.unit.conftest import PROPERTY, SyncedClock, ttls

NOW_MS = 1_800_000_000_000


class Clocks:
    """The gate's clocks, set by the test."""

    def __init__(self, synced: bool) -> None:
        self.synced = SyncedClock(synced)
        self.wall = NOW_MS
        self.monotonic = 5_000.0

    def gate(self) -> FreshnessGate:
        return FreshnessGate(self.synced, lambda: self.wall, lambda: self.monotonic)


@PROPERTY
@given(st.sampled_from(["ts", "received_ts"]), ttls, st.integers(-10_000, 10_000))
def test_a_synced_clock_refuses_stale_and_future_stamps(stamp: str, ttl: int, age: int) -> None:
    gate = Clocks(synced=True).gate()
    command = Command("forward", **{stamp: NOW_MS - age})
    if age > ttl or -age > MAX_CLOCK_SKEW_MS:
        with pytest.raises(StaleCommand, match=r"ago|in the future"):
            gate.check(command, ttl)
    else:
        gate.check(command, ttl)
    assert gate.synced


def test_an_unsynced_clock_ignores_the_senders_ts() -> None:
    gate = Clocks(synced=False).gate()
    gate.check(Command("forward", ts=1), 500)  # 1970, by a clock nobody can judge
    gate.check(Command("forward", ts=NOW_MS * 2), 500)
    assert not gate.synced


@PROPERTY
@given(ttls, st.lists(st.integers(0, 400), min_size=1, max_size=10), st.integers(0, 10_000))
def test_an_unsynced_clock_judges_receive_stamps_by_their_delivery_time(
    ttl: int, delays: list[int], late: int
) -> None:
    clocks = Clocks(synced=False)
    clocks.wall = 0  # months off: it must not matter
    gate = clocks.gate()
    cloud_ms = NOW_MS
    for delay in delays:  # commands delivered within 400 ms: none refused
        cloud_ms += 1000
        clocks.monotonic = cloud_ms - NOW_MS + 5_000 + delay
        gate.check(Command("forward", received_ts=cloud_ms), max(ttl, 400))
    # One delayed by more than its TTL beyond the fastest delivery seen is refused, also
    # beyond the drift the gate allows for since that delivery (a millisecond per 10 s).
    cloud_ms += 1000
    delivered = cloud_ms - NOW_MS + 5_000 + min(delays) + ttl + late
    clocks.monotonic = delivered + 1 + math.ceil(delivered * DRIFT_ALLOWANCE * 1.01)
    with pytest.raises(StaleCommand, match="not synchronised"):
        gate.check(Command("forward", received_ts=cloud_ms), ttl)


def test_the_gate_asks_the_clock_every_time() -> None:
    clocks = Clocks(synced=False)
    gate = clocks.gate()
    gate.check(Command("forward", ts=1), 500)
    clocks.synced.synced = True  # NTP has set the clock while the daemon runs
    with pytest.raises(StaleCommand):
        gate.check(Command("forward", ts=1), 500)


def test_the_kernel_answers_whether_its_clock_is_synced() -> None:
    assert kernel_clock_synced() in (True, False)  # a real adjtimex call, read only


# adjtimex(2)'s answers: the clock state, or -1 on failure. TIME_ERROR (5) is "not
# synchronised"; the leap-second states (1 to 4) are synchronised clocks.
@pytest.mark.parametrize(
    ("answer", "synced"),
    [(0, True), (1, True), (2, True), (3, True), (4, True), (5, False), (-1, False)],
)
def test_each_answer_of_the_kernel_is_read_as_its_clock_state(
    monkeypatch: pytest.MonkeyPatch, answer: int, synced: bool
) -> None:
    asked = []

    def fake_adjtimex(timex: object) -> int:  # libc's adjtimex, answering `answer`
        asked.append(timex)
        return answer

    monkeypatch.setattr(freshness, "_adjtimex", lambda: fake_adjtimex)
    assert kernel_clock_synced() is synced
    assert len(asked) == 1  # asked every time, never remembered


def test_without_adjtimex_the_clock_is_judged_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(freshness, "_adjtimex", lambda: None)
    assert kernel_clock_synced() is True
