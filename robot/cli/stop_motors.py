"""``robot stop-motors``: stop the configured motor board and exit (the systemd unit's
ExecStopPost; why: docs/protocol.md, "Every way the wheels stop").
"""

from __future__ import annotations

import argparse

from robot.cli.policy import OK, USAGE, config_command, error, load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    config_command(subparsers, "stop-motors", "stop the configured motor board and exit", run)


def run(args: argparse.Namespace) -> int:
    import drivers

    settings = load_config(args.config, "stop-motors")
    if settings is None:
        return USAGE
    try:
        board = drivers.load(settings.motor_driver, settings.board_options)
        try:
            board.stop()
        finally:
            board.close()
    except drivers.DriverError as exc:
        return error("stop-motors", f"cannot stop the motors: {exc}")
    print(f"motors stopped (board {settings.motor_driver})")
    return OK
