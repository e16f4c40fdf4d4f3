"""What the API Lambdas share about API Gateway's proxy events: the robot a request is for,
and JSON answers with CORS headers.

CORS: the console is served from the API's own origin, so by default (``cors_origin`` "")
an answer names no other origin and no page elsewhere may read it; a stack whose browser
client lives elsewhere names that origin (the template's ``CorsAllowOrigin``).

Standard library only: this module ships inside the Lambdas.
"""

from __future__ import annotations

import json
from typing import Any

from robot.contracts import access


class BadRequest(ValueError):
    """A request the Lambda answers with 400; the message says what is wrong."""


def robot_name(event: dict[str, Any], default: str) -> str:
    """The robot the request is for: the ``{name}`` of a fleet route, else ``default``."""
    name = (event.get("pathParameters") or {}).get("name")
    if name is None:
        return default
    if not access.is_robot_name(name):
        raise BadRequest("the robot name must be 1 to 128 letters, digits, '-' or '_'")
    return name


def fleet_robot(event: dict[str, Any], own_robot: str, fleet_prefix: str) -> str:
    """The robot a fleet route is for (``robot_name``), refused with AccessDenied unless it is
    of this stack's fleet (``access.in_fleet``)."""
    robot = robot_name(event, own_robot)
    if not access.in_fleet(robot, own_robot, fleet_prefix):
        raise access.AccessDenied(f'robot "{robot}" is not of this stack\'s fleet')
    return robot


def grants(event: dict[str, Any]) -> access.Grants:
    """What the authorizer's context grants the caller (nothing, without one)."""
    return access.Grants.from_context(event.get("requestContext", {}).get("authorizer"))


def response(
    status: int, body: dict[str, Any], cors_origin: str = "", methods: str = "OPTIONS,POST"
) -> dict[str, Any]:
    """A proxy-integration answer with a JSON body, readable by a page of the console's
    origin, and of ``cors_origin`` too when one is named."""
    headers = {"Content-Type": "application/json"}
    if cors_origin:
        headers.update(
            {
                "Access-Control-Allow-Origin": cors_origin,
                "Access-Control-Allow-Headers": "Content-Type,Authorization",
                "Access-Control-Allow-Methods": methods,
            }
        )
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}
