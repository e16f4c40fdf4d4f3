"""`robot sim`'s fleet route: GET /robots through the real authorizer and the real fleet
Lambda, with the robots' links from the simulator's stand-in for fleet indexing."""

from __future__ import annotations

import time

from sim.aws import dev_identity
from tests.support.http import get


def bearer(stack, scopes: list[str], robot: str | None = None) -> dict[str, str]:
    token = dev_identity.dev_token(stack.state_dir, robot or stack.thing_name, scopes=scopes)
    return {"Authorization": f"Bearer {token}"}


def test_the_dev_token_sees_its_robot_online(stack):
    stack.wait_for_telemetry(lambda message: message.get("link") == "online", 10)
    status, headers, body = get(stack.url + "/robots", stack.auth_headers())
    assert status == 200, body
    assert "Access-Control-Allow-Origin" not in headers  # the console's origin only
    (robot,) = body["robots"]
    assert robot["name"] == stack.thing_name and robot["link"] == "online"
    assert 0 < robot["since"] <= time.time()


def test_the_fleet_is_what_the_token_may_see(stack):
    assert get(stack.url + "/robots")[0] == 401
    status, _, body = get(stack.url + "/robots", bearer(stack, ["robot:view"], robot="elsewhere"))
    assert status == 200
    assert body == {"robots": [{"name": "elsewhere", "link": "unknown", "since": None}]}
