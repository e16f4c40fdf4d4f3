"""The JWT authorizer Lambda (API Gateway TOKEN authorizer).

Environment: ``JWT_ISSUER``, ``JWT_AUDIENCE``, and exactly one key source: ``JWKS_URL``,
``JWT_PUBLIC_KEY`` (PEM, or its one-line base64 body) or ``JWT_PUBLIC_KEY_SECRET_ID``.
``ROBOT_NAME`` is the stack's own robot, the one ``POST /publish`` drives. ``FLEET_TOKENS``
(``true`` or ``false``, the default) says what a token without a ``robots`` claim may drive:
with ``false`` only the stack's own robot, with ``true`` every robot of the fleet.

A valid token gets a policy allowing every route its scopes open (``robot:drive``: the
publish routes; ``robot:admin``: everything), limited to the robots of its ``robots``
claim if it has one; a valid token that opens nothing gets an explicit Deny (403). Any
other outcome raises ``Unauthorized``, which API Gateway answers with 401. The token is
never logged, and what the sender wrote is escaped in the log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from cloud.authorizer import policy
from robot.contracts import access, admission, verify

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)


class Unauthorized(Exception):
    """API Gateway maps exactly this error message to a 401 response."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class Authorizer:
    """The authorizer with its settings given: how to verify tokens, and the stack's robot."""

    def __init__(
        self, verifier: verify.Verifier, default_robot: str | None, fleet_tokens: bool = False
    ) -> None:
        self.verifier = verifier
        self.default_robot = default_robot
        self.fleet_tokens = fleet_tokens

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        secrets_client_factory: Callable[[], Any] | None = None,
    ) -> Authorizer:
        """Built from ``JWT_ISSUER``, ``JWT_AUDIENCE``, one key source, ``ROBOT_NAME`` and
        ``FLEET_TOKENS``; verify.ConfigError says what is missing or wrong."""
        verifier = verify.from_environment(environ, secrets_client_factory or _secrets_client)
        robot = environ.get("ROBOT_NAME", "")
        fleet = environ.get("FLEET_TOKENS", "false").strip().lower()
        if fleet not in ("true", "false"):
            raise verify.ConfigError("FLEET_TOKENS must be true or false")
        default_robot = robot if robot and access.is_robot_name(robot) else None
        return cls(verifier, default_robot, fleet_tokens=fleet == "true")

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            grants = self.scoped(self.verifier.verify(event.get("authorizationToken", "")))
            answer = policy.build(grants, event.get("methodArn", ""), self.default_robot)
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

    def scoped(self, grants: access.Grants) -> access.Grants:
        """Grants of a token without a ``robots`` claim: every robot only for fleet tokens,
        else the stack's own robot (none if the stack names none)."""
        if self.fleet_tokens:
            return admission.confine_unscoped(grants, None)
        own = frozenset({self.default_robot}) if self.default_robot else frozenset()
        return admission.confine_unscoped(grants, own)


def _secrets_client() -> Any:
    import boto3  # only the Secrets Manager key source needs boto3; the others start faster

    return boto3.client("secretsmanager")


_authorizer: Authorizer | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: the authorizer built once per container, on first use."""
    global _authorizer
    if _authorizer is None:
        try:
            _authorizer = Authorizer.from_environ(os.environ)
        except verify.ConfigError as exc:
            log.error("authorizer misconfigured: %s", exc)
            raise Unauthorized() from None
    return _authorizer(event, context)


def _reason(exc: Exception) -> str:
    # Exception text from the token path never quotes the token; class and a short message
    # are enough to tell an expired token from a forged one in the logs.
    # ascii(): the message may quote what the sender wrote; escaped, it cannot forge log lines.
    return f"{type(exc).__name__}: {str(exc)[:160]!a}"
