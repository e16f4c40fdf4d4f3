"""``robot sim``: the whole stack on this machine, driven through the same REST endpoint."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from robot.cli.policy import OK, error, missing_extra

# Each robot is a daemon and a video producer: a bound that keeps a typo from forking hundreds.
MAX_ROBOTS = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim", help="run the simulated robot, a local broker and the REST endpoint"
    )
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".sim"),
        help="where certificates, config and logs go (default .sim)",
    )
    parser.add_argument(
        "--robots",
        type=_robot_count,
        default=1,
        metavar="N",
        help="how many simulated robots (default 1): sim-robot, sim-robot-2, ...",
    )
    parser.set_defaults(func=run)


def _robot_count(text: str) -> int:
    count = int(text)
    if not 1 <= count <= MAX_ROBOTS:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_ROBOTS}")
    return count


def run(args: argparse.Namespace) -> int:
    try:
        from sim.aws.iot_core import BrokerError
        from sim.stack import SimStack, StackError
    except ModuleNotFoundError as exc:
        return missing_extra("sim", "sim", exc)

    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    try:
        with SimStack(args.state_dir, port=args.port, robots=args.robots) as stack:
            print(_banner(stack), flush=True)
            stopped.wait()
            print("stopping…", flush=True)
    except (BrokerError, StackError, OSError) as exc:
        return error("sim", exc)
    return OK


def viewer_url(stack) -> str:
    """The viewer page, with the development token in the fragment (never sent to a server)."""
    return f"{stack.url}/#token={stack.identity.token}"


def operator_url(stack, subject: str, scope: str) -> str:
    """The console signed in as another operator, ``subject`` with ``scope``, for every
    robot of the simulator (to try one driver at a time, the hand-over and guest links)."""
    from sim.aws import dev_identity

    fleet = [robot.name for robot in stack.robots[1:]]
    token = dev_identity.dev_token(
        stack.state_dir, stack.thing_name, (scope,), subject=subject, fleet=fleet
    )
    return f"{stack.url}/#token={token}"


def _banner(stack) -> str:
    others = [robot.name for robot in stack.robots[1:]]
    fleet = ""
    if others:  # the console's fleet view lists them all
        fleet = f"\nAnd {len(others)} more: {', '.join(others)} (POST /robots/NAME/publish).\n"
    return f"""\
Simulated robot "{stack.thing_name}" is up.{fleet}

Open the operator console in a browser (signed in with a development token), to watch
the camera and drive with the arrow keys, a gamepad or the on-screen joystick:
  {viewer_url(stack)}
One operator drives at a time. A second operator, in another window, watches and may ask for
control; an administrator may take over at once and make guest links:
  {operator_url(stack, "sim-operator-2", "robot:drive")}
  {operator_url(stack, "sim-admin", "robot:admin")}

  REST endpoint  {stack.url}/publish
  telemetry      {stack.url}/telemetry
  robot config   {stack.config_path}
  daemon log     {stack.daemon_log}
  KVS signaling  {stack.video.viewer_origin()} (wss://: the browser must trust {stack.certs.ca})
  TURN (coturn)  {" ".join(stack.turn.uris)}
                 credentials by GetIceServerConfig, valid {stack.turn.ttl_s} s

Drive it (the token is a development token for this simulator, valid 12 hours):
  curl -d '{{"action":"forward"}}' -H "Content-Type: application/json" \\
       -H "Authorization: {stack.identity.authorization}" \\
       -X POST {stack.url}/publish
Watch it move:
  curl -H "Authorization: {stack.identity.authorization}" {stack.url}/telemetry

Ctrl-C stops everything."""
