"""The emergency-stop latch, kept in a file so it holds through a restart and a reboot (the rule:
docs/protocol.md, "The emergency stop"). The file is replaced in one step
(robot.posix.files.write_atomic); a file that exists but cannot be read counts as latched.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from robot.posix.files import write_atomic

log = logging.getLogger(__name__)

FILE_NAME = "estop.json"


@dataclass(frozen=True)
class Latch:
    """Who latched the e-stop (the operator's token subject, when it came through the
    publish endpoint or a console's data channel), when (epoch seconds) and through which
    path (``publish``, ``mqtt``, ``datachannel``, or ``state-file`` for a file that could not
    be read)."""

    by: str | None
    via: str
    at: float


class EStop:
    """The latch of one robot, read from ``state_dir`` at start."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE_NAME
        self.latch = _read(self.path)
        self.persisted = True  # False after a change that could not be written

    @property
    def latched(self) -> bool:
        return self.latch is not None

    def engage(self, by: str | None, via: str) -> None:
        """Latch (the first latch is kept: who stopped the robot first is the news)."""
        if self.latch is None:
            self.latch = Latch(by, via, time.time())
        self._save({"latched": True, **asdict(self.latch)})

    def clear(self) -> None:
        """Release the latch; OSError, and still latched, if that cannot be written down."""
        self._save({"latched": False}, strict=True)
        self.latch = None

    def status(self) -> dict[str, Any]:
        """The latch for telemetry."""
        if self.latch is None:
            return {"latched": False}
        return {"latched": True, **asdict(self.latch), "persisted": self.persisted}

    def _save(self, state: dict[str, Any], strict: bool = False) -> None:
        try:
            write_atomic(self.path, json.dumps(state), mode=0o600)
            self.persisted = True
        except OSError as exc:
            if strict:
                raise
            # The wheels are stopped and the latch holds in memory; say so in telemetry.
            log.error(
                "e-stop: cannot write %s (%s); latched until this daemon ends", self.path, exc
            )
            self.persisted = False


def _read(path: Path) -> Latch | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.error("e-stop: cannot read %s (%s): latched until cleared", path, exc)
        return Latch(None, "state-file", time.time())
    if not isinstance(data, dict) or data.get("latched") is not False:
        if isinstance(data, dict) and data.get("latched") is True:
            by, via, at = data.get("by"), data.get("via"), data.get("at")
            if (by is None or isinstance(by, str)) and isinstance(via, str):
                return Latch(by, via, float(at) if isinstance(at, int | float) else time.time())
        log.error("e-stop: %s does not hold a latch state: latched until cleared", path)
        return Latch(None, "state-file", time.time())
    return None
