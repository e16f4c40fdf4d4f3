"""Every way the daemon can stop, or lose its link, leaves the wheels stopped."""

from __future__ import annotations

import signal

import pytest

from tests.support.stack import RecordingStack


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_wheels_before_the_daemon_exits(
    stack: RecordingStack, signum: signal.Signals
) -> None:
    stack.drive_until_moving(f"sig-{signum.name}")
    daemon = stack.daemon
    assert daemon is not None
    daemon.send_signal(signum)
    assert daemon.wait(timeout=15) == 0
    final = stack.wait_for_telemetry(lambda m: m.get("reason") == "shutdown", timeout=5)
    assert final["wheels"] == {"left": 0.0, "right": 0.0}
    assert final["command"] is None
    stack.start_daemon()


def test_a_lost_link_stops_the_wheels(stack: RecordingStack) -> None:
    stack.drive_until_moving("before-outage")
    assert stack.broker is not None
    stack.broker.restart()
    # The daemon stops the wheels when the link drops and reports it once it is back (the
    # SDK may deliver reports from the new connection before it says the old one dropped).
    back = stack.wait_for_telemetry(
        lambda m: m.get("link") == "online" and m.get("reason") in ("link-lost", "expired"),
        timeout=20,
    )
    assert back["reason"] == "link-lost"  # not "expired": the 5 s TTL had not run out
    assert back["wheels"] == {"left": 0.0, "right": 0.0}
    # ...and it drives again after the outage.
    stack.drive_until_moving("after-outage")
