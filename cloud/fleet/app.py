"""The fleet Lambda: ``GET /robots`` lists the robots a token may see, each with its link.

    {"robots": [{"name": "r1", "link": "online" | "offline" | "unknown", "since": 1700000000.0}]}

The robots are the token's ``robots`` claim, or else the stack's (``ROBOT_NAMES``,
comma-separated; by default ``ROBOT_NAME``). Only the fleet's names are looked up, the stack's
robots and those starting with ``FLEET_NAME_PREFIX``: a name the claim holds beyond them is
``unknown`` (the stack may not drive it, and its links are no business of this API's).
Links come from AWS IoT fleet indexing's
connectivity status (``SearchIndex`` on ``AWS_Things``: ``connectivity.connected`` and its
``timestamp``, when the thing last connected or disconnected): a robot the index does not
know, or an account without connectivity indexing, is ``unknown``. The simulator passes its
own link source, fed by the robots' telemetry.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cloud import api
from robot.contracts import access

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)

INDEX = "AWS_Things"


@dataclass(frozen=True)
class Link:
    state: str  # online, offline or unknown
    since: float | None = None  # epoch seconds of the last change, when known


UNKNOWN = Link("unknown")
# The links of the named robots (those it knows; the others are unknown).
LinkSource = Callable[[list[str]], dict[str, Link]]


@dataclass(frozen=True)
class Settings:
    robots: tuple[str, ...] = ()  # the stack's robots, for tokens without a robots claim
    cors_allow_origin: str = ""  # "": the console's origin only (cloud/api.py)
    fleet_prefix: str = ""  # the fleet beyond its robots: names starting so; "": none

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        names = environ.get("ROBOT_NAMES") or environ.get("ROBOT_NAME", "")
        robots = tuple(
            name for name in names.replace(",", " ").split() if access.is_robot_name(name)
        )
        return cls(
            robots,
            environ.get("CORS_ALLOW_ORIGIN", cls.cors_allow_origin),
            environ.get("FLEET_NAME_PREFIX", ""),
        )

    def in_fleet(self, name: str) -> bool:
        prefixed = bool(self.fleet_prefix) and name.startswith(self.fleet_prefix)
        return name in self.robots or prefixed


class FleetEndpoint:
    """The fleet handler with its settings and its link source given."""

    def __init__(self, settings: Settings, links: LinkSource) -> None:
        self.settings = settings
        self.links = links

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        grants = access.Grants.from_context(event.get("requestContext", {}).get("authorizer"))
        if not grants.views:
            return self.response(403, {"error": "forbidden", "reason": "no scope to see robots"})
        return self.response(200, {"robots": self.fleet(grants)})

    def fleet(self, grants: access.Grants) -> list[dict[str, Any]]:
        names = sorted(self.settings.robots if grants.robots is None else grants.robots)
        fleet = [name for name in names if self.settings.in_fleet(name)]
        links = self.links(fleet) if fleet else {}
        return [
            {
                "name": name,
                "link": links.get(name, UNKNOWN).state,
                "since": links.get(name, UNKNOWN).since,
            }
            for name in names
        ]

    def response(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return api.response(status, body, self.settings.cors_allow_origin, methods="OPTIONS,GET")


def indexed_links(iot: Any) -> LinkSource:
    """Links from fleet indexing's connectivity status, through an ``iot`` client."""

    def links(names: list[str]) -> dict[str, Link]:
        import botocore.exceptions  # with boto3, which the Lambda runtime provides

        query = " OR ".join(f"thingName:{name}" for name in names)
        found: dict[str, Link] = {}
        request = {"indexName": INDEX, "queryString": query}
        try:
            while True:  # botocore has no paginator for SearchIndex
                page = iot.search_index(**request)
                for thing in page.get("things", []):
                    connectivity = thing.get("connectivity") or {}
                    if "connected" not in connectivity:
                        continue
                    stamp = connectivity.get("timestamp")
                    found[thing["thingName"]] = Link(
                        "online" if connectivity["connected"] else "offline",
                        None if stamp is None else stamp / 1000,
                    )
                if not page.get("nextToken"):
                    break
                request["nextToken"] = page["nextToken"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            log.warning("fleet indexing unavailable (%s): links unknown", exc)
        return found

    return links


_endpoint: FleetEndpoint | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings and client built once per container, on first use."""
    global _endpoint
    if _endpoint is None:
        import boto3

        _endpoint = FleetEndpoint(
            Settings.from_environ(os.environ), indexed_links(boto3.client("iot"))
        )
    return _endpoint(event, context)
