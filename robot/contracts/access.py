"""Who may do what: scopes, robot names and the routes they open. Shared by the authorizer,
the publish Lambda and token minting, so the three agree by construction.

Standard library only: this module ships inside both Lambdas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robot.contracts.refusals import Refusal, RefusalKind

SCOPE_VIEW = "robot:view"
SCOPE_DRIVE = "robot:drive"
SCOPE_ADMIN = "robot:admin"
KNOWN_SCOPES = (SCOPE_VIEW, SCOPE_DRIVE, SCOPE_ADMIN)
# Each scope includes the ones before it: whoever may drive may watch, too.
VIEW_SCOPES = frozenset(KNOWN_SCOPES)
DRIVE_SCOPES = frozenset({SCOPE_DRIVE, SCOPE_ADMIN})

# Commands only an administrator may send: clearing an emergency stop, and taking the drive
# lease from its holder at once. Every other command (asking for the lease, answering an
# ask, releasing it) needs robot:drive or robot:admin.
ADMIN_ACTIONS: frozenset[str] = frozenset({"clear_estop", "take_control"})

# The characters a thing name, an MQTT topic level and a KVS channel name all accept.
# Never '*' or '?', which would be wildcards inside a policy's resource ARN.
ROBOT_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")

# What the authorizer puts in the request context for robot names when a token has no
# "robots" claim: every robot.
ANY_ROBOT = "*"
# No token may live longer than this (a token cannot be revoked short of replacing the key
# pair): the authorizer refuses longer-lived ones, and token minting stays within it.
MAX_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600
# More names than this would push the authorizer's policy past API Gateway's size limit.
MAX_ROBOTS_PER_TOKEN = 50


class AccessDenied(Refusal):
    """A request the caller's token does not allow; ``reason`` says why."""

    kind = RefusalKind.ACCESS


@dataclass(frozen=True)
class Grants:
    """What a verified token allows: its scopes and, when limited, the robots it may drive."""

    subject: str
    scopes: frozenset[str]
    robots: frozenset[str] | None  # None: any robot

    @property
    def views(self) -> bool:
        """Whether the scopes open the viewer routes (robot:view, or a scope that drives)."""
        return bool(self.scopes & VIEW_SCOPES)

    def covers(self, robot: str) -> bool:
        return self.robots is None or robot in self.robots

    def context(self) -> dict[str, str]:
        """The authorizer context: API Gateway only passes strings, numbers and booleans."""
        robots = ANY_ROBOT if self.robots is None else ",".join(sorted(self.robots))
        return {"sub": self.subject, "scopes": " ".join(sorted(self.scopes)), "robots": robots}

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Grants:
        """Read back :meth:`context`. Anything missing grants nothing: a route that somehow
        reached the Lambda without the authorizer must not be open."""
        context = context or {}
        scopes = context.get("scopes")
        robots = context.get("robots")
        if not isinstance(scopes, str) or not isinstance(robots, str):
            return cls(str(context.get("sub", "")), frozenset(), frozenset())
        names = None if robots == ANY_ROBOT else frozenset(filter(None, robots.split(",")))
        return cls(str(context.get("sub", "")), frozenset(scopes.split()), names)


def is_robot_name(name: object) -> bool:
    return isinstance(name, str) and ROBOT_NAME_RE.fullmatch(name) is not None


def in_fleet(robot: str, own_robot: str, fleet_prefix: str) -> bool:
    """Whether ``robot`` is of this stack's fleet: its own robot, or a name starting with
    ``fleet_prefix`` (an empty prefix: the own robot only). The template's publish permission
    names the same topics."""
    return robot == own_robot or (bool(fleet_prefix) and robot.startswith(fleet_prefix))


def required_scope(action: str) -> str:
    return SCOPE_ADMIN if action in ADMIN_ACTIONS else SCOPE_DRIVE


def check_command(grants: Grants, robot: str, action: str) -> None:
    """Raise AccessDenied unless ``grants`` allow sending ``action`` to ``robot``."""
    if not grants.covers(robot):
        raise AccessDenied(f'this token may not drive robot "{robot}"')
    needed = required_scope(action)
    if needed not in grants.scopes and SCOPE_ADMIN not in grants.scopes:
        raise AccessDenied(f'"{action}" needs the scope {needed}')


def check_admin(grants: Grants, robot: str) -> None:
    """Raise AccessDenied unless ``grants`` administer ``robot`` (e.g. to invite guests)."""
    if not grants.covers(robot):
        raise AccessDenied(f'this token may not administer robot "{robot}"')
    if SCOPE_ADMIN not in grants.scopes:
        raise AccessDenied(f"this needs the scope {SCOPE_ADMIN}")


def check_view(grants: Grants, robot: str) -> None:
    """Raise AccessDenied unless ``grants`` allow watching ``robot``'s camera."""
    if not grants.covers(robot):
        raise AccessDenied(f'this token may not watch robot "{robot}"')
    if not grants.views:
        raise AccessDenied(f"watching needs the scope {SCOPE_VIEW}")


def scopes_from_claims(claims: Mapping[str, Any]) -> frozenset[str]:
    """Scopes from ``scope`` (space-separated, RFC 8693) or else ``scp`` (a list of scopes,
    or a space-separated string as some identity providers send it). A malformed claim is an
    error, not an empty grant, so a confused token is refused outright: a list item holding
    whitespace (``"robot:drive robot:admin"``) is one odd scope, not two."""
    raw = claims["scope"] if "scope" in claims else claims.get("scp", "")
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list) and all(_is_scope(item) for item in raw):
        return frozenset(raw)
    raise ValueError("the scope claim must be a string or a list of scopes without spaces")


def _is_scope(item: object) -> bool:
    return isinstance(item, str) and bool(item) and not any(char.isspace() for char in item)


def robots_from_claims(claims: Mapping[str, Any]) -> frozenset[str] | None:
    """The optional ``robots`` claim: a list (or space-separated string) of robot names."""
    if "robots" not in claims:
        return None
    raw = claims["robots"]
    names = raw.split() if isinstance(raw, str) else raw
    if not isinstance(names, list) or not all(is_robot_name(name) for name in names):
        raise ValueError("the robots claim must list robot names")
    if len(names) > MAX_ROBOTS_PER_TOKEN:
        raise ValueError(f"the robots claim may name at most {MAX_ROBOTS_PER_TOKEN} robots")
    return frozenset(names)
