"""The ``robot`` subcommands, one module each, each with ``register(subparsers)``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from robot import config

Command = Callable[[argparse.Namespace], int]


def config_command(
    subparsers: argparse._SubParsersAction, name: str, help: str, func: Command
) -> argparse.ArgumentParser:
    """A subcommand that works on the robot's config.json (``--config PATH``)."""
    parser = subparsers.add_parser(name, help=help)
    parser.add_argument(
        "--config",
        default=str(config.DEFAULT_PATH),
        help="path of config.json (default: ./config.json)",
    )
    parser.set_defaults(func=func)
    return parser


def load_config(path: str, failing: str) -> config.Config | None:
    """The checked config, or None after saying on stderr what is wrong with it."""
    try:
        return config.load(path)
    except config.ConfigError as exc:
        print(f"{failing}: {exc}", file=sys.stderr)
        return None
