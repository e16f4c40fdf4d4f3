"""The simulator's DynamoDB against moto's model of DynamoDB: the same requests get the same
answers from both, each also written out here as AWS documents it. Where moto checks less
than AWS (placeholders given but unused, or used but not given), the stand-in alone is held
to AWS's documented answer."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.exceptions
import pytest
from moto import mock_aws

from cloud.viewer import slots
from sim.aws.dynamodb import DynamoDb, DynamoDbService
from tests.sim_aws.conftest import REGION, SLOTS_TABLE, VIEWER_KEYS, client

OK = "ok"
FAILED = "ConditionalCheckFailedException"
INVALID = "ValidationException"


def item(subject: str = "s", slot: str = "0", expires: str = "100", **more: Any) -> dict:
    return {"subject": {"S": subject}, "slot": {"N": slot}, "expiresAt": {"N": expires}, **more}


def put(condition: str | None = None, names=None, values=None, **fields: Any) -> dict:
    request: dict[str, Any] = {"TableName": SLOTS_TABLE, "Item": fields.pop("of", item())}
    for name, given in (
        ("ConditionExpression", condition),
        ("ExpressionAttributeNames", names),
        ("ExpressionAttributeValues", values),
    ):
        if given is not None:
            request[name] = given
    return request | fields


FREE = {"#subject": "subject", "#expires": "expiresAt"}  # slots.CONDITION's names
BOTH = {"#s": "subject", "#e": "expiresAt"}

# Each case: puts in order on an empty table, and the answer each must get.
CASES = {
    "a new item, then the same key again": [
        (put("attribute_not_exists(#s)", {"#s": "subject"}), OK),
        (put("attribute_not_exists(#s)", {"#s": "subject"}), FAILED),
    ],
    "the viewer's condition at its bound": [
        (put(), OK),  # expires at 100
        (put(slots.CONDITION, FREE, {":now": {"N": "99"}}), FAILED),
        (put(slots.CONDITION, FREE, {":now": {"N": "100"}}), OK),
    ],
    "another key is another item": [
        (put(), OK),
        (put("attribute_not_exists(#s)", {"#s": "subject"}, of=item(slot="1")), OK),
        (put("attribute_not_exists(#s)", {"#s": "subject"}, of=item(subject="t")), OK),
    ],
    "numbers compare as numbers": [
        (put(of=item(expires="10")), OK),
        (put("#e > :v", {"#e": "expiresAt"}, {":v": {"N": "9"}}), OK),
    ],
    "values of different types are never equal": [
        (put(), OK),
        (put("#e = :v", {"#e": "expiresAt"}, {":v": {"S": "100"}}), FAILED),
        (put("#e <> :v", {"#e": "expiresAt"}, {":v": {"S": "100"}}), OK),
    ],
    "a missing attribute is not equal, nor less, nor more": [
        (put(), OK),
        (put("#x < :v", {"#x": "missing"}, {":v": {"N": "1"}}), FAILED),
        (put("#x = :v", {"#x": "missing"}, {":v": {"N": "1"}}), FAILED),
        (put("#x <> :v", {"#x": "missing"}, {":v": {"N": "1"}}), OK),
    ],
    "NOT, AND and parentheses": [
        (put(), OK),
        (put("NOT (attribute_exists(#s) AND #e = :v)", BOTH, {":v": {"N": "100"}}), FAILED),
        (put("NOT attribute_exists(#s) OR (#e >= :v)", BOTH, {":v": {"N": "100"}}), OK),
    ],
    "placeholders without an expression": [
        (put(names={"#s": "subject"}), INVALID),
    ],
    "an item without its sort key, or with a key of the wrong type": [
        (put(of={"subject": {"S": "s"}}), INVALID),
        (put(of=item() | {"slot": {"S": "0"}}), INVALID),
    ],
    "an unknown table": [
        (put() | {"TableName": "no-such-table"}, "ResourceNotFoundException"),
    ],
}

# What AWS answers and moto does not check.
BEYOND_MOTO = {
    "a placeholder given but not used": [
        (put("attribute_not_exists(#s)", {"#s": "subject"}, {":now": {"N": "1"}}), INVALID),
        (put("attribute_not_exists(#s)", {"#s": "subject", "#e": "expiresAt"}), INVALID),
    ],
    "a placeholder used but not given": [
        (put("#e <= :now", {"#e": "expiresAt"}), INVALID),
        (put("attribute_not_exists(#s)"), INVALID),
    ],
    "what the stand-in does not understand is refused, not guessed": [
        (put("begins_with(#s, :v)", {"#s": "subject"}, {":v": {"S": "s"}}), INVALID),
        (put("#s IN (:v)", {"#s": "subject"}, {":v": {"S": "s"}}), INVALID),
        (put("attribute_not_exists(#s", {"#s": "subject"}), INVALID),
    ],
}


def stand_in(loop, store) -> Any:
    db = DynamoDb(store, REGION)
    db.create_table(SLOTS_TABLE, slots.KEY, {"viewer"}, ttl_attribute=slots.TTL_ATTRIBUTE)
    return client("dynamodb", loop.enter(DynamoDbService(db)).url, VIEWER_KEYS)


def outcomes(db: Any, requests: list[dict]) -> list[str]:
    answers = []
    for request in requests:
        try:
            db.put_item(**request)
            answers.append(OK)
        except botocore.exceptions.ClientError as exc:
            answers.append(exc.response["Error"]["Code"])
    return answers


@pytest.mark.parametrize("case", list(CASES))
def test_the_stand_in_answers_as_dynamodb_does(case, loop, store):
    requests = [request for request, _ in CASES[case]]
    expected = [answer for _, answer in CASES[case]]
    with mock_aws():
        moto = boto3.client("dynamodb", region_name=REGION)
        moto.create_table(
            TableName=SLOTS_TABLE,
            KeySchema=[
                {"AttributeName": "subject", "KeyType": "HASH"},
                {"AttributeName": "slot", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": kind} for name, kind in slots.KEY
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        assert outcomes(moto, requests) == expected
    assert outcomes(stand_in(loop, store), requests) == expected


@pytest.mark.parametrize("case", list(BEYOND_MOTO))
def test_the_stand_in_checks_expressions_as_aws_does(case, loop, store):
    requests = [request for request, _ in BEYOND_MOTO[case]]
    expected = [answer for _, answer in BEYOND_MOTO[case]]
    assert outcomes(stand_in(loop, store), requests) == expected


def test_a_table_is_written_only_by_those_its_policy_names(loop, store):
    db = DynamoDb(store, REGION)
    db.create_table(SLOTS_TABLE, slots.KEY, {"robot"})
    service = loop.enter(DynamoDbService(db))
    assert outcomes(client("dynamodb", service.url, VIEWER_KEYS), [put()]) == [
        "AccessDeniedException"
    ]
    assert db.tables[SLOTS_TABLE].items == {}


def test_what_was_written_is_read_back(loop, store):
    db = stand_in(loop, store)
    db.put_item(**put(of=item(expires="7")))
    key = {"subject": {"S": "s"}, "slot": {"N": "0"}}
    assert db.get_item(TableName=SLOTS_TABLE, Key=key)["Item"] == item(expires="7")
    assert "Item" not in db.get_item(TableName=SLOTS_TABLE, Key=key | {"slot": {"N": "1"}})
