"""Which output channel drives which wheel, and which wheel is mounted inverted.

Every board reads the same option names for this, so moving a robot from one board to
another keeps its config words: ``left`` / ``right`` name the board's channels (where it has
channels to choose from) and ``invert_left`` / ``invert_right`` flip a wheel that was
mounted or wired the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drivers.base import clamp
from drivers.options import BoardOptions, Option


@dataclass(frozen=True)
class Wiring:
    left: str = "left"  # the channel that drives the left wheel
    right: str = "right"
    invert_left: bool = False
    invert_right: bool = False

    @property
    def channels(self) -> tuple[str, str]:
        return (self.left, self.right)

    def outputs(self, left: float, right: float) -> dict[str, float]:
        """Each channel's output (-1..1) for the wheel outputs ``left`` and ``right``."""
        left, right = clamp(left), clamp(right)
        return {
            self.left: -left if self.invert_left else left,
            self.right: -right if self.invert_right else right,
        }


def read_wiring(opts: BoardOptions, channels: Sequence[str] | None = None) -> Wiring:
    """The wiring options of a board with ``channels`` to choose from (the first two are the
    defaults for left and right); ``None`` for a board whose wheels its pins already name."""
    invert_left = opts.get("invert_left", False, bool)
    invert_right = opts.get("invert_right", False, bool)
    if channels is None:
        return Wiring(invert_left=invert_left, invert_right=invert_right)
    left = opts.get("left", channels[0], str, choices=channels)
    right = opts.get("right", channels[1], str, choices=channels)
    if left == right:
        opts.fail(
            "right",
            right,
            f'must differ from "left": one channel cannot drive both wheels '
            f"(to swap the wheels, set left to {channels[1]!r} and right to "
            f"{channels[0]!r})",
        )
    return Wiring(left, right, invert_left, invert_right)


def wiring_options(
    channels: Sequence[str] | None = None, what: str = "channel"
) -> tuple[Option, ...]:
    """The declarations of what :func:`read_wiring` reads, for the board's option table."""
    inverts = (
        Option("invert_left", False, "reverse the left wheel"),
        Option("invert_right", False, "reverse the right wheel"),
    )
    if channels is None:
        return inverts
    names = [f'`"{channel}"`' for channel in channels]
    shown = " or ".join(names) if len(names) == 2 else f"{names[0]} … {names[-1]}"
    return (
        Option("left", channels[0], f"{what} of the left wheel: {shown}"),
        Option("right", channels[1], f"{what} of the right wheel"),
        *inverts,
    )
