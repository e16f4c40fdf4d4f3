"""Board options from config.json, checked with errors that name the key, the value and the fix.

Each board declares its options (:class:`Option`: name, default, meaning) on its
:class:`~drivers.base.Board`; :func:`markdown_table` makes docs/boards.md's tables from them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from drivers.base import DriverError

T = TypeVar("T")


@dataclass(frozen=True)
class Requirement:
    """The library a board needs, and how to install it."""

    module: str  # import name
    pip: str  # PyPI name (also the pyproject extra's content)
    apt: str | None = None  # Raspberry Pi OS package, where one exists
    extra: str | None = None  # the pyproject extra that installs it

    def install_hint(self) -> str:
        ways = []
        if self.apt:
            ways.append(f"on Raspberry Pi OS: sudo apt install {self.apt}")
        if self.extra:
            ways.append(f"pip install 'telepresence-robot[{self.extra}]'")
        ways.append(f"pip install {self.pip}")
        return "; or ".join(ways)


@dataclass(frozen=True)
class Option:
    """One key of ``MOTOR_OPTIONS.<board>``, as the docs show it: its default and meaning."""

    name: str
    default: Any  # the value the board uses when the key is left out, as JSON
    meaning: str


def markdown_table(options: Iterable[Option]) -> str:
    """A board's option table for docs/boards.md, made from its declarations."""
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for option in options:
        rows.append(f"| `{option.name}` | `{json.dumps(option.default)}` | {option.meaning} |")
    return "\n".join(rows)


class BoardOptions:
    """Reads one board's options, collecting every problem before raising.

    opts = BoardOptions("adafruit", options)
    address = opts.get("i2c_address", 0x60, int)
    opts.done()   # raises DriverError listing every problem and any unknown key
    """

    def __init__(self, board: str, options: dict[str, Any], prefix: str = "") -> None:
        self.board = board
        self.prefix = prefix or f"MOTOR_OPTIONS.{board}"  # where the options are in config
        self._options = dict(options)
        self._seen: set[str] = set()
        self.problems: list[str] = []

    def get(self, key: str, default: T, kind: type | tuple[type, ...], choices: Any = None) -> T:
        self._seen.add(key)
        if key not in self._options:
            return default
        value = self._options[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        type_ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not type_ok:
            # JSON users know null, not NoneType
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            self.problems.append(self._where(key, value, f"must be {names}"))
            return default
        if choices is not None and value not in choices:
            shown = ", ".join(repr(choice) for choice in choices)
            self.problems.append(self._where(key, value, f"must be one of {shown}"))
            return default
        return value

    def fail(self, key: str, value: Any, fix: str) -> None:
        """Record a problem found by a check the board makes itself."""
        self.problems.append(self._where(key, value, fix))

    def done(self) -> None:
        for key in sorted(set(self._options) - self._seen):
            known = ", ".join(sorted(self._seen)) or "none"
            self.problems.append(f"{self.prefix}.{key}: unknown option; known options: {known}")
        if self.problems:
            raise DriverError("; ".join(self.problems))

    def _where(self, key: str, value: Any, fix: str) -> str:
        return f"{self.prefix}.{key} = {value!r}: {fix}"
