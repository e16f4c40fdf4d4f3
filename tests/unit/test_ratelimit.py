"""The token bucket and the log budget (robot/contracts/ratelimit.py) at their bounds, on a
clock the test turns."""

from __future__ import annotations

import pytest

from robot.contracts.ratelimit import LogBudget, TokenBucket
from tests.unit.conftest import ManualClock


def test_the_burst_fits_at_once_and_one_more_does_not():
    clock = ManualClock()
    bucket = TokenBucket(rate=20.0, burst=40, clock=clock)
    assert [bucket.take() for _ in range(40)] == [True] * 40
    assert bucket.take() is False


# Rate 4: a token every 0.25 s, exact in binary, so the bound is the bound.
@pytest.mark.parametrize(("after_s", "fits"), [(0.2499, False), (0.25, True), (0.2501, True)])
def test_one_more_fits_once_a_tokens_time_has_passed(after_s: float, fits: bool):
    clock = ManualClock()
    bucket = TokenBucket(rate=4.0, burst=2, clock=clock)
    assert bucket.take() and bucket.take() and not bucket.take()
    clock.now += after_s
    assert bucket.take() is fits


def test_an_idle_bucket_refills_to_its_burst_and_no_further():
    clock = ManualClock()
    bucket = TokenBucket(rate=20.0, burst=3, clock=clock)
    for _ in range(3):
        bucket.take()
    clock.now += 3600
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_a_log_budget_allows_one_line_a_window_and_counts_the_rest():
    clock = ManualClock()
    budget = LogBudget(10.0, clock)
    assert budget.allow() == 0
    assert [budget.allow() for _ in range(5)] == [None] * 5
    clock.now += 9.999
    assert budget.allow() is None
    clock.now += 0.001
    assert budget.allow() == 6  # the lines held back since the last one
    assert budget.allow() is None
