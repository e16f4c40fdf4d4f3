"""The fleet Lambda: the robots a token may see, and their links from fleet indexing.

Fleet indexing cannot run here: its answers come from botocore's Stubber, which still checks
each request against the IoT API's model."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from cloud.fleet.app import FleetEndpoint, Link, Settings, indexed_links
from robot.contracts import access


def event(grants: access.Grants) -> dict:
    return {"httpMethod": "GET", "requestContext": {"authorizer": grants.context()}}


def grants(scopes: str, robots: list[str] | None) -> access.Grants:
    return access.Grants(
        "op", frozenset(scopes.split()), None if robots is None else frozenset(robots)
    )


def fixed(links: dict[str, Link]):
    return lambda names: {name: links[name] for name in names if name in links}


def test_a_token_without_a_robots_claim_sees_the_stacks_robots():
    endpoint = FleetEndpoint(
        Settings.from_environ({"ROBOT_NAMES": "r2, r1"}), fixed({"r1": Link("online", 5.0)})
    )
    answer = endpoint(event(grants("robot:view", None)), None)
    assert answer["statusCode"] == 200
    assert answer["body"] == (
        '{"robots": [{"name": "r1", "link": "online", "since": 5.0}, '
        '{"name": "r2", "link": "unknown", "since": null}]}'
    )


def test_a_robots_claim_limits_the_fleet_and_no_scope_is_refused():
    endpoint = FleetEndpoint(Settings(("r1", "r2")), fixed({}))
    assert '"name": "r9"' in endpoint(event(grants("robot:drive", ["r9"])), None)["body"]
    assert endpoint(event(grants("email", None)), None)["statusCode"] == 403
    assert endpoint({"requestContext": {}}, None)["statusCode"] == 403


def test_links_are_looked_up_for_the_fleets_names_only():
    asked: list[list[str]] = []

    def links(names: list[str]) -> dict[str, Link]:
        asked.append(names)
        return {name: Link("online", 1.0) for name in names}

    environ = {"ROBOT_NAME": "r1", "FLEET_NAME_PREFIX": "shop-"}
    endpoint = FleetEndpoint(Settings.from_environ(environ), links)
    claim = ["r1", "shop-2", "shop", "other", "r10", "xshop-1"]
    answer = endpoint(event(grants("robot:view", claim)), None)
    assert asked == [["r1", "shop-2"]]
    states = {robot["name"]: robot["link"] for robot in json.loads(answer["body"])["robots"]}
    assert states == {
        "r1": "online",
        "shop-2": "online",
        "shop": "unknown",
        "other": "unknown",
        "r10": "unknown",
        "xshop-1": "unknown",
    }
    asked.clear()
    endpoint = FleetEndpoint(Settings.from_environ({"ROBOT_NAME": "r1"}), links)
    endpoint(event(grants("robot:view", ["other", "r1-2"])), None)
    assert asked == []  # no prefix: the fleet is the stack's robot alone


@pytest.fixture
def iot():
    client = boto3.client(
        "iot", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber


def test_links_come_from_the_connectivity_index(iot):
    client, stubber = iot
    stubber.add_response(
        "search_index",
        {
            "things": [
                {
                    "thingName": "r1",
                    "connectivity": {"connected": True, "timestamp": 1_700_000_000_000},
                },
                {
                    "thingName": "r2",
                    "connectivity": {"connected": False, "timestamp": 1_700_000_500_000},
                },
                {"thingName": "r3"},  # indexed without connectivity: unknown
            ]
        },
        {"indexName": "AWS_Things", "queryString": "thingName:r1 OR thingName:r2 OR thingName:r3"},
    )
    assert indexed_links(client)(["r1", "r2", "r3"]) == {
        "r1": Link("online", 1_700_000_000.0),
        "r2": Link("offline", 1_700_000_500.0),
    }


def test_an_account_without_the_index_leaves_links_unknown(iot):
    client, stubber = iot
    stubber.add_client_error("search_index", "IndexNotReadyException", http_status_code=400)
    assert indexed_links(client)(["r1"]) == {}
