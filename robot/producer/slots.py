"""Who may hold one of the producer's peer slots, and for how long without proving anything.

KVS lets a channel have ``PEERS`` viewers, and anyone with a viewer URL may send an offer, so
a slot is lent, not given: an answered peer must connect within ``CONNECT_S``; a connected
peer must have a welcomed ``control`` channel within ``HELLO_S`` (when the producer takes
consoles), or it moves to the view-only class; the view-only class (hello-less viewers and
consoles without the drive scope) never holds the ``DRIVE_RESERVED`` slots, so a console that
may drive always finds a slot once the lent ones run out. One token subject holds at most
``PER_SUBJECT`` consoles, and one peer at most ``CANDIDATES`` remote ICE candidates.

Pure bookkeeping on an injected clock: the signaling master (robot/producer/master.py) asks
it on each offer, connection, welcome and close, and closes what :meth:`Slots.overdue` names.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from enum import StrEnum

HELLO_S = 10.0  # the most a console's data channel may take to be welcomed


class SlotClass(StrEnum):
    PENDING = "pending"  # answered, not yet connected or not yet welcomed: on loan
    VIEW = "view"  # watches only: a hello-less viewer or a console without the drive scope
    DRIVE = "drive"  # a console whose hello carries the drive scope


@dataclasses.dataclass(frozen=True)
class SlotLimits:
    peers: int = 10  # what KVS allows on one channel
    drive_reserved: int = 2  # slots the view-only class never takes
    per_subject: int = 5  # consoles of one token subject at once (a closed tab lingers ~30 s)
    # From the offer to "connected": aiortc may gather for 5 s, a browser's mDNS candidate
    # take seconds to resolve, and ICE's checks run for a while on a lossy path.
    connect_s: float = 30.0
    hello_s: float = HELLO_S  # from "connected" to a welcomed control channel
    candidates: int = 32  # remote ICE candidates one peer may add

    @property
    def view_slots(self) -> int:
        return self.peers - self.drive_reserved


DEFAULT_LIMITS = SlotLimits()


@dataclasses.dataclass
class _Slot:
    cls: SlotClass
    deadline: float | None  # when a pending slot's loan ends
    connected: bool = False
    subjects: dict[str, int] = dataclasses.field(default_factory=dict)  # welcomed consoles
    candidates: int = 0


class Slots:
    """The slots of one producer's peers, by viewer (KVS client) id. ``consoles`` False: the
    producer takes no data channels, so a connected peer is a viewer at once."""

    def __init__(
        self,
        limits: SlotLimits = DEFAULT_LIMITS,
        consoles: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.consoles = consoles
        self.clock = clock
        self._slots: dict[str, _Slot] = {}

    def __contains__(self, viewer: str) -> bool:
        return viewer in self._slots

    def count(self, cls: SlotClass) -> int:
        return sum(1 for slot in self._slots.values() if slot.cls is cls)

    def class_of(self, viewer: str) -> SlotClass | None:
        slot = self._slots.get(viewer)
        return None if slot is None else slot.cls

    def offer(self, viewer: str) -> bool:
        """Lend a slot to a peer that sent an offer (answered now); False when all are taken."""
        self._slots.pop(viewer, None)  # a new offer replaces that viewer's peer
        if len(self._slots) >= self.limits.peers:
            return False
        self._slots[viewer] = _Slot(SlotClass.PENDING, self.clock() + self.limits.connect_s)
        return True

    def connected(self, viewer: str) -> None:
        slot = self._slots.get(viewer)
        if slot is None or slot.connected:
            return
        slot.connected = True
        if slot.cls is SlotClass.PENDING:
            if self.consoles:
                slot.deadline = self.clock() + self.limits.hello_s
            elif not self._take_view(slot):
                slot.deadline = self.clock()  # no view slot left: overdue now

    def welcome(self, viewer: str, subject: str, drives: bool) -> str | None:
        """A console of ``subject`` on this peer was welcomed: None if it may stay, else why
        not (the console is then denied; the peer keeps whatever class it had)."""
        slot = self._slots.get(viewer)
        if slot is None:
            return "this connection has no slot"
        held = sum(other.subjects.get(subject, 0) for other in self._slots.values())
        if held >= self.limits.per_subject:
            return f"{subject} has {self.limits.per_subject} consoles open already"
        if drives:
            slot.cls, slot.deadline = SlotClass.DRIVE, None
        elif slot.cls is SlotClass.PENDING and not self._take_view(slot):
            return "every view-only slot is taken; a token that may drive still gets in"
        slot.subjects[subject] = slot.subjects.get(subject, 0) + 1
        return None

    def farewell(self, viewer: str, subject: str) -> None:
        """A welcomed console of ``subject`` on this peer ended."""
        slot = self._slots.get(viewer)
        if slot is not None and slot.subjects.get(subject):
            slot.subjects[subject] -= 1
            if not slot.subjects[subject]:
                del slot.subjects[subject]

    def candidate(self, viewer: str) -> bool:
        """Whether this peer may add one more remote candidate."""
        slot = self._slots.get(viewer)
        if slot is None or slot.candidates >= self.limits.candidates:
            return False
        slot.candidates += 1
        return True

    def release(self, viewer: str) -> None:
        self._slots.pop(viewer, None)

    def overdue(self) -> list[str]:
        """Peers whose loan ran out: unconnected past ``connect_s``; connected without a
        welcome past ``hello_s`` and no view-only slot free. Those given a view slot stay."""
        now = self.clock()
        late = []
        for viewer, slot in list(self._slots.items()):
            if slot.cls is not SlotClass.PENDING or slot.deadline is None or now < slot.deadline:
                continue
            if not (slot.connected and self._take_view(slot)):
                late.append(viewer)
        return late

    def _take_view(self, slot: _Slot) -> bool:
        if self.count(SlotClass.VIEW) >= self.limits.view_slots:
            return False
        slot.cls, slot.deadline = SlotClass.VIEW, None
        return True
