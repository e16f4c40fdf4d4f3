"""The one admission rule: whether a command may be sent on this path, by these grants, to this
robot, and the stamps it then carries. The publish Lambda, the daemon's MQTT link and its
console link (the data channel) all call ``admit``. Standard library only: the Lambda ships it.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from robot.contracts import access, protocol
from robot.contracts.protocol import Command


class CommandPath(StrEnum):
    """How a command reached the robot."""

    MQTT = "mqtt"  # published on {thing}/action by a client the IoT policy let in
    PUBLISH = "publish"  # POST /publish: the publish Lambda admitted and stamped it, then MQTT
    DATACHANNEL = "datachannel"  # a console's data channel, through the video producer


class UnscopedTokens(StrEnum):
    """What a token without a ``robots`` claim reaches: the stack's ``FleetTokens`` choice,
    as one robot sees it (a robot's ``UNSCOPED_TOKENS`` key)."""

    ACCEPTED = "accepted"  # the stack's own robot, or any robot when FleetTokens=true
    REFUSED = "refused"  # a fleet robot of a stack with FleetTokens=false


def confine_unscoped(grants: access.Grants, reach: frozenset[str] | None) -> access.Grants:
    """The unscoped-token rule: grants of a token without a ``robots`` claim reach the robots
    of ``reach`` (None: every robot); a token with the claim keeps it. The authorizer passes
    the stack's own robot (or None with FleetTokens=true), a robot its own name or nothing
    (:func:`robot_reach`), so REST and the data channel agree."""
    if grants.robots is not None or reach is None:
        return grants
    return dataclasses.replace(grants, robots=reach)


def robot_reach(robot: str, policy: UnscopedTokens) -> frozenset[str]:
    """The ``reach`` of :func:`confine_unscoped` on ``robot`` itself."""
    return frozenset({robot}) if policy is UnscopedTokens.ACCEPTED else frozenset()


AUDIO_ELSEWHERE = '"audio" goes on the console\'s data channel, where the producer applies it'


def admit(
    command: Command,
    path: CommandPath,
    robot: str,
    grants: access.Grants | None = None,
    received_ms: int | None = None,
) -> Command:
    """The command as admitted, stamped; raise a Refusal (ProtocolError or AccessDenied) if not.

    On MQTT the IoT policy is the admission: whoever may publish on the action topic may drive,
    and stamps the publish Lambda set are kept. On the other paths only the publish endpoint
    stamps: a sender's own ``operator`` or ``received_ts`` is refused. With ``grants`` (a
    verified token's) the command must be one they may send to ``robot`` and is stamped with
    their subject as ``operator``; without, the caller decided who may send (a console's
    command always carries them). With
    ``received_ms`` (the endpoint's clock) a ``ts`` ahead of it is refused and the command is
    stamped ``received_ts``.
    """
    if path is CommandPath.DATACHANNEL and grants is None:
        raise access.AccessDenied("a console's command must carry its token's grants")
    if command.action == protocol.AUDIO_ACTION and path is not CommandPath.DATACHANNEL:
        # The speaker and microphone are the video producer's: only its data channel has them.
        raise protocol.ProtocolError(AUDIO_ELSEWHERE)
    if path is not CommandPath.MQTT:
        protocol.check_sender_fields(command)
    if received_ms is not None:
        protocol.check_not_ahead(command, received_ms)
    if grants is not None:
        access.check_command(grants, robot, command.action)
        command = dataclasses.replace(command, operator=protocol.operator_from(grants.subject))
    if received_ms is not None:
        command = dataclasses.replace(command, received_ts=received_ms)
    return command


def arrival_path(command: Command, link: CommandPath) -> CommandPath:
    """The path of a command that came over ``link``: MQTT carries both commands published
    straight to the topic and the publish Lambda's, which its ``operator`` stamp tells."""
    if link is CommandPath.MQTT and command.operator is not None:
        return CommandPath.PUBLISH
    return link
