"""The producer's peer slots on a clock the test turns: every loan, class and cap at its bound."""

from __future__ import annotations

import pytest

from robot.producer.slots import SlotClass, SlotLimits, Slots
from tests.unit.conftest import ManualClock

LIMITS = SlotLimits(peers=4, drive_reserved=1, per_subject=2, connect_s=20, hello_s=10)


@pytest.fixture
def slots(clock: ManualClock) -> Slots:
    return Slots(LIMITS, consoles=True, clock=clock)


def test_a_peer_not_connected_by_the_end_of_its_loan_is_overdue_exactly_then(slots, clock):
    assert slots.offer("a")
    clock.now += LIMITS.connect_s - 0.001
    assert slots.overdue() == []
    clock.now += 0.001
    assert slots.overdue() == ["a"]


def test_a_connected_peer_without_a_welcome_moves_to_the_view_class_at_its_hello_bound(
    slots, clock
):
    slots.offer("a")
    clock.now += 5
    slots.connected("a")
    clock.now += LIMITS.hello_s - 0.001
    assert slots.overdue() == [] and slots.class_of("a") is SlotClass.PENDING
    clock.now += 0.001
    assert slots.overdue() == []
    assert slots.class_of("a") is SlotClass.VIEW


def test_the_view_class_never_takes_the_drive_reserve(slots, clock):
    for viewer in "abcd":
        assert slots.offer(viewer)
        slots.connected(viewer)
    assert not slots.offer("e")  # all four lent
    clock.now += LIMITS.hello_s
    # Three of four may watch on; the fourth is closed, which frees the reserved slot.
    assert slots.overdue() == ["d"]
    assert slots.count(SlotClass.VIEW) == LIMITS.view_slots == 3
    slots.release("d")
    assert slots.offer("driver")
    slots.connected("driver")
    assert slots.welcome("driver", "alice", drives=True) is None
    assert slots.class_of("driver") is SlotClass.DRIVE
    clock.now += 3600
    assert slots.overdue() == []


def test_a_view_only_console_is_refused_when_the_view_class_is_full(slots):
    for viewer in "abc":
        slots.offer(viewer)
        slots.connected(viewer)
        assert slots.welcome(viewer, f"viewer-{viewer}", drives=False) is None
    slots.offer("d")
    slots.connected("d")
    assert "view-only" in slots.welcome("d", "viewer-d", drives=False)
    assert slots.welcome("d", "driver", drives=True) is None


def test_one_subject_holds_at_most_its_share_of_consoles(slots):
    for viewer in "abc":
        slots.offer(viewer)
        slots.connected(viewer)
    assert slots.welcome("a", "alice", drives=True) is None
    assert slots.welcome("b", "alice", drives=True) is None
    assert "2 consoles" in slots.welcome("c", "alice", drives=True)
    slots.farewell("a", "alice")
    assert slots.welcome("c", "alice", drives=True) is None


def test_a_new_offer_from_a_viewer_replaces_its_slot(slots):
    for viewer in "abcd":
        slots.offer(viewer)
    assert slots.offer("a")  # the same client again: its old peer goes
    assert not slots.offer("e")


def test_remote_candidates_are_capped_per_peer(slots):
    slots.offer("a")
    assert all(slots.candidate("a") for _ in range(LIMITS.candidates))
    assert not slots.candidate("a")
    assert not slots.candidate("unknown")


def test_without_consoles_a_connected_peer_is_a_viewer_at_once_or_overdue(clock):
    plain = Slots(LIMITS, consoles=False, clock=clock)
    for viewer in "abcd":
        plain.offer(viewer)
        plain.connected(viewer)
    assert [plain.class_of(viewer) for viewer in "abcd"] == [SlotClass.VIEW] * 3 + [
        SlotClass.PENDING
    ]
    assert plain.overdue() == ["d"]
