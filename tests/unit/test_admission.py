"""The one admission rule, as every path applies it."""

from __future__ import annotations

import pytest

from robot.contracts import access, admission
from robot.contracts.admission import CommandPath
from robot.contracts.protocol import Command, ProtocolError
from robot.contracts.refusals import Refusal, RefusalKind

DRIVER = access.Grants("alice", frozenset({access.SCOPE_DRIVE}), frozenset({"r1"}))
WATCHER = access.Grants("bob", frozenset({access.SCOPE_VIEW}), None)
ADMIN = access.Grants("root", frozenset({access.SCOPE_ADMIN}), None)


@pytest.mark.parametrize("path", [CommandPath.PUBLISH, CommandPath.DATACHANNEL])
def test_a_drivers_command_is_stamped_with_their_subject(path: CommandPath) -> None:
    admitted = admission.admit(Command("forward"), path, "r1", DRIVER)
    assert admitted.operator == "alice" and admitted.received_ts is None


@pytest.mark.parametrize("path", [CommandPath.PUBLISH, CommandPath.DATACHANNEL])
@pytest.mark.parametrize(
    ("grants", "robot", "action"),
    [(WATCHER, "r1", "forward"), (DRIVER, "r2", "forward"), (DRIVER, "r1", "clear_estop")],
)
def test_grants_that_do_not_allow_the_command_refuse_it(
    path: CommandPath, grants: access.Grants, robot: str, action: str
) -> None:
    with pytest.raises(access.AccessDenied) as refused:
        admission.admit(Command(action), path, robot, grants)
    assert refused.value.kind is RefusalKind.ACCESS and refused.value.reason


def test_an_admin_may_clear_the_estop() -> None:
    admitted = admission.admit(Command("clear_estop"), CommandPath.DATACHANNEL, "r1", ADMIN)
    assert admitted.operator == "root"


@pytest.mark.parametrize("path", [CommandPath.PUBLISH, CommandPath.DATACHANNEL])
@pytest.mark.parametrize("stamp", [{"operator": "mallory"}, {"received_ts": 1}])
def test_a_sender_may_not_set_the_endpoints_stamps(path: CommandPath, stamp: dict) -> None:
    with pytest.raises(ProtocolError):
        admission.admit(Command("forward", **stamp), path, "r1", DRIVER)


def test_the_publish_endpoint_stamps_its_clock_and_refuses_a_ts_ahead_of_it() -> None:
    admitted = admission.admit(Command("stop", ts=1000), CommandPath.PUBLISH, "r1", DRIVER, 1500)
    assert (admitted.operator, admitted.received_ts) == ("alice", 1500)
    with pytest.raises(ProtocolError, match="in the future"):
        admission.admit(Command("stop", ts=900_000), CommandPath.PUBLISH, "r1", DRIVER, 1500)


def test_mqtt_keeps_the_publish_lambdas_stamps_and_tells_its_path_by_them() -> None:
    stamped = Command("forward", operator="alice", received_ts=1500)
    assert admission.admit(stamped, CommandPath.MQTT, "r1") == stamped
    assert admission.arrival_path(stamped, CommandPath.MQTT) is CommandPath.PUBLISH
    assert admission.arrival_path(Command("forward"), CommandPath.MQTT) is CommandPath.MQTT
    assert admission.arrival_path(stamped, CommandPath.DATACHANNEL) is CommandPath.DATACHANNEL


def test_a_console_command_without_grants_is_refused() -> None:
    with pytest.raises(Refusal) as refused:
        admission.admit(Command("stop"), CommandPath.DATACHANNEL, "r1")
    assert refused.value.kind is RefusalKind.ACCESS
