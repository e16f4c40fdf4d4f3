"""Each extra brings every third-party module its entry points import: each is installed alone
into a venv of its own (no other extra, no system packages) from the package's wheel, and its
entry points are imported there. The tests' own venv has every extra, so it would hide a gap.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.deploy.test_install_pi import SKIPPED_IN_COPIES

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_S = 900  # downloads on a fresh machine; a safety net, not a timing check

# What each entry point imports (the modules whose imports are at the top, and the modules
# the command imports in its function), by the extra that must make it work.
ENTRY_POINTS = {
    # robot run, check-config, doctor, stop-motors: the robot needs no extra to drive.
    "": [
        "robot.cli",
        "robot.daemon.daemon",
        "robot.cli.examine",
        "drivers",
        "sim.robot.board",  # the sim board, which robot run drives in the simulator
        "robot.daemon.health",
        "sim.robot.health",  # HEALTH_SOURCE sim
        "sim.robot.battery",  # BATTERY sensor sim
        "sim.robot.rangefinder",  # the sim distance sensor, the simulator's obstacle guard
        "drivers.distance",
        "drivers.vl53l0x",  # the sensors import their libraries only when they start
        "drivers.hcsr04",
    ],
    # BATTERY's sensors: robot/daemon/battery.py imports their libraries when it opens one.
    "battery": ["adafruit_ina219", "adafruit_max1704x"],
    # python -m robot.producer and its camera sources (picamera2 itself comes from apt).
    "video": [
        "robot.producer.run",
        "robot.producer.cameras",
        "robot.producer.credentials",
        "botocore.credentials",  # credentials.py imports it when it refreshes
        "robot.producer.kvs",
        "robot.producer.master",
        "robot.producer.feeds",
        "robot.producer.consoles",
        "robot.producer.testpattern",
        "robot.producer.v4l2",
        "robot.producer.picamera",
        "aiortc.contrib.media",  # v4l2's create
    ],
    # robot keys, token, provision; the Lambdas (whose runtime also has boto3).
    "cloud": [
        "boto3",
        "robot.contracts.tokens",
        "robot.cli.iot_provisioning",
        "cloud.authorizer.app",
        "cloud.publish.app",
        "cloud.viewer.app",
        "cloud.endpoints.app",
        "cloud.fleet.app",
        "cloud.site.app",
    ],
    # The obstacle guard's sensor libraries.
    "obstacle": ["adafruit_vl53l0x", "gpiozero"],
    # robot sim: the stack, its stand-ins for AWS, its camera.
    "sim": ["sim.stack", "sim.aws.iot_data", "sim.robot.camera", "robot.producer.master"],
}
# The boards' extras: drivers.check says no library of the board is missing. (Importing
# adafruit_motorkit would ask Blinka which computer this is, and it knows only boards.)
BOARDS = ["adafruit", "gpiozero", "serial"]
IMPORT_ALL = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's wheel, built from a clean copy of the checkout (as install.sh does)."""
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SKIPPED_IN_COPIES))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder), source],
        check=True,
        timeout=PIP_TIMEOUT_S,
    )
    [built] = folder.glob("telepresence_robot-*.whl")
    return built


def venv_with(tmp_path: Path, wheel: Path, extra: str) -> Path:
    """A venv of its own with the package and this extra only; its python."""
    folder = tmp_path / f"venv-{extra or 'none'}"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    spec = f"{wheel}[{extra}]" if extra else str(wheel)
    result = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return python


def imports(python: Path, modules: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", IMPORT_ALL, *modules],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=python.parents[2],  # not the checkout, whose folders would be importable
    )


@pytest.mark.parametrize("extra", list(ENTRY_POINTS))
def test_each_extra_imports_its_entry_points_alone(extra, wheel, tmp_path):
    python = venv_with(tmp_path, wheel, extra)
    result = imports(python, ENTRY_POINTS[extra])
    assert result.returncode == 0, f"[{extra}] misses a dependency:\n{result.stderr}"
    if extra == "":
        # Nothing more than the IoT SDK: the video and operator tools are not there.
        assert imports(python, ["robot.producer.master"]).returncode == 1
        assert imports(python, ["boto3"]).returncode == 1


@pytest.mark.parametrize("board", BOARDS)
def test_each_board_extra_brings_its_library(board, wheel, tmp_path):
    python = venv_with(tmp_path, wheel, board)
    script = f"import drivers; print(drivers.check({board!r}))"
    result = subprocess.run(
        [python, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_an_operator_tool_without_its_extra_says_which_in_one_line(wheel, tmp_path):
    python = venv_with(tmp_path, wheel, "")
    robot = python.parent / "robot"
    for argv, extra in (
        (["sim", "--state-dir", str(tmp_path / "sim")], "sim"),
        (["provision", "--thing", "stspi", "--region", "eu-west-1"], "cloud"),
        (["keys", "init", "--out", str(tmp_path / "keys")], "cloud"),
        (["token", "--subject", "alice", "--key", str(tmp_path / "none.pem")], "cloud"),
    ):
        result = subprocess.run(
            [robot, *argv], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 1, result.stderr
        [line] = result.stderr.splitlines()
        assert line.startswith(f"robot {argv[0]}: needs the {extra} extra"), line
        assert f"install '.[{extra}]'" in line
