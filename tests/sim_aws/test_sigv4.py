"""SigV4 checking: whatever botocore signs verifies, and any change after signing does not."""

from __future__ import annotations

import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.viewer.app import presign_connect_url
from sim.aws.sigv4 import CredentialStore, SignatureError, verify_presigned, verify_request

HOST = "127.0.0.1:8443"
KEYS = ReadOnlyCredentials("AKIDTEST", "s3cr+t/key=", None)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


def store() -> CredentialStore:
    keys = CredentialStore()
    keys.add_static(KEYS.access_key, KEYS.secret_key, "tester")
    return keys


def signed_request(path: str, params: dict[str, str], body: bytes) -> tuple[str, dict, str]:
    """(raw query, headers, path) of a botocore-signed POST, as a server receives them."""
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}{path}",
        data=body,
        params=params,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(KEYS, "kinesisvideo", "us-east-1").add_auth(request)
    prepared = request.prepare()
    _, _, rest = prepared.url.partition(HOST)
    raw_path, _, raw_query = rest.partition("?")
    return raw_query, dict(prepared.headers.items()), raw_path


@settings(max_examples=60, deadline=None)
@given(
    params=st.dictionaries(TEXT.filter(bool), TEXT, max_size=4),
    body=st.binary(max_size=64),
    path=st.sampled_from(["/describeSignalingChannel", "/v1/get-ice-server-config"]),
)
def test_whatever_botocore_signs_verifies(params, body, path):
    raw_query, headers, raw_path = signed_request(path, params, body)
    verified = verify_request(
        store(), "kinesisvideo", "POST", HOST, raw_path, raw_query, headers, body
    )
    assert verified.principal == "tester" and verified.region == "us-east-1"


@settings(max_examples=60, deadline=None)
@given(body=st.binary(min_size=1, max_size=64), flip=st.integers(min_value=0))
def test_a_changed_body_fails(body, flip):
    raw_query, headers, raw_path = signed_request("/x", {}, body)
    index = flip % len(body)
    changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
    with pytest.raises(SignatureError) as raised:
        verify_request(store(), "kinesisvideo", "POST", HOST, raw_path, raw_query, headers, changed)
    assert raised.value.code == "InvalidSignatureException"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda q, h, p: (q, h, "/other"), "InvalidSignatureException"),
        (lambda q, h, p: (q + "&extra=1", h, p), "InvalidSignatureException"),
        (
            lambda q, h, p: (q, {**h, "X-Amz-Date": "20200101T000000Z"}, p),
            "InvalidSignatureException",
        ),
        (
            lambda q, h, p: (q, {k: v for k, v in h.items() if k != "Authorization"}, p),
            "MissingAuthenticationTokenException",
        ),
        (lambda q, h, p: (q, {**h, "Content-Type": "text/plain"}, p), "InvalidSignatureException"),
    ],
)
def test_changed_requests_fail(change, code):
    raw_query, headers, raw_path = signed_request("/x", {"a": "1"}, b"{}")
    raw_query, headers, raw_path = change(raw_query, headers, raw_path)
    with pytest.raises(SignatureError) as raised:
        verify_request(store(), "kinesisvideo", "POST", HOST, raw_path, raw_query, headers, b"{}")
    assert raised.value.code == code


def test_a_signature_for_another_service_fails():
    request = AWSRequest(method="POST", url=f"http://{HOST}/x", data=b"{}")
    SigV4Auth(KEYS, "iotdata", "us-east-1").add_auth(request)
    with pytest.raises(SignatureError):
        verify_request(
            store(), "kinesisvideo", "POST", HOST, "/x", "", dict(request.headers), b"{}"
        )


@settings(max_examples=40, deadline=None)
@given(
    client_id=st.from_regex(r"[a-zA-Z0-9_.-]{1,40}", fullmatch=True),
    seconds=st.integers(min_value=0, max_value=299),
)
def test_a_presigned_url_verifies_until_it_expires(client_id, seconds):
    url = presign_connect_url(
        f"wss://{HOST}",
        "arn:aws:kinesisvideo:us-east-1:1:channel/r/1",
        client_id,
        KEYS,
        "us-east-1",
        300,
    )
    raw_query = url.partition("?")[2]
    now = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    verify_presigned(store(), "kinesisvideo", "GET", HOST, "/", raw_query, 300, now)
    later = now + datetime.timedelta(seconds=302)
    with pytest.raises(SignatureError):
        verify_presigned(store(), "kinesisvideo", "GET", HOST, "/", raw_query, 300, later)
