"""The command line's one policy: grouped help, errors on stderr, documented exit codes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from robot import cli
from robot.cli import policy as commands

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_module_is_in_exactly_one_group() -> None:
    grouped = [module.__name__ for modules in cli.GROUPS.values() for module in modules]
    # A command module is one with register(subparsers); the others are its helpers.
    on_disk = [
        f"robot.cli.{path.stem}"
        for path in (ROOT / "robot" / "cli").glob("*.py")
        if not path.stem.startswith("_")
    ]
    commands_on_disk = [
        name for name in on_disk if hasattr(importlib.import_module(name), "register")
    ]
    assert sorted(grouped) == sorted(commands_on_disk)


def test_help_lists_the_commands_by_group(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    robot_part, operator_part = text.split("on the robot:")[1].split("for operators:")
    for name in ("run", "check-config", "stop-motors"):
        assert f"\n  {name} " in robot_part
    for name in ("sim", "keys", "token", "provision"):
        assert f"\n  {name} " in operator_part


@pytest.mark.parametrize("command", ["run", "check-config", "stop-motors"])
def test_a_bad_config_is_said_on_stderr_and_exits_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([command, "--config", str(tmp_path / "missing.json")]) == commands.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"robot {command}: ") and "no config file" in err


def test_the_readme_documents_the_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text()
    for code in (commands.OK, commands.FAILED, commands.USAGE):
        assert f"\n| {code} | " in readme


def test_a_board_that_fails_is_one_line_on_stderr_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.conftest import write_config

    monkeypatch.delenv("MOTOR_DRIVER", raising=False)
    port = tmp_path / "no-such-tty"  # pyserial, real, opening a port that is not there
    path = write_config(
        tmp_path, MOTOR_DRIVER="serial", MOTOR_OPTIONS={"serial": {"port": str(port)}}
    )
    assert cli.main(["run", "--config", str(path)]) == commands.FAILED
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("robot run: board serial: ")
    assert str(port) in line
