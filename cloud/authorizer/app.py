"""The JWT authorizer Lambda (API Gateway TOKEN authorizer).

Environment: ``JWT_ISSUER``, ``JWT_AUDIENCE``, and exactly one key source: ``JWKS_URL``,
``JWT_PUBLIC_KEY`` (PEM, or its one-line base64 body) or ``JWT_PUBLIC_KEY_SECRET_ID``.
``ROBOT_NAME`` is the stack's own robot, the one ``POST /publish`` drives.

A valid token gets a policy allowing every route its scopes open (``robot:drive``: the
publish routes; ``robot:admin``: everything), limited to the robots of its ``robots``
claim if it has one; a valid token that opens nothing gets an explicit Deny (403). Any
other outcome raises ``Unauthorized``, which API Gateway answers with 401. The token is
never logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from cloud import access
from cloud.authorizer import policy, verify

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)


class Unauthorized(Exception):
    """API Gateway maps exactly this error message to a 401 response."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


_verifier: verify.Verifier | None = None
_default_robot: str | None = None


def configure(environ: Mapping[str, str] | None = None) -> None:
    """(Re)build the verifier from ``environ`` (default: the process environment).
    Runs once per container, on the first request; tests and the simulator may call it."""
    global _verifier, _default_robot
    environ = os.environ if environ is None else environ
    _verifier = verify.from_environment(environ, _secrets_client)
    robot = environ.get("ROBOT_NAME", "")
    _default_robot = robot if robot and access.is_robot_name(robot) else None


def _secrets_client() -> Any:
    import boto3  # only the Secrets Manager key source needs boto3; the others start faster

    return boto3.client("secretsmanager")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        if _verifier is None:
            configure()
        assert _verifier is not None
        grants = _verifier.verify(event.get("authorizationToken", ""))
        answer = policy.build(grants, event.get("methodArn", ""), _default_robot)
    except verify.ConfigError as exc:
        log.error("authorizer misconfigured: %s", exc)
        raise Unauthorized() from None
    except Exception as exc:  # any failure is a denial
        log.info("denied: %s", _reason(exc))
        raise Unauthorized() from None
    log.info(
        "verified %s (scopes: %s; robots: %s)",
        grants.subject,
        answer["context"]["scopes"] or "none",
        answer["context"]["robots"] or "none",
    )
    return answer


def _reason(exc: Exception) -> str:
    # Exception text from the token path never quotes the token; class and a short message
    # are enough to tell an expired token from a forged one in the logs.
    return f"{type(exc).__name__}: {str(exc)[:160]}"
