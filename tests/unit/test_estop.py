"""The latched emergency stop: it stops at once, refuses motion until an admin clears it,
survives a restart of the daemon, and says who latched it, when and through which path."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import drivers
from robot.daemon.config import Config
from robot.daemon.daemon import Daemon
from robot.daemon.estop import FILE_NAME, EStop
from robot.daemon.freshness import FreshnessGate
from tests.unit.conftest import RecordingLink, SyncedClock


def daemon_with_latch(config: Config, state_dir: Path) -> tuple[Daemon, Any, RecordingLink]:
    motors = drivers.load("sim")
    link = RecordingLink()
    daemon = Daemon(config, motors, link, estop=EStop(state_dir), gate=FreshnessGate(SyncedClock()))  # type: ignore[arg-type]
    return daemon, motors, link


def send(daemon: Daemon, *payloads: dict[str, Any]) -> None:
    async def body() -> None:
        for payload in payloads:
            daemon.handle(json.dumps(payload).encode())

    asyncio.run(body())


def test_an_estop_stops_at_once_and_refuses_motion_until_cleared(
    sim_config: Config, tmp_path: Path
) -> None:
    daemon, motors, link = daemon_with_latch(sim_config, tmp_path)
    with motors:
        send(daemon, {"action": "forward", "ttl_ms": 5000}, {"action": "estop", "id": "e"})
        assert motors.robot.wheels == (0.0, 0.0)
        assert daemon.controller.state.reason == "estop"
        link.published.clear()
        send(
            daemon,
            {"action": "forward", "id": "f1"},
            {"action": "drive", "linear": 1, "angular": 0, "id": "f2"},
        )
        assert motors.robot.wheels == (0.0, 0.0)
        assert [(m["type"], m["reason"], m["id"]) for m in link.messages()] == [
            ("rejected", "estop latched", "f1"),
            ("rejected", "estop latched", "f2"),
        ]
        send(daemon, {"action": "stop"})  # stopping is always allowed
        assert daemon.controller.latched
        send(daemon, {"action": "clear_estop", "operator": "root"}, {"action": "forward"})
        assert not daemon.controller.latched
        assert motors.robot.wheels != (0.0, 0.0)


def test_the_latch_survives_a_restart_and_says_who_latched_it(
    sim_config: Config, tmp_path: Path
) -> None:
    daemon, motors, link = daemon_with_latch(sim_config, tmp_path)
    with motors:
        send(daemon, {"action": "estop", "operator": "alice", "received_ts": 1})
        first = daemon.controller.estop.status()  # type: ignore[union-attr]
        assert first["by"] == "alice" and first["via"] == "publish" and first["persisted"]
        send(daemon, {"action": "estop"})  # a second e-stop keeps the first one's record
    assert json.loads((tmp_path / FILE_NAME).read_text())["by"] == "alice"

    again, motors, link = daemon_with_latch(sim_config, tmp_path)  # a new daemon, same folder
    with motors:
        assert again.controller.latched
        assert again.controller.state.reason == "estop"
        send(again, {"action": "forward", "id": "after-restart"})
        assert motors.robot.wheels == (0.0, 0.0)
        again.report()
        state = link.messages("state")[-1]
        assert state["estop"] == {**first, "persisted": True}


def test_an_estop_over_mqtt_says_so(sim_config: Config, tmp_path: Path) -> None:
    daemon, motors, _ = daemon_with_latch(sim_config, tmp_path)
    with motors:
        send(daemon, {"action": "estop"})
        status = daemon.controller.estop.status()  # type: ignore[union-attr]
        assert status["by"] is None and status["via"] == "mqtt"


def test_a_stale_or_future_estop_still_stops(sim_config: Config, tmp_path: Path) -> None:
    daemon, motors, _ = daemon_with_latch(sim_config, tmp_path)
    with motors:
        send(daemon, {"action": "forward", "ttl_ms": 5000}, {"action": "estop", "ts": 1})
        assert daemon.controller.latched and motors.robot.wheels == (0.0, 0.0)


@pytest.mark.parametrize("content", ["{not json", '"latched"', '{"latched": "yes"}', "[]"])
def test_an_unreadable_latch_file_counts_as_latched(tmp_path: Path, content: str) -> None:
    (tmp_path / FILE_NAME).write_text(content)
    estop = EStop(tmp_path)
    assert estop.latched
    assert estop.status()["via"] == "state-file"


def test_no_file_means_no_latch_and_a_cleared_file_too(tmp_path: Path) -> None:
    assert not EStop(tmp_path).latched
    estop = EStop(tmp_path)
    estop.engage("bob", "publish")
    estop.clear()
    assert not EStop(tmp_path).latched
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o600


def test_a_clear_that_cannot_be_written_leaves_the_latch(
    sim_config: Config, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    daemon, motors, link = daemon_with_latch(sim_config, state)
    with motors:
        send(daemon, {"action": "estop"})
        # A folder where the file should be: no write replaces it, not even root's.
        (state / FILE_NAME).unlink()
        (state / FILE_NAME).mkdir()
        send(daemon, {"action": "clear_estop", "id": "c"})
        assert daemon.controller.latched
        [rejection] = link.messages("rejected")
        assert rejection["reason"].startswith("cannot clear the e-stop")
