"""The ``robot`` subcommands, one module each, each with ``register(subparsers)``.

Every command follows one policy: results on stdout, errors on stderr, and these exit codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from robot.daemon import config

OK = 0  # done
FAILED = 1  # the command ran and could not do its job (AWS, the board, the broker, a file)
USAGE = 2  # nothing was done: bad arguments or a config with problems

Command = Callable[[argparse.Namespace], int]


def config_command(
    subparsers: argparse._SubParsersAction, name: str, help: str, func: Command
) -> argparse.ArgumentParser:
    """A subcommand that works on the robot's config.json (``--config PATH``)."""
    parser = subparsers.add_parser(name, help=help, description=help)
    parser.add_argument(
        "--config",
        default=str(config.DEFAULT_PATH),
        help="path of config.json (default: ./config.json)",
    )
    parser.set_defaults(func=func)
    return parser


def error(command: str, message: object, code: int = FAILED) -> int:
    """Say on stderr why ``robot <command>`` failed; the exit code to return."""
    print(f"robot {command}: {message}", file=sys.stderr)
    return code


def missing_extra(command: str, extra: str, exc: ModuleNotFoundError) -> int:
    """Say in one line that ``robot <command>`` needs an extra that is not installed, and how to
    install it; the exit code to return. A robot's install has only its board and video."""
    checkout = Path(__file__).resolve().parents[2]
    pip = Path(sys.executable).parent / "pip"
    if (checkout / "pyproject.toml").is_file():  # installed from this checkout (editable)
        how = f"cd {checkout} && {pip} install -e '.[{extra}]'"
    else:
        how = f"from the project's checkout: {pip} install '.[{extra}]'"
    return error(
        command,
        f"needs the {extra} extra (the Python package {exc.name!r} is not installed): {how}",
    )


def load_config(path: str, command: str) -> config.Config | None:
    """The checked config, or None after saying on stderr what is wrong with it. Each old key
    name it uses is a warning on stderr, which does not stop the command."""
    try:
        settings = config.load(path)
    except config.ConfigError as exc:
        error(command, exc, USAGE)
        return None
    for deprecation in settings.deprecations:
        print(f"robot {command}: warning: {path}: {deprecation}", file=sys.stderr)
    return settings
