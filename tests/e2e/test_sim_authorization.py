"""The simulated stack drives only with a valid token, as the deployed API does."""

from __future__ import annotations

import uuid

import pytest

from robot.contracts import access
from sim.aws import dev_identity
from tests.support.http import post, request
from tests.support.stack import RecordingStack


def refused_and_still(stack: RecordingStack, headers: dict[str, str], status: int) -> None:
    stack.drain_telemetry()
    answer, cors, body = post(
        stack.url + "/publish", {"action": "forward", "id": "unauth"}, headers
    )
    assert answer == status, body
    if "Origin" not in headers:
        # The console, on this origin, reads the refusal; no page elsewhere may.
        assert "Access-Control-Allow-Origin" not in cors
    # The command never reached the robot: a later allowed one is the first it reports.
    marker = f"after-{uuid.uuid4().hex[:8]}"
    ok, _, _ = post(stack.url + "/publish", {"action": "stop", "id": marker}, stack.auth_headers())
    assert ok == 200
    first = stack.wait_for_telemetry(
        lambda m: (m.get("command") or {}).get("id") in ("unauth", marker), timeout=5
    )
    assert first["command"]["id"] == marker


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer not-a-jwt", "Basic xyz"])
def test_a_missing_or_malformed_token_gets_401(
    stack: RecordingStack, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    refused_and_still(stack, headers, 401)


def test_a_token_for_another_robot_gets_403(stack: RecordingStack) -> None:
    token = dev_identity.dev_token(stack.state_dir, robot="someone-elses-robot")
    refused_and_still(stack, {"Authorization": f"Bearer {token}"}, 403)


def test_a_token_signed_by_another_key_gets_401(stack: RecordingStack, tmp_path) -> None:
    forged = dev_identity.dev_token(tmp_path, robot=stack.thing_name)  # same claims, other key
    refused_and_still(stack, {"Authorization": f"Bearer {forged}"}, 401)


def test_an_unauthenticated_request_to_the_data_plane_is_403(stack: RecordingStack) -> None:
    # The request any web page open in the developer's browser could send: no token, no
    # signature, text/plain so that no preflight is needed.
    status, _, body = request(
        "POST",
        stack.url + f"/topics/{stack.thing_name}%2Faction?qos=1",
        b'{"action": "forward", "id": "unsigned"}',
        {"Content-Type": "text/plain"},
    )
    assert status == 403, body
    refused_and_still(stack, {"Origin": "http://attacker.example"}, 403)


def invite(stack: RecordingStack, scopes: tuple[str, ...], **body: object) -> tuple[int, dict]:
    admin = dev_identity.dev_token(stack.state_dir, robot=stack.thing_name, scopes=scopes)
    status, _, answer = post(
        stack.url + f"/robots/{stack.thing_name}/guests",
        {"name": "Ann", **body},
        {"Authorization": f"Bearer {admin}"},
    )
    return status, answer


def test_an_admin_mints_a_guest_link_that_watches_and_never_drives(stack: RecordingStack) -> None:
    status, link = invite(stack, (access.SCOPE_ADMIN,))
    assert status == 200, link
    assert link["url"] == f"{stack.url}/#token={link['token']}"
    guest = {"Authorization": f"Bearer {link['token']}"}
    refused_and_still(stack, guest, 403)  # no /publish
    for action in ("clear_estop", "stop"):
        status, _, _ = post(stack.url + "/publish", {"action": action}, guest)
        assert status == 403
    other = f"{stack.url}/robots/{stack.thing_name}-2/viewer"
    assert post(other, {}, guest)[0] == 403  # nor another robot
    assert post(stack.url + f"/robots/{stack.thing_name}/guests", {"name": "B"}, guest)[0] == 403


def test_only_an_admin_mints_guest_links(stack: RecordingStack) -> None:
    assert invite(stack, (access.SCOPE_DRIVE,))[0] == 403


def test_an_expired_guest_link_is_refused(stack: RecordingStack) -> None:
    expired = stack.expired_guest_token()
    status, _, _ = post(stack.url + "/viewer", {}, {"Authorization": f"Bearer {expired}"})
    assert status == 401
