"""Why a command is refused: one base class, one kind per rule that refuses.

Every refusal carries ``reason``, a sentence for a person (what the sender wrote appears in it
only escaped, so it is safe in logs and telemetry), and ``kind``, which rule refused it.
Standard library only: the Lambdas ship it.
"""

from __future__ import annotations

from enum import StrEnum


class RefusalKind(StrEnum):
    PROTOCOL = "protocol"  # not a valid command (robot.contracts.protocol)
    ACCESS = "access"  # the sender's grants do not allow it (robot.contracts.access)
    STALE = "stale"  # too old, or stamped ahead of the clock (robot.daemon.freshness)
    ESTOP = "estop"  # the e-stop latch forbids it (robot.daemon.controller)
    LEASE = "lease"  # another operator holds the drive lease (robot.daemon.session)


class Refusal(Exception):
    """A command that is not acted on. Subclasses set ``kind``."""

    kind: RefusalKind

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
