"""``/publish`` while no robot listens: 503 with the reason, as a service that knows its
robot's presence answers, instead of a 200 for a command nobody will receive."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from sim.aws.authorization import CORS_HEADERS
from sim.robot.telemetry_view import LatestTelemetry

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def gated(
    handler: LambdaHandler, telemetry: Mapping[str, LatestTelemetry], robot: str
) -> LambdaHandler:
    """``handler`` for requests to a robot (the route's ``{name}``, else the stack's own,
    ``robot``) while its telemetry says it is connected; otherwise a 503 saying why.
    ``telemetry``: each simulated robot's, by name."""

    def gate(event: dict[str, Any], context: Any) -> dict[str, Any]:
        target = (event.get("pathParameters") or {}).get("name") or robot
        reason = (
            telemetry[target].unavailable_reason()
            if target in telemetry
            else f'no robot "{target}" in this simulator'
        )
        if reason is None:
            return handler(event, context)
        return {
            "statusCode": HTTPStatus.SERVICE_UNAVAILABLE,
            "headers": {"Content-Type": "application/json", **CORS_HEADERS},
            "body": json.dumps({"error": "robot unavailable", "reason": reason}),
        }

    return gate
