"""The IAM policy a Lambda authorizer returns: everything the token allows, in one document.

The policy names every route the token may call, not just the one being requested, so that
API Gateway can cache it per token and reuse it for the other routes (see the template's
authorizer cache setting for the trade-off with expiry).
"""

from __future__ import annotations

import re
from typing import Any

from robot.contracts import access

# aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, ...: never a wildcard.
_PARTITION = re.compile(r"aws(-[a-z]+)*")


# A route about no robot in particular (the fleet list): open to every token with its scopes.
NO_ROBOT = ""
# The API's routes: (method, path, path parameter naming the robot, or None for the
# stack's own robot, or NO_ROBOT; the scopes that open it). The template declares the same
# routes; a test keeps them equal.
ROUTES: tuple[tuple[str, str, str | None, frozenset[str]], ...] = (
    ("GET", "robots", NO_ROBOT, access.VIEW_SCOPES),
    ("POST", "publish", None, access.DRIVE_SCOPES),
    ("POST", "robots/{name}/publish", "name", access.DRIVE_SCOPES),
    ("POST", "viewer", None, access.VIEW_SCOPES),
    ("POST", "robots/{name}/viewer", "name", access.VIEW_SCOPES),
    ("POST", "robots/{name}/guests", "name", frozenset({access.SCOPE_ADMIN})),
)


def api_prefix(method_arn: str) -> str:
    """``arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/`` out of a method ARN
    (``…:API/STAGE/METHOD/path``)."""
    parts = method_arn.split("/")
    head = parts[0].split(":")
    if (
        len(parts) < 3
        or len(head) != 6
        or head[0] != "arn"
        or not _PARTITION.fullmatch(head[1])
        or head[2] != "execute-api"
        or not head[5]
        or not parts[1]
    ):
        raise ValueError("not an execute-api method ARN")
    return f"{parts[0]}/{parts[1]}/"


def allowed_routes(grants: access.Grants, default_robot: str | None) -> list[str]:
    """``METHOD/path`` patterns the grants open, ``*`` standing for any robot name."""
    if access.SCOPE_ADMIN in grants.scopes and grants.robots is None:
        return ["*"]
    routes = []
    for method, path, parameter, scopes in ROUTES:
        if not grants.scopes & scopes:
            continue
        if parameter == NO_ROBOT:
            if grants.robots != frozenset():  # a token for no robot at all opens nothing
                routes.append(f"{method}/{path}")
            continue
        if parameter is None:
            if default_robot and grants.covers(default_robot):
                routes.append(f"{method}/{path}")
            continue
        # Names are checked against ROBOT_NAME_RE, so none of them is itself a wildcard.
        names = ["*"] if grants.robots is None else sorted(grants.robots)
        routes.extend(f"{method}/{path.replace('{' + parameter + '}', name)}" for name in names)
    return routes


def build(grants: access.Grants, method_arn: str, default_robot: str | None) -> dict[str, Any]:
    """The authorizer's answer: Allow on every permitted route, or one Deny on everything."""
    prefix = api_prefix(method_arn)
    routes = allowed_routes(grants, default_robot)
    if routes:
        statement = {
            "Action": "execute-api:Invoke",
            "Effect": "Allow",
            "Resource": [prefix + route for route in routes],
        }
    else:
        statement = {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": prefix + "*"}
    return {
        "principalId": grants.subject,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": grants.context(),
    }
