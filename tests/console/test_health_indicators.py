"""The console's battery badge and link indicator: against ``robot sim`` in headless Chromium
(a simulated pack at a critical charge, the video's real connection graded from getStats), and
the link grade's rule in the console's module (worse figures never grade better)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robot.daemon.battery_cap import CRAWL
from tests.support.console import console_url, open_console, wait_for_path
from tests.support.stack import RecordingStack
from tests.unit.conftest import PROPERTY

GRADES = {"good": 0, "fair": 1, "poor": 2}


@pytest.fixture(scope="module")
def low_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    """``robot sim``'s stack, its battery started at a critical 8 %."""
    settings = {
        "HEALTH_INTERVAL_MS": 1000,
        "BATTERY": {
            "sensor": "sim",
            "cells": 3,
            "capacity_mah": 2200,
            "options": {"start_percent": 8},
        },
    }
    with RecordingStack(tmp_path_factory.mktemp("sim"), port=0, robot_settings=settings) as running:
        yield running


def test_the_console_shows_the_battery_and_the_link(browser: Any, low_stack: RecordingStack):
    page = open_console(browser, console_url(low_stack))
    try:
        page.wait_for_selector("#battery.critical", timeout=15_000)
        assert page.text_content("#battery").startswith("battery 8 % !")
        title = page.get_attribute("#battery", "title")
        assert " V · " in title and "critical: forward at a crawl" in title
        # The link indicator grades the video's live figures, which its title shows.
        page.wait_for_selector("#link-quality.good, #link-quality.fair", timeout=15_000)
        assert page.text_content("#link-quality") in ("link good", "link fair")
        assert "round trip" in page.get_attribute("#link-quality", "title")
        assert "kbit/s" in page.get_attribute("#link-quality", "title")
        page.wait_for_function(
            "document.getElementById('link-quality').title.includes('robot Wi-Fi -')"
        )
        # Forward from the console goes at a crawl, and telemetry says why.
        wait_for_path(page, "datachannel")
        low_stack.drain_telemetry()
        page.keyboard.down("ArrowUp")
        crawling = low_stack.wait_for_telemetry(
            lambda m: (m.get("command") or {}).get("action") == "drive" and m["limited_by"], 5
        )
        page.keyboard.up("ArrowUp")
        assert crawling["limited_by"] == "battery"
        assert crawling["wheels"]["left"] <= CRAWL and crawling["wheels"]["right"] <= CRAWL
    finally:
        page.close()


figures = st.fixed_dictionaries(
    {
        "rttMs": st.integers(0, 2000),
        "lossPct": st.floats(0, 100, allow_nan=False),
        "kbps": st.integers(0, 5000),
    }
)


@PROPERTY
@given(figures, st.integers(0, 500), st.floats(0, 10), st.integers(0, 1000))
def test_a_worse_link_never_grades_better(modules: Any, base, later_ms, more_loss, less_kbps):
    worse = {
        "rttMs": base["rttMs"] + later_ms,
        "lossPct": base["lossPct"] + more_loss,
        "kbps": max(0, base["kbps"] - less_kbps),
    }
    grades = modules.evaluate(
        "async ([a, b]) => { const { linkGrade } = await import('/health.js');"
        " return [linkGrade(a), linkGrade(b)]; }",
        [base, worse],
    )
    assert GRADES[grades[1]] >= GRADES[grades[0]]
