"""The hardware abstraction: motor boards found by name, as plugins.

    >>> import drivers
    >>> with drivers.load("sim") as motors:
    ...     motors.drive(0.5, 0.5)

A board is a :class:`Board` published under the entry-point group ``telepresence_robot.boards``
(see ``pyproject.toml``), the way gpiozero finds its pin factories: a package adds a board
by declaring one, and nothing here names it. Loading an entry point imports only the board's
module; the module imports its library inside ``create``, so a laptop never needs one.
"""

from __future__ import annotations

import functools
import importlib.util
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from drivers.base import Board, DriverError, MotorDriver, clamp
from drivers.channel_board import ChannelBoard
from drivers.options import Option, Requirement

ENTRY_POINT_GROUP = "telepresence_robot.boards"

__all__ = [
    "ENTRY_POINT_GROUP",
    "Board",
    "ChannelBoard",
    "DriverError",
    "MotorDriver",
    "Option",
    "Requirement",
    "board",
    "board_names",
    "check",
    "clamp",
    "load",
]


def board_names() -> list[str]:
    """The names of every installed board, sorted."""
    return sorted(_entry_points())


def board(name: str) -> Board:
    """The board plugin called ``name``; DriverError naming the installed ones if none is."""
    entry_point = _entry_points().get(name)
    if entry_point is None:
        raise DriverError(
            f'unknown motor driver "{name}": choose one of {", ".join(board_names())}'
        )
    found = entry_point.load()
    if not isinstance(found, Board):
        raise DriverError(
            f'motor driver "{name}": {entry_point.value} is not a drivers.Board; '
            "reinstall the package that provides it"
        )
    return found


def load(name: str, options: dict[str, Any] | None = None) -> MotorDriver:
    """The motor driver for board ``name``, configured with ``options``."""
    plugin = board(name)
    _require(plugin)
    return plugin.create(dict(options or {}))


def check(name: str, options: dict[str, Any] | None = None) -> list[str]:
    """Every problem that would stop board ``name`` from loading, without touching hardware."""
    try:
        plugin = board(name)
    except DriverError as exc:
        return [str(exc)]
    problems = []
    try:
        plugin.check_options(dict(options or {}))
    except DriverError as exc:
        problems.append(str(exc))
    problems.extend(_missing(plugin))
    return problems


@functools.cache
def _entry_points() -> dict[str, EntryPoint]:
    # Read once per process: scanning the installed distributions is the slow part.
    return {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}


def _require(plugin: Board) -> None:
    missing = _missing(plugin)
    if missing:
        raise DriverError("; ".join(missing))


def _missing(plugin: Board) -> list[str]:
    """One sentence per library of the board that is not installed, with its install line."""
    missing = []
    for requirement in plugin.requires:
        if not _installed(requirement.module):
            missing.append(
                f'motor driver "{plugin.name}" needs the Python package "{requirement.pip}", '
                f"which is not installed: {requirement.install_hint()}"
            )
    return missing


def _installed(module: str) -> bool:
    # find_spec looks a library up without importing it (for "a.b", it imports "a")
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
