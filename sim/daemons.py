"""The simulated robots' daemons: one real daemon per robot, each with its own folder (its
config, log, e-stop latch and sim board state, which its camera follows), started and stopped
as the robot's service would be."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from robot.posix.processes import stop_child
from sim.processes import spawn_child
from sim.robot.telemetry_view import LatestTelemetry


@dataclass
class RobotDaemon:
    """One robot of the simulator: its thing name, its folder, its running daemon if any,
    and what its telemetry topic last said."""

    name: str
    folder: Path
    log_file: Path | None = None  # by default daemon.log in its folder
    telemetry: LatestTelemetry = field(default_factory=LatestTelemetry)
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.folder / "config.json"

    @property
    def log_path(self) -> Path:
        return self.log_file or self.folder / "daemon.log"

    @property
    def wheels_file(self) -> Path:
        """Where the sim board keeps its wheel outputs and pose (the sim camera reads it), so
        that `robot stop-motors` with the robot's config reaches the board even after the
        daemon was killed."""
        return self.folder / "sim-board.json"

    @property
    def speaker_file(self) -> Path:
        """What the simulated room's speaker played (sim/robot/room.py), a WAV file."""
        return self.folder / "speaker.wav"

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def spawn(self) -> None:
        """Start the real daemon on the sim board (not waiting for it to report in)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:  # the child keeps its own copy
            self.process = spawn_child(
                [sys.executable, "-m", "robot.cli", "run", "--config", str(self.config_path)],
                log_file,
                env={**os.environ, "MOTOR_DRIVER": "sim", "PYTHONUNBUFFERED": "1"},
            )

    def stop(self) -> None:
        """SIGTERM (the daemon stops its motors on its way out), SIGKILL if it lingers."""
        process, self.process = self.process, None
        if process is not None:
            stop_child(process)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text().splitlines()[-lines:])
        except OSError:
            return "(no daemon log)"
