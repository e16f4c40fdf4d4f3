"""The publish Lambda: ``POST /publish {"action": "forward"}`` becomes an MQTT message.

``POST /publish`` drives the stack's own robot (``ROBOT_NAME``); ``POST /robots/{name}/publish``
drives any robot of the fleet: the own robot and the names starting with ``FLEET_NAME_PREFIX``.
Each body is parsed by the robot's own protocol module and admitted by the one admission rule
(robot/contracts/admission.py), which stamps it; the answers and stamps are docs/protocol.md's.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions

from cloud import api
from robot.contracts import access, admission, protocol
from robot.contracts.admission import CommandPath

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)


@dataclass(frozen=True)
class Settings:
    robot_name: str = "robot"  # the stack's own robot, the one POST /publish drives
    cors_allow_origin: str = ""  # "": the console's origin only (cloud/api.py)
    fleet_prefix: str = ""  # other robots of the fleet: names starting with this; "": none

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            robot_name=environ.get("ROBOT_NAME", cls.robot_name),
            cors_allow_origin=environ.get("CORS_ALLOW_ORIGIN", cls.cors_allow_origin),
            fleet_prefix=environ.get("FLEET_NAME_PREFIX", cls.fleet_prefix),
        )


Publisher = Callable[[str, bytes], None]


class PublishEndpoint:
    """The publish handler with its settings and its ``iot-data`` client given."""

    def __init__(
        self, settings: Settings, iot_data: Any, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.iot_data = iot_data
        self.clock = clock

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            robot = api.fleet_robot(event, self.settings.robot_name, self.settings.fleet_prefix)
            grants = api.grants(event)
            received_ms = int(self.clock() * 1000)
            topic, command = publish_command(
                request_body(event), robot, self.publish, grants, received_ms
            )
        except api.BadRequest as exc:
            return self.response(400, {"error": "invalid command", "reason": str(exc)})
        except access.AccessDenied as exc:
            return self.response(403, {"error": "forbidden", "reason": str(exc)})
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            log.error("publishing to IoT Core failed: %s", exc)
            return self.response(502, {"error": "the command could not be delivered to IoT Core"})
        log.info("%s sent %s to %s", grants.subject, command.action, topic)
        return self.response(200, {"topic": topic, "command": command.to_dict()})

    def publish(self, topic: str, payload: bytes) -> None:
        self.iot_data.publish(topic=topic, qos=1, payload=payload)

    def response(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return api.response(status, body, self.settings.cors_allow_origin)


_endpoint: PublishEndpoint | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings and client built once per container, on first use.
    The data endpoint comes from AWS_ENDPOINT_URL_IOT_DATA_PLANE (set by the template)."""
    global _endpoint
    if _endpoint is None:
        _endpoint = PublishEndpoint(Settings.from_environ(os.environ), boto3.client("iot-data"))
    return _endpoint(event, context)


def request_body(event: dict[str, Any]) -> bytes | str:
    """The body as sent: a base64-encoded body stays bytes, so the protocol alone judges its
    encoding, exactly as the robot does with the same bytes."""
    body = event.get("body")
    if body is None:
        raise api.BadRequest('the request has no body; send JSON such as {"action": "forward"}')
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            raise api.BadRequest("the body is not valid base64") from None
    return body


def publish_command(
    body: bytes | str,
    robot: str,
    publish: Publisher,
    grants: access.Grants | None = None,
    received_ms: int | None = None,
) -> tuple[str, protocol.Command]:
    """Validate ``body`` as a command, give it an id, admit it on the publish path
    (robot.contracts.admission: with ``grants``, the caller's; with ``received_ms``, this
    endpoint's clock) and publish it to ``{robot}/action``. A command that is not valid is
    api.BadRequest; one the grants do not allow, AccessDenied."""
    try:
        command = protocol.parse(body).with_id()
    except protocol.ProtocolError as exc:
        raise api.BadRequest(exc.reason) from None
    try:
        command = admission.admit(command, CommandPath.PUBLISH, robot, grants, received_ms)
    except protocol.ProtocolError as exc:  # a stamp the sender may not set, a ts ahead
        raise api.BadRequest(exc.reason) from None
    topic = f"{robot}/action"
    publish(topic, command.to_json().encode())
    return topic, command
