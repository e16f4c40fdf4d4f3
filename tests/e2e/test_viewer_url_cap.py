"""`robot sim` with the viewer Lambda's real cap: one token subject holds at most
``URLS_PER_SUBJECT`` viewer URLs at once, whichever robot they are for; another subject is
not held back by it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cloud.viewer.slots import URLS_PER_SUBJECT
from robot.contracts import access
from sim.aws import dev_identity
from tests.support.http import post
from tests.support.stack import RecordingStack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingStack]:
    with RecordingStack(
        tmp_path_factory.mktemp("sim"),
        port=0,
        heal=False,
        viewer_urls_per_subject=URLS_PER_SUBJECT,
    ) as running:
        yield running


def bearer(stack: RecordingStack, subject: str) -> dict[str, str]:
    token = dev_identity.dev_token(
        stack.state_dir, stack.thing_name, scopes=[access.SCOPE_VIEW], subject=subject
    )
    return {"Authorization": f"Bearer {token}"}


def test_the_url_past_the_cap_is_refused_for_that_subject_only(stack):
    mallory = bearer(stack, "mallory")
    routes = ["/viewer", f"/robots/{stack.thing_name}/viewer"]
    for number in range(URLS_PER_SUBJECT):
        status, _, body = post(stack.url + routes[number % 2], {}, mallory)
        assert status == 200, body
    for route in routes:
        status, _, body = post(stack.url + route, {}, mallory)
        assert status == 429, body
        assert body["error"] == "too many viewer URLs"
        assert (
            f"at most {URLS_PER_SUBJECT} viewer URLs at once per token subject" in (body["reason"])
        )
        assert "signalingUrl" not in body
    status, _, body = post(stack.url + "/viewer", {}, bearer(stack, "alice"))
    assert status == 200 and body["signalingUrl"], body
