"""The drive lease in Daemon.handle: two consoles' operators on the data channel, the
publish Lambda's stamped commands and a direct MQTT publisher on the action topic, one
driver among them; stop and estop from anyone who may drive; telemetry's ``session``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from robot.contracts import access
from robot.contracts.admission import CommandPath
from robot.daemon.config import Config
from robot.daemon.links import LinkStatus, Watchers
from robot.daemon.session import MQTT_OPERATOR
from tests.unit.conftest import RecordingLink, make_daemon

ROBOT = "testbot"
ALICE = access.Grants("alice", frozenset({access.SCOPE_DRIVE}), None)
BOB = access.Grants("bob", frozenset({access.SCOPE_DRIVE}), frozenset({ROBOT}))
ROOT = access.Grants("root", frozenset({access.SCOPE_ADMIN}), None)
GUEST = access.Grants("guest:Ann", frozenset({access.SCOPE_VIEW}), frozenset({ROBOT}))
FORWARD = {"action": "forward", "ttl_ms": 5000}


class Parts:
    def __init__(self, config: Config) -> None:
        self.daemon, self.motors, self.link = make_daemon(config)

    def send(self, grants: access.Grants | None, **command: Any) -> dict[str, Any]:
        """One command on the data channel (or, with ``grants`` None, straight on MQTT);
        the telemetry the daemon sent for it."""
        path = CommandPath.MQTT if grants is None else CommandPath.DATACHANNEL
        sent = len(self.link.published)

        async def body() -> None:
            self.daemon.handle(json.dumps(command), path, grants)
            await asyncio.sleep(0)  # the state report goes out on the next turn

        asyncio.run(body())
        [answer] = [json.loads(m) for m in self.link.published[sent:]][-1:]
        return answer

    @property
    def moving(self) -> bool:
        return self.motors.robot.wheels != (0.0, 0.0)


@pytest.fixture
def parts(sim_config: Config) -> Any:
    parts = Parts(sim_config)
    with parts.motors:
        yield parts


def test_the_second_operator_is_refused_while_the_first_drives(parts: Parts) -> None:
    state = parts.send(ALICE, **FORWARD)
    assert state["session"]["driver"] == "alice"
    refused = parts.send(BOB, action="drive", linear=-1.0, angular=0.0, id="b-1")
    assert refused["type"] == "rejected"
    assert refused["kind"] == "lease"
    assert refused["id"] == "b-1"
    assert '"alice" drives' in refused["reason"]
    assert parts.motors.robot.wheels[0] > 0  # still alice's forward


@pytest.mark.parametrize("action", ["stop", "estop"])
def test_a_stop_from_a_watcher_who_may_drive_stops_the_driving_robot(
    parts: Parts, action: str
) -> None:
    parts.send(ALICE, **FORWARD)
    state = parts.send(BOB, action=action)
    assert state["type"] == "state" and state["reason"] == action
    assert not parts.moving
    assert state["session"]["driver"] == "alice"  # a stop takes no lease


def test_a_view_only_token_watches_and_never_drives_or_stops(parts: Parts) -> None:
    for action in ("forward", "stop", "estop", "request_control"):
        refused = parts.send(GUEST, action=action)
        assert (refused["type"], refused["kind"]) == ("rejected", "access")
    assert parts.daemon.session.driver is None


def test_request_accept_hands_over_and_stops_the_old_drivers_motion(parts: Parts) -> None:
    parts.send(ALICE, **FORWARD)
    asked = parts.send(BOB, action="request_control")
    assert asked["session"]["requested_by"] == "bob"
    assert parts.moving  # asking moves nothing
    handed = parts.send(ALICE, action="accept_control", to="bob")
    assert handed["reason"] == "handover"
    assert not parts.moving  # the new driver starts from a stop
    assert handed["session"]["driver"] == "bob"
    assert handed["session"]["requested_by"] is None
    assert parts.send(BOB, **FORWARD)["type"] == "state"
    assert parts.moving
    assert parts.send(ALICE, **FORWARD)["kind"] == "lease"


def test_a_declined_request_keeps_the_driver(parts: Parts) -> None:
    parts.send(ALICE, **FORWARD)
    parts.send(BOB, action="request_control")
    declined = parts.send(ALICE, action="decline_control", to="bob")
    assert declined["session"]["driver"] == "alice"
    assert declined["session"]["requested_by"] is None
    assert parts.send(BOB, **FORWARD)["kind"] == "lease"


def test_an_admin_takes_over_at_once(parts: Parts) -> None:
    parts.send(ALICE, **FORWARD)
    taken = parts.send(ROOT, action="take_control")
    assert taken["session"]["driver"] == "root"
    assert not parts.moving
    assert parts.send(ALICE, **FORWARD)["kind"] == "lease"


def test_only_an_admin_may_take_over(parts: Parts) -> None:
    parts.send(ALICE, **FORWARD)
    refused = parts.send(BOB, action="take_control")
    assert (refused["kind"], parts.daemon.session.driver) == ("access", "alice")


def test_an_unanswered_request_passes_once_the_driver_is_idle(parts: Parts) -> None:
    clock = [100.0]
    parts.daemon.session.clock = lambda: clock[0]
    parts.send(ALICE, action="forward")
    parts.send(BOB, action="request_control")
    clock[0] += parts.daemon.config.handover_timeout_s
    state = parts.send(BOB, action="forward")
    assert state["type"] == "state"
    assert state["session"]["driver"] == "bob"


def test_the_lease_lapses_and_the_next_operator_takes_it(parts: Parts) -> None:
    clock = [100.0]
    parts.daemon.session.clock = lambda: clock[0]
    parts.send(ALICE, action="forward")
    clock[0] += parts.daemon.config.drive_lease_s
    state = parts.send(BOB, action="forward")
    assert state["session"]["driver"] == "bob"


def test_the_driver_releases_the_lease(parts: Parts) -> None:
    parts.send(ALICE, action="forward")
    assert parts.send(ALICE, action="release_control")["session"]["driver"] is None
    assert parts.send(BOB, action="forward")["session"]["driver"] == "bob"


def test_commands_straight_on_mqtt_are_one_unnamed_operator(parts: Parts) -> None:
    assert parts.send(None, **FORWARD)["session"]["driver"] == MQTT_OPERATOR
    assert parts.send(ALICE, **FORWARD)["kind"] == "lease"
    # the publish Lambda's stamp names its caller: a second operator on the same link
    stamped = parts.send(None, action="forward", operator="carol")
    assert stamped["kind"] == "lease"
    assert f'"{MQTT_OPERATOR}" drives' in stamped["reason"]


def test_a_refused_command_moves_no_lease(parts: Parts) -> None:
    refused = parts.send(ALICE, action="forward", ts=1)  # stale
    assert refused["kind"] == "stale"
    assert parts.daemon.session.driver is None


def test_a_restarted_daemon_has_a_free_lease(sim_config: Config) -> None:
    first = Parts(sim_config)
    with first.motors:
        first.send(ALICE, **FORWARD)
    again = Parts(sim_config)  # what a restart builds: the lease lives in memory only
    with again.motors:
        assert again.send(BOB, **FORWARD)["session"]["driver"] == "bob"


def test_telemetry_names_the_watchers_but_the_driver(sim_config: Config) -> None:
    daemon, motors, link = make_daemon(sim_config)
    consoles = RecordingLink()
    consoles.path = CommandPath.DATACHANNEL
    daemon.links.append(consoles)  # type: ignore[arg-type]

    async def scenario() -> list[dict]:
        serving = asyncio.create_task(daemon.serve())
        daemon.handle(json.dumps(FORWARD), CommandPath.DATACHANNEL, ALICE)
        consoles.incoming.put_nowait(Watchers(frozenset({"alice", "bob", "guest:Ann"})))
        while daemon.session.watchers != {"alice", "bob", "guest:Ann"}:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0)
        sessions = [link.messages("state")[-1]["session"]]
        consoles.incoming.put_nowait(LinkStatus(online=False))  # the producer went
        while daemon.session.watchers:
            await asyncio.sleep(0.005)
        sessions.append(link.messages("state")[-1]["session"])
        serving.cancel()
        return sessions

    with motors:
        watching, gone = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert watching["driver"] == "alice"
    assert watching["watchers"] == ["bob", "guest:Ann"]
    assert gone["watchers"] == []
