"""The publish Lambda: ``POST /publish {"action": "forward"}`` becomes an MQTT message.

The body is checked with the same protocol module the robot uses, so an invalid command
is refused here with a 400 and never reaches the robot.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions

from robot import protocol

log = logging.getLogger(__name__)

ROBOT_NAME = os.environ.get("ROBOT_NAME", "robot")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": os.environ.get("CORS_ALLOW_ORIGIN", "*"),
    "Access-Control-Allow-Headers": "Content-Type,Authorization",
    "Access-Control-Allow-Methods": "OPTIONS,POST",
}

# Created once per container: a client per request costs tens of milliseconds.
iot_data = boto3.client("iot-data")

Publisher = Callable[[str, bytes], None]


class BadRequest(ValueError):
    pass


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        body = request_body(event)
        topic, command = publish_command(body, ROBOT_NAME, publish_to_iot)
    except BadRequest as exc:
        return response(400, {"error": "invalid command", "reason": str(exc)})
    except botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError as exc:
        log.error("publishing to IoT Core failed: %s", exc)
        return response(502, {"error": "the command could not be delivered to IoT Core"})
    return response(200, {"topic": topic, "command": command.to_dict()})


def request_body(event: dict[str, Any]) -> str:
    body = event.get("body")
    if body is None:
        raise BadRequest('the request has no body; send JSON such as {"action": "forward"}')
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True).decode()
        except ValueError:
            raise BadRequest("the body is not valid base64-encoded UTF-8") from None
    return body


def publish_command(body: str, robot: str, publish: Publisher) -> tuple[str, protocol.Command]:
    """Validate ``body`` as a command, give it an id and publish it to ``{robot}/action``."""
    try:
        command = protocol.parse(body).with_id()
    except protocol.ProtocolError as exc:
        raise BadRequest(exc.reason) from None
    topic = f"{robot}/action"
    publish(topic, command.to_json().encode())
    return topic, command


def publish_to_iot(topic: str, payload: bytes) -> None:
    iot_data.publish(topic=topic, qos=1, payload=payload)


def response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **CORS_HEADERS},
        "body": json.dumps(body),
    }
