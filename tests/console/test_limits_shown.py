"""The console shows what holds the robot back, as the robot reports it: the distance its
obstacle guard sees and the limiter stage that caps the wheels (cloud/console/limits.js), and
drive.js refuses wishes while driving is not allowed (a frozen picture)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize(
    ("telemetry", "ahead", "limit"),
    [
        (None, "—", "—"),
        ({"limited_by": None}, "—", "—"),
        (
            {"obstacle": {"distance_m": 0.234, "blind": False}, "limited_by": "obstacle"},
            "0.23 m",
            "obstacle",
        ),
        (
            {"obstacle": {"distance_m": None, "blind": False}, "limited_by": None},
            "nothing in range",
            "—",
        ),
        (
            {"obstacle": {"distance_m": None, "blind": True}, "limited_by": "obstacle"},
            "sensor silent: forward refused",
            "obstacle",
        ),
        (
            {"link_speed": {"round_trip_ms": 312.4, "max_speed": 0.5}, "limited_by": "link"},
            "—",
            "link (round trip 312 ms, at most 50 %)",
        ),
        ({"limited_by": "battery"}, "—", "battery"),
    ],
)
def test_what_the_console_says_holds_the_robot_back(
    modules: Any, telemetry: Any, ahead: str, limit: str
) -> None:
    said = modules.evaluate(
        "async (t) => (await import('/limits.js')).describeLimits(t)", telemetry
    )
    assert said == {"ahead": ahead, "limit": limit}


def test_a_driver_not_allowed_to_move_sends_only_a_stop(modules: Any) -> None:
    sent = modules.evaluate(
        """async () => {
          const { Driver } = await import('/drive.js');
          const sent = [];
          let allowed = true;
          const control = {
            drive: (l, a) => sent.push(['drive', l, a]),
            send: (c) => sent.push([c.action]),
          };
          const driver = new Driver({ control, speed: () => 1, allowed: () => allowed });
          driver.set('keys', 1, 0);
          allowed = false;
          driver.set('keys', 1, 0.5);
          driver.set('keys', 1, 0);
          driver.release();
          return sent;
        }"""
    )
    assert sent == [["drive", 1, 0], ["stop"]]
