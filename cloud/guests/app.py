"""The guest-link Lambda: ``POST /robots/{name}/guests`` mints a guest's token for one robot.

    {"name": "Ann", "drive": false, "ttl_s": 3600}
    -> {"url": "<console>#token=<JWT>", "token", "subject", "robot", "drive", "expires"}

Only an admin of the robot may ask (the authorizer's policy opens the route to robot:admin;
this handler checks again). The token is robot:view, with robot:drive only when asked for,
never robot:admin; it names the one robot, lives ``ttl_s`` (default 1 h, at most 24 h) and
carries the guest's name in its ``guest`` claim (robot.contracts.tokens.mint_guest). It is
signed with the private key in the Secrets Manager secret ``GUEST_KEY_SECRET_ID``, read once
per container: the key pair whose public half the authorizer and the robots trust, so a link
works as any operator token does. The link opens the console the request came through
(``CONSOLE_URL`` when set: the stack's custom domain, say).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions

from cloud import api
from robot.contracts import access, tokens

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)


@dataclass(frozen=True)
class Settings:
    secret_id: str = ""  # the secret holding the signing key (PEM); "": no guest links
    robot_name: str = "robot"
    fleet_prefix: str = ""
    issuer: str = tokens.DEFAULT_ISSUER
    audience: str = tokens.DEFAULT_AUDIENCE
    console_url: str = ""  # "": the console of the API the request came through
    cors_allow_origin: str = "*"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            secret_id=environ.get("GUEST_KEY_SECRET_ID", cls.secret_id),
            robot_name=environ.get("ROBOT_NAME", cls.robot_name),
            fleet_prefix=environ.get("FLEET_NAME_PREFIX", cls.fleet_prefix),
            issuer=environ.get("JWT_ISSUER") or cls.issuer,
            audience=environ.get("JWT_AUDIENCE") or cls.audience,
            console_url=environ.get("CONSOLE_URL", cls.console_url),
            cors_allow_origin=environ.get("CORS_ALLOW_ORIGIN", cls.cors_allow_origin),
        )


class GuestEndpoint:
    """The guest-link handler with its settings and its ``secretsmanager`` client given."""

    def __init__(
        self, settings: Settings, secrets: Any, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.secrets = secrets
        self.clock = clock
        self._key: Any = None
        self._key_lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            robot = api.fleet_robot(event, self.settings.robot_name, self.settings.fleet_prefix)
            grants = api.grants(event)
            access.check_admin(grants, robot)
            name, drive, ttl_s = read_request(event.get("body"))
            if not self.settings.secret_id:
                return self.response(501, {"error": "this stack mints no guest links"})
            guest = tokens.mint_guest(
                self.key(),
                name,
                robot,
                ttl_s,
                drive=drive,
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                now=self.clock(),
            )
        except api.BadRequest as exc:
            return self.response(400, {"error": "invalid request", "reason": str(exc)})
        except access.AccessDenied as exc:
            return self.response(403, {"error": "forbidden", "reason": exc.reason})
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            log.error("reading the guest-link key failed: %s", exc)
            return self.response(502, {"error": "the signing key could not be read"})
        log.info("%s invited %s to %s (drive: %s)", grants.subject, guest.subject, robot, drive)
        return self.response(
            200,
            {
                "url": f"{self.console_url(event)}#token={guest.token}",
                "token": guest.token,
                "subject": guest.subject,
                "robot": robot,
                "drive": drive,
                "expires": guest.expires,
            },
        )

    def key(self) -> Any:
        """The signing key, read from Secrets Manager on first use."""
        with self._key_lock:
            if self._key is None:
                pem = tokens.read_secret(self.secrets, self.settings.secret_id)
                self._key = tokens.load_private_key(pem)
            return self._key

    def console_url(self, event: dict[str, Any]) -> str:
        if self.settings.console_url:  # the API's own base URL, where the console is
            return self.settings.console_url.rstrip("/") + "/"
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        context = event.get("requestContext") or {}
        host = context.get("domainName") or headers.get("host", "")
        scheme = headers.get("x-forwarded-proto", "https")
        stage = context.get("stage")
        return f"{scheme}://{host}/{stage}/" if stage else f"{scheme}://{host}/"

    def response(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return api.response(status, body, self.settings.cors_allow_origin)


def read_request(body: str | None) -> tuple[str, bool, int]:
    """The guest's name, whether they may drive, and the link's lifetime in seconds."""
    try:
        data = json.loads(body or "")
    except ValueError:
        raise api.BadRequest('send JSON such as {"name": "Ann", "drive": false}') from None
    if not isinstance(data, dict):
        raise api.BadRequest("the body must be a JSON object")
    unknown = sorted(set(data) - {"name", "drive", "ttl_s"})
    if unknown:
        raise api.BadRequest(f"unknown field(s): {', '.join(map(str, unknown))[:120]}")
    drive = data.get("drive", False)
    ttl_s = data.get("ttl_s", tokens.DEFAULT_GUEST_TTL_SECONDS)
    if not isinstance(drive, bool):
        raise api.BadRequest('"drive" must be true or false')
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int):
        raise api.BadRequest('"ttl_s" must be a whole number of seconds')
    if not 60 <= ttl_s <= tokens.MAX_GUEST_TTL_SECONDS:
        raise api.BadRequest(f'"ttl_s" must be from 60 to {tokens.MAX_GUEST_TTL_SECONDS}')
    try:
        name = tokens.guest_name(data.get("name"))
    except ValueError as exc:
        raise api.BadRequest(str(exc)) from None
    return name, drive, ttl_s


_endpoint: GuestEndpoint | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings and client built once per container, on first use."""
    global _endpoint
    if _endpoint is None:
        _endpoint = GuestEndpoint(Settings.from_environ(os.environ), boto3.client("secretsmanager"))
    return _endpoint(event, context)
