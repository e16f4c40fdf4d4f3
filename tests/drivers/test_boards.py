"""The board registry: every installed board is a drivers.Board plugin, names its library right,
and a missing library or a bad option is reported before the daemon starts."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import drivers
from drivers.options import Requirement

ROOT = Path(__file__).resolve().parents[2]
WITH_LIBRARY = [name for name in drivers.board_names() if drivers.board(name).requires]
CHANNELS = {"explorerhat": ("one", "two"), "adafruit": ("motor1", "motor2"), "serial": ("a", "b")}


def requirement(board: str) -> Requirement:
    """The board's own library (the first requirement; the others are what it imports)."""
    return drivers.board(board).requires[0]


def test_the_boards_are_found_by_entry_point():
    assert drivers.board_names() == ["adafruit", "explorerhat", "gpiozero", "serial", "sim"]


@pytest.mark.parametrize("board", drivers.board_names())
def test_a_board_keeps_the_plugin_contract(board):
    plugin = drivers.board(board)
    assert isinstance(plugin, drivers.Board)
    assert plugin.name == board
    assert all(isinstance(needed, Requirement) for needed in plugin.requires)
    plugin.check_options({})  # the defaults are valid


def test_an_unknown_board_names_the_installed_ones():
    with pytest.raises(drivers.DriverError, match="choose one of adafruit, explorerhat, gpiozero"):
        drivers.board("warp-drive")


def test_no_board_library_is_imported_by_loading_the_modules_or_checking_options():
    script = (
        "import importlib, sys, drivers\n"
        "for name in drivers.board_names():\n"
        "    drivers.board(name).check_options({})\n"
        "    drivers.check(name)\n"
        "libraries = ['adafruit_motorkit', 'board', 'busio', 'gpiozero', 'serial', 'explorerhat']\n"
        "print(sorted(set(libraries) & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("board", drivers.board_names())
def test_every_bad_option_is_named_at_once(board):
    with pytest.raises(drivers.DriverError) as raised:
        drivers.board(board).check_options({"invert_left": "yes", "wheelbase": 1})
    assert f"MOTOR_OPTIONS.{board}.wheelbase: unknown option; known options: " in str(raised.value)
    if board != "sim":  # the simulated robot has no wiring to invert
        assert f"MOTOR_OPTIONS.{board}.invert_left = 'yes': must be bool" in str(raised.value)


@pytest.mark.parametrize("board", sorted(CHANNELS))
def test_one_channel_cannot_drive_both_wheels(board):
    first, second = CHANNELS[board]
    check = drivers.board(board).check_options
    with pytest.raises(drivers.DriverError) as raised:
        check({"left": second, "right": second})
    assert f'MOTOR_OPTIONS.{board}.right = {second!r}: must differ from "left"' in str(raised.value)
    assert f"set left to {second!r} and right to {first!r}" in str(raised.value)
    with pytest.raises(
        drivers.DriverError, match=f"MOTOR_OPTIONS.{board}.left = 'three': must be one of"
    ):
        check({"left": "three"})


@pytest.mark.parametrize("board", WITH_LIBRARY)
def test_a_requirement_names_the_extra_that_installs_it(board):
    needed = requirement(board)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert needed.extra == board
    assert any(spec.startswith(needed.pip) for spec in extras[needed.extra])


@pytest.mark.parametrize("board", WITH_LIBRARY)
def test_a_requirement_names_the_installed_library_by_its_real_names(board):
    # The dev environment has these libraries (explorerhat installed without its dependencies).
    needed = requirement(board)
    assert importlib.util.find_spec(needed.module) is not None
    assert importlib.metadata.distribution(needed.pip).metadata["Name"].lower() == needed.pip


def hidden(library: str) -> str:
    """Python code that makes ``library`` look not installed, then runs the robot CLI."""
    return (
        f"import sys; sys.modules[{library!r}] = None\n"
        "from robot.cli import main; sys.exit(main())\n"
    )


@pytest.mark.parametrize("board", WITH_LIBRARY)
def test_check_config_names_a_missing_library_and_how_to_install_it(board, write_config):
    needed = requirement(board)
    config = write_config("sim")
    env = {**os.environ, "MOTOR_DRIVER": board}
    result = subprocess.run(
        [sys.executable, "-c", hidden(needed.module), "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f'motor driver "{board}" needs the Python package "{needed.pip}"' in result.stderr
    assert f"pip install 'telepresence-robot[{board}]'" in result.stderr
    assert f"pip install {needed.pip}" in result.stderr
    if needed.apt:
        assert f"on Raspberry Pi OS: sudo apt install {needed.apt}" in result.stderr


@pytest.mark.parametrize("board", WITH_LIBRARY)
def test_loading_a_board_without_its_library_fails_before_touching_hardware(board, monkeypatch):
    monkeypatch.setitem(sys.modules, requirement(board).module, None)
    with pytest.raises(drivers.DriverError, match=f"pip install {requirement(board).pip}"):
        drivers.load(board)


def test_what_the_explorer_hat_library_imports_is_reported_missing_here(write_config):
    # A laptop has no RPi.GPIO and no smbus: the real situation, not hidden by the test.
    assert importlib.util.find_spec("explorerhat") is not None
    assert importlib.util.find_spec("smbus") is None and importlib.util.find_spec("RPi") is None
    config = write_config("explorerhat")
    env = {key: value for key, value in os.environ.items() if key != "MOTOR_DRIVER"}
    result = subprocess.run(
        [sys.executable, "-m", "robot.cli", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "sudo apt install python3-smbus" in result.stderr
    assert "sudo apt install python3-rpi-lgpio" in result.stderr
    assert "python3-explorerhat" not in result.stderr
