"""The viewer Lambda against the local KVS signaling service, through botocore's real
request path: it answers what a browser needs, and the URL it presigns really connects."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest

from cloud.viewer.app import CHANNEL_CACHE_SECONDS, Clients, Settings, Viewer
from cloud.viewer.slots import URLS_PER_SUBJECT
from robot.contracts import access
from tests.sim_aws.conftest import REGION, ROBOT, SLOTS_TABLE, VIEWER_KEYS, handshake_status


def grants_context(scopes: str, robots: str = "*", subject: str = "alice") -> dict:
    grants = access.Grants(subject, frozenset(scopes.split()), None)
    return grants.context() | {"robots": robots}


def event(
    scopes: str = "robot:view", name: str | None = None, robots: str = "*", subject="alice"
) -> dict:
    return {
        "resource": "/viewer" if name is None else "/robots/{name}/viewer",
        "pathParameters": None if name is None else {"name": name},
        "requestContext": {"authorizer": grants_context(scopes, robots, subject)},
    }


def make_viewer(
    endpoint: str, dynamodb: str, clock=None, wall_clock=None, **settings
) -> tuple[Viewer, list[str]]:
    """The Lambda's Viewer with botocore pointed at KVS at ``endpoint`` and DynamoDB at
    ``dynamodb``; also returns the names of the KVS operations it calls."""
    session = botocore.session.Session()
    session.set_credentials(*VIEWER_KEYS)
    chosen = Settings(
        **{
            "robot_name": ROBOT,
            "region": REGION,
            "slots_table": SLOTS_TABLE,
            "kvs_endpoint_url": endpoint,
            "dynamodb_endpoint_url": dynamodb,
            "stun_urls": ("stun:stun.example:3478",),
            **settings,
        }
    )
    clients = Clients.from_session(session, chosen)
    calls: list[str] = []
    clients.kinesisvideo.meta.events.register(
        "before-call.kinesis-video.*", lambda model, **kw: calls.append(model.name)
    )
    clocks = {"clock": clock, "wall_clock": wall_clock}
    given = {name: value for name, value in clocks.items() if value is not None}
    return Viewer(chosen, clients, **given), calls


@pytest.fixture
def viewer(kvs, dynamodb) -> tuple[Viewer, list[str]]:
    return make_viewer(kvs.url, dynamodb.url)


def answer(viewer: Viewer, request: dict) -> tuple[int, dict]:
    result = viewer.handle(request, None)
    assert "Access-Control-Allow-Origin" not in result["headers"]  # the console's origin only
    return result["statusCode"], json.loads(result["body"])


def test_a_viewer_gets_a_presigned_url_that_connects(viewer, kvs, loop):
    status, body = answer(viewer[0], event())
    assert status == 200
    assert body["robot"] == ROBOT and body["region"] == REGION
    assert body["channelArn"] == kvs.channels[ROBOT].arn
    assert body["iceServers"] == [{"urls": "stun:stun.example:3478"}]
    query = parse_qs(urlsplit(body["signalingUrl"]).query)
    assert query["X-Amz-ClientId"] == [body["clientId"]]
    assert query["X-Amz-Expires"] == ["60"] == [str(body["expiresIn"])]
    assert handshake_status(loop, body["signalingUrl"]) == 101


def test_every_viewer_gets_its_own_client_id_and_the_channel_is_looked_up_once(viewer):
    handler, calls = viewer
    ids = {answer(handler, event())[1]["clientId"] for _ in range(3)}
    assert len(ids) == 3
    assert calls == ["DescribeSignalingChannel", "GetSignalingChannelEndpoint"]


def test_the_robot_served_is_the_robot_checked(viewer, kvs):
    handler, _ = viewer
    status, body = answer(handler, event("robot:view", name="r2", robots="r2"))
    assert status == 200 and body["robot"] == "r2"
    assert body["channelArn"] == kvs.channels["r2"].arn != kvs.channels[ROBOT].arn
    assert parse_qs(urlsplit(body["signalingUrl"]).query)["X-Amz-ChannelARN"] == [
        kvs.channels["r2"].arn
    ]
    # A token for r2 alone gets neither the stack's robot nor, by its route, r1.
    assert answer(handler, event("robot:view", robots="r2"))[0] == 403
    assert answer(handler, event("robot:view", name=ROBOT, robots="r2"))[0] == 403
    assert answer(handler, event("robot:view", name="r2", robots=ROBOT))[0] == 403


@pytest.mark.parametrize(
    ("later_s", "looked_up_again"),
    [(CHANNEL_CACHE_SECONDS - 0.001, False), (CHANNEL_CACHE_SECONDS, True)],
)
def test_the_channel_is_looked_up_again_once_its_cache_expires(
    kvs, dynamodb, later_s, looked_up_again
):
    now = [1000.0]
    handler, calls = make_viewer(kvs.url, dynamodb.url, clock=lambda: now[0])
    assert answer(handler, event())[0] == 200
    now[0] += later_s
    assert answer(handler, event())[0] == 200
    lookups = ["DescribeSignalingChannel", "GetSignalingChannelEndpoint"]
    assert calls == lookups * (2 if looked_up_again else 1)


@pytest.mark.parametrize("scopes", ["robot:view", "robot:drive", "robot:admin"])
def test_view_drive_and_admin_may_watch(viewer, scopes):
    assert answer(viewer[0], event(scopes, name=ROBOT))[0] == 200


@pytest.mark.parametrize(
    ("scopes", "robots"),
    [
        ("", "*"),
        ("robot:read", "*"),
        ("robot:view", "r2"),
        ("robot:admin", ""),
    ],
)
def test_tokens_that_do_not_allow_watching_are_forbidden(viewer, scopes, robots):
    handler, calls = viewer
    status, body = answer(handler, event(scopes, name=ROBOT, robots=robots))
    assert status == 403 and body["error"] == "forbidden"
    assert calls == []  # refused before asking KVS anything


def test_a_request_without_the_authorizers_context_is_forbidden(viewer):
    status, _ = answer(viewer[0], {"pathParameters": None, "requestContext": {}})
    assert status == 403


def test_a_bad_robot_name_is_a_bad_request(viewer):
    assert answer(viewer[0], event(name="r1/../r2"))[0] == 400


def test_a_robot_without_a_channel_is_not_found(viewer):
    status, body = answer(viewer[0], event(name="ghost"))
    assert status == 404 and "ghost" in body["error"]


def test_an_unreachable_video_service_is_a_bad_gateway(dynamodb):
    handler, _ = make_viewer("http://127.0.0.1:9", dynamodb.url)
    handler.clients.kinesisvideo.meta.config.retries = {"max_attempts": 0}
    assert answer(handler, event())[0] == 502


def test_a_subject_holds_at_most_its_cap_of_urls_until_one_expires(kvs, dynamodb):
    """The cap's boundaries on a wall clock the test sets: the URL past the cap is refused,
    another subject's is not, and a slot is free again the second its URL expires."""
    now = [1_000_000.0]
    handler, calls = make_viewer(kvs.url, dynamodb.url, wall_clock=lambda: now[0])
    for _ in range(URLS_PER_SUBJECT):
        assert answer(handler, event())[0] == 200
    looked_up = len(calls)
    status, body = answer(handler, event())
    assert status == 429 and body["error"] == "too many viewer URLs"
    assert body["reason"] == (
        f"at most {URLS_PER_SUBJECT} viewer URLs at once per token subject, each valid 60 s"
    )
    assert len(calls) == looked_up  # refused before asking KVS anything
    assert answer(handler, event(subject="bob"))[0] == 200
    now[0] += 59
    assert answer(handler, event())[0] == 429
    now[0] += 1
    assert answer(handler, event())[0] == 200


def test_every_instance_of_the_lambda_counts_in_the_same_table(kvs, dynamodb):
    """Two containers of the Lambda (two Viewers) share one count, as on AWS."""
    first, _ = make_viewer(kvs.url, dynamodb.url)
    second, _ = make_viewer(kvs.url, dynamodb.url)
    for number in range(URLS_PER_SUBJECT):
        assert answer((first, second)[number % 2], event())[0] == 200
    assert answer(first, event())[0] == 429
    assert answer(second, event())[0] == 429


def test_without_its_table_the_lambda_gives_no_url(kvs, dynamodb):
    """The cap fails closed: a table that cannot be written is a bad gateway, no URL."""
    handler, calls = make_viewer(kvs.url, dynamodb.url, slots_table="no-such-table")
    status, body = answer(handler, event())
    assert status == 502 and body == {"error": "the viewer limit could not be checked"}
    assert calls == []


def test_settings_from_the_lambda_environment():
    settings = Settings.from_environ(
        {
            "AWS_REGION": "eu-west-1",
            "ROBOT_NAME": "stspi",
            "CORS_ALLOW_ORIGIN": "https://robot.example",
            "VIEWER_SLOTS_TABLE": "stack-ViewerSlotsTable-1",
        }
    )
    assert settings.slots_table == "stack-ViewerSlotsTable-1"
    assert settings.urls_per_subject == URLS_PER_SUBJECT
    assert settings.stun_urls == ("stun:stun.kinesisvideo.eu-west-1.amazonaws.com:443",)
    assert settings.kvs_endpoint_url is None and settings.url_expires == 60
    with pytest.raises(ValueError):
        Settings.from_environ(
            {"AWS_REGION": "eu-west-1", "VIEWER_SLOTS_TABLE": "t", "VIEWER_URL_EXPIRES": "301"}
        )
