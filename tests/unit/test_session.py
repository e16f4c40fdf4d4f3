"""The drive lease (robot/daemon/session.py): one driver at a time, hand-over, lapses.

Driven by a clock the test sets; the property test interleaves commands from several
operators with clock steps and checks each answer against the rules the lease promises.
"""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from robot.contracts.protocol import MOTION_ACTIONS, Command
from robot.contracts.refusals import RefusalKind
from robot.daemon.session import MQTT_OPERATOR, LeaseRefusal, Session, operator_of
from tests.unit.conftest import ManualClock

LEASE_S, HANDOVER_S = 15.0, 10.0
OPERATORS = ("alice", "bob", "carol")


@pytest.fixture
def session(clock: ManualClock) -> Session:
    return Session(LEASE_S, HANDOVER_S, clock)


def drive(session: Session, operator: str, action: str = "forward") -> None:
    """What the daemon does with an applied command: check, then record."""
    session.check(operator, action)
    session.drove(operator, action)


def act(session: Session, operator: str, action: str, to: str | None = None) -> None:
    session.check(operator, action)
    session.act(operator, Command(action, to=to))


def test_the_first_motion_command_takes_the_free_lease(session: Session) -> None:
    assert session.driver is None
    drive(session, "alice")
    assert session.driver == "alice"


def test_another_operators_motion_is_refused_naming_the_driver(session: Session) -> None:
    drive(session, "alice")
    with pytest.raises(LeaseRefusal) as refused:
        drive(session, "bob", "drive")
    assert refused.value.kind is RefusalKind.LEASE
    assert '"alice" drives' in refused.value.reason
    assert session.driver == "alice"


@pytest.mark.parametrize("action", ["stop", "estop"])
def test_stop_and_estop_are_accepted_from_anyone_and_take_nothing(
    session: Session, action: str
) -> None:
    drive(session, "alice")
    drive(session, "bob", action)
    assert session.driver == "alice"


def test_a_stop_takes_no_free_lease(session: Session) -> None:
    drive(session, "bob", "stop")
    assert session.driver is None


def test_the_lease_lapses_after_lease_s_without_a_command(
    session: Session, clock: ManualClock
) -> None:
    drive(session, "alice")
    clock.now += LEASE_S - 1
    drive(session, "alice", "stop")  # every command of the driver renews
    clock.now += LEASE_S - 1
    with pytest.raises(LeaseRefusal):
        drive(session, "bob")
    clock.now += 1
    drive(session, "bob")
    assert session.driver == "bob"


def test_release_frees_the_lease(session: Session) -> None:
    drive(session, "alice")
    act(session, "alice", "release_control")
    assert session.driver is None
    drive(session, "bob")
    assert session.driver == "bob"


def test_a_request_accepted_passes_the_lease(session: Session) -> None:
    drive(session, "alice")
    act(session, "bob", "request_control")
    assert session.requested_by == "bob"
    act(session, "alice", "accept_control", to="bob")
    assert (session.driver, session.requested_by) == ("bob", None)
    drive(session, "bob")
    with pytest.raises(LeaseRefusal):
        drive(session, "alice")


def test_a_request_declined_keeps_the_driver(session: Session) -> None:
    drive(session, "alice")
    act(session, "bob", "request_control")
    act(session, "alice", "decline_control", to="bob")
    assert (session.driver, session.requested_by) == ("alice", None)


def test_an_answer_must_name_who_asked(session: Session) -> None:
    drive(session, "alice")
    act(session, "bob", "request_control")
    with pytest.raises(LeaseRefusal, match='"carol" has not asked; "bob" has'):
        act(session, "alice", "accept_control", to="carol")
    assert session.driver == "alice"


@pytest.mark.parametrize("action", ["accept_control", "decline_control", "release_control"])
def test_only_the_driver_answers_or_releases(session: Session, action: str) -> None:
    drive(session, "alice")
    act(session, "bob", "request_control")
    to = "bob" if action != "release_control" else None
    with pytest.raises(LeaseRefusal, match="only the driver"):
        act(session, "carol", action, to=to)
    assert (session.driver, session.requested_by) == ("alice", "bob")


def test_an_unanswered_request_passes_once_the_driver_is_idle(
    session: Session, clock: ManualClock
) -> None:
    drive(session, "alice")
    act(session, "bob", "request_control")
    clock.now += HANDOVER_S - 1
    drive(session, "alice")  # still driving: the ask waits for the driver to be idle
    clock.now += HANDOVER_S - 1
    assert session.report(0)["driver"] == "alice"
    clock.now += 1
    assert session.report(0)["driver"] == "bob"
    drive(session, "bob")


def test_a_request_for_a_free_lease_takes_it(session: Session) -> None:
    act(session, "bob", "request_control")
    assert session.driver == "bob"


def test_take_control_is_at_once(session: Session) -> None:
    drive(session, "alice")
    act(session, "root", "take_control")
    assert session.driver == "root"
    with pytest.raises(LeaseRefusal, match='"root" drives'):
        drive(session, "alice")


def test_the_report_names_driver_since_request_and_watchers(
    session: Session, clock: ManualClock
) -> None:
    assert session.report(5000.0) == {
        "driver": None,
        "since": None,
        "requested_by": None,
        "watchers": [],
    }
    drive(session, "alice")
    clock.now += 2
    act(session, "bob", "request_control")
    session.see(["alice", "bob", "carol"])
    assert session.report(5000.0) == {
        "driver": "alice",
        "since": 4998.0,
        "requested_by": "bob",
        "watchers": ["bob", "carol"],
    }


def test_a_command_published_straight_to_mqtt_is_the_operator_mqtt() -> None:
    assert operator_of(Command("forward")) == MQTT_OPERATOR
    assert operator_of(Command("forward", operator="alice")) == "alice"


class LeaseMachine(RuleBasedStateMachine):
    """Commands from several operators interleaved with clock steps. The machine keeps its
    own account of who drives, since when, and who asked; each answer of the session, and
    every change of driver it makes by itself, is checked against the rules."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.session = Session(LEASE_S, HANDOVER_S, self.clock)
        self.driver: str | None = None
        self.renewed = 0.0  # when the driver last sent a command, or got the lease
        self.asked: str | None = None
        self.asked_at = 0.0

    def _drives(self, operator: str | None) -> None:
        self.driver, self.renewed, self.asked = operator, self.clock.now, None

    # Steps near the lease's and the hand-over's bounds, and anything between.
    @rule(seconds=st.sampled_from([1, 5, HANDOVER_S - 1, HANDOVER_S, LEASE_S]) | st.floats(0, 30))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule(operator=st.sampled_from(OPERATORS), action=st.sampled_from(MOTION_ACTIONS))
    def motion(self, operator: str, action: str) -> None:
        try:
            drive(self.session, operator, action)
        except LeaseRefusal as refused:
            assert self.driver not in (None, operator)
            assert f'"{self.driver}" drives' in refused.reason
            return
        assert self.driver in (None, operator)  # it was free, or theirs
        assert self.session.driver == operator
        self.driver, self.renewed = operator, self.clock.now
        if self.asked == operator:  # no ask of one's own lease
            self.asked = None

    @rule(operator=st.sampled_from(OPERATORS), action=st.sampled_from(["stop", "estop"]))
    def stop(self, operator: str, action: str) -> None:
        drive(self.session, operator, action)  # never refused
        if self.driver == operator:
            self.renewed = self.clock.now

    @rule(operator=st.sampled_from(OPERATORS))
    def request(self, operator: str) -> None:
        act(self.session, operator, "request_control")
        if self.driver is None:
            self._drives(operator)
        elif self.driver != operator:
            self.asked, self.asked_at = operator, self.clock.now

    @rule(operator=st.sampled_from(OPERATORS), accept=st.booleans())
    def answer(self, operator: str, accept: bool) -> None:
        to = self.asked or "nobody"
        action = "accept_control" if accept else "decline_control"
        try:
            act(self.session, operator, action, to=to)
        except LeaseRefusal:
            assert operator != self.driver or self.asked is None
            return
        assert operator == self.driver and self.asked == to
        if accept:
            self._drives(to)
        else:
            self.asked, self.renewed = None, self.clock.now

    @rule(operator=st.sampled_from(OPERATORS))
    def release(self, operator: str) -> None:
        try:
            act(self.session, operator, "release_control")
        except LeaseRefusal:
            assert operator != self.driver
            return
        assert operator == self.driver
        self._drives(None)

    @rule()
    def take(self) -> None:
        act(self.session, "root", "take_control")
        self._drives("root")

    @invariant()
    def the_driver_changes_only_as_the_rules_say(self) -> None:
        now = self.clock.now
        report = self.session.report(0)
        assert report["driver"] not in report["watchers"]
        if report["driver"] != self.driver:
            if report["driver"] is None:  # a lapse (an ask is dropped with it)
                assert now - self.renewed >= LEASE_S
            else:  # an unanswered ask passed
                assert report["driver"] == self.asked
                assert now - max(self.asked_at, self.renewed) >= HANDOVER_S
            self._drives(report["driver"])
        elif self.driver is not None:  # nothing was due
            assert now - self.renewed < LEASE_S
            if self.asked is not None:
                assert now - max(self.asked_at, self.renewed) < HANDOVER_S
        assert report["requested_by"] == self.asked


LeaseMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestLease = LeaseMachine.TestCase
