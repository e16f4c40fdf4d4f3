"""How many viewer URLs one token subject may hold at once, counted in a DynamoDB table so
that every instance of the Lambda counts the same.

A subject has ``cap`` slots, items ``{subject, slot}``. Taking one is a ``PutItem`` on the
first slot that is free, conditional on the slot being unused or its URL expired
(``expiresAt``, epoch seconds, also the table's TTL attribute). Two Lambdas racing for one
slot cannot both win: DynamoDB applies a conditional write to an item one at a time, and the
loser gets ``ConditionalCheckFailedException`` and tries the next slot. TTL deletion is lazy
(AWS deletes expired items within days, and reads still return them), so the condition reads
``expiresAt`` itself; TTL only keeps the table small.

The subject is stored as its SHA-256: no identity in the table, and no key size to check.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions

# Five, as the producer's consoles per subject: a reload or a reconnect mints a new URL
# while the old one is still valid.
URLS_PER_SUBJECT = 5
# The table's key (attribute, type) and TTL attribute, as deploy/template.yaml declares them.
KEY = (("subject", "S"), ("slot", "N"))
TTL_ATTRIBUTE = "expiresAt"
CONDITION = "attribute_not_exists(#subject) OR #expires <= :now"


class SlotsFull(Exception):
    """Every slot of the subject holds a URL that is still valid."""


class SlotsUnavailable(Exception):
    """The table could not be written: no URL then (the cap fails closed)."""


class UrlSlots:
    """``take(subject, seconds)`` holds one of the subject's slots for ``seconds``."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        cap: int = URLS_PER_SUBJECT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self.dynamodb = dynamodb
        self.table = table
        self.cap = cap
        self._clock = clock

    def take(self, subject: str, seconds: int) -> int:
        """The slot taken; :class:`SlotsFull` when none is free."""
        now = int(self._clock())
        key = hashlib.sha256(subject.encode()).hexdigest()
        for slot in range(self.cap):
            try:
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item={
                        "subject": {"S": key},
                        "slot": {"N": str(slot)},
                        TTL_ATTRIBUTE: {"N": str(now + seconds)},
                    },
                    ConditionExpression=CONDITION,
                    ExpressionAttributeNames={"#subject": "subject", "#expires": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
            except botocore.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code != "ConditionalCheckFailedException":
                    raise SlotsUnavailable(f"{code}: {exc}") from exc
                continue
            except botocore.exceptions.BotoCoreError as exc:
                raise SlotsUnavailable(str(exc)) from exc
            return slot
        raise SlotsFull(
            f"at most {self.cap} viewer URLs at once per token subject, each valid {seconds} s"
        )
