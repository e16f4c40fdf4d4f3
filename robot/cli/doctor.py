"""``robot doctor``: check everything the robot needs, one line per check, without moving."""

from __future__ import annotations

import argparse

from robot.cli.policy import FAILED, OK, config_command


def register(subparsers: argparse._SubParsersAction) -> None:
    config_command(
        subparsers,
        "doctor",
        "check config, certificate, clock, IoT endpoint, board, camera, audio and service",
        run,
    )


def run(args: argparse.Namespace) -> int:
    from robot.cli.examine import examine

    failed = False
    for finding in examine(args.config):
        print(finding, flush=True)
        failed = failed or finding.status == "FAIL"
    return FAILED if failed else OK
